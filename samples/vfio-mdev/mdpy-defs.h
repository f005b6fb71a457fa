/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The guest-visible interface of the mdpy display device, shared by the host
 * driver (mdpy.c) and the guest framebuffer driver (mdpy-fb.c).
 *
 * mdpy is a PCI display controller with a single memory BAR, BAR0, which is
 * a linear framebuffer.  The mode is fixed by the mdev type the device was
 * created from: the guest reads it from a vendor-specific capability in
 * configuration space and cannot change it.  The pixel format is given as
 * a DRM fourcc code; the host only ever offers DRM_FORMAT_XRGB8888.
 */

#ifndef MDPY_DEFS_H
#define MDPY_DEFS_H

/* The PCI IDs the guest driver matches */
#define MDPY_PCI_VENDOR_ID	PCI_VENDOR_ID_REDHAT
#define MDPY_PCI_DEVICE_ID	0x000f
#define MDPY_PCI_SUBVENDOR_ID	PCI_SUBVENDOR_ID_REDHAT_QUMRANET
#define MDPY_PCI_SUBDEVICE_ID	PCI_SUBDEVICE_ID_QEMU

/*
 * The vendor capability: the usual ID, next pointer and length bytes, then
 * three little-endian, read-only dwords that describe the framebuffer.
 */
#define MDPY_VENDORCAP_OFFSET	0x40
#define MDPY_VENDORCAP_SIZE	0x10
#define MDPY_FORMAT_OFFSET	(MDPY_VENDORCAP_OFFSET + 0x04)
#define MDPY_WIDTH_OFFSET	(MDPY_VENDORCAP_OFFSET + 0x08)
#define MDPY_HEIGHT_OFFSET	(MDPY_VENDORCAP_OFFSET + 0x0c)

/* Bytes per pixel of the only format, DRM_FORMAT_XRGB8888 */
#define MDPY_BYTES_PER_PIXEL	4

#endif /* MDPY_DEFS_H */
