// SPDX-License-Identifier: GPL-2.0-only
/*
 * mdpy-fb: the guest's fbdev driver for the mdpy mediated display device.
 *
 * Load it in the guest that an mdpy device is assigned to.  The device (see
 * mdpy-defs.h) has its framebuffer in BAR0 and a fixed mode, which the driver
 * reads from the vendor capability in configuration space; nothing but the
 * pixels is ever written to the device.
 */

#include <linux/fb.h>
#include <linux/io.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <drm/drm_fourcc.h>

#include "mdpy-defs.h"

/* What the driver believes of the mode the device reports */
#define MDPY_FB_MIN_SIZE	64
#define MDPY_FB_MAX_SIZE	8192

/* fbcon wants 16 pseudo-palette entries for a true-colour visual */
#define MDPY_FB_PALETTE_SIZE	16

/**
 * struct mdpy_fb_par - the driver's part of the fb_info
 * @palette: the pseudo palette of the console colours
 */
struct mdpy_fb_par {
	u32 palette[MDPY_FB_PALETTE_SIZE];
};

static int mdpy_fb_setcolreg(unsigned int regno, unsigned int red,
			     unsigned int green, unsigned int blue,
			     unsigned int transp, struct fb_info *info)
{
	u32 *palette = info->pseudo_palette;

	if (regno >= MDPY_FB_PALETTE_SIZE)
		return -EINVAL;

	/* The colour components come as 16 bits; the device has 8 of each */
	palette[regno] = (red >> 8) << info->var.red.offset |
			 (green >> 8) << info->var.green.offset |
			 (blue >> 8) << info->var.blue.offset;
	return 0;
}

/*
 * Called when the last user of the fb_info is gone, which may be after the
 * PCI device was unbound: only then may the mapping and the info go.
 */
static void mdpy_fb_destroy(struct fb_info *info)
{
	/* Pairs with ioremap_wc() in mdpy_fb_probe() */
	iounmap(info->screen_base);
	/* Pairs with framebuffer_alloc() in mdpy_fb_probe() */
	framebuffer_release(info);
}

static const struct fb_ops mdpy_fb_ops = {
	.owner		= THIS_MODULE,
	FB_DEFAULT_IOMEM_OPS,
	.fb_setcolreg	= mdpy_fb_setcolreg,
	.fb_destroy	= mdpy_fb_destroy,
};

/* Read the mode from the vendor capability and check that it is usable */
static int mdpy_fb_read_mode(struct pci_dev *pdev, u32 *width, u32 *height)
{
	resource_size_t bar_len = pci_resource_len(pdev, 0);
	u32 format;

	pci_read_config_dword(pdev, MDPY_FORMAT_OFFSET, &format);
	pci_read_config_dword(pdev, MDPY_WIDTH_OFFSET, width);
	pci_read_config_dword(pdev, MDPY_HEIGHT_OFFSET, height);

	if (format != DRM_FORMAT_XRGB8888) {
		pci_err(pdev, "unsupported pixel format %p4cc\n", &format);
		return -ENODEV;
	}
	if (*width < MDPY_FB_MIN_SIZE || *width > MDPY_FB_MAX_SIZE ||
	    *height < MDPY_FB_MIN_SIZE || *height > MDPY_FB_MAX_SIZE) {
		pci_err(pdev, "unsupported mode %ux%u\n", *width, *height);
		return -ENODEV;
	}
	if ((u64)*width * *height * MDPY_BYTES_PER_PIXEL > bar_len) {
		pci_err(pdev, "mode %ux%u does not fit in BAR0 (%pa bytes)\n",
			*width, *height, &bar_len);
		return -ENODEV;
	}
	return 0;
}

static int mdpy_fb_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct mdpy_fb_par *par;
	struct fb_info *info;
	u32 width, height;
	int ret;

	ret = pci_enable_device(pdev);
	if (ret)
		return ret;

	ret = pci_request_region(pdev, 0, "mdpy-fb");
	if (ret)
		goto err_disable;

	ret = mdpy_fb_read_mode(pdev, &width, &height);
	if (ret)
		goto err_release_region;

	info = framebuffer_alloc(sizeof(*par), &pdev->dev);
	if (!info) {
		ret = -ENOMEM;
		goto err_release_region;
	}
	par = info->par;
	info->pseudo_palette = par->palette;
	info->fbops = &mdpy_fb_ops;

	strscpy(info->fix.id, "mdpy-fb", sizeof(info->fix.id));
	info->fix.type = FB_TYPE_PACKED_PIXELS;
	info->fix.visual = FB_VISUAL_TRUECOLOR;
	info->fix.accel = FB_ACCEL_NONE;
	info->fix.smem_start = pci_resource_start(pdev, 0);
	info->fix.smem_len = pci_resource_len(pdev, 0);
	info->fix.line_length = width * MDPY_BYTES_PER_PIXEL;

	info->var.xres = width;
	info->var.yres = height;
	info->var.xres_virtual = width;
	info->var.yres_virtual = height;
	info->var.bits_per_pixel = MDPY_BYTES_PER_PIXEL * 8;
	/* XRGB8888: the top byte is unused, not alpha */
	info->var.red = (struct fb_bitfield){ .offset = 16, .length = 8 };
	info->var.green = (struct fb_bitfield){ .offset = 8, .length = 8 };
	info->var.blue = (struct fb_bitfield){ .offset = 0, .length = 8 };
	info->var.height = -1;
	info->var.width = -1;
	info->var.activate = FB_ACTIVATE_NOW;
	info->var.vmode = FB_VMODE_NONINTERLACED;

	info->screen_size = info->fix.smem_len;
	info->screen_base = ioremap_wc(info->fix.smem_start, info->screen_size);
	if (!info->screen_base) {
		ret = -ENOMEM;
		goto err_release_fb;
	}

	ret = register_framebuffer(info);
	if (ret)
		goto err_unmap;

	pci_set_drvdata(pdev, info);
	return 0;

err_unmap:
	iounmap(info->screen_base);
err_release_fb:
	framebuffer_release(info);
err_release_region:
	pci_release_region(pdev, 0);
err_disable:
	pci_disable_device(pdev);
	return ret;
}

static void mdpy_fb_remove(struct pci_dev *pdev)
{
	struct fb_info *info = pci_get_drvdata(pdev);

	/* The info itself goes in mdpy_fb_destroy(), once unused */
	unregister_framebuffer(info);
	pci_release_region(pdev, 0);
	pci_disable_device(pdev);
}

static const struct pci_device_id mdpy_fb_ids[] = {
	{ PCI_DEVICE_SUB(MDPY_PCI_VENDOR_ID, MDPY_PCI_DEVICE_ID,
			 MDPY_PCI_SUBVENDOR_ID, MDPY_PCI_SUBDEVICE_ID) },
	{ }
};
MODULE_DEVICE_TABLE(pci, mdpy_fb_ids);

static struct pci_driver mdpy_fb_driver = {
	.name		= "mdpy-fb",
	.id_table	= mdpy_fb_ids,
	.probe		= mdpy_fb_probe,
	.remove		= mdpy_fb_remove,
};
module_pci_driver(mdpy_fb_driver);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Guest framebuffer driver for the mdpy mediated display device (VFIO mdev sample)");
