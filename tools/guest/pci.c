/* PCI configuration mechanism 1 (ports 0xcf8/0xcfc), bus 0 only: the guest
 * has one root bus and edu (or its vfio stand-in) sits on it. */
#include "guest.h"
#include "hw.h"

static void cfg_select(uint32_t bdf, uint8_t off)
{
	outl(0xcf8, 0x80000000u | (bdf << 8) | (off & 0xfc));
}

uint32_t pci_read32(uint32_t bdf, uint8_t off)
{
	cfg_select(bdf, off);
	return inl(0xcfc);
}

void pci_write32(uint32_t bdf, uint8_t off, uint32_t v)
{
	cfg_select(bdf, off);
	outl(0xcfc, v);
}

uint16_t pci_read16(uint32_t bdf, uint8_t off)
{
	cfg_select(bdf, off);
	return inw(0xcfc + (off & 2));
}

void pci_write16(uint32_t bdf, uint8_t off, uint16_t v)
{
	cfg_select(bdf, off);
	outw(0xcfc + (off & 2), v);
}

bool pci_find(uint16_t vendor, uint16_t device, uint32_t *bdf)
{
	for (uint32_t dev = 0; dev < 32; dev++) {
		for (uint32_t fn = 0; fn < 8; fn++) {
			uint32_t b = dev << 3 | fn;
			uint32_t id = pci_read32(b, 0x00);
			if ((id & 0xffff) == 0xffff) {
				if (fn == 0)
					break;
				continue;
			}
			if ((id & 0xffff) == vendor && id >> 16 == device) {
				*bdf = b;
				return true;
			}
			/* header type bit 7: only multi-function devices have fn 1-7 */
			if (fn == 0 && !(pci_read32(b, 0x0c) & 0x00800000u))
				break;
		}
	}
	return false;
}

uint8_t pci_find_cap(uint32_t bdf, uint8_t id)
{
	if (!(pci_read16(bdf, 0x06) & 0x10))   /* status: capability list */
		return 0;
	uint8_t p = pci_read32(bdf, 0x34) & 0xfc;
	for (int guard = 0; p && guard < 48; guard++) {
		uint32_t hdr = pci_read32(bdf, p);
		if ((hdr & 0xff) == id)
			return p;
		p = (hdr >> 8) & 0xfc;
	}
	return 0;
}
