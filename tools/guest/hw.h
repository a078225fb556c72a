/* Port I/O, MMIO and atomic 64-bit stores for the 32-bit guest. */
#ifndef CPRV_GUEST_HW_H
#define CPRV_GUEST_HW_H

#include <stdint.h>

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" :: "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint16_t inw(uint16_t port) { uint16_t v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint32_t inl(uint16_t port) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

/* edu and the LAPIC only accept 4-byte accesses; volatile keeps them so. */
static inline uint32_t mmio_read32(uintptr_t a) { return *(volatile uint32_t *)a; }
static inline void mmio_write32(uintptr_t a, uint32_t v) { *(volatile uint32_t *)a = v; }

static inline void cli(void) { __asm__ volatile("cli" ::: "memory"); }
static inline void sti(void) { __asm__ volatile("sti" ::: "memory"); }
/* sti's one-instruction shadow makes "sti; hlt" atomic: an interrupt that is
 * already pending wakes the hlt instead of slipping in before it. */
static inline void sti_hlt(void) { __asm__ volatile("sti; hlt" ::: "memory"); }

static inline uint32_t irq_save(void)
{
	uint32_t f;
	__asm__ volatile("pushfl; popl %0; cli" : "=r"(f) :: "memory");
	return f;
}
static inline void irq_restore(uint32_t f) { __asm__ volatile("pushl %0; popfl" :: "r"(f) : "memory", "cc"); }

/* A host reading the heartbeat while this vCPU runs must never see half of
 * a counter: a plain 64-bit add is two 32-bit stores on i386. */
static inline void store64(volatile uint64_t *p, uint64_t v)
{
	uint64_t old = *p;
	__asm__ volatile("1: lock cmpxchg8b %0\n\tjnz 1b"
			 : "+m"(*p), "+A"(old)
			 : "b"((uint32_t)v), "c"((uint32_t)(v >> 32))
			 : "memory", "cc");
}
/* A consistent read of a counter an interrupt handler may be bumping. */
static inline uint64_t load64(volatile uint64_t *p)
{
	uint32_t f = irq_save();
	uint64_t v = *p;
	irq_restore(f);
	return v;
}
static inline void add64(volatile uint64_t *p, uint32_t n) { store64(p, *p + n); }

/* 64/32 division with divl (no libgcc __udivdi3): *n /= d, returns n % d. */
static inline uint32_t divmod64(uint64_t *n, uint32_t d)
{
	uint32_t hi = (uint32_t)(*n >> 32), lo = (uint32_t)*n, qhi = hi / d, r = hi % d, qlo;
	__asm__("divl %4" : "=a"(qlo), "=d"(r) : "a"(lo), "d"(r), "rm"(d));
	*n = ((uint64_t)qhi << 32) | qlo;
	return r;
}

#endif
