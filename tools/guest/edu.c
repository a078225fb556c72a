/*
 * QEMU's edu device (1234:11e8) as an MSI source.
 *
 * edu semantics (hw/misc/edu.c): a 4-byte write to BAR0+0x60 ORs the value
 * into irq_status and, with MSI enabled, sends one MSI on *every* such write,
 * whatever irq_status was; BAR0+0x24 reads irq_status, a write to BAR0+0x64
 * clears those bits. edu itself never merges raises, but everything after it
 * may: the LAPIC keeps one IRR bit per vector, vfio/KVM signal an eventfd
 * whose counter folds repeated signals into one wakeup. So a raise issued
 * while the previous MSI is unanswered may legitimately yield no second
 * interrupt, and counting it would make a correct path look lossy.
 *
 * Hence: at most one raise in flight. `edu_raised` counts only raises made
 * with nothing in flight, each of which must produce exactly one MSI; the
 * MSI handler acks and counts `edu_received`. The timer tick grants raises
 * to reach `rate`; grants beyond a small backlog are dropped and counted as
 * `edu_throttled`. A raise unanswered for CPRV_GUEST_LOST_TICKS ticks is
 * counted `edu_lost`, acked, and the stream moves on. Ticks stop while the
 * VM is paused, so a live update's blackout alone never makes a raise "late".
 */
#include "guest.h"
#include "hw.h"

#define EDU_VENDOR   0x1234
#define EDU_DEVICE   0x11e8
#define EDU_IDENT    0x00
#define EDU_LIVENESS 0x04
#define EDU_IRQ_STAT 0x24
#define EDU_IRQ_RAISE 0x60
#define EDU_IRQ_ACK  0x64
#define PCI_CAP_MSI  0x05

static void edu_fail(struct guest *g, const char *why)
{
	kprintf("cprv-guest error: %s\n", why);
	g->hb->flags |= CPRV_GUEST_F_EDU_ERROR;
}

/*
 * Firmware that does not lay out PCI (qboot, which cpr-verify boots the
 * guest with because SeaBIOS's mode switches can wedge under nested SVM)
 * leaves BAR0 at 0. Place it ourselves at the bottom of q35's 32-bit PCI
 * window (0xc0000000, above the 256 MiB MMCONFIG at 0xb0000000), which is
 * aligned for any BAR up to 1 GiB; nothing else on bus 0 is given memory
 * space by such firmware, so nothing can overlap.
 */
#define EDU_BAR_BASE 0xc0000000u

static uint32_t edu_place_bar0(struct edu *e)
{
	uint32_t size;

	pci_write16(e->bdf, 0x04, pci_read16(e->bdf, 0x04) & ~0x0002); /* decode off while sizing */
	pci_write32(e->bdf, 0x10, 0xffffffffu);
	size = ~(pci_read32(e->bdf, 0x10) & ~0xfu) + 1;
	if (!size || size > 0x40000000u) {
		pci_write32(e->bdf, 0x10, 0);
		return 0;
	}
	pci_write32(e->bdf, 0x10, EDU_BAR_BASE);
	kprintf("cprv-guest edu: firmware left BAR0 unassigned; placed its %u KiB at 0x%08x\n",
		size >> 10, EDU_BAR_BASE);
	return pci_read32(e->bdf, 0x10) & ~0xfu;
}

/* MSI to this CPU's LAPIC, fixed delivery, edge: address 0xfee<id>000, data = vector. */
static void edu_program_msi(struct guest *g, uint8_t cap)
{
	struct edu *e = &g->edu;
	uint16_t ctrl = pci_read16(e->bdf, cap + 2);
	bool is64 = ctrl & 0x80;
	uint32_t addr = 0xfee00000u | (g->hb->apic_id & 0xff) << 12;

	pci_write16(e->bdf, cap + 2, ctrl & ~0x71);    /* off while reprogramming, 1 vector */
	pci_write32(e->bdf, cap + 4, addr);
	if (is64)
		pci_write32(e->bdf, cap + 8, 0);
	pci_write16(e->bdf, cap + (is64 ? 12 : 8), e->vector);
	pci_write16(e->bdf, cap + 2, (ctrl & ~0x70) | 0x01);
	ctrl = pci_read16(e->bdf, cap + 2);
	kprintf("cprv-guest edu: msi cap 0x%02x %s, address 0x%08x (dest apic %u), data 0x%04x "
		"(vector 0x%02x, fixed, edge), control 0x%04x%s\n",
		cap, is64 ? "64-bit" : "32-bit", addr, g->hb->apic_id, e->vector, e->vector, ctrl,
		ctrl & 1 ? "" : " (enable did not stick)");
}

bool edu_init(struct guest *g)
{
	struct edu *e = &g->edu;

	if (!pci_find(EDU_VENDOR, EDU_DEVICE, &e->bdf)) {
		edu_fail(g, "no edu device");
		return false;
	}
	g->hb->edu_bdf = e->bdf;
	uint32_t bar = pci_read32(e->bdf, 0x10);
	kprintf("cprv-guest edu: found 1234:11e8 at 00:%02x.%u, bar0 0x%08x\n",
		e->bdf >> 3, e->bdf & 7, bar);
	if (bar & 1) {
		edu_fail(g, "edu BAR0 is I/O space, expected MMIO");
		return false;
	}
	if ((bar & 6) == 4 && pci_read32(e->bdf, 0x14) != 0) {
		edu_fail(g, "edu BAR0 is above 4 GiB, unreachable without paging");
		return false;
	}
	e->bar0 = bar & ~0xfu;
	if (!e->bar0)
		e->bar0 = edu_place_bar0(e);
	if (!e->bar0) {
		edu_fail(g, "edu BAR0 is unassigned and could not be placed");
		return false;
	}
	/* memory decode + bus master (MSI writes are DMA) + INTx off */
	pci_write16(e->bdf, 0x04, pci_read16(e->bdf, 0x04) | 0x0406);

	uint32_t ident = mmio_read32(e->bar0 + EDU_IDENT);
	mmio_write32(e->bar0 + EDU_LIVENESS, 0x5a5a1234u);
	uint32_t live = mmio_read32(e->bar0 + EDU_LIVENESS);
	kprintf("cprv-guest edu: ident 0x%08x, liveness 0x5a5a1234 -> 0x%08x\n", ident, live);
	if ((ident & 0xff) != 0xed || live != ~0x5a5a1234u) {
		edu_fail(g, "edu BAR0 does not answer like an edu device");
		return false;
	}

	uint8_t cap = pci_find_cap(e->bdf, PCI_CAP_MSI);
	if (!cap) {
		edu_fail(g, "edu has no MSI capability");
		return false;
	}
	uint32_t stale = mmio_read32(e->bar0 + EDU_IRQ_STAT);
	if (stale)
		mmio_write32(e->bar0 + EDU_IRQ_ACK, stale);
	edu_program_msi(g, cap);

	e->per_tick = e->rate / TICK_HZ;
	e->frac_per_tick = e->rate % TICK_HZ;
	e->owed_cap = 2 * (e->per_tick + 1);
	e->owed = 0;
	g->hb->edu_vector = e->vector;
	g->hb->edu_rate = e->rate;
	kprintf("cprv-guest edu: raising %u MSIs/s, one in flight at a time, lost after %u ticks\n",
		e->rate, CPRV_GUEST_LOST_TICKS);
	e->ready = true;
	g->hb->flags |= CPRV_GUEST_F_EDU_READY;
	return true;
}

/* Timer handler: grant this tick's share of `rate`. */
void edu_tick(struct guest *g)
{
	struct edu *e = &g->edu;
	uint32_t owed = e->owed + e->per_tick;

	e->frac_acc += e->frac_per_tick;
	if (e->frac_acc >= TICK_HZ) {
		e->frac_acc -= TICK_HZ;
		owed++;
	}
	if (owed > e->owed_cap) {
		add64(&g->hb->edu_throttled, owed - e->owed_cap);
		owed = e->owed_cap;
	}
	e->owed = owed;
}

/* MSI handler. */
void edu_msi(struct guest *g)
{
	struct edu *e = &g->edu;
	uint32_t st = mmio_read32(e->bar0 + EDU_IRQ_STAT);

	if (!st) {
		add64(&g->hb->edu_spurious, 1);
		return;
	}
	mmio_write32(e->bar0 + EDU_IRQ_ACK, st);
	add64(&g->hb->edu_received, 1);
}

/* Main loop, interrupts off. Returns true if it did something (loop again
 * at once), false if it waits for an MSI or a tick (the caller halts). */
bool edu_poll(struct guest *g)
{
	struct edu *e = &g->edu;
	volatile struct cprv_guest_hb *hb = g->hb;
	uint64_t now = hb->ticks;

	if (hb->edu_raised > hb->edu_received + hb->edu_lost) {
		if (now - e->raise_tick < CPRV_GUEST_LOST_TICKS)
			return false;
		uint32_t st = mmio_read32(e->bar0 + EDU_IRQ_STAT);
		if (st)
			mmio_write32(e->bar0 + EDU_IRQ_ACK, st);
		add64(&hb->edu_lost, 1);
		kprintf("cprv-guest edu: raise #%llu got no MSI in %u ticks (irq status 0x%x): lost\n",
			hb->edu_raised, CPRV_GUEST_LOST_TICKS, st);
		return true;
	}
	if (!e->owed)
		return false;
	e->owed--;
	e->raise_tick = now;
	add64(&hb->edu_raised, 1);   /* before the write: the MSI may beat us back */
	mmio_write32(e->bar0 + EDU_IRQ_RAISE, EDU_RAISE_BIT);
	return true;
}
