/*
 * Legacy PIC off, LAPIC on, LAPIC timer periodic at 1 kHz calibrated against
 * PIT channel 2 (the one channel whose output software can poll, via port
 * 0x61 bit 5, without an interrupt). Both clocks run on the VM's virtual
 * clock, so a pause or a live update stops them together.
 */
#include "guest.h"
#include "hw.h"

#define LAPIC_ID     0x020
#define LAPIC_TPR    0x080
#define LAPIC_EOI    0x0b0
#define LAPIC_SVR    0x0f0
#define LAPIC_ESR    0x280
#define LAPIC_LVT_T  0x320
#define LAPIC_LVT_E  0x370
#define LAPIC_TICR   0x380
#define LAPIC_TCCR   0x390
#define LAPIC_TDCR   0x3e0
#define LVT_MASKED   (1u << 16)
#define LVT_PERIODIC (1u << 17)
#define PIT_HZ       1193182u
#define PIT_50MS     59659u      /* PIT_HZ / 20 */

static uint32_t lr(struct guest *g, uint32_t reg) { return mmio_read32(g->lapic + reg); }
static void lw(struct guest *g, uint32_t reg, uint32_t v) { mmio_write32(g->lapic + reg, v); }

void pic_disable(void)
{
	/* remap first, so a stray 8259 interrupt cannot land on an exception vector */
	outb(0x20, 0x11); outb(0xa0, 0x11);
	outb(0x21, 0x20); outb(0xa1, 0x28);
	outb(0x21, 0x04); outb(0xa1, 0x02);
	outb(0x21, 0x01); outb(0xa1, 0x01);
	outb(0x21, 0xff); outb(0xa1, 0xff);
}

void lapic_init(struct guest *g)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(0x1b));
	g->lapic = lo & 0xfffff000u;
	if (!(lo & (1u << 11)) || g->lapic == 0) {
		/* xAPIC global enable was off (firmware normally leaves it on) */
		lo = (lo & 0xfffu) | 0xfee00000u | (1u << 11);
		__asm__ volatile("wrmsr" :: "a"(lo), "d"(hi), "c"(0x1b));
		g->lapic = 0xfee00000u;
	}
	lw(g, LAPIC_TPR, 0);
	lw(g, LAPIC_SVR, 0x100 | SPURIOUS_VECTOR);   /* software enable */
	lw(g, LAPIC_LVT_E, ERROR_VECTOR);
	lw(g, LAPIC_ESR, 0);
	lw(g, LAPIC_LVT_T, LVT_MASKED | TIMER_VECTOR);
	lw(g, LAPIC_TDCR, 0x3);                       /* divide by 16 */
	g->hb->apic_id = lr(g, LAPIC_ID) >> 24;
}

void lapic_eoi(struct guest *g)
{
	lw(g, LAPIC_EOI, 0);
}

/* Arms PIT channel 2 for a one-shot 50 ms count; pit_done() turns true at its end. */
void pit_wait_50ms_start(void)
{
	uint8_t p61 = inb(0x61) & ~0x03;   /* gate low (count held), speaker off */
	outb(0x61, p61);
	outb(0x43, 0xb0);                  /* ch 2, lo/hi byte, mode 0, binary */
	outb(0x42, PIT_50MS & 0xff);
	outb(0x42, PIT_50MS >> 8);
	outb(0x61, p61 | 0x01);            /* gate high: counting starts */
}

bool pit_done(void)
{
	return inb(0x61) & 0x20;
}

uint32_t lapic_calibrate(struct guest *g)
{
	uint32_t fl = irq_save();
	lw(g, LAPIC_LVT_T, LVT_MASKED | TIMER_VECTOR);  /* one-shot, silent */
	lw(g, LAPIC_TICR, 0xffffffffu);
	pit_wait_50ms_start();
	uint32_t start = lr(g, LAPIC_TCCR);
	while (!pit_done())
		;
	uint32_t end = lr(g, LAPIC_TCCR);
	lw(g, LAPIC_TICR, 0);
	irq_restore(fl);
	return (start - end) / 50;
}

void lapic_start_timer(struct guest *g, uint32_t per_ms)
{
	lw(g, LAPIC_TDCR, 0x3);
	lw(g, LAPIC_LVT_T, LVT_PERIODIC | TIMER_VECTOR);
	lw(g, LAPIC_TICR, per_ms);
}

/* Ticks over four back-to-back 50 ms PIT windows; needs interrupts on.
 * Halting between polls (each tick wakes us) keeps the vCPU off the PIT's
 * port: under TCG a busy poll holds QEMU's big lock and delays the very
 * timer callbacks being counted. */
uint32_t lapic_count_ticks_200ms(struct guest *g)
{
	uint64_t t0 = load64(&g->hb->ticks);
	for (int i = 0; i < 4; i++) {
		pit_wait_50ms_start();
		while (!pit_done())
			sti_hlt();
	}
	return (uint32_t)(load64(&g->hb->ticks) - t0);
}
