/* Hand a PCI device to vfio-pci for the QEMU lane: find it by vendor and
 * device id in sysfs, override its driver, and probe it again, so QEMU can
 * take it with -device vfio-pci,host=BDF. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vfio_bind.h"

#define PCI_DEVICES "/sys/bus/pci/devices"

static unsigned read_hex(const char *dir, const char *file)
{
	char p[PATH_MAX], buf[32] = "";
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, file);
	f = fopen(p, "r");
	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return (unsigned)strtoul(buf, NULL, 16);
}

static int write_str(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");
	int rc;

	if (!f)
		return -errno;
	rc = fputs(s, f) < 0 ? -errno : 0;
	if (fclose(f) && !rc)
		rc = -errno;
	return rc;
}

static void driver_of(const char *bdf, char *drv, size_t len)
{
	char p[PATH_MAX], t[PATH_MAX];
	ssize_t n;

	snprintf(p, sizeof(p), PCI_DEVICES "/%s/driver", bdf);
	n = readlink(p, t, sizeof(t) - 1);
	if (n < 0) {
		snprintf(drv, len, "%s", "");
		return;
	}
	t[n] = 0;
	snprintf(drv, len, "%s", strrchr(t, '/') ? strrchr(t, '/') + 1 : t);
}

int vfio_bind(unsigned vendor, unsigned device, char *bdf, size_t len, char *err, size_t errlen)
{
	DIR *d = opendir(PCI_DEVICES);
	struct dirent *e;
	char p[PATH_MAX], drv[64];
	int rc;

	if (!d) {
		snprintf(err, errlen, "%s: %s", PCI_DEVICES, strerror(errno));
		return -1;
	}
	bdf[0] = 0;
	while ((e = readdir(d)) && !bdf[0]) {
		char dir[PATH_MAX];

		if (e->d_name[0] == '.')
			continue;
		snprintf(dir, sizeof(dir), PCI_DEVICES "/%s", e->d_name);
		if (read_hex(dir, "vendor") == vendor && read_hex(dir, "device") == device)
			snprintf(bdf, len, "%s", e->d_name);
	}
	closedir(d);
	if (!bdf[0]) {
		snprintf(err, errlen, "no PCI device %04x:%04x here (the nested lane's L1 has QEMU's "
			 "edu; on a host, name a device you can give away)", vendor, device);
		return -1;
	}
	driver_of(bdf, drv, sizeof(drv));
	if (!strcmp(drv, "vfio-pci"))
		return 0;
	if (access("/sys/bus/pci/drivers/vfio-pci", F_OK)) {
		snprintf(err, errlen, "the vfio-pci driver is not loaded (modprobe vfio-pci)");
		return -1;
	}
	snprintf(p, sizeof(p), PCI_DEVICES "/%s/driver_override", bdf);
	if ((rc = write_str(p, "vfio-pci"))) {
		snprintf(err, errlen, "%s: %s", p, strerror(-rc));
		return -1;
	}
	if (drv[0]) {
		snprintf(p, sizeof(p), PCI_DEVICES "/%s/driver/unbind", bdf);
		if ((rc = write_str(p, bdf))) {
			snprintf(err, errlen, "unbinding %s from %s: %s", bdf, drv, strerror(-rc));
			return -1;
		}
	}
	if ((rc = write_str("/sys/bus/pci/drivers_probe", bdf))) {
		snprintf(err, errlen, "probing %s for vfio-pci: %s", bdf, strerror(-rc));
		return -1;
	}
	driver_of(bdf, drv, sizeof(drv));
	if (strcmp(drv, "vfio-pci")) {
		snprintf(err, errlen, "%s did not bind to vfio-pci (driver: %s; is there an IOMMU? "
			 "intel_iommu=on)", bdf, drv[0] ? drv : "none");
		return -1;
	}
	return 0;
}
