// SPDX-License-Identifier: GPL-2.0-only
/*
 * A vendor driver that tests the classic mdev path (vfio_mdev.ko).
 *
 * It registers two parents of the class "mdev_classic_test":
 *
 * mdev_classic_full - type "mdev_classic_test-full": every callback of
 *   struct mdev_parent_ops.  Each call is counted in a read-only file of
 *   /sys/bus/mdev/devices/<uuid>/classic_test/.  The device looks like a
 *   PCI function: config space (region 7), a 4 KiB register block (BAR0,
 *   read/write only) that starts DMA through the vfio_mdev helpers, and a
 *   one-page buffer (BAR2) that is also mappable through a fault handler.
 *   The request callback signals the eventfd user space registered for
 *   VFIO_PCI_REQ_IRQ_INDEX.
 *
 * mdev_classic_bare - type "mdev_classic_test-bare": only create and
 *   remove, to check what vfio_mdev does for each missing callback.
 *
 * Each parent counts the create, remove and request calls that reached it
 * in /sys/class/mdev_bus/<parent>/classic_test/{created,removed,requested}:
 * a device's own files are gone while it is being removed.
 *
 * Only for testing: tools/testing/selftests/mdev/vfio_mdev_client.c drives it.
 */

#include <linux/atomic.h>
#include <linux/device.h>
#include <linux/eventfd.h>
#include <linux/iommu.h>
#include <linux/kstrtox.h>
#include <linux/mdev.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci_ids.h>
#include <linux/pci_regs.h>
#include <linux/slab.h>
#include <linux/sysfs.h>
#include <linux/uaccess.h>
#include <linux/vfio.h>

/* Regions sit at index << 40 in the device file, as with vfio-pci */
#define MCT_INDEX_SHIFT		40
#define MCT_REGION_START(index)	((u64)(index) << MCT_INDEX_SHIFT)
#define MCT_OFFSET_MASK		(MCT_REGION_START(1) - 1)

#define MCT_CONFIG_SIZE		256
#define MCT_REGS_SIZE		0x1000
#define MCT_REGS_INDEX		VFIO_PCI_BAR0_REGION_INDEX
#define MCT_BUF_INDEX		VFIO_PCI_BAR2_REGION_INDEX
#define MCT_BUF_SIZE		PAGE_SIZE

/* QEMU's PCI test device ID: no guest driver binds to it */
#define MCT_PCI_DEVICE_ID	0x0005

/* BAR0 registers, 32-bit accesses only; the client mirrors them */
#define MCT_REG_IOVA_LO		0x00
#define MCT_REG_IOVA_HI		0x04
#define MCT_REG_LEN		0x08
#define MCT_REG_CMD		0x0c	/* write: run a command, see below */
#define MCT_REG_STATUS		0x10	/* read: its result, s32 */
#define MCT_REG_PINNED		0x14	/* read: pages pinned, 0 or 1 */

#define MCT_CMD_DMA_TO_BUF	1	/* BAR2 <- guest memory at IOVA */
#define MCT_CMD_DMA_FROM_BUF	2	/* guest memory at IOVA <- BAR2 */
#define MCT_CMD_PIN		3	/* pin the page at IOVA until unmap */
#define MCT_CMD_UNPIN		4

enum mct_call {
	MCT_OPEN_DEVICE,
	MCT_CLOSE_DEVICE,
	MCT_READ,
	MCT_WRITE,
	MCT_IOCTL,
	MCT_MMAP,
	MCT_REQUEST,
	MCT_DMA_UNMAP,
	MCT_FAULT,
	MCT_NR_CALLS,
};

struct mct_parent {
	struct mdev_parent parent;
	struct device *dev;
	struct mdev_type type;
	struct mdev_type *types[1];
	atomic_t created;
	atomic_t removed;
	atomic_t requested;
};

struct mct_state {
	struct mdev_device *mdev;
	struct page *buf;
	atomic_t calls[MCT_NR_CALLS];

	struct mutex lock;	/* protects the members below */
	u8 config[MCT_CONFIG_SIZE];
	u64 dma_iova;
	u32 dma_len;
	s32 status;
	struct eventfd_ctx *req_trigger;
	int fail_open;

	/*
	 * VFIO calls dma_unmap with its own locks held, and takes them again
	 * when we pin or unpin: no lock held across those calls may be taken
	 * in dma_unmap.  This one only guards the bookkeeping, never a call
	 * into VFIO, and never nests with @lock.
	 */
	struct mutex pin_lock;	/* protects the members below */
	struct page *pinned;
	u64 pinned_iova;
	bool pinning;
};

static const struct class mct_class = {
	.name = "mdev_classic_test",
};

static struct mct_parent *mct_full, *mct_bare;

/*
 * The attribute files of a device exist before create, and after remove
 * when the device is unbound from vfio_mdev through sysfs: they find the
 * state under this lock, which create and remove take to set and clear it.
 */
static DEFINE_MUTEX(mct_state_lock);

static struct mct_parent *to_mct_parent(struct mdev_device *mdev)
{
	return container_of(mdev->type->parent, struct mct_parent, parent);
}

static void mct_count(struct mdev_device *mdev, enum mct_call call)
{
	struct mct_state *state = mdev_get_drvdata(mdev);

	atomic_inc(&state->calls[call]);
}

static void mct_init_config(u8 *cfg)
{
	*(__le16 *)&cfg[PCI_VENDOR_ID] = cpu_to_le16(PCI_VENDOR_ID_REDHAT);
	*(__le16 *)&cfg[PCI_DEVICE_ID] = cpu_to_le16(MCT_PCI_DEVICE_ID);
	*(__le16 *)&cfg[PCI_SUBSYSTEM_VENDOR_ID] =
		cpu_to_le16(PCI_VENDOR_ID_REDHAT);
	*(__le16 *)&cfg[PCI_SUBSYSTEM_ID] = cpu_to_le16(MCT_PCI_DEVICE_ID);
	cfg[PCI_REVISION_ID] = 1;
	/* Base class "unassigned", subclass 0 */
	cfg[PCI_CLASS_DEVICE + 1] = PCI_CLASS_OTHERS;
}

static int mct_create(struct mdev_device *mdev)
{
	struct mct_state *state;

	state = kzalloc(sizeof(*state), GFP_KERNEL);
	if (!state)
		return -ENOMEM;

	state->buf = alloc_page(GFP_KERNEL | __GFP_ZERO);
	if (!state->buf) {
		kfree(state);
		return -ENOMEM;
	}
	state->mdev = mdev;
	mutex_init(&state->lock);
	mutex_init(&state->pin_lock);
	mct_init_config(state->config);

	mutex_lock(&mct_state_lock);
	mdev_set_drvdata(mdev, state);
	mutex_unlock(&mct_state_lock);

	atomic_inc(&to_mct_parent(mdev)->created);
	return 0;
}

static void mct_remove(struct mdev_device *mdev)
{
	struct mct_state *state = mdev_get_drvdata(mdev);

	mutex_lock(&mct_state_lock);
	mdev_set_drvdata(mdev, NULL);
	mutex_unlock(&mct_state_lock);

	/* Mappings hold the device file open: none is left by now */
	put_page(state->buf);
	mutex_destroy(&state->pin_lock);
	mutex_destroy(&state->lock);
	kfree(state);

	atomic_inc(&to_mct_parent(mdev)->removed);
}

static int mct_open_device(struct mdev_device *mdev)
{
	struct mct_state *state = mdev_get_drvdata(mdev);
	int ret;

	mct_count(mdev, MCT_OPEN_DEVICE);

	mutex_lock(&state->lock);
	ret = -state->fail_open;
	state->fail_open = 0;
	mutex_unlock(&state->lock);
	return ret;
}

/* Give the pinned page back if it lies in [@iova, @iova + @length) */
static void mct_unpin_range(struct mct_state *state, u64 iova, u64 length)
{
	u64 pinned_iova = 0;
	bool found = false;

	scoped_guard(mutex, &state->pin_lock) {
		if (state->pinned && state->pinned_iova >= iova &&
		    state->pinned_iova - iova < length) {
			pinned_iova = state->pinned_iova;
			state->pinned = NULL;
			found = true;
		}
	}
	if (found)
		vfio_mdev_unpin_pages(state->mdev, pinned_iova, 1);
}

/*
 * Pin the page at @iova and keep it until it is unmapped.  An unmap racing
 * with us may call dma_unmap before the page is recorded; VFIO calls it
 * again until the page is given back.
 */
static int mct_pin(struct mct_state *state, u64 iova)
{
	struct page *page;
	int ret;

	scoped_guard(mutex, &state->pin_lock) {
		if (state->pinned || state->pinning)
			return -EBUSY;
		state->pinning = true;
	}

	ret = vfio_mdev_pin_pages(state->mdev, iova, 1,
				  IOMMU_READ | IOMMU_WRITE, &page);

	scoped_guard(mutex, &state->pin_lock) {
		state->pinning = false;
		if (ret == 1) {
			state->pinned = page;
			state->pinned_iova = iova;
		}
	}
	return ret;
}

static void mct_close_device(struct mdev_device *mdev)
{
	struct mct_state *state = mdev_get_drvdata(mdev);

	mct_count(mdev, MCT_CLOSE_DEVICE);

	mct_unpin_range(state, 0, U64_MAX);

	mutex_lock(&state->lock);
	if (state->req_trigger) {
		eventfd_ctx_put(state->req_trigger);
		state->req_trigger = NULL;
	}
	state->dma_iova = 0;
	state->dma_len = 0;
	state->status = 0;
	mutex_unlock(&state->lock);
}

/* Runs without @lock: it calls into VFIO, see &mct_state.pin_lock */
static void mct_run_command(struct mct_state *state, u32 cmd)
{
	u64 iova;
	u32 len;
	int ret;

	scoped_guard(mutex, &state->lock) {
		iova = state->dma_iova;
		len = state->dma_len;
	}

	switch (cmd) {
	case MCT_CMD_DMA_TO_BUF:
	case MCT_CMD_DMA_FROM_BUF:
		if (!len || len > MCT_BUF_SIZE) {
			ret = -EINVAL;
			break;
		}
		ret = vfio_mdev_dma_rw(state->mdev, iova,
				       page_address(state->buf), len,
				       cmd == MCT_CMD_DMA_FROM_BUF);
		break;
	case MCT_CMD_PIN:
		ret = mct_pin(state, iova);
		break;
	case MCT_CMD_UNPIN:
		mct_unpin_range(state, 0, U64_MAX);
		ret = 0;
		break;
	default:
		ret = -EINVAL;
		break;
	}

	guard(mutex)(&state->lock);
	state->status = ret;
}

static int mct_regs_access(struct mct_state *state, u64 off, u32 *val,
			   bool write)
{
	if (off == MCT_REG_CMD) {
		if (write)
			mct_run_command(state, *val);
		else
			*val = 0;
		return 0;
	}
	if (off == MCT_REG_PINNED) {
		if (!write) {
			guard(mutex)(&state->pin_lock);
			*val = !!state->pinned;
		}
		return 0;
	}

	guard(mutex)(&state->lock);

	switch (off) {
	case MCT_REG_IOVA_LO:
		if (write)
			state->dma_iova = (state->dma_iova & ~0xffffffffULL) | *val;
		else
			*val = lower_32_bits(state->dma_iova);
		return 0;
	case MCT_REG_IOVA_HI:
		if (write)
			state->dma_iova = (state->dma_iova & 0xffffffffULL) |
					  (u64)*val << 32;
		else
			*val = upper_32_bits(state->dma_iova);
		return 0;
	case MCT_REG_LEN:
		if (write)
			state->dma_len = *val;
		else
			*val = state->dma_len;
		return 0;
	case MCT_REG_STATUS:
		if (!write)
			*val = state->status;
		return 0;
	}
	/* The rest of the block reads as zero and ignores writes */
	if (!write)
		*val = 0;
	return 0;
}

/* One read or write of the device file, in the region @ppos points at */
static ssize_t mct_rw(struct mdev_device *mdev, char __user *ubuf,
		      size_t count, loff_t *ppos, bool write)
{
	struct mct_state *state = mdev_get_drvdata(mdev);
	unsigned int index = *ppos >> MCT_INDEX_SHIFT;
	u64 off = *ppos & MCT_OFFSET_MASK;
	u32 val;
	int ret;

	switch (index) {
	case VFIO_PCI_CONFIG_REGION_INDEX:
		if (off >= MCT_CONFIG_SIZE || count > MCT_CONFIG_SIZE - off)
			return -EINVAL;
		/* Config space is read-only: writes are dropped */
		if (!write) {
			guard(mutex)(&state->lock);
			if (copy_to_user(ubuf, state->config + off, count))
				return -EFAULT;
		}
		break;
	case MCT_REGS_INDEX:
		if (count != sizeof(val) || !IS_ALIGNED(off, sizeof(val)) ||
		    off >= MCT_REGS_SIZE)
			return -EINVAL;
		if (write && copy_from_user(&val, ubuf, sizeof(val)))
			return -EFAULT;
		ret = mct_regs_access(state, off, &val, write);
		if (ret)
			return ret;
		if (!write && copy_to_user(ubuf, &val, sizeof(val)))
			return -EFAULT;
		break;
	case MCT_BUF_INDEX:
		if (off >= MCT_BUF_SIZE || count > MCT_BUF_SIZE - off)
			return -EINVAL;
		if (write) {
			if (copy_from_user(page_address(state->buf) + off, ubuf,
					   count))
				return -EFAULT;
		} else {
			if (copy_to_user(ubuf, page_address(state->buf) + off,
					 count))
				return -EFAULT;
		}
		break;
	default:
		return -EINVAL;
	}
	*ppos += count;
	return count;
}

static ssize_t mct_read(struct mdev_device *mdev, char __user *buf,
			size_t count, loff_t *ppos)
{
	mct_count(mdev, MCT_READ);
	return mct_rw(mdev, buf, count, ppos, false);
}

static ssize_t mct_write(struct mdev_device *mdev, const char __user *buf,
			 size_t count, loff_t *ppos)
{
	mct_count(mdev, MCT_WRITE);
	/* mct_rw() only reads from @buf when @write is true */
	return mct_rw(mdev, (char __user *)buf, count, ppos, true);
}

static int mct_region_info(struct vfio_region_info *info)
{
	u32 index = info->index;

	if (index >= VFIO_PCI_NUM_REGIONS)
		return -EINVAL;

	info->offset = MCT_REGION_START(index);
	info->size = 0;
	info->flags = 0;
	switch (index) {
	case VFIO_PCI_CONFIG_REGION_INDEX:
		info->size = MCT_CONFIG_SIZE;
		break;
	case MCT_REGS_INDEX:
		info->size = MCT_REGS_SIZE;
		break;
	case MCT_BUF_INDEX:
		info->size = MCT_BUF_SIZE;
		info->flags = VFIO_REGION_INFO_FLAG_MMAP;
		break;
	}
	if (info->size)
		info->flags |= VFIO_REGION_INFO_FLAG_READ |
			       VFIO_REGION_INFO_FLAG_WRITE;
	return 0;
}

static int mct_set_req_trigger(struct mct_state *state,
			       struct vfio_irq_set *hdr, void __user *data)
{
	struct eventfd_ctx *trigger = NULL;
	s32 fd;
	u8 fire;

	if ((hdr->flags & VFIO_IRQ_SET_ACTION_TYPE_MASK) !=
	    VFIO_IRQ_SET_ACTION_TRIGGER)
		return -EINVAL;

	guard(mutex)(&state->lock);

	switch (hdr->flags & VFIO_IRQ_SET_DATA_TYPE_MASK) {
	case VFIO_IRQ_SET_DATA_EVENTFD:
		if (hdr->count) {
			if (copy_from_user(&fd, data, sizeof(fd)))
				return -EFAULT;
			if (fd >= 0) {
				trigger = eventfd_ctx_fdget(fd);
				if (IS_ERR(trigger))
					return PTR_ERR(trigger);
			} else if (fd != -1) {
				return -EINVAL;
			}
		}
		if (state->req_trigger)
			eventfd_ctx_put(state->req_trigger);
		state->req_trigger = trigger;
		return 0;
	case VFIO_IRQ_SET_DATA_BOOL:
		if (!hdr->count)
			return -EINVAL;
		if (copy_from_user(&fire, data, sizeof(fire)))
			return -EFAULT;
		break;
	default:
		fire = !!hdr->count;
		break;
	}
	if (fire && state->req_trigger)
		eventfd_signal(state->req_trigger);
	return 0;
}

static long mct_ioctl(struct mdev_device *mdev, unsigned int cmd,
		      unsigned long arg)
{
	struct mct_state *state = mdev_get_drvdata(mdev);
	void __user *uarg = (void __user *)arg;
	unsigned long minsz;
	size_t data_size;
	int ret;

	mct_count(mdev, MCT_IOCTL);

	switch (cmd) {
	case VFIO_DEVICE_GET_INFO: {
		struct vfio_device_info info;

		minsz = offsetofend(struct vfio_device_info, num_irqs);
		if (copy_from_user(&info, uarg, minsz))
			return -EFAULT;
		if (info.argsz < minsz)
			return -EINVAL;
		info.flags = VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET;
		info.num_regions = VFIO_PCI_NUM_REGIONS;
		info.num_irqs = VFIO_PCI_NUM_IRQS;
		return copy_to_user(uarg, &info, minsz) ? -EFAULT : 0;
	}
	case VFIO_DEVICE_GET_REGION_INFO: {
		struct vfio_region_info info;

		minsz = offsetofend(struct vfio_region_info, offset);
		if (copy_from_user(&info, uarg, minsz))
			return -EFAULT;
		if (info.argsz < minsz)
			return -EINVAL;
		ret = mct_region_info(&info);
		if (ret)
			return ret;
		return copy_to_user(uarg, &info, minsz) ? -EFAULT : 0;
	}
	case VFIO_DEVICE_GET_IRQ_INFO: {
		struct vfio_irq_info info;

		minsz = offsetofend(struct vfio_irq_info, count);
		if (copy_from_user(&info, uarg, minsz))
			return -EFAULT;
		if (info.argsz < minsz || info.index >= VFIO_PCI_NUM_IRQS)
			return -EINVAL;
		info.flags = 0;
		info.count = 0;
		if (info.index == VFIO_PCI_REQ_IRQ_INDEX) {
			info.flags = VFIO_IRQ_INFO_EVENTFD;
			info.count = 1;
		}
		return copy_to_user(uarg, &info, minsz) ? -EFAULT : 0;
	}
	case VFIO_DEVICE_SET_IRQS: {
		struct vfio_irq_set hdr;
		int nr_irqs;

		minsz = offsetofend(struct vfio_irq_set, count);
		if (copy_from_user(&hdr, uarg, minsz))
			return -EFAULT;
		/* One interrupt, the request; every other index has none */
		nr_irqs = hdr.index == VFIO_PCI_REQ_IRQ_INDEX ? 1 : 0;
		ret = vfio_set_irqs_validate_and_prepare(&hdr, nr_irqs,
							 VFIO_PCI_NUM_IRQS,
							 &data_size);
		if (ret)
			return ret;
		return mct_set_req_trigger(state, &hdr, uarg + minsz);
	}
	case VFIO_DEVICE_RESET:
		mct_unpin_range(state, 0, U64_MAX);
		scoped_guard(mutex, &state->lock) {
			state->dma_iova = 0;
			state->dma_len = 0;
			state->status = 0;
		}
		return 0;
	}
	return -ENOTTY;
}

static vm_fault_t mct_fault(struct vm_fault *vmf)
{
	struct mct_state *state = vmf->vma->vm_private_data;

	atomic_inc(&state->calls[MCT_FAULT]);
	/* The only page of the mapping; the fault path drops the reference */
	get_page(state->buf);
	vmf->page = state->buf;
	return 0;
}

static const struct vm_operations_struct mct_vm_ops = {
	.fault = mct_fault,
};

static int mct_mmap(struct mdev_device *mdev, struct vm_area_struct *vma)
{
	mct_count(mdev, MCT_MMAP);

	if (vma->vm_pgoff != MCT_REGION_START(MCT_BUF_INDEX) >> PAGE_SHIFT ||
	    vma->vm_end - vma->vm_start != MCT_BUF_SIZE)
		return -EINVAL;
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;

	vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP);
	vma->vm_ops = &mct_vm_ops;
	vma->vm_private_data = mdev_get_drvdata(mdev);
	return 0;
}

static void mct_request(struct mdev_device *mdev, unsigned int count)
{
	struct mct_state *state = mdev_get_drvdata(mdev);

	mct_count(mdev, MCT_REQUEST);
	/* The files of the device are gone by now: count on the parent too */
	atomic_inc(&to_mct_parent(mdev)->requested);

	guard(mutex)(&state->lock);
	if (state->req_trigger)
		eventfd_signal(state->req_trigger);
}

static void mct_dma_unmap(struct mdev_device *mdev, u64 iova, u64 length)
{
	struct mct_state *state = mdev_get_drvdata(mdev);

	mct_count(mdev, MCT_DMA_UNMAP);
	mct_unpin_range(state, iova, length);
}

/* The files of a device, in /sys/bus/mdev/devices/<uuid>/classic_test/ */

struct mct_counter_attribute {
	struct device_attribute attr;
	enum mct_call call;
};

static ssize_t mct_counter_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	struct mct_counter_attribute *cattr =
		container_of(attr, struct mct_counter_attribute, attr);
	struct mct_state *state;

	guard(mutex)(&mct_state_lock);
	state = mdev_get_drvdata(to_mdev_device(dev));
	if (!state)
		return -ENODEV;
	return sysfs_emit(buf, "%d\n", atomic_read(&state->calls[cattr->call]));
}

#define MCT_COUNTER_ATTR(_name, _call)					\
	static struct mct_counter_attribute mct_counter_##_name = {	\
		.attr	= __ATTR(_name, 0444, mct_counter_show, NULL),	\
		.call	= _call,					\
	}

MCT_COUNTER_ATTR(open_device, MCT_OPEN_DEVICE);
MCT_COUNTER_ATTR(close_device, MCT_CLOSE_DEVICE);
MCT_COUNTER_ATTR(read, MCT_READ);
MCT_COUNTER_ATTR(write, MCT_WRITE);
MCT_COUNTER_ATTR(ioctl, MCT_IOCTL);
MCT_COUNTER_ATTR(mmap, MCT_MMAP);
MCT_COUNTER_ATTR(request, MCT_REQUEST);
MCT_COUNTER_ATTR(dma_unmap, MCT_DMA_UNMAP);
MCT_COUNTER_ATTR(fault, MCT_FAULT);

/* Writing 1 revokes the user mappings of BAR2 */
static ssize_t revoke_store(struct device *dev, struct device_attribute *attr,
			    const char *buf, size_t count)
{
	struct mdev_device *mdev = to_mdev_device(dev);
	bool val;
	int ret;

	ret = kstrtobool(buf, &val);
	if (ret)
		return ret;

	guard(mutex)(&mct_state_lock);
	if (!mdev_get_drvdata(mdev))
		return -ENODEV;
	if (val)
		vfio_mdev_unmap_user_range(mdev,
					   MCT_REGION_START(MCT_BUF_INDEX),
					   MCT_BUF_SIZE);
	return count;
}
static DEVICE_ATTR_WO(revoke);

/* The errno (positive) that the next open_device fails with, once */
static ssize_t fail_open_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	struct mct_state *state;

	guard(mutex)(&mct_state_lock);
	state = mdev_get_drvdata(to_mdev_device(dev));
	if (!state)
		return -ENODEV;
	guard(mutex)(&state->lock);
	return sysfs_emit(buf, "%d\n", state->fail_open);
}

static ssize_t fail_open_store(struct device *dev,
			       struct device_attribute *attr,
			       const char *buf, size_t count)
{
	struct mct_state *state;
	unsigned int val;
	int ret;

	ret = kstrtouint(buf, 0, &val);
	if (ret)
		return ret;
	if (val > MAX_ERRNO)
		return -EINVAL;

	guard(mutex)(&mct_state_lock);
	state = mdev_get_drvdata(to_mdev_device(dev));
	if (!state)
		return -ENODEV;
	guard(mutex)(&state->lock);
	state->fail_open = val;
	return count;
}
static DEVICE_ATTR_RW(fail_open);

static struct attribute *mct_full_mdev_attrs[] = {
	&mct_counter_open_device.attr.attr,
	&mct_counter_close_device.attr.attr,
	&mct_counter_read.attr.attr,
	&mct_counter_write.attr.attr,
	&mct_counter_ioctl.attr.attr,
	&mct_counter_mmap.attr.attr,
	&mct_counter_request.attr.attr,
	&mct_counter_dma_unmap.attr.attr,
	&mct_counter_fault.attr.attr,
	&dev_attr_revoke.attr,
	&dev_attr_fail_open.attr,
	NULL,
};

static const struct attribute_group mct_full_mdev_group = {
	.name	= "classic_test",
	.attrs	= mct_full_mdev_attrs,
};

static const struct attribute_group *mct_full_mdev_groups[] = {
	&mct_full_mdev_group,
	NULL,
};

/*
 * Writing an IOVA pins (and at once unpins) its page through
 * vfio_mdev_pin_pages(); the write fails with its errno.  Present only on
 * the bare parent, which has no dma_unmap and so may never pin.
 */
static ssize_t pin_store(struct device *dev, struct device_attribute *attr,
			 const char *buf, size_t count)
{
	struct mdev_device *mdev = to_mdev_device(dev);
	struct page *page;
	u64 iova;
	int ret;

	ret = kstrtou64(buf, 0, &iova);
	if (ret)
		return ret;

	guard(mutex)(&mct_state_lock);
	if (!mdev_get_drvdata(mdev))
		return -ENODEV;
	ret = vfio_mdev_pin_pages(mdev, iova, 1, IOMMU_READ, &page);
	if (ret < 0)
		return ret;
	vfio_mdev_unpin_pages(mdev, iova, 1);
	return count;
}
static DEVICE_ATTR_WO(pin);

static struct attribute *mct_bare_mdev_attrs[] = {
	&dev_attr_pin.attr,
	NULL,
};

static const struct attribute_group mct_bare_mdev_group = {
	.name	= "classic_test",
	.attrs	= mct_bare_mdev_attrs,
};

static const struct attribute_group *mct_bare_mdev_groups[] = {
	&mct_bare_mdev_group,
	NULL,
};

/* The files of a parent, in /sys/class/mdev_bus/<parent>/classic_test/ */

static ssize_t created_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	struct mct_parent *mp = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%d\n", atomic_read(&mp->created));
}
static DEVICE_ATTR_RO(created);

static ssize_t removed_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	struct mct_parent *mp = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%d\n", atomic_read(&mp->removed));
}
static DEVICE_ATTR_RO(removed);

static ssize_t requested_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	struct mct_parent *mp = dev_get_drvdata(dev);

	return sysfs_emit(buf, "%d\n", atomic_read(&mp->requested));
}
static DEVICE_ATTR_RO(requested);

static struct attribute *mct_parent_attrs[] = {
	&dev_attr_created.attr,
	&dev_attr_removed.attr,
	&dev_attr_requested.attr,
	NULL,
};

static const struct attribute_group mct_parent_group = {
	.name	= "classic_test",
	.attrs	= mct_parent_attrs,
};

static const struct attribute_group *mct_parent_groups[] = {
	&mct_parent_group,
	NULL,
};

static ssize_t mct_show_description(struct mdev_type *mtype, char *buf)
{
	return sysfs_emit(buf, "classic mdev test device with every callback\n");
}

/* Two sets of callbacks of one module: each names its mdev driver */
static const struct mdev_parent_ops mct_full_ops = {
	.owner			= THIS_MODULE,
	.name			= "mdev_classic_full",
	.device_api		= VFIO_DEVICE_API_PCI_STRING,
	.max_instances		= 8,
	.show_description	= mct_show_description,
	.dev_attr_groups	= mct_parent_groups,
	.mdev_attr_groups	= mct_full_mdev_groups,
	.create			= mct_create,
	.remove			= mct_remove,
	.open_device		= mct_open_device,
	.close_device		= mct_close_device,
	.read			= mct_read,
	.write			= mct_write,
	.ioctl			= mct_ioctl,
	.mmap			= mct_mmap,
	.request		= mct_request,
	.dma_unmap		= mct_dma_unmap,
};

static const struct mdev_parent_ops mct_bare_ops = {
	.owner			= THIS_MODULE,
	.name			= "mdev_classic_bare",
	.device_api		= VFIO_DEVICE_API_PCI_STRING,
	.max_instances		= 8,
	.dev_attr_groups	= mct_parent_groups,
	.mdev_attr_groups	= mct_bare_mdev_groups,
	.create			= mct_create,
	.remove			= mct_remove,
};

static struct mct_parent *mct_parent_add(const char *name,
					 const char *type_name,
					 const struct mdev_parent_ops *ops)
{
	struct mct_parent *mp;
	int ret;

	mp = kzalloc(sizeof(*mp), GFP_KERNEL);
	if (!mp)
		return ERR_PTR(-ENOMEM);

	mp->dev = device_create(&mct_class, NULL, MKDEV(0, 0), mp, "%s", name);
	if (IS_ERR(mp->dev)) {
		ret = PTR_ERR(mp->dev);
		goto err_free;
	}

	mp->type.sysfs_name = type_name;
	mp->types[0] = &mp->type;
	ret = vfio_mdev_register_parent(&mp->parent, mp->dev, ops, mp->types,
					ARRAY_SIZE(mp->types));
	if (ret)
		goto err_unregister;
	return mp;

err_unregister:
	device_unregister(mp->dev);
err_free:
	kfree(mp);
	return ERR_PTR(ret);
}

static void mct_parent_del(struct mct_parent *mp)
{
	/* Removes every device, waiting for user space to close them */
	vfio_mdev_unregister_parent(&mp->parent);
	device_unregister(mp->dev);
	kfree(mp);
}

static int __init mct_init(void)
{
	int ret;

	ret = class_register(&mct_class);
	if (ret)
		return ret;

	mct_full = mct_parent_add("mdev_classic_full", "full", &mct_full_ops);
	if (IS_ERR(mct_full)) {
		ret = PTR_ERR(mct_full);
		goto err_class;
	}

	mct_bare = mct_parent_add("mdev_classic_bare", "bare", &mct_bare_ops);
	if (IS_ERR(mct_bare)) {
		ret = PTR_ERR(mct_bare);
		goto err_full;
	}
	return 0;

err_full:
	mct_parent_del(mct_full);
err_class:
	class_unregister(&mct_class);
	return ret;
}

static void __exit mct_exit(void)
{
	mct_parent_del(mct_bare);
	mct_parent_del(mct_full);
	class_unregister(&mct_class);
}

module_init(mct_init);
module_exit(mct_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Test vendor driver for the classic mdev path");
