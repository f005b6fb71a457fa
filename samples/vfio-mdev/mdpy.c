// SPDX-License-Identifier: GPL-2.0-only
/*
 * mdpy: a mediated PCI display device with a fixed-mode framebuffer.
 *
 * Every device is a PCI function whose BAR0 is a linear framebuffer; the
 * guest driver, mdpy-fb, reads the mode from configuration space (see
 * mdpy-defs.h).  On the host the framebuffer is a VFIO display of the
 * region kind: VFIO_DEVICE_QUERY_GFX_PLANE names a region that user space
 * maps to scan the picture out.
 *
 * The module is written the way a vendor driver is written for Linux 6.12:
 * it registers its own mdev_driver, whose probe allocates a vfio_device with
 * vfio_alloc_device() and registers it with an emulated IOMMU.  The number of
 * devices is bounded by the "count" parameter, which the mdev core enforces
 * across all types through &mdev_driver.max_instances.
 */

#include <linux/device.h>
#include <linux/eventfd.h>
#include <linux/log2.h>
#include <linux/mdev.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include <linux/uaccess.h>
#include <linux/unaligned.h>
#include <linux/vfio.h>
#include <linux/vmalloc.h>
#include <linux/wait_bit.h>
#include <drm/drm_fourcc.h>
#include <drm/drm_plane.h>

#include "mdpy-defs.h"

/*
 * Region @index of the device file starts at @index << MDPY_REGION_SHIFT;
 * the low bits are the offset inside the region.
 */
#define MDPY_REGION_SHIFT		40
#define MDPY_REGION_START(index)	((u64)(index) << MDPY_REGION_SHIFT)
#define MDPY_REGION_MASK		(MDPY_REGION_START(1) - 1)

/* The scan-out region of the display: the framebuffer again */
#define MDPY_DISPLAY_REGION_INDEX	VFIO_PCI_NUM_REGIONS
#define MDPY_NUM_REGIONS		(MDPY_DISPLAY_REGION_INDEX + 1)

/* Configuration space is emulated through a bounce buffer this large */
#define MDPY_CFG_CHUNK			64

static unsigned int mdpy_count = 4;
module_param_named(count, mdpy_count, uint, 0444);
MODULE_PARM_DESC(count, "number of mdpy devices that can exist at a time (default 4)");

/**
 * struct mdpy_type - an mdev type: one framebuffer mode
 * @type: the mdev type, registered with the parent
 * @width: width of the framebuffer in pixels
 * @height: height of the framebuffer in pixels
 */
struct mdpy_type {
	struct mdev_type type;
	u32 width;
	u32 height;
};

static struct mdpy_type mdpy_types[] = {
	{
		.type = { .sysfs_name = "vga", .pretty_name = "mdpy-vga" },
		.width = 640,
		.height = 480,
	}, {
		.type = { .sysfs_name = "xga", .pretty_name = "mdpy-xga" },
		.width = 1024,
		.height = 768,
	}, {
		.type = { .sysfs_name = "hd", .pretty_name = "mdpy-hd" },
		.width = 1920,
		.height = 1080,
	},
};

static struct mdev_type *mdpy_type_list[] = {
	&mdpy_types[0].type,
	&mdpy_types[1].type,
	&mdpy_types[2].type,
};

static const struct mdpy_type *to_mdpy_type(struct mdev_type *mtype)
{
	return container_of(mtype, struct mdpy_type, type);
}

/**
 * struct mdpy_state - one mdpy device
 * @vdev: the VFIO device; first, as vfio_alloc_device() wants
 * @type: the mode of the device
 * @fb: the framebuffer, from vmalloc_user() so that it can be mapped
 * @fb_size: the size of @fb and of BAR0, a power of two
 * @lock: protects @cfg and @req_trigger
 * @cfg: the emulated PCI configuration space
 * @cfg_wmask: the bits of @cfg the guest may change
 * @req_trigger: the eventfd of the request interrupt, if user space set one
 *
 * The framebuffer itself is not locked: guest and host may race on pixels,
 * as they would on real video memory.
 */
struct mdpy_state {
	struct vfio_device vdev;
	const struct mdpy_type *type;
	void *fb;
	u32 fb_size;
	struct mutex lock; /* protects cfg and req_trigger */
	u8 cfg[PCI_CFG_SPACE_SIZE];
	u8 cfg_wmask[PCI_CFG_SPACE_SIZE];
	struct eventfd_ctx *req_trigger;
};

static struct mdpy_state *to_mdpy_state(struct vfio_device *vdev)
{
	return container_of(vdev, struct mdpy_state, vdev);
}

static u32 mdpy_stride(const struct mdpy_state *mdpy)
{
	return mdpy->type->width * MDPY_BYTES_PER_PIXEL;
}

static void mdpy_cfg_reset(struct mdpy_state *mdpy)
{
	u8 *cfg = mdpy->cfg;
	u8 *wmask = mdpy->cfg_wmask;
	u8 *cap = cfg + MDPY_VENDORCAP_OFFSET;

	lockdep_assert_held(&mdpy->lock);

	memset(cfg, 0, sizeof(mdpy->cfg));
	memset(wmask, 0, sizeof(mdpy->cfg_wmask));

	put_unaligned_le16(MDPY_PCI_VENDOR_ID, cfg + PCI_VENDOR_ID);
	put_unaligned_le16(MDPY_PCI_DEVICE_ID, cfg + PCI_DEVICE_ID);
	put_unaligned_le16(PCI_STATUS_CAP_LIST, cfg + PCI_STATUS);
	cfg[PCI_REVISION_ID] = 0x01;
	put_unaligned_le16(PCI_CLASS_DISPLAY_OTHER, cfg + PCI_CLASS_DEVICE);
	put_unaligned_le32(PCI_BASE_ADDRESS_SPACE_MEMORY |
			   PCI_BASE_ADDRESS_MEM_TYPE_32 |
			   PCI_BASE_ADDRESS_MEM_PREFETCH,
			   cfg + PCI_BASE_ADDRESS_0);
	put_unaligned_le16(MDPY_PCI_SUBVENDOR_ID,
			   cfg + PCI_SUBSYSTEM_VENDOR_ID);
	put_unaligned_le16(MDPY_PCI_SUBDEVICE_ID, cfg + PCI_SUBSYSTEM_ID);
	cfg[PCI_CAPABILITY_LIST] = MDPY_VENDORCAP_OFFSET;

	cap[PCI_CAP_LIST_ID] = PCI_CAP_ID_VNDR;
	cap[PCI_CAP_LIST_NEXT] = 0;
	cap[PCI_CAP_FLAGS] = MDPY_VENDORCAP_SIZE;
	put_unaligned_le32(DRM_FORMAT_XRGB8888, cfg + MDPY_FORMAT_OFFSET);
	put_unaligned_le32(mdpy->type->width, cfg + MDPY_WIDTH_OFFSET);
	put_unaligned_le32(mdpy->type->height, cfg + MDPY_HEIGHT_OFFSET);

	/*
	 * What the guest may write.  Writing all ones to BAR0 and reading it
	 * back yields the BAR's size, as on real hardware; the other BARs and
	 * the ROM BAR read back as zero, i.e. absent.
	 */
	put_unaligned_le16(PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
			   PCI_COMMAND_INTX_DISABLE, wmask + PCI_COMMAND);
	put_unaligned_le32(~(mdpy->fb_size - 1), wmask + PCI_BASE_ADDRESS_0);
	wmask[PCI_INTERRUPT_LINE] = 0xff;
}

/* A gray ramp from top to bottom, so that an untouched display shows life */
static void mdpy_fb_reset(struct mdpy_state *mdpy)
{
	u32 height = mdpy->type->height;
	u32 stride = mdpy_stride(mdpy);
	u32 y;

	for (y = 0; y < height; y++)
		memset(mdpy->fb + y * stride, y * 0xff / height, stride);
}

static void mdpy_reset(struct mdpy_state *mdpy)
{
	mutex_lock(&mdpy->lock);
	mdpy_cfg_reset(mdpy);
	mutex_unlock(&mdpy->lock);
	mdpy_fb_reset(mdpy);
}

static void mdpy_cfg_access(struct mdpy_state *mdpy, u32 off, u8 *buf,
			    u32 len, bool write)
{
	u32 i;

	lockdep_assert_held(&mdpy->lock);

	if (!write) {
		memcpy(buf, mdpy->cfg + off, len);
		return;
	}
	for (i = off; i < off + len; i++)
		mdpy->cfg[i] = (mdpy->cfg[i] & ~mdpy->cfg_wmask[i]) |
			       (buf[i - off] & mdpy->cfg_wmask[i]);
}

static ssize_t mdpy_cfg_rw(struct mdpy_state *mdpy, char __user *ubuf,
			   size_t count, u64 off, bool write)
{
	u8 bounce[MDPY_CFG_CHUNK];
	size_t done = 0;

	if (off >= PCI_CFG_SPACE_SIZE)
		return -EINVAL;
	count = min_t(size_t, count, PCI_CFG_SPACE_SIZE - off);

	/* User memory is only touched with the lock dropped */
	while (done < count) {
		u32 len = min_t(size_t, count - done, sizeof(bounce));

		if (write && copy_from_user(bounce, ubuf + done, len))
			return done ?: -EFAULT;
		mutex_lock(&mdpy->lock);
		mdpy_cfg_access(mdpy, off + done, bounce, len, write);
		mutex_unlock(&mdpy->lock);
		if (!write && copy_to_user(ubuf + done, bounce, len))
			return done ?: -EFAULT;
		done += len;
	}
	return done;
}

static ssize_t mdpy_fb_rw(struct mdpy_state *mdpy, char __user *ubuf,
			  size_t count, u64 off, bool write)
{
	unsigned long left;

	if (off >= mdpy->fb_size)
		return -EINVAL;
	count = min_t(size_t, count, mdpy->fb_size - off);

	if (write)
		left = copy_from_user(mdpy->fb + off, ubuf, count);
	else
		left = copy_to_user(ubuf, mdpy->fb + off, count);
	if (left == count)
		return -EFAULT;
	return count - left;
}

static ssize_t mdpy_rw(struct mdpy_state *mdpy, char __user *ubuf,
		       size_t count, loff_t *ppos, bool write)
{
	u64 index = (u64)*ppos >> MDPY_REGION_SHIFT;
	u64 off = *ppos & MDPY_REGION_MASK;
	ssize_t ret;

	if (!count)
		return 0;

	switch (index) {
	case VFIO_PCI_CONFIG_REGION_INDEX:
		ret = mdpy_cfg_rw(mdpy, ubuf, count, off, write);
		break;
	case VFIO_PCI_BAR0_REGION_INDEX:
	case MDPY_DISPLAY_REGION_INDEX:
		ret = mdpy_fb_rw(mdpy, ubuf, count, off, write);
		break;
	default:
		return -EINVAL;
	}

	if (ret > 0)
		*ppos += ret;
	return ret;
}

static ssize_t mdpy_read(struct vfio_device *vdev, char __user *ubuf,
			 size_t count, loff_t *ppos)
{
	return mdpy_rw(to_mdpy_state(vdev), ubuf, count, ppos, false);
}

static ssize_t mdpy_write(struct vfio_device *vdev, const char __user *ubuf,
			  size_t count, loff_t *ppos)
{
	/* The direction is carried by the last argument */
	return mdpy_rw(to_mdpy_state(vdev), (char __user *)ubuf, count, ppos,
		       true);
}

static int mdpy_mmap(struct vfio_device *vdev, struct vm_area_struct *vma)
{
	struct mdpy_state *mdpy = to_mdpy_state(vdev);
	unsigned long index = vma->vm_pgoff >> (MDPY_REGION_SHIFT - PAGE_SHIFT);
	unsigned long pgoff = vma->vm_pgoff & (MDPY_REGION_MASK >> PAGE_SHIFT);
	unsigned long fb_pages = mdpy->fb_size >> PAGE_SHIFT;

	if (index != VFIO_PCI_BAR0_REGION_INDEX &&
	    index != MDPY_DISPLAY_REGION_INDEX)
		return -EINVAL;
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	if (pgoff >= fb_pages || vma_pages(vma) > fb_pages - pgoff)
		return -EINVAL;

	/* Also sets VM_DONTEXPAND: the mapping cannot outgrow the buffer */
	return remap_vmalloc_range(vma, mdpy->fb, pgoff);
}

static int mdpy_ioctl_get_info(struct mdpy_state *mdpy, void __user *uarg)
{
	unsigned long minsz = offsetofend(struct vfio_device_info, num_irqs);
	struct vfio_device_info info;

	if (copy_from_user(&info, uarg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;

	info.flags = VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET;
	info.num_regions = MDPY_NUM_REGIONS;
	info.num_irqs = VFIO_PCI_NUM_IRQS;

	return copy_to_user(uarg, &info, minsz) ? -EFAULT : 0;
}

static int mdpy_ioctl_get_region_info(struct mdpy_state *mdpy,
				      void __user *uarg)
{
	unsigned long minsz = offsetofend(struct vfio_region_info, offset);
	struct vfio_region_info info;

	if (copy_from_user(&info, uarg, minsz))
		return -EFAULT;
	if (info.argsz < minsz || info.index >= MDPY_NUM_REGIONS)
		return -EINVAL;

	info.offset = MDPY_REGION_START(info.index);
	info.cap_offset = 0;
	switch (info.index) {
	case VFIO_PCI_CONFIG_REGION_INDEX:
		info.size = PCI_CFG_SPACE_SIZE;
		info.flags = VFIO_REGION_INFO_FLAG_READ |
			     VFIO_REGION_INFO_FLAG_WRITE;
		break;
	case VFIO_PCI_BAR0_REGION_INDEX:
	case MDPY_DISPLAY_REGION_INDEX:
		info.size = mdpy->fb_size;
		info.flags = VFIO_REGION_INFO_FLAG_READ |
			     VFIO_REGION_INFO_FLAG_WRITE |
			     VFIO_REGION_INFO_FLAG_MMAP;
		break;
	default:
		/* Absent BARs, ROM and VGA */
		info.size = 0;
		info.flags = 0;
		break;
	}

	return copy_to_user(uarg, &info, minsz) ? -EFAULT : 0;
}

static int mdpy_ioctl_get_irq_info(struct mdpy_state *mdpy, void __user *uarg)
{
	unsigned long minsz = offsetofend(struct vfio_irq_info, count);
	struct vfio_irq_info info;

	if (copy_from_user(&info, uarg, minsz))
		return -EFAULT;
	if (info.argsz < minsz || info.index >= VFIO_PCI_NUM_IRQS)
		return -EINVAL;

	/* No interrupts but the request to release the device */
	if (info.index == VFIO_PCI_REQ_IRQ_INDEX) {
		info.flags = VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE;
		info.count = 1;
	} else {
		info.flags = 0;
		info.count = 0;
	}

	return copy_to_user(uarg, &info, minsz) ? -EFAULT : 0;
}

static int mdpy_set_req_trigger(struct mdpy_state *mdpy, int fd)
{
	struct eventfd_ctx *trigger = NULL;
	struct eventfd_ctx *old;

	if (fd >= 0) {
		trigger = eventfd_ctx_fdget(fd);
		if (IS_ERR(trigger))
			return PTR_ERR(trigger);
	} else if (fd != -1) {
		return -EINVAL;
	}

	mutex_lock(&mdpy->lock);
	old = mdpy->req_trigger;
	mdpy->req_trigger = trigger;
	mutex_unlock(&mdpy->lock);

	if (old)
		eventfd_ctx_put(old);
	return 0;
}

static void mdpy_fire_req_trigger(struct mdpy_state *mdpy)
{
	mutex_lock(&mdpy->lock);
	if (mdpy->req_trigger)
		eventfd_signal(mdpy->req_trigger);
	mutex_unlock(&mdpy->lock);
}

/*
 * Only the request interrupt exists, with one vector, and only the trigger
 * action makes sense for it: count 0 with no data unhooks the eventfd, an
 * eventfd (-1 to unhook) hooks one, and no data or a true bool fires it.
 */
static int mdpy_ioctl_set_irqs(struct mdpy_state *mdpy, void __user *uarg)
{
	unsigned long minsz = offsetofend(struct vfio_irq_set, count);
	struct vfio_irq_set hdr;
	u32 data_type, action, nr_irqs;
	size_t data_size;
	s32 fd;
	u8 fire;
	int ret;

	if (copy_from_user(&hdr, uarg, minsz))
		return -EFAULT;

	nr_irqs = hdr.index == VFIO_PCI_REQ_IRQ_INDEX ? 1 : 0;
	ret = vfio_set_irqs_validate_and_prepare(&hdr, nr_irqs,
						 VFIO_PCI_NUM_IRQS, &data_size);
	if (ret)
		return ret;

	data_type = hdr.flags & VFIO_IRQ_SET_DATA_TYPE_MASK;
	action = hdr.flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;
	if (action != VFIO_IRQ_SET_ACTION_TRIGGER)
		return -EINVAL;

	if (!hdr.count) {
		if (data_type != VFIO_IRQ_SET_DATA_NONE)
			return -EINVAL;
		return mdpy_set_req_trigger(mdpy, -1);
	}

	switch (data_type) {
	case VFIO_IRQ_SET_DATA_NONE:
		mdpy_fire_req_trigger(mdpy);
		return 0;
	case VFIO_IRQ_SET_DATA_BOOL:
		if (copy_from_user(&fire, uarg + minsz, sizeof(fire)))
			return -EFAULT;
		if (fire)
			mdpy_fire_req_trigger(mdpy);
		return 0;
	case VFIO_IRQ_SET_DATA_EVENTFD:
		if (copy_from_user(&fd, uarg + minsz, sizeof(fd)))
			return -EFAULT;
		return mdpy_set_req_trigger(mdpy, fd);
	}
	return -EINVAL;
}

static int mdpy_ioctl_query_gfx_plane(struct mdpy_state *mdpy,
				      void __user *uarg)
{
	unsigned long minsz = offsetofend(struct vfio_device_gfx_plane_info,
					  region_index);
	struct vfio_device_gfx_plane_info plane;
	u32 stride = mdpy_stride(mdpy);

	if (copy_from_user(&plane, uarg, minsz))
		return -EFAULT;
	if (plane.argsz < minsz)
		return -EINVAL;

	/* Probing asks whether a kind of plane is supported */
	if (plane.flags & VFIO_GFX_PLANE_TYPE_PROBE)
		return plane.flags == (VFIO_GFX_PLANE_TYPE_PROBE |
				       VFIO_GFX_PLANE_TYPE_REGION) ? 0 : -EINVAL;
	if (plane.flags != VFIO_GFX_PLANE_TYPE_REGION)
		return -EINVAL;
	if (plane.drm_plane_type > DRM_PLANE_TYPE_CURSOR)
		return -EINVAL;

	plane.drm_format = 0;
	plane.drm_format_mod = DRM_FORMAT_MOD_LINEAR;
	plane.width = 0;
	plane.height = 0;
	plane.stride = 0;
	plane.size = 0;
	plane.x_pos = 0;
	plane.y_pos = 0;
	plane.x_hot = U32_MAX;
	plane.y_hot = U32_MAX;
	plane.region_index = 0;

	/*
	 * The framebuffer is the only plane.  QEMU asks about region planes
	 * without naming one (drm_plane_type 0, an overlay), so any plane
	 * but the cursor is the framebuffer; there is no cursor.
	 */
	if (plane.drm_plane_type != DRM_PLANE_TYPE_CURSOR) {
		plane.drm_format = DRM_FORMAT_XRGB8888;
		plane.width = mdpy->type->width;
		plane.height = mdpy->type->height;
		plane.stride = stride;
		plane.size = PAGE_ALIGN(stride * mdpy->type->height);
		plane.region_index = MDPY_DISPLAY_REGION_INDEX;
	}

	return copy_to_user(uarg, &plane, minsz) ? -EFAULT : 0;
}

static long mdpy_ioctl(struct vfio_device *vdev, unsigned int cmd,
		       unsigned long arg)
{
	struct mdpy_state *mdpy = to_mdpy_state(vdev);
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case VFIO_DEVICE_GET_INFO:
		return mdpy_ioctl_get_info(mdpy, uarg);
	case VFIO_DEVICE_GET_REGION_INFO:
		return mdpy_ioctl_get_region_info(mdpy, uarg);
	case VFIO_DEVICE_GET_IRQ_INFO:
		return mdpy_ioctl_get_irq_info(mdpy, uarg);
	case VFIO_DEVICE_SET_IRQS:
		return mdpy_ioctl_set_irqs(mdpy, uarg);
	case VFIO_DEVICE_QUERY_GFX_PLANE:
		return mdpy_ioctl_query_gfx_plane(mdpy, uarg);
	case VFIO_DEVICE_RESET:
		mdpy_reset(mdpy);
		return 0;
	}
	return -ENOTTY;
}

static void mdpy_close_device(struct vfio_device *vdev)
{
	/* Pairs with the eventfd_ctx_fdget() in mdpy_set_req_trigger() */
	mdpy_set_req_trigger(to_mdpy_state(vdev), -1);
}

/* The device is being removed while open: ask user space to let go */
static void mdpy_request(struct vfio_device *vdev, unsigned int count)
{
	struct mdpy_state *mdpy = to_mdpy_state(vdev);

	dev_dbg(vdev->dev, "asking user space to release the device (%u)\n",
		count);
	mdpy_fire_req_trigger(mdpy);
}

/*
 * Objects whose release is in this module and may come after their last
 * put returned: the class, the parent device and each VFIO device.  With
 * CONFIG_DEBUG_KOBJECT_RELEASE every release is seconds late; the module
 * waits for them before it goes.
 */
static atomic_t mdpy_nr_releases = ATOMIC_INIT(0);

static void mdpy_release_pending(void)
{
	/* Pairs with mdpy_released() */
	atomic_inc(&mdpy_nr_releases);
}

static void mdpy_released(void)
{
	/* Pairs with wait_var_event() in mdpy_exit() */
	if (atomic_dec_and_test(&mdpy_nr_releases))
		wake_up_var(&mdpy_nr_releases);
}

static int mdpy_init_dev(struct vfio_device *vdev)
{
	struct mdpy_state *mdpy = to_mdpy_state(vdev);
	struct mdev_device *mdev = to_mdev_device(vdev->dev);

	mdpy->type = to_mdpy_type(mdev->type);
	/* A PCI BAR is a power of two in size */
	mdpy->fb_size = roundup_pow_of_two(mdpy_stride(mdpy) *
					   mdpy->type->height);
	mdpy->fb = vmalloc_user(mdpy->fb_size);
	if (!mdpy->fb)
		return -ENOMEM;

	mutex_init(&mdpy->lock);
	mdpy_reset(mdpy);
	/* The VFIO core calls mdpy_release_dev() from now on */
	mdpy_release_pending();
	return 0;
}

/* Called when the last reference to the VFIO device is dropped */
static void mdpy_release_dev(struct vfio_device *vdev)
{
	struct mdpy_state *mdpy = to_mdpy_state(vdev);

	mutex_destroy(&mdpy->lock);
	/* Pairs with the vmalloc_user() in mdpy_init_dev() */
	vfree(mdpy->fb);
	mdpy_released();
}

static const struct vfio_device_ops mdpy_vfio_ops = {
	.name		= "mdpy",
	.init		= mdpy_init_dev,
	.release	= mdpy_release_dev,
	.bind_iommufd	= vfio_iommufd_emulated_bind,
	.unbind_iommufd	= vfio_iommufd_emulated_unbind,
	.attach_ioas	= vfio_iommufd_emulated_attach_ioas,
	.detach_ioas	= vfio_iommufd_emulated_detach_ioas,
	.close_device	= mdpy_close_device,
	.read		= mdpy_read,
	.write		= mdpy_write,
	.ioctl		= mdpy_ioctl,
	.mmap		= mdpy_mmap,
	.request	= mdpy_request,
};

static int mdpy_probe(struct mdev_device *mdev)
{
	struct mdpy_state *mdpy;
	int ret;

	mdpy = vfio_alloc_device(mdpy_state, vdev, mdev_dev(mdev),
				 &mdpy_vfio_ops);
	if (IS_ERR(mdpy))
		return PTR_ERR(mdpy);

	dev_set_drvdata(mdev_dev(mdev), mdpy);
	ret = vfio_register_emulated_iommu_dev(&mdpy->vdev);
	if (ret)
		goto err_put;
	return 0;

err_put:
	/* Pairs with vfio_alloc_device() */
	vfio_put_device(&mdpy->vdev);
	return ret;
}

static void mdpy_remove(struct mdev_device *mdev)
{
	struct mdpy_state *mdpy = dev_get_drvdata(mdev_dev(mdev));

	/* Waits until user space has closed the device */
	vfio_unregister_group_dev(&mdpy->vdev);
	/* Pairs with vfio_alloc_device() in mdpy_probe() */
	vfio_put_device(&mdpy->vdev);
}

static ssize_t resolution_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	struct mdpy_state *mdpy = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%ux%u\n", mdpy->type->width,
			  mdpy->type->height);
}
static DEVICE_ATTR_RO(resolution);

static struct attribute *mdpy_vendor_attrs[] = {
	&dev_attr_resolution.attr,
	NULL
};

static const struct attribute_group mdpy_vendor_group = {
	.name	= "vendor",
	.attrs	= mdpy_vendor_attrs,
};

static const struct attribute_group *mdpy_device_groups[] = {
	&mdpy_vendor_group,
	NULL
};

static ssize_t mdpy_show_description(struct mdev_type *mtype, char *buf)
{
	const struct mdpy_type *type = to_mdpy_type(mtype);

	return sysfs_emit(buf, "virtual display, %ux%u framebuffer\n",
			  type->width, type->height);
}

static struct mdev_driver mdpy_driver = {
	.device_api		= VFIO_DEVICE_API_PCI_STRING,
	.probe			= mdpy_probe,
	.remove			= mdpy_remove,
	.show_description	= mdpy_show_description,
	.driver = {
		.name		= "mdpy",
		.owner		= THIS_MODULE,
		.mod_name	= KBUILD_MODNAME,
		.dev_groups	= mdpy_device_groups,
	},
};

static void mdpy_class_release(const struct class *class)
{
	mdpy_released();
}

static const struct class mdpy_class = {
	.name		= "mdpy",
	.class_release	= mdpy_class_release,
};

/**
 * struct mdpy_host - the parent device all mdpy devices are created on
 * @dev: a virtual device, /sys/devices/virtual/mdpy/mdpy
 * @parent: its registration with the mdev core
 *
 * Allocated at module load and freed by @dev's release, so that the device
 * lives as long as anyone holds a reference, not as long as the module.
 */
struct mdpy_host {
	struct device dev;
	struct mdev_parent parent;
};

static struct mdpy_host *mdpy_host;

static void mdpy_host_release(struct device *dev)
{
	kfree(container_of(dev, struct mdpy_host, dev));
	mdpy_released();
}

static int __init mdpy_init(void)
{
	struct mdpy_host *host;
	int ret;

	/* The core counts devices against this, across all types */
	mdpy_driver.max_instances = mdpy_count;
	ret = mdev_register_driver(&mdpy_driver);
	if (ret)
		return ret;

	ret = class_register(&mdpy_class);
	if (ret)
		goto err_driver;
	mdpy_release_pending();

	host = kzalloc(sizeof(*host), GFP_KERNEL);
	if (!host) {
		ret = -ENOMEM;
		goto err_class;
	}
	/* From here on mdpy_host_release() frees @host */
	device_initialize(&host->dev);
	mdpy_release_pending();
	host->dev.class = &mdpy_class;
	host->dev.release = mdpy_host_release;
	ret = dev_set_name(&host->dev, "mdpy");
	if (ret)
		goto err_put;
	ret = device_add(&host->dev);
	if (ret)
		goto err_put;

	ret = mdev_register_parent(&host->parent, &host->dev, &mdpy_driver,
				   mdpy_type_list, ARRAY_SIZE(mdpy_type_list));
	if (ret)
		goto err_del;

	mdpy_host = host;
	return 0;

err_del:
	device_del(&host->dev);
err_put:
	put_device(&host->dev);
err_class:
	class_unregister(&mdpy_class);
err_driver:
	mdev_unregister_driver(&mdpy_driver);
	wait_var_event(&mdpy_nr_releases, !atomic_read(&mdpy_nr_releases));
	return ret;
}

static void __exit mdpy_exit(void)
{
	/* Removes every device, waiting for user space to close them */
	mdev_unregister_parent(&mdpy_host->parent);
	/* Pairs with device_add() in mdpy_init() */
	device_del(&mdpy_host->dev);
	/* Pairs with device_initialize() in mdpy_init() */
	put_device(&mdpy_host->dev);
	class_unregister(&mdpy_class);
	mdev_unregister_driver(&mdpy_driver);
	wait_var_event(&mdpy_nr_releases, !atomic_read(&mdpy_nr_releases));
}

module_init(mdpy_init);
module_exit(mdpy_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Mediated PCI display device with a region-based framebuffer (VFIO mdev sample)");
