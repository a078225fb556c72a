/* Binding a PCI device to vfio-pci (vfio_bind.c). */
#ifndef CPRV_VFIO_BIND_H
#define CPRV_VFIO_BIND_H

#include <stddef.h>

/* Finds vendor:device, binds it to vfio-pci if it is not; its BDF
 * ("0000:00:03.0") in bdf. 0, or -1 with a message. */
int vfio_bind(unsigned vendor, unsigned device, char *bdf, size_t len, char *err, size_t errlen);

#endif
