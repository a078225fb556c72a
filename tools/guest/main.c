/* cprv-guest: boot, then heartbeat (and edu MSIs) forever. See README.md. */
#include "guest.h"
#include "hw.h"

#define MB_BOOT_MAGIC 0x2badb002u

struct mb_info {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline;
};

struct guest *g_guest;
static struct guest guest;
static char cmdline[512];

static void copy_cmdline(uint32_t magic, const struct mb_info *mb)
{
	if (magic != MB_BOOT_MAGIC) {
		kprintf("cprv-guest error: not started by a Multiboot loader (eax 0x%x): "
			"no command line\n", magic);
		return;
	}
	if (!(mb->flags & 4) || !mb->cmdline)
		return;
	/* copied before anything writes low memory: the loader may keep it anywhere */
	const char *s = (const char *)mb->cmdline;
	unsigned n = 0;
	while (s[n] && n < sizeof(cmdline) - 1) {
		cmdline[n] = s[n];
		n++;
	}
	cmdline[n] = 0;
}

static void hb_print(struct guest *g, uint64_t *last_other)
{
	volatile struct cprv_guest_hb *hb = g->hb;
	uint32_t f = irq_save();
	uint64_t ticks = hb->ticks, raised = hb->edu_raised, received = hb->edu_received;
	uint64_t sp = hb->edu_spurious, th = hb->edu_throttled, lost = hb->edu_lost, oth = hb->other_irqs;
	irq_restore(f);

	kprintf("cprv-guest hb %llu raised %llu received %llu\n", ticks, raised, received);
	/* the rarer counters only when they move, so the hb line stays fixed-format */
	uint64_t other = sp + th + lost + oth;
	if (other != *last_other) {
		kprintf("cprv-guest counters spurious %llu throttled %llu lost %llu other_irqs %llu\n",
			sp, th, lost, oth);
		*last_other = other;
	}
}

void kmain(uint32_t magic, const struct mb_info *mb)
{
	struct guest *g = &guest;

	serial_init();
	copy_cmdline(magic, mb);
	kprintf("cprv-guest: boot, heartbeat abi %u at 0x%x, cmdline '%s'\n",
		CPRV_GUEST_ABI_VERSION, CPRV_GUEST_HB_ADDR, cmdline);

	g->hb = (volatile struct cprv_guest_hb *)CPRV_GUEST_HB_ADDR;
	volatile uint8_t *raw = (volatile uint8_t *)g->hb;
	for (unsigned i = 0; i < sizeof(*g->hb); i++)
		raw[i] = 0;
	g->hb->abi_version = CPRV_GUEST_ABI_VERSION;
	g->hb->tick_hz = TICK_HZ;
	g->hb->edu_bdf = 0xffffffffu;
	g->edu.rate = 1000;
	g->edu.vector = 0x41;
	g_guest = g;
	cmdline_parse(g, cmdline);

	cpu_init();
	pic_disable();
	lapic_init(g);
	uint32_t per_ms = lapic_calibrate(g);
	if (per_ms < 100) {
		kprintf("cprv-guest error: LAPIC timer calibration gave %u counts/ms; "
			"assuming 62500 (1 GHz bus / 16)\n", per_ms);
		per_ms = 62500;
	}
	g->hb->lapic_per_ms = per_ms;
	lapic_start_timer(g, per_ms);
	sti();
	uint32_t n = lapic_count_ticks_200ms(g);
	g->hb->ticks_in_200ms = n;
	kprintf("cprv-guest lapic: id %u, timer divide 16, %u counts/ms (50 ms PIT ch2 window), "
		"periodic initial count %u, vector 0x%x; %u ticks in 200 ms of PIT = ~%u Hz\n",
		g->hb->apic_id, per_ms, per_ms, TIMER_VECTOR, n, n * 5);

	if (g->edu.wanted) {
		cli();
		edu_init(g);
		sti();
	}
	g->hb->flags |= CPRV_GUEST_F_RUNNING;
	__asm__ volatile("" ::: "memory");
	g->hb->magic = CPRV_GUEST_MAGIC;   /* last: a reader seeing it sees the rest */
	kprintf("cprv-guest: running\n");

	uint64_t next_print = 0, last_other = 0;
	for (;;) {
		cli();
		uint64_t now = g->hb->ticks;
		bool busy = g->edu.ready && edu_poll(g);
		if (now >= next_print) {
			sti();
			hb_print(g, &last_other);
			next_print += HB_PRINT_TICKS;
			if (next_print <= now)
				next_print = now + HB_PRINT_TICKS;
			continue;
		}
		if (busy)
			sti();
		else
			sti_hlt();
	}
}
