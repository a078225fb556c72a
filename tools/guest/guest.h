/* cprv-guest internals: the one context every part and handler shares. */
#ifndef CPRV_GUEST_H
#define CPRV_GUEST_H

#include <stdint.h>
#include <stdbool.h>
#include "guest_abi.h"

#define TIMER_VECTOR     0xec   /* above any MSI vector a user may pick */
#define ERROR_VECTOR     0xfe
#define SPURIOUS_VECTOR  0xff
#define TICK_HZ          1000u
#define HB_PRINT_TICKS   100u   /* one serial heartbeat line per 100 ms */
#define EDU_RAISE_BIT    0x1000u  /* ours: not edu's FACT (1) or DMA (0x100) bits */

struct edu {
	bool wanted, ready;
	uint32_t bdf;            /* bus<<8 | dev<<3 | fn */
	uintptr_t bar0;
	uint8_t vector;
	uint32_t rate;           /* MSIs per second */
	/* timer handler -> main loop: raises owed to reach `rate` */
	volatile uint32_t owed;
	uint32_t owed_cap;       /* owed beyond this is throttled */
	uint32_t per_tick, frac_per_tick, frac_acc;   /* rate / 1000, rate % 1000 */
	uint64_t raise_tick;     /* tick of the raise still unanswered */
};

/* One instance, reached through g_guest: interrupt handlers get no argument. */
struct guest {
	volatile struct cprv_guest_hb *hb;
	struct edu edu;
	uintptr_t lapic;
};
extern struct guest *g_guest;

/* The CPU frame the assembly stubs build (pushal + vector + error code). */
struct irq_frame {
	uint32_t edi, esi, ebp, esp, ebx, edx, ecx, eax;
	uint32_t vector, error;
	uint32_t eip, cs, eflags;
};

/* serial.c */
void serial_init(void);
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* cpu.c */
void cpu_init(void);
void irq_dispatch(struct irq_frame *f);

/* apic.c */
void pic_disable(void);
void lapic_init(struct guest *g);
uint32_t lapic_calibrate(struct guest *g);
void lapic_start_timer(struct guest *g, uint32_t per_ms);
uint32_t lapic_count_ticks_200ms(struct guest *g);
void lapic_eoi(struct guest *g);
void pit_wait_50ms_start(void);
bool pit_done(void);

/* pci.c */
uint32_t pci_read32(uint32_t bdf, uint8_t off);
void pci_write32(uint32_t bdf, uint8_t off, uint32_t v);
uint16_t pci_read16(uint32_t bdf, uint8_t off);
void pci_write16(uint32_t bdf, uint8_t off, uint16_t v);
bool pci_find(uint16_t vendor, uint16_t device, uint32_t *bdf);
uint8_t pci_find_cap(uint32_t bdf, uint8_t id);

/* edu.c */
bool edu_init(struct guest *g);
void edu_tick(struct guest *g);
void edu_msi(struct guest *g);
bool edu_poll(struct guest *g);

/* cmdline.c */
void cmdline_parse(struct guest *g, const char *cmdline);

#endif
