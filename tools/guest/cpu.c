/* IDT and the one C entry every interrupt and exception goes through. */
#include "guest.h"
#include "hw.h"

struct idt_entry {
	uint16_t off_lo, sel;
	uint8_t zero, type;
	uint16_t off_hi;
} __attribute__((packed));

static struct idt_entry idt[256];
extern const uint32_t isr_table[256];

void cpu_init(void)
{
	for (int v = 0; v < 256; v++) {
		idt[v].off_lo = (uint16_t)isr_table[v];
		idt[v].sel = 0x08;
		idt[v].zero = 0;
		idt[v].type = 0x8e;   /* present, 32-bit interrupt gate: IF off inside */
		idt[v].off_hi = (uint16_t)(isr_table[v] >> 16);
	}
	struct {
		uint16_t limit;
		uint32_t base;
	} __attribute__((packed)) desc = { sizeof(idt) - 1, (uint32_t)idt };
	__asm__ volatile("lidt %0" :: "m"(desc));
}

static void fatal(struct guest *g, struct irq_frame *f)
{
	uint32_t cr2;
	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	kprintf("cprv-guest fatal: exception %u error 0x%x eip 0x%x cr2 0x%x\n",
		f->vector, f->error, f->eip, cr2);
	/* the heartbeat stops here: the host sees ticks freeze and this flag */
	if (g && g->hb)
		g->hb->flags |= CPRV_GUEST_F_FATAL;
	for (;;)
		__asm__ volatile("cli; hlt");
}

void irq_dispatch(struct irq_frame *f)
{
	struct guest *g = g_guest;

	if (f->vector < 32)
		fatal(g, f);
	if (f->vector == SPURIOUS_VECTOR)
		return;   /* the LAPIC wants no EOI for its spurious vector */
	if (f->vector == TIMER_VECTOR) {
		add64(&g->hb->ticks, 1);
		if (g->edu.ready)
			edu_tick(g);
	} else if (g->edu.ready && f->vector == g->edu.vector) {
		edu_msi(g);
	} else {
		add64(&g->hb->other_irqs, 1);
	}
	lapic_eoi(g);
}
