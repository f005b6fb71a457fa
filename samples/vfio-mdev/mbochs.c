// SPDX-License-Identifier: GPL-2.0-only
/*
 * mbochs: a mediated display device compatible with QEMU's bochs display.
 *
 * Each device looks like QEMU's "secondary-vga" to the guest, closely
 * enough for the bochs DRM driver to bind: PCI 1234:1111, video memory in
 * BAR0 and, in the MMIO BAR2, the bochs "dispi" (VBE) registers and an EDID
 * window.  No legacy VGA is emulated.
 *
 * On the host the device is a VFIO display of the dma-buf kind.
 * VFIO_DEVICE_QUERY_GFX_PLANE describes the framebuffer the guest programmed
 * and names it by an ID, and VFIO_DEVICE_GET_GFX_DMABUF hands out a dma-buf
 * of it.  An EDID region (VFIO_REGION_SUBTYPE_GFX_EDID) lets user space set
 * the monitor the guest sees.
 *
 * Video memory comes from a pool shared by all devices, sized by the "mem"
 * module parameter; a type asks for a fixed share of it, so how many devices
 * of a type can still be created depends on all the others
 * (&mdev_driver.get_available).  Memory is allocated a page at a time as
 * the guest touches it and freed when the device is closed.
 *
 * Lifetime: a plane (one framebuffer layout over video memory) holds
 * references on its pages; every dma-buf holds a reference on its plane and
 * one on the VFIO device, so the device's state, and with it its share of
 * the pool, outlives its removal until the last dma-buf is closed.
 */

#include <linux/device.h>
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/eventfd.h>
#include <linux/highmem.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mdev.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/overflow.h>
#include <linux/pci.h>
#include <linux/refcount.h>
#include <linux/scatterlist.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include <linux/uaccess.h>
#include <linux/unaligned.h>
#include <linux/vfio.h>
#include <linux/wait_bit.h>
#include <drm/drm_fourcc.h>
#include <drm/drm_plane.h>

/*
 * Region @index of the device file starts at @index << MBOCHS_REGION_SHIFT;
 * the low bits are the offset inside the region.
 */
#define MBOCHS_REGION_SHIFT		40
#define MBOCHS_REGION_START(index)	((u64)(index) << MBOCHS_REGION_SHIFT)
#define MBOCHS_REGION_MASK		(MBOCHS_REGION_START(1) - 1)

#define MBOCHS_EDID_REGION_INDEX	VFIO_PCI_NUM_REGIONS
#define MBOCHS_NUM_REGIONS		(MBOCHS_EDID_REGION_INDEX + 1)

/* BAR2, laid out as QEMU's stdvga MMIO BAR */
#define MBOCHS_MMIO_SIZE		SZ_4K
#define MBOCHS_MMIO_EDID		0x000	/* EDID blob, read-only */
#define MBOCHS_MMIO_EDID_SIZE		0x400
#define MBOCHS_MMIO_DISPI		0x500	/* one 16-bit register each */

/* The bochs dispi interface */
enum mbochs_dispi_reg {
	DISPI_ID,
	DISPI_XRES,
	DISPI_YRES,
	DISPI_BPP,
	DISPI_ENABLE,
	DISPI_BANK,
	DISPI_VIRT_WIDTH,
	DISPI_VIRT_HEIGHT,
	DISPI_X_OFFSET,
	DISPI_Y_OFFSET,
	DISPI_VIDEO_MEMORY_64K,
	DISPI_NR_REGS
};

#define MBOCHS_MMIO_DISPI_END		(MBOCHS_MMIO_DISPI + 2 * DISPI_NR_REGS)

#define DISPI_ID5			0xb0c5
#define DISPI_ENABLED			0x01

/* The EDID region: the registers, then the blob at MBOCHS_EDID_BLOB */
#define MBOCHS_EDID_BLOB		0x100
#define MBOCHS_EDID_MAX_SIZE		MBOCHS_MMIO_EDID_SIZE
#define MBOCHS_EDID_REGION_SIZE		(MBOCHS_EDID_BLOB + MBOCHS_EDID_MAX_SIZE)

/* Emulated registers are copied through a bounce buffer this large */
#define MBOCHS_EMU_CHUNK		64

/* Planes a device remembers; the oldest is forgotten to make room */
#define MBOCHS_MAX_PLANES		8

static unsigned int mbochs_mem_mb = 256;
module_param_named(mem, mbochs_mem_mb, uint, 0444);
MODULE_PARM_DESC(mem, "megabytes of video memory shared by all mbochs devices (default 256)");

/* The part of the pool not promised to a device */
static DEFINE_SPINLOCK(mbochs_pool_lock);
static unsigned int mbochs_pool_free_mb;

/**
 * struct mbochs_type - an mdev type: an amount of video memory
 * @type: the mdev type, registered with the parent
 * @mbytes: video memory, in MiB; a power of two, as it is BAR0
 * @max_xres: the widest mode the EDID region advertises, 0 for any
 * @max_yres: the tallest mode the EDID region advertises, 0 for any
 */
struct mbochs_type {
	struct mdev_type type;
	unsigned int mbytes;
	u32 max_xres;
	u32 max_yres;
};

static struct mbochs_type mbochs_types[] = {
	{
		.type = { .sysfs_name = "small", .pretty_name = "mbochs-small" },
		.mbytes = 4,
		.max_xres = 800,
		.max_yres = 600,
	}, {
		.type = { .sysfs_name = "medium", .pretty_name = "mbochs-medium" },
		.mbytes = 16,
		.max_xres = 1920,
		.max_yres = 1440,
	}, {
		.type = { .sysfs_name = "large", .pretty_name = "mbochs-large" },
		.mbytes = 64,
	},
};

static struct mdev_type *mbochs_type_list[] = {
	&mbochs_types[0].type,
	&mbochs_types[1].type,
	&mbochs_types[2].type,
};

static const struct mbochs_type *to_mbochs_type(struct mdev_type *mtype)
{
	return container_of(mtype, struct mbochs_type, type);
}

/**
 * struct mbochs_mode - the layout of a framebuffer in video memory
 * @drm_format: DRM fourcc of the pixels
 * @width: in pixels
 * @height: in lines
 * @stride: bytes from one line to the next
 * @offset: of the first pixel in video memory, page aligned
 * @size: @stride times @height
 *
 * Compared with memcmp(): keep it free of padding.
 */
struct mbochs_mode {
	u32 drm_format;
	u32 width;
	u32 height;
	u32 stride;
	u64 offset;
	u64 size;
};

struct mbochs_state;

/**
 * struct mbochs_plane - a framebuffer layout that user space may export
 * @ref: held by the device's plane list while listed and by every dma-buf
 * @node: entry in &mbochs_state.planes, under &mbochs_state.lock
 * @state: the device; valid while listed or exported, see above
 * @mode: the layout
 * @id: the dmabuf_id of VFIO_DEVICE_QUERY_GFX_PLANE, unique per device
 * @nr_pages: the number of entries in @pages
 * @pages: the video memory pages the framebuffer covers, one reference each
 */
struct mbochs_plane {
	struct kref ref;
	struct list_head node;
	struct mbochs_state *state;
	struct mbochs_mode mode;
	u32 id;
	unsigned long nr_pages;
	struct page *pages[] __counted_by(nr_pages);
};

/**
 * struct mbochs_state - one mbochs device
 * @vdev: the VFIO device; first, as vfio_alloc_device() wants
 * @type: the type, which sets the video memory size
 * @pool_users: the device until it is removed, and each dma-buf of it:
 *              its share of the memory pool is given back with the last
 * @vram_size: the size of the video memory and of BAR0
 * @vram_pages: the number of pages of the video memory
 * @lock: protects everything below
 * @pages: the video memory, allocated page by page as it is touched
 * @cfg: the emulated PCI configuration space
 * @cfg_wmask: the bits of @cfg the guest may change
 * @dispi: the bochs dispi registers
 * @edid: the registers of the EDID region
 * @edid_blob: the EDID the guest reads through BAR2
 * @planes: the planes user space may export, newest first
 * @nr_planes: the length of @planes
 * @next_plane_id: the ID the next plane gets
 * @req_trigger: the eventfd of the request interrupt, if user space set one
 *
 * User memory is never touched with @lock held: the fault handler of the
 * video memory mapping takes it, and the user buffer may be such a mapping.
 */
struct mbochs_state {
	struct vfio_device vdev;
	const struct mbochs_type *type;
	refcount_t pool_users;
	u64 vram_size;
	unsigned long vram_pages;

	struct mutex lock; /* protects the fields below */
	struct page **pages;
	u8 cfg[PCI_CFG_SPACE_SIZE];
	u8 cfg_wmask[PCI_CFG_SPACE_SIZE];
	u16 dispi[DISPI_NR_REGS];
	struct vfio_region_gfx_edid edid;
	u8 edid_blob[MBOCHS_EDID_MAX_SIZE];
	struct list_head planes;
	unsigned int nr_planes;
	u32 next_plane_id;
	struct eventfd_ctx *req_trigger;
};

static struct mbochs_state *to_mbochs_state(struct vfio_device *vdev)
{
	return container_of(vdev, struct mbochs_state, vdev);
}

/* The memory pool */

static bool mbochs_pool_take(unsigned int mbytes)
{
	bool ok;

	spin_lock(&mbochs_pool_lock);
	ok = mbochs_pool_free_mb >= mbytes;
	if (ok)
		mbochs_pool_free_mb -= mbytes;
	spin_unlock(&mbochs_pool_lock);
	return ok;
}

static void mbochs_pool_give(unsigned int mbytes)
{
	spin_lock(&mbochs_pool_lock);
	mbochs_pool_free_mb += mbytes;
	spin_unlock(&mbochs_pool_lock);
}

/*
 * A user of a device's share of the pool is done: the device once removed,
 * a dma-buf once released.  Not tied to the release of the VFIO device,
 * which anyone holding a reference (or CONFIG_DEBUG_KOBJECT_RELEASE) may
 * delay: available_instances is back as soon as nothing uses the memory.
 */
static void mbochs_pool_put_user(struct mbochs_state *mbochs)
{
	/* Pairs with mbochs_pool_take() in mbochs_init_dev() */
	if (refcount_dec_and_test(&mbochs->pool_users))
		mbochs_pool_give(mbochs->type->mbytes);
}

/* Video memory */

/* The page at @index, allocated on first use; NULL if out of memory */
static struct page *mbochs_vram_page(struct mbochs_state *mbochs,
				     unsigned long index)
{
	lockdep_assert_held(&mbochs->lock);

	if (!mbochs->pages[index])
		mbochs->pages[index] = alloc_page(GFP_HIGHUSER | __GFP_ZERO);
	return mbochs->pages[index];
}

/* The page at @index with a reference; NULL if absent and not @alloc */
static struct page *mbochs_vram_get_page(struct mbochs_state *mbochs,
					 unsigned long index, bool alloc)
{
	struct page *page;

	mutex_lock(&mbochs->lock);
	page = alloc ? mbochs_vram_page(mbochs, index) : mbochs->pages[index];
	if (page)
		get_page(page);
	mutex_unlock(&mbochs->lock);
	return page;
}

static void mbochs_vram_free(struct mbochs_state *mbochs)
{
	unsigned long i;

	lockdep_assert_held(&mbochs->lock);

	for (i = 0; i < mbochs->vram_pages; i++) {
		if (mbochs->pages[i]) {
			put_page(mbochs->pages[i]);
			mbochs->pages[i] = NULL;
		}
	}
}

/* Reads of memory the guest never touched return zeroes, allocating nothing */
static ssize_t mbochs_vram_rw(struct mbochs_state *mbochs, char __user *ubuf,
			      size_t count, u64 off, bool write)
{
	size_t done = 0;

	if (off >= mbochs->vram_size)
		return -EINVAL;
	count = min_t(u64, count, mbochs->vram_size - off);

	while (done < count) {
		u64 pos = off + done;
		size_t poff = offset_in_page(pos);
		size_t len = min_t(size_t, count - done, PAGE_SIZE - poff);
		struct page *page;
		unsigned long left;
		void *vaddr;

		page = mbochs_vram_get_page(mbochs, pos >> PAGE_SHIFT, write);
		if (!page) {
			if (write)
				return done ?: -ENOMEM;
			left = clear_user(ubuf + done, len);
		} else {
			vaddr = kmap_local_page(page);
			if (write)
				left = copy_from_user(vaddr + poff, ubuf + done,
						      len);
			else
				left = copy_to_user(ubuf + done, vaddr + poff,
						    len);
			kunmap_local(vaddr);
			put_page(page);
		}
		if (left)
			return done ?: -EFAULT;
		done += len;
	}
	return done;
}

static vm_fault_t mbochs_vram_fault(struct vm_fault *vmf)
{
	struct mbochs_state *mbochs = vmf->vma->vm_private_data;
	unsigned long first = MBOCHS_REGION_START(VFIO_PCI_BAR0_REGION_INDEX) >>
			      PAGE_SHIFT;
	struct page *page;

	/* mbochs_mmap() checked the range and the mapping cannot grow */
	if (vmf->pgoff < first || vmf->pgoff - first >= mbochs->vram_pages)
		return VM_FAULT_SIGBUS;

	page = mbochs_vram_get_page(mbochs, vmf->pgoff - first, true);
	if (!page)
		return VM_FAULT_OOM;
	/* The reference goes to the page table */
	vmf->page = page;
	return 0;
}

static const struct vm_operations_struct mbochs_vram_vm_ops = {
	.fault = mbochs_vram_fault,
};

/* Configuration space */

static void mbochs_cfg_reset(struct mbochs_state *mbochs)
{
	u8 *cfg = mbochs->cfg;
	u8 *wmask = mbochs->cfg_wmask;

	lockdep_assert_held(&mbochs->lock);

	memset(cfg, 0, sizeof(mbochs->cfg));
	memset(wmask, 0, sizeof(mbochs->cfg_wmask));

	put_unaligned_le16(0x1234, cfg + PCI_VENDOR_ID);
	put_unaligned_le16(0x1111, cfg + PCI_DEVICE_ID);
	cfg[PCI_REVISION_ID] = 0x01;
	put_unaligned_le16(PCI_CLASS_DISPLAY_OTHER, cfg + PCI_CLASS_DEVICE);
	put_unaligned_le32(PCI_BASE_ADDRESS_SPACE_MEMORY |
			   PCI_BASE_ADDRESS_MEM_TYPE_32 |
			   PCI_BASE_ADDRESS_MEM_PREFETCH,
			   cfg + PCI_BASE_ADDRESS_0);
	put_unaligned_le32(PCI_BASE_ADDRESS_SPACE_MEMORY |
			   PCI_BASE_ADDRESS_MEM_TYPE_32,
			   cfg + PCI_BASE_ADDRESS_2);
	put_unaligned_le16(PCI_SUBVENDOR_ID_REDHAT_QUMRANET,
			   cfg + PCI_SUBSYSTEM_VENDOR_ID);
	put_unaligned_le16(PCI_SUBDEVICE_ID_QEMU, cfg + PCI_SUBSYSTEM_ID);

	/* BAR sizing works as on hardware; absent BARs read back zero */
	put_unaligned_le16(PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
			   PCI_COMMAND_INTX_DISABLE, wmask + PCI_COMMAND);
	put_unaligned_le32(~(u32)(mbochs->vram_size - 1),
			   wmask + PCI_BASE_ADDRESS_0);
	put_unaligned_le32(~(u32)(MBOCHS_MMIO_SIZE - 1),
			   wmask + PCI_BASE_ADDRESS_2);
	wmask[PCI_INTERRUPT_LINE] = 0xff;
}

static void mbochs_cfg_access(struct mbochs_state *mbochs, u32 off, u8 *buf,
			      u32 len, bool write)
{
	u32 i;

	lockdep_assert_held(&mbochs->lock);

	if (!write) {
		memcpy(buf, mbochs->cfg + off, len);
		return;
	}
	for (i = off; i < off + len; i++)
		mbochs->cfg[i] = (mbochs->cfg[i] & ~mbochs->cfg_wmask[i]) |
				 (buf[i - off] & mbochs->cfg_wmask[i]);
}

/* BAR2: EDID window and dispi registers */

static void mbochs_dispi_reset(struct mbochs_state *mbochs)
{
	lockdep_assert_held(&mbochs->lock);

	memset(mbochs->dispi, 0, sizeof(mbochs->dispi));
	mbochs->dispi[DISPI_ID] = DISPI_ID5;
	mbochs->dispi[DISPI_VIDEO_MEMORY_64K] = mbochs->vram_size / SZ_64K;
}

static void mbochs_dispi_write(struct mbochs_state *mbochs, unsigned int reg,
			       u16 val)
{
	switch (reg) {
	case DISPI_ID:
	case DISPI_VIDEO_MEMORY_64K:
		/* Read-only here */
		break;
	default:
		mbochs->dispi[reg] = val;
		break;
	}
}

static void mbochs_mmio_access(struct mbochs_state *mbochs, u32 off, u8 *buf,
			       u32 len, bool write)
{
	u32 i;

	lockdep_assert_held(&mbochs->lock);

	/* Byte by byte, so that any access size and alignment works */
	for (i = 0; i < len; i++) {
		u32 pos = off + i;
		unsigned int reg, shift;
		u16 val;

		if (pos >= MBOCHS_MMIO_DISPI && pos < MBOCHS_MMIO_DISPI_END) {
			reg = (pos - MBOCHS_MMIO_DISPI) / 2;
			shift = (pos & 1) * 8;
			val = mbochs->dispi[reg];
			if (write)
				mbochs_dispi_write(mbochs, reg,
						   (val & ~(0xff << shift)) |
						   buf[i] << shift);
			else
				buf[i] = val >> shift;
		} else if (write) {
			/* VGA ports, EDID window: ignored */
			continue;
		} else if (pos < MBOCHS_MMIO_EDID + MBOCHS_MMIO_EDID_SIZE &&
			   mbochs->edid.link_state ==
			   VFIO_DEVICE_GFX_LINK_STATE_UP &&
			   pos - MBOCHS_MMIO_EDID < mbochs->edid.edid_size) {
			buf[i] = mbochs->edid_blob[pos - MBOCHS_MMIO_EDID];
		} else {
			buf[i] = 0;
		}
	}
}

/* The EDID region */

static void mbochs_edid_reset(struct mbochs_state *mbochs)
{
	struct vfio_region_gfx_edid *edid = &mbochs->edid;

	lockdep_assert_held(&mbochs->lock);

	memset(edid, 0, sizeof(*edid));
	edid->edid_offset = MBOCHS_EDID_BLOB;
	edid->edid_max_size = MBOCHS_EDID_MAX_SIZE;
	edid->max_xres = mbochs->type->max_xres;
	edid->max_yres = mbochs->type->max_yres;
	edid->link_state = VFIO_DEVICE_GFX_LINK_STATE_DOWN;
	memset(mbochs->edid_blob, 0, sizeof(mbochs->edid_blob));
}

static int mbochs_edid_reg_write(struct mbochs_state *mbochs, u32 off, u32 val)
{
	struct vfio_region_gfx_edid *edid = &mbochs->edid;

	lockdep_assert_held(&mbochs->lock);

	switch (off) {
	case offsetof(struct vfio_region_gfx_edid, edid_size):
		if (val > edid->edid_max_size)
			return -EINVAL;
		edid->edid_size = val;
		return 0;
	case offsetof(struct vfio_region_gfx_edid, link_state):
		if (val != VFIO_DEVICE_GFX_LINK_STATE_UP &&
		    val != VFIO_DEVICE_GFX_LINK_STATE_DOWN)
			return -EINVAL;
		edid->link_state = val;
		return 0;
	}
	return -EPERM;
}

/*
 * The registers take single aligned 32-bit writes; reads of them may have any
 * size.  The gap up to the blob reads as zero.  The blob takes any access.
 */
static ssize_t mbochs_edid_regs_rw(struct mbochs_state *mbochs,
				   char __user *ubuf, size_t count, u32 off,
				   bool write)
{
	struct vfio_region_gfx_edid edid;
	u32 val;
	int ret;

	if (off >= sizeof(edid)) {
		if (write)
			return -EINVAL;
		count = min_t(size_t, count, MBOCHS_EDID_BLOB - off);
		return clear_user(ubuf, count) ? -EFAULT : count;
	}

	if (write) {
		if (count != sizeof(val) || !IS_ALIGNED(off, sizeof(val)))
			return -EINVAL;
		if (copy_from_user(&val, ubuf, sizeof(val)))
			return -EFAULT;
		mutex_lock(&mbochs->lock);
		ret = mbochs_edid_reg_write(mbochs, off, val);
		mutex_unlock(&mbochs->lock);
		return ret ?: sizeof(val);
	}

	count = min_t(size_t, count, sizeof(edid) - off);
	mutex_lock(&mbochs->lock);
	edid = mbochs->edid;
	mutex_unlock(&mbochs->lock);
	return copy_to_user(ubuf, (u8 *)&edid + off, count) ? -EFAULT : count;
}

static void mbochs_edid_blob_access(struct mbochs_state *mbochs, u32 off,
				    u8 *buf, u32 len, bool write)
{
	lockdep_assert_held(&mbochs->lock);

	off -= MBOCHS_EDID_BLOB;
	if (write)
		memcpy(mbochs->edid_blob + off, buf, len);
	else
		memcpy(buf, mbochs->edid_blob + off, len);
}

/* Region access */

/*
 * Run the emulation function @fn over [@off, @off + @count) of a region, in
 * chunks that go through a bounce buffer.
 */
static ssize_t mbochs_emu_rw(struct mbochs_state *mbochs,
			     void (*fn)(struct mbochs_state *mbochs, u32 off,
					u8 *buf, u32 len, bool write),
			     char __user *ubuf, size_t count, u32 off,
			     bool write)
{
	u8 bounce[MBOCHS_EMU_CHUNK];
	size_t done = 0;

	while (done < count) {
		u32 len = min_t(size_t, count - done, sizeof(bounce));

		if (write && copy_from_user(bounce, ubuf + done, len))
			return done ?: -EFAULT;
		mutex_lock(&mbochs->lock);
		fn(mbochs, off + done, bounce, len, write);
		mutex_unlock(&mbochs->lock);
		if (!write && copy_to_user(ubuf + done, bounce, len))
			return done ?: -EFAULT;
		done += len;
	}
	return done;
}

static u64 mbochs_region_size(struct mbochs_state *mbochs, unsigned int index)
{
	switch (index) {
	case VFIO_PCI_CONFIG_REGION_INDEX:
		return PCI_CFG_SPACE_SIZE;
	case VFIO_PCI_BAR0_REGION_INDEX:
		return mbochs->vram_size;
	case VFIO_PCI_BAR2_REGION_INDEX:
		return MBOCHS_MMIO_SIZE;
	case MBOCHS_EDID_REGION_INDEX:
		return MBOCHS_EDID_REGION_SIZE;
	}
	return 0;
}

static ssize_t mbochs_rw(struct mbochs_state *mbochs, char __user *ubuf,
			 size_t count, loff_t *ppos, bool write)
{
	u64 index = (u64)*ppos >> MBOCHS_REGION_SHIFT;
	u64 off = *ppos & MBOCHS_REGION_MASK;
	u64 size;
	ssize_t ret;

	if (index >= MBOCHS_NUM_REGIONS)
		return -EINVAL;
	size = mbochs_region_size(mbochs, index);
	if (off >= size)
		return -EINVAL;
	if (!count)
		return 0;
	count = min_t(u64, count, size - off);

	switch (index) {
	case VFIO_PCI_CONFIG_REGION_INDEX:
		ret = mbochs_emu_rw(mbochs, mbochs_cfg_access, ubuf, count,
				    off, write);
		break;
	case VFIO_PCI_BAR0_REGION_INDEX:
		ret = mbochs_vram_rw(mbochs, ubuf, count, off, write);
		break;
	case VFIO_PCI_BAR2_REGION_INDEX:
		ret = mbochs_emu_rw(mbochs, mbochs_mmio_access, ubuf, count,
				    off, write);
		break;
	case MBOCHS_EDID_REGION_INDEX:
		if (off < MBOCHS_EDID_BLOB)
			ret = mbochs_edid_regs_rw(mbochs, ubuf, count, off,
						  write);
		else
			ret = mbochs_emu_rw(mbochs, mbochs_edid_blob_access,
					    ubuf, count, off, write);
		break;
	default:
		return -EINVAL;
	}

	if (ret > 0)
		*ppos += ret;
	return ret;
}

static ssize_t mbochs_read(struct vfio_device *vdev, char __user *ubuf,
			   size_t count, loff_t *ppos)
{
	return mbochs_rw(to_mbochs_state(vdev), ubuf, count, ppos, false);
}

static ssize_t mbochs_write(struct vfio_device *vdev, const char __user *ubuf,
			    size_t count, loff_t *ppos)
{
	/* The direction is carried by the last argument */
	return mbochs_rw(to_mbochs_state(vdev), (char __user *)ubuf, count,
			 ppos, true);
}

static int mbochs_mmap(struct vfio_device *vdev, struct vm_area_struct *vma)
{
	struct mbochs_state *mbochs = to_mbochs_state(vdev);
	unsigned long index = vma->vm_pgoff >>
			      (MBOCHS_REGION_SHIFT - PAGE_SHIFT);
	unsigned long pgoff = vma->vm_pgoff &
			      (MBOCHS_REGION_MASK >> PAGE_SHIFT);

	if (index != VFIO_PCI_BAR0_REGION_INDEX)
		return -EINVAL;
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	if (pgoff >= mbochs->vram_pages ||
	    vma_pages(vma) > mbochs->vram_pages - pgoff)
		return -EINVAL;

	vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP);
	vma->vm_ops = &mbochs_vram_vm_ops;
	/* The mapping holds the device file, which keeps @mbochs alive */
	vma->vm_private_data = mbochs;
	return 0;
}

/* Planes and dma-bufs */

/*
 * The framebuffer the guest programmed, if it is one user space can be shown:
 * 32 bits per pixel, page-aligned, inside video memory.
 */
static bool mbochs_scanout_mode(struct mbochs_state *mbochs,
				struct mbochs_mode *mode)
{
	const u16 *dispi = mbochs->dispi;

	lockdep_assert_held(&mbochs->lock);

	memset(mode, 0, sizeof(*mode));
	if (!(dispi[DISPI_ENABLE] & DISPI_ENABLED) || dispi[DISPI_BPP] != 32)
		return false;

	mode->drm_format = DRM_FORMAT_XRGB8888;
	mode->width = dispi[DISPI_XRES];
	mode->height = dispi[DISPI_YRES];
	mode->stride = max(dispi[DISPI_VIRT_WIDTH], dispi[DISPI_XRES]) * 4;
	mode->offset = (u64)dispi[DISPI_Y_OFFSET] * mode->stride +
		       (u64)dispi[DISPI_X_OFFSET] * 4;
	mode->size = (u64)mode->stride * mode->height;

	if (!mode->width || !mode->height ||
	    !PAGE_ALIGNED(mode->offset) ||
	    mode->offset + mode->size > mbochs->vram_size) {
		memset(mode, 0, sizeof(*mode));
		return false;
	}
	return true;
}

static void mbochs_plane_free(struct kref *ref)
{
	struct mbochs_plane *plane = container_of(ref, struct mbochs_plane,
						  ref);
	unsigned long i;

	for (i = 0; i < plane->nr_pages; i++)
		put_page(plane->pages[i]);
	kvfree(plane);
}

static void mbochs_plane_put(struct mbochs_plane *plane)
{
	kref_put(&plane->ref, mbochs_plane_free);
}

/* Drop a plane from the list; dma-bufs of it keep it alive */
static void mbochs_plane_unlist(struct mbochs_plane *plane)
{
	struct mbochs_state *mbochs = plane->state;

	lockdep_assert_held(&mbochs->lock);

	list_del(&plane->node);
	mbochs->nr_planes--;
	/* Pairs with the kref_init() in mbochs_plane_create() */
	mbochs_plane_put(plane);
}

static struct mbochs_plane *mbochs_plane_create(struct mbochs_state *mbochs,
						const struct mbochs_mode *mode)
{
	unsigned long first = mode->offset >> PAGE_SHIFT;
	unsigned long nr = DIV_ROUND_UP(mode->size, PAGE_SIZE);
	struct mbochs_plane *plane;
	unsigned long i;

	lockdep_assert_held(&mbochs->lock);

	plane = kvzalloc(struct_size(plane, pages, nr), GFP_KERNEL);
	if (!plane)
		return NULL;
	plane->nr_pages = nr;

	for (i = 0; i < nr; i++) {
		plane->pages[i] = mbochs_vram_page(mbochs, first + i);
		if (!plane->pages[i])
			goto err_put_pages;
		get_page(plane->pages[i]);
	}

	kref_init(&plane->ref);
	plane->state = mbochs;
	plane->mode = *mode;
	plane->id = mbochs->next_plane_id++;
	/* IDs only wrap after 4G mode changes; 0 is never one */
	if (!mbochs->next_plane_id)
		mbochs->next_plane_id = 1;

	if (mbochs->nr_planes == MBOCHS_MAX_PLANES)
		mbochs_plane_unlist(list_last_entry(&mbochs->planes,
						    struct mbochs_plane, node));
	list_add(&plane->node, &mbochs->planes);
	mbochs->nr_planes++;
	return plane;

err_put_pages:
	while (i--)
		put_page(plane->pages[i]);
	kvfree(plane);
	return NULL;
}

static struct mbochs_plane *mbochs_plane_find_mode(struct mbochs_state *mbochs,
						   const struct mbochs_mode *mode)
{
	struct mbochs_plane *plane;

	lockdep_assert_held(&mbochs->lock);

	list_for_each_entry(plane, &mbochs->planes, node)
		if (!memcmp(&plane->mode, mode, sizeof(*mode)))
			return plane;
	return NULL;
}

static struct mbochs_plane *mbochs_plane_find_id(struct mbochs_state *mbochs,
						 u32 id)
{
	struct mbochs_plane *plane;

	lockdep_assert_held(&mbochs->lock);

	list_for_each_entry(plane, &mbochs->planes, node)
		if (plane->id == id)
			return plane;
	return NULL;
}

static struct sg_table *mbochs_dmabuf_map(struct dma_buf_attachment *attach,
					  enum dma_data_direction dir)
{
	struct mbochs_plane *plane = attach->dmabuf->priv;
	struct sg_table *sgt;
	int ret;

	sgt = kzalloc(sizeof(*sgt), GFP_KERNEL);
	if (!sgt)
		return ERR_PTR(-ENOMEM);

	ret = sg_alloc_table_from_pages(sgt, plane->pages, plane->nr_pages, 0,
					plane->nr_pages << PAGE_SHIFT,
					GFP_KERNEL);
	if (ret)
		goto err_free;
	ret = dma_map_sgtable(attach->dev, sgt, dir, 0);
	if (ret)
		goto err_free_table;
	return sgt;

err_free_table:
	sg_free_table(sgt);
err_free:
	kfree(sgt);
	return ERR_PTR(ret);
}

static void mbochs_dmabuf_unmap(struct dma_buf_attachment *attach,
				struct sg_table *sgt,
				enum dma_data_direction dir)
{
	/* Pairs with mbochs_dmabuf_map() */
	dma_unmap_sgtable(attach->dev, sgt, dir, 0);
	sg_free_table(sgt);
	kfree(sgt);
}

static int mbochs_dmabuf_mmap(struct dma_buf *buf, struct vm_area_struct *vma)
{
	struct mbochs_plane *plane = buf->priv;

	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	/* Checks the range against the pages and maps them all */
	return vm_map_pages(vma, plane->pages, plane->nr_pages);
}

static void mbochs_dmabuf_release(struct dma_buf *buf)
{
	struct mbochs_plane *plane = buf->priv;
	struct mbochs_state *mbochs = plane->state;

	/* Pairs with the kref_get() in mbochs_ioctl_get_gfx_dmabuf() */
	mbochs_plane_put(plane);
	/* Pairs with the refcount_inc() there */
	mbochs_pool_put_user(mbochs);
	/* Pairs with the get_device() there; may free @mbochs */
	vfio_put_device(&mbochs->vdev);
}

static const struct dma_buf_ops mbochs_dmabuf_ops = {
	.map_dma_buf	= mbochs_dmabuf_map,
	.unmap_dma_buf	= mbochs_dmabuf_unmap,
	.mmap		= mbochs_dmabuf_mmap,
	.release	= mbochs_dmabuf_release,
};

/* ioctls */

static int mbochs_ioctl_get_info(struct mbochs_state *mbochs,
				 void __user *uarg)
{
	unsigned long minsz = offsetofend(struct vfio_device_info, num_irqs);
	struct vfio_device_info info;

	if (copy_from_user(&info, uarg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;

	info.flags = VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET;
	info.num_regions = MBOCHS_NUM_REGIONS;
	info.num_irqs = VFIO_PCI_NUM_IRQS;

	return copy_to_user(uarg, &info, minsz) ? -EFAULT : 0;
}

/*
 * The EDID region carries a type capability.  If the caller's buffer is too
 * small for it, argsz tells how much is needed and cap_offset stays 0.
 */
static int mbochs_ioctl_get_region_info(struct mbochs_state *mbochs,
					void __user *uarg)
{
	unsigned long minsz = offsetofend(struct vfio_region_info, offset);
	struct vfio_region_info_cap_type cap = {
		.header.id = VFIO_REGION_INFO_CAP_TYPE,
		.header.version = 1,
		.type = VFIO_REGION_TYPE_GFX,
		.subtype = VFIO_REGION_SUBTYPE_GFX_EDID,
	};
	struct vfio_region_info info;
	u32 rw = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;

	if (copy_from_user(&info, uarg, minsz))
		return -EFAULT;
	if (info.argsz < minsz || info.index >= MBOCHS_NUM_REGIONS)
		return -EINVAL;

	info.offset = MBOCHS_REGION_START(info.index);
	info.size = mbochs_region_size(mbochs, info.index);
	info.cap_offset = 0;
	switch (info.index) {
	case VFIO_PCI_CONFIG_REGION_INDEX:
	case VFIO_PCI_BAR2_REGION_INDEX:
		info.flags = rw;
		break;
	case VFIO_PCI_BAR0_REGION_INDEX:
		info.flags = rw | VFIO_REGION_INFO_FLAG_MMAP;
		break;
	case MBOCHS_EDID_REGION_INDEX:
		info.flags = rw | VFIO_REGION_INFO_FLAG_CAPS;
		if (info.argsz < sizeof(info) + sizeof(cap)) {
			info.argsz = sizeof(info) + sizeof(cap);
			break;
		}
		info.cap_offset = sizeof(info);
		if (copy_to_user(uarg + sizeof(info), &cap, sizeof(cap)))
			return -EFAULT;
		break;
	default:
		/* Absent BARs, ROM and VGA */
		info.flags = 0;
		break;
	}

	return copy_to_user(uarg, &info, minsz) ? -EFAULT : 0;
}

static int mbochs_ioctl_get_irq_info(struct mbochs_state *mbochs,
				     void __user *uarg)
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

static int mbochs_set_req_trigger(struct mbochs_state *mbochs, int fd)
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

	mutex_lock(&mbochs->lock);
	old = mbochs->req_trigger;
	mbochs->req_trigger = trigger;
	mutex_unlock(&mbochs->lock);

	if (old)
		eventfd_ctx_put(old);
	return 0;
}

static void mbochs_fire_req_trigger(struct mbochs_state *mbochs)
{
	mutex_lock(&mbochs->lock);
	if (mbochs->req_trigger)
		eventfd_signal(mbochs->req_trigger);
	mutex_unlock(&mbochs->lock);
}

/*
 * Only the request interrupt exists, with one vector, and only the trigger
 * action makes sense for it: count 0 with no data unhooks the eventfd, an
 * eventfd (-1 to unhook) hooks one, and no data or a true bool fires it.
 */
static int mbochs_ioctl_set_irqs(struct mbochs_state *mbochs,
				 void __user *uarg)
{
	unsigned long minsz = offsetofend(struct vfio_irq_set, count);
	u32 data_type, action, nr_irqs;
	struct vfio_irq_set hdr;
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
		return mbochs_set_req_trigger(mbochs, -1);
	}

	switch (data_type) {
	case VFIO_IRQ_SET_DATA_NONE:
		mbochs_fire_req_trigger(mbochs);
		return 0;
	case VFIO_IRQ_SET_DATA_BOOL:
		if (copy_from_user(&fire, uarg + minsz, sizeof(fire)))
			return -EFAULT;
		if (fire)
			mbochs_fire_req_trigger(mbochs);
		return 0;
	case VFIO_IRQ_SET_DATA_EVENTFD:
		if (copy_from_user(&fd, uarg + minsz, sizeof(fd)))
			return -EFAULT;
		return mbochs_set_req_trigger(mbochs, fd);
	}
	return -EINVAL;
}

/*
 * Describe the primary plane and name it by an ID for
 * VFIO_DEVICE_GET_GFX_DMABUF.  A disabled or unusable framebuffer, like the
 * cursor and overlay planes that do not exist, is reported as all zeroes.
 */
static int mbochs_ioctl_query_gfx_plane(struct mbochs_state *mbochs,
					void __user *uarg)
{
	unsigned long minsz = offsetofend(struct vfio_device_gfx_plane_info,
					  dmabuf_id);
	struct vfio_device_gfx_plane_info info;
	struct mbochs_plane *plane = NULL;
	struct mbochs_mode mode;

	if (copy_from_user(&info, uarg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;

	/* Probing asks whether a kind of plane is supported */
	if (info.flags & VFIO_GFX_PLANE_TYPE_PROBE)
		return info.flags == (VFIO_GFX_PLANE_TYPE_PROBE |
				      VFIO_GFX_PLANE_TYPE_DMABUF) ? 0 : -EINVAL;
	if (info.flags != VFIO_GFX_PLANE_TYPE_DMABUF)
		return -EINVAL;
	if (info.drm_plane_type > DRM_PLANE_TYPE_CURSOR)
		return -EINVAL;

	mutex_lock(&mbochs->lock);
	if (info.drm_plane_type == DRM_PLANE_TYPE_PRIMARY &&
	    mbochs_scanout_mode(mbochs, &mode)) {
		plane = mbochs_plane_find_mode(mbochs, &mode);
		if (!plane)
			plane = mbochs_plane_create(mbochs, &mode);
		if (!plane) {
			mutex_unlock(&mbochs->lock);
			return -ENOMEM;
		}
		mode = plane->mode;
		info.dmabuf_id = plane->id;
	} else {
		memset(&mode, 0, sizeof(mode));
		info.dmabuf_id = 0;
	}
	mutex_unlock(&mbochs->lock);

	info.drm_format = mode.drm_format;
	info.drm_format_mod = DRM_FORMAT_MOD_LINEAR;
	info.width = mode.width;
	info.height = mode.height;
	info.stride = mode.stride;
	info.size = PAGE_ALIGN(mode.size);
	info.x_pos = 0;
	info.y_pos = 0;
	info.x_hot = U32_MAX;
	info.y_hot = U32_MAX;

	return copy_to_user(uarg, &info, minsz) ? -EFAULT : 0;
}

/* Every call exports a new dma-buf; each keeps the device state alive */
static int mbochs_ioctl_get_gfx_dmabuf(struct mbochs_state *mbochs,
				       u32 __user *uarg)
{
	DEFINE_DMA_BUF_EXPORT_INFO(exp_info);
	struct mbochs_plane *plane;
	struct dma_buf *buf;
	u32 id;
	int fd;

	if (get_user(id, uarg))
		return -EFAULT;

	mutex_lock(&mbochs->lock);
	plane = mbochs_plane_find_id(mbochs, id);
	if (plane)
		kref_get(&plane->ref);
	mutex_unlock(&mbochs->lock);
	if (!plane)
		return -ENOENT;

	exp_info.ops = &mbochs_dmabuf_ops;
	exp_info.size = plane->nr_pages << PAGE_SHIFT;
	exp_info.flags = O_RDWR;
	exp_info.priv = plane;
	/* Pairs with the vfio_put_device() in mbochs_dmabuf_release() */
	get_device(&mbochs->vdev.device);
	/* Pairs with the mbochs_pool_put_user() there */
	refcount_inc(&mbochs->pool_users);
	buf = dma_buf_export(&exp_info);
	if (IS_ERR(buf)) {
		mbochs_pool_put_user(mbochs);
		vfio_put_device(&mbochs->vdev);
		mbochs_plane_put(plane);
		return PTR_ERR(buf);
	}

	/* From here on mbochs_dmabuf_release() drops both references */
	fd = dma_buf_fd(buf, O_CLOEXEC);
	if (fd < 0)
		dma_buf_put(buf);
	return fd;
}

static void mbochs_reset(struct mbochs_state *mbochs)
{
	mutex_lock(&mbochs->lock);
	mbochs_cfg_reset(mbochs);
	mbochs_dispi_reset(mbochs);
	mutex_unlock(&mbochs->lock);
}

static long mbochs_ioctl(struct vfio_device *vdev, unsigned int cmd,
			 unsigned long arg)
{
	struct mbochs_state *mbochs = to_mbochs_state(vdev);
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case VFIO_DEVICE_GET_INFO:
		return mbochs_ioctl_get_info(mbochs, uarg);
	case VFIO_DEVICE_GET_REGION_INFO:
		return mbochs_ioctl_get_region_info(mbochs, uarg);
	case VFIO_DEVICE_GET_IRQ_INFO:
		return mbochs_ioctl_get_irq_info(mbochs, uarg);
	case VFIO_DEVICE_SET_IRQS:
		return mbochs_ioctl_set_irqs(mbochs, uarg);
	case VFIO_DEVICE_QUERY_GFX_PLANE:
		return mbochs_ioctl_query_gfx_plane(mbochs, uarg);
	case VFIO_DEVICE_GET_GFX_DMABUF:
		return mbochs_ioctl_get_gfx_dmabuf(mbochs, uarg);
	case VFIO_DEVICE_RESET:
		mbochs_reset(mbochs);
		return 0;
	}
	return -ENOTTY;
}

/* A newly opened device starts from power-on state with a blank monitor */
static int mbochs_open_device(struct vfio_device *vdev)
{
	struct mbochs_state *mbochs = to_mbochs_state(vdev);

	mutex_lock(&mbochs->lock);
	mbochs_cfg_reset(mbochs);
	mbochs_dispi_reset(mbochs);
	mbochs_edid_reset(mbochs);
	mutex_unlock(&mbochs->lock);
	return 0;
}

/* Free video memory; dma-bufs keep the pages and planes they use */
static void mbochs_close_device(struct vfio_device *vdev)
{
	struct mbochs_state *mbochs = to_mbochs_state(vdev);
	struct mbochs_plane *plane, *next;

	mutex_lock(&mbochs->lock);
	list_for_each_entry_safe(plane, next, &mbochs->planes, node)
		mbochs_plane_unlist(plane);
	mbochs_vram_free(mbochs);
	mutex_unlock(&mbochs->lock);

	/* Pairs with the eventfd_ctx_fdget() in mbochs_set_req_trigger() */
	mbochs_set_req_trigger(mbochs, -1);
}

/* The device is being removed while open: ask user space to let go */
static void mbochs_request(struct vfio_device *vdev, unsigned int count)
{
	dev_dbg(vdev->dev, "asking user space to release the device (%u)\n",
		count);
	mbochs_fire_req_trigger(to_mbochs_state(vdev));
}

/*
 * Objects whose release is in this module and may come after their last
 * put returned: the class, the parent device and each VFIO device.  With
 * CONFIG_DEBUG_KOBJECT_RELEASE every release is seconds late; the module
 * waits for them before it goes.
 */
static atomic_t mbochs_nr_releases = ATOMIC_INIT(0);

static void mbochs_release_pending(void)
{
	/* Pairs with mbochs_released() */
	atomic_inc(&mbochs_nr_releases);
}

static void mbochs_released(void)
{
	/* Pairs with wait_var_event() in mbochs_exit() */
	if (atomic_dec_and_test(&mbochs_nr_releases))
		wake_up_var(&mbochs_nr_releases);
}

static int mbochs_init_dev(struct vfio_device *vdev)
{
	struct mbochs_state *mbochs = to_mbochs_state(vdev);
	const struct mbochs_type *type =
		to_mbochs_type(to_mdev_device(vdev->dev)->type);

	/* get_available only promised; the pool decides */
	if (!mbochs_pool_take(type->mbytes))
		return -ENOSPC;

	mbochs->type = type;
	refcount_set(&mbochs->pool_users, 1);
	mbochs->vram_size = (u64)type->mbytes * SZ_1M;
	mbochs->vram_pages = mbochs->vram_size >> PAGE_SHIFT;
	mbochs->pages = kvcalloc(mbochs->vram_pages, sizeof(*mbochs->pages),
				 GFP_KERNEL);
	if (!mbochs->pages) {
		mbochs_pool_give(type->mbytes);
		return -ENOMEM;
	}

	mutex_init(&mbochs->lock);
	INIT_LIST_HEAD(&mbochs->planes);
	mbochs->next_plane_id = 1;
	mbochs_open_device(vdev);
	/* The VFIO core calls mbochs_release_dev() from now on */
	mbochs_release_pending();
	return 0;
}

/*
 * Called when the last reference to the VFIO device is dropped: at removal,
 * or later when the last dma-buf is closed.  Neither the mdev nor
 * &vfio_device.dev may be used any more.
 */
static void mbochs_release_dev(struct vfio_device *vdev)
{
	struct mbochs_state *mbochs = to_mbochs_state(vdev);

	/* Closing emptied both already; a device never opened has none */
	mutex_lock(&mbochs->lock);
	WARN_ON_ONCE(!list_empty(&mbochs->planes));
	mbochs_vram_free(mbochs);
	mutex_unlock(&mbochs->lock);

	mutex_destroy(&mbochs->lock);
	kvfree(mbochs->pages);
	mbochs_released();
}

static const struct vfio_device_ops mbochs_vfio_ops = {
	.name		= "mbochs",
	.init		= mbochs_init_dev,
	.release	= mbochs_release_dev,
	.bind_iommufd	= vfio_iommufd_emulated_bind,
	.unbind_iommufd	= vfio_iommufd_emulated_unbind,
	.attach_ioas	= vfio_iommufd_emulated_attach_ioas,
	.detach_ioas	= vfio_iommufd_emulated_detach_ioas,
	.open_device	= mbochs_open_device,
	.close_device	= mbochs_close_device,
	.read		= mbochs_read,
	.write		= mbochs_write,
	.ioctl		= mbochs_ioctl,
	.mmap		= mbochs_mmap,
	.request	= mbochs_request,
};

static int mbochs_probe(struct mdev_device *mdev)
{
	struct mbochs_state *mbochs;
	int ret;

	mbochs = vfio_alloc_device(mbochs_state, vdev, mdev_dev(mdev),
				   &mbochs_vfio_ops);
	if (IS_ERR(mbochs))
		return PTR_ERR(mbochs);

	dev_set_drvdata(mdev_dev(mdev), mbochs);
	ret = vfio_register_emulated_iommu_dev(&mbochs->vdev);
	if (ret)
		goto err_put;
	return 0;

err_put:
	mbochs_pool_put_user(mbochs);
	/* Pairs with vfio_alloc_device() */
	vfio_put_device(&mbochs->vdev);
	return ret;
}

static void mbochs_remove(struct mdev_device *mdev)
{
	struct mbochs_state *mbochs = dev_get_drvdata(mdev_dev(mdev));

	/* Waits until user space has closed the device */
	vfio_unregister_group_dev(&mbochs->vdev);
	/* Closed, so its video memory is freed, but dma-bufs may use some */
	mbochs_pool_put_user(mbochs);
	/*
	 * Pairs with vfio_alloc_device() in mbochs_probe(); dma-bufs may
	 * still hold the state.
	 */
	vfio_put_device(&mbochs->vdev);
}

static ssize_t memory_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	struct mbochs_state *mbochs = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%u MB\n", mbochs->type->mbytes);
}
static DEVICE_ATTR_RO(memory);

static struct attribute *mbochs_vendor_attrs[] = {
	&dev_attr_memory.attr,
	NULL
};

static const struct attribute_group mbochs_vendor_group = {
	.name	= "vendor",
	.attrs	= mbochs_vendor_attrs,
};

static const struct attribute_group *mbochs_device_groups[] = {
	&mbochs_vendor_group,
	NULL
};

static ssize_t mbochs_show_description(struct mdev_type *mtype, char *buf)
{
	const struct mbochs_type *type = to_mbochs_type(mtype);

	return sysfs_emit(buf, "virtual display, %u MB video memory\n",
			  type->mbytes);
}

static unsigned int mbochs_get_available(struct mdev_type *mtype)
{
	return READ_ONCE(mbochs_pool_free_mb) / to_mbochs_type(mtype)->mbytes;
}

static struct mdev_driver mbochs_driver = {
	.device_api		= VFIO_DEVICE_API_PCI_STRING,
	.probe			= mbochs_probe,
	.remove			= mbochs_remove,
	.get_available		= mbochs_get_available,
	.show_description	= mbochs_show_description,
	.driver = {
		.name		= "mbochs",
		.owner		= THIS_MODULE,
		.mod_name	= KBUILD_MODNAME,
		.dev_groups	= mbochs_device_groups,
	},
};

static void mbochs_class_release(const struct class *class)
{
	mbochs_released();
}

static const struct class mbochs_class = {
	.name		= "mbochs",
	.class_release	= mbochs_class_release,
};

/**
 * struct mbochs_host - the parent device all mbochs devices are created on
 * @dev: a virtual device, /sys/devices/virtual/mbochs/mbochs
 * @parent: its registration with the mdev core
 *
 * Allocated at module load and freed by @dev's release.
 */
struct mbochs_host {
	struct device dev;
	struct mdev_parent parent;
};

static struct mbochs_host *mbochs_host;

static void mbochs_host_release(struct device *dev)
{
	kfree(container_of(dev, struct mbochs_host, dev));
	mbochs_released();
}

static int __init mbochs_init(void)
{
	struct mbochs_host *host;
	int ret;

	mbochs_pool_free_mb = mbochs_mem_mb;

	ret = mdev_register_driver(&mbochs_driver);
	if (ret)
		return ret;

	ret = class_register(&mbochs_class);
	if (ret)
		goto err_driver;
	mbochs_release_pending();

	host = kzalloc(sizeof(*host), GFP_KERNEL);
	if (!host) {
		ret = -ENOMEM;
		goto err_class;
	}
	/* From here on mbochs_host_release() frees @host */
	device_initialize(&host->dev);
	mbochs_release_pending();
	host->dev.class = &mbochs_class;
	host->dev.release = mbochs_host_release;
	ret = dev_set_name(&host->dev, "mbochs");
	if (ret)
		goto err_put;
	ret = device_add(&host->dev);
	if (ret)
		goto err_put;

	ret = mdev_register_parent(&host->parent, &host->dev, &mbochs_driver,
				   mbochs_type_list,
				   ARRAY_SIZE(mbochs_type_list));
	if (ret)
		goto err_del;

	mbochs_host = host;
	return 0;

err_del:
	device_del(&host->dev);
err_put:
	put_device(&host->dev);
err_class:
	class_unregister(&mbochs_class);
err_driver:
	mdev_unregister_driver(&mbochs_driver);
	wait_var_event(&mbochs_nr_releases, !atomic_read(&mbochs_nr_releases));
	return ret;
}

static void __exit mbochs_exit(void)
{
	/* Removes every device, waiting for user space to close them */
	mdev_unregister_parent(&mbochs_host->parent);
	/* Pairs with device_add() in mbochs_init() */
	device_del(&mbochs_host->dev);
	/* Pairs with device_initialize() in mbochs_init() */
	put_device(&mbochs_host->dev);
	class_unregister(&mbochs_class);
	mdev_unregister_driver(&mbochs_driver);
	wait_var_event(&mbochs_nr_releases, !atomic_read(&mbochs_nr_releases));
}

module_init(mbochs_init);
module_exit(mbochs_exit);

MODULE_IMPORT_NS(DMA_BUF);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Mediated bochs-compatible display device with dma-buf export (VFIO mdev sample)");
