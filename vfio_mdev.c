// SPDX-License-Identifier: GPL-2.0-only
/*
 * The VFIO drivers of mediated devices whose parent describes them with
 * classic callbacks (struct mdev_parent_ops): one mdev driver per set of
 * callbacks, built from them, so that the core knows one kind of parent.
 */

#include <linux/device.h>
#include <linux/fs.h>
#include <linux/list.h>
#include <linux/mdev.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/sysfs.h>
#include <linux/vfio.h>
#include <linux/wait_bit.h>

/**
 * DOC: classic callbacks or an mdev driver of your own
 *
 * Both kinds of parent get the same sysfs interface, the same device
 * lifetime and the same VFIO uAPI towards user space; they differ in who
 * owns the &struct vfio_device.
 *
 * Use **classic callbacks** (a &struct mdev_parent_ops passed to
 * vfio_mdev_register_parent()) when the device is fully described by
 * regions that user space reads, writes and maps, by ioctls and by DMA
 * through the emulated IOMMU.  ``vfio_mdev`` then registers an mdev driver
 * for the callbacks, which allocates and registers the VFIO device, keeps
 * the vendor module loaded while a device is open, forwards each file
 * operation to the matching callback and turns a missing optional callback
 * into the error VFIO gives for a missing operation (-%EINVAL for read,
 * write, ioctl and mmap; opening and closing simply succeed).  DMA goes
 * through vfio_mdev_pin_pages(), vfio_mdev_unpin_pages() and
 * vfio_mdev_dma_rw(); a parent that pins pages must implement
 * &mdev_parent_ops.dma_unmap, which is called from just before its
 * open_device until its close_device has returned, and unpin what is left
 * in its close_device.
 * vfio_mdev_unmap_user_range() revokes user mappings of the device so that
 * they fault again.  VFIO migration (v2) and DMA dirty logging go through
 * the migration and log callbacks, since the VFIO core answers those
 * features before any ioctl reaches the driver.
 *
 * Write **your own** &struct mdev_driver, registered with
 * mdev_register_driver() and passed to mdev_register_parent(), when the
 * device needs what the callbacks cannot express: other
 * ``VFIO_DEVICE_FEATURE`` features, IOMMU dirty tracking of its own,
 * a device set shared by several devices, or a VFIO device structure of the
 * vendor's own that other code reaches directly.  Existing drivers written
 * for Linux 6.12 (i915 GVT-g, vfio_ccw, vfio_ap) work this way.
 */

/*
 * The mdev driver built from one set of classic callbacks, shared by every
 * parent registered with them.  The core sees an ordinary mdev driver and
 * an ordinary parent.
 */
struct vfio_mdev_driver {
	struct mdev_driver drv;
	const struct mdev_parent_ops *ops;
	/* Parents registered with @ops; under vfio_mdev_drivers_lock */
	unsigned int users;
	struct list_head node;
};

/* Every vfio_mdev_driver, at most one per mdev_parent_ops */
static LIST_HEAD(vfio_mdev_drivers);
static DEFINE_MUTEX(vfio_mdev_drivers_lock);

/*
 * The VFIO side of one mediated device.  Found from the vfio_device by
 * container_of() and from the mdev through the driver data of its struct
 * device, which belongs to this driver.
 */
struct vfio_mdev {
	struct vfio_device vdev;
	struct mdev_device *mdev;
	/* The parent's, see mdev_set_drvdata() */
	void *driver_data;
	/* From before the parent's open_device to after its close_device */
	bool open;
};

static int vfio_mdev_probe(struct mdev_device *mdev);

static struct mdev_device *vdev_to_mdev(struct vfio_device *vdev)
{
	return container_of(vdev, struct vfio_mdev, vdev)->mdev;
}

/*
 * Valid while the device exists, when its parent is a classic one: the
 * parent outlives its devices, and its driver the parent.
 */
static const struct mdev_parent_ops *mdev_ops(struct mdev_device *mdev)
{
	return container_of(mdev->type->parent->mdev_driver,
			    struct vfio_mdev_driver, drv)->ops;
}

static bool vfio_mdev_is_ours(const struct device_driver *drv)
{
	return container_of(drv, struct mdev_driver, driver)->probe ==
	       vfio_mdev_probe;
}

/*
 * The wrapper of a device bound to one of our drivers, for the exported
 * helpers.  Calling them on another driver's device breaks their contract.
 */
static struct vfio_mdev *mdev_to_vfio_mdev(struct mdev_device *mdev)
{
	struct device_driver *drv = READ_ONCE(mdev->dev.driver);

	if (WARN_ON_ONCE(!drv || !vfio_mdev_is_ours(drv)))
		return NULL;
	return dev_get_drvdata(&mdev->dev);
}

/**
 * mdev_set_drvdata() - store a classic parent's per-device data
 * @mdev: a device of a classic parent, bound to its driver
 * @data: the data
 *
 * The data lives in vfio_mdev's own structure of the device, which exists
 * from before &mdev_parent_ops.create until after &mdev_parent_ops.remove;
 * it is forgotten after remove.
 *
 * Context: any context; only between the start of create and the end of
 * remove (attributes of &mdev_parent_ops.mdev_attr_groups and callbacks
 * only run then).
 */
void mdev_set_drvdata(struct mdev_device *mdev, void *data)
{
	struct vfio_mdev *vmdev = mdev_to_vfio_mdev(mdev);

	if (vmdev)
		vmdev->driver_data = data;
}
EXPORT_SYMBOL_GPL(mdev_set_drvdata);

/**
 * mdev_get_drvdata() - a classic parent's per-device data
 * @mdev: a device of a classic parent
 *
 * Context: any context.
 * Return: what mdev_set_drvdata() stored, or %NULL before that or when the
 * device is not bound to its driver.
 */
void *mdev_get_drvdata(struct mdev_device *mdev)
{
	struct vfio_mdev *vmdev;

	if (!READ_ONCE(mdev->dev.driver))
		return NULL;
	vmdev = mdev_to_vfio_mdev(mdev);
	return vmdev ? vmdev->driver_data : NULL;
}
EXPORT_SYMBOL_GPL(mdev_get_drvdata);

static int vfio_mdev_open_device(struct vfio_device *vdev)
{
	struct vfio_mdev *vmdev = container_of(vdev, struct vfio_mdev, vdev);
	struct mdev_device *mdev = vmdev->mdev;
	const struct mdev_parent_ops *ops = mdev_ops(mdev);
	int ret;

	/*
	 * The VFIO core pinned the owner of the device's driver, the module
	 * of the callbacks, before calling us.
	 *
	 * Before the callback: it may already pin.  See vfio_mdev_dma_unmap()
	 */
	WRITE_ONCE(vmdev->open, true);
	if (ops->open_device) {
		ret = ops->open_device(mdev);
		if (ret) {
			WRITE_ONCE(vmdev->open, false);
			return ret;
		}
	}
	return 0;
}

static void vfio_mdev_close_device(struct vfio_device *vdev)
{
	struct vfio_mdev *vmdev = container_of(vdev, struct vfio_mdev, vdev);
	struct mdev_device *mdev = vmdev->mdev;
	const struct mdev_parent_ops *ops = mdev_ops(mdev);

	if (ops->close_device)
		ops->close_device(mdev);
	WRITE_ONCE(vmdev->open, false);
}

/*
 * Without a callback the file operation fails as it would for a VFIO driver
 * that lacks the operation.
 */
static ssize_t vfio_mdev_read(struct vfio_device *vdev, char __user *buf,
			      size_t count, loff_t *ppos)
{
	struct mdev_device *mdev = vdev_to_mdev(vdev);
	const struct mdev_parent_ops *ops = mdev_ops(mdev);

	if (!ops->read)
		return -EINVAL;
	return ops->read(mdev, buf, count, ppos);
}

static ssize_t vfio_mdev_write(struct vfio_device *vdev,
			       const char __user *buf, size_t count,
			       loff_t *ppos)
{
	struct mdev_device *mdev = vdev_to_mdev(vdev);
	const struct mdev_parent_ops *ops = mdev_ops(mdev);

	if (!ops->write)
		return -EINVAL;
	return ops->write(mdev, buf, count, ppos);
}

static long vfio_mdev_ioctl(struct vfio_device *vdev, unsigned int cmd,
			    unsigned long arg)
{
	struct mdev_device *mdev = vdev_to_mdev(vdev);
	const struct mdev_parent_ops *ops = mdev_ops(mdev);

	if (!ops->ioctl)
		return -EINVAL;
	return ops->ioctl(mdev, cmd, arg);
}

static int vfio_mdev_mmap(struct vfio_device *vdev,
			  struct vm_area_struct *vma)
{
	struct mdev_device *mdev = vdev_to_mdev(vdev);
	const struct mdev_parent_ops *ops = mdev_ops(mdev);

	if (!ops->mmap)
		return -EINVAL;
	return ops->mmap(mdev, vma);
}

/*
 * Called by vfio_unregister_group_dev() while the device is open, first with
 * @count 0 and then every few seconds until user space closes it.
 */
static void vfio_mdev_request(struct vfio_device *vdev, unsigned int count)
{
	struct mdev_device *mdev = vdev_to_mdev(vdev);
	const struct mdev_parent_ops *ops = mdev_ops(mdev);

	if (ops->request)
		ops->request(mdev, count);
	else if (!count)
		dev_notice(&mdev->dev,
			   "removal waits until user space closes the device: its parent cannot ask for it\n");
}

/*
 * Always present: vfio_pin_pages() refuses devices without it.  Whether the
 * parent may pin is decided by vfio_mdev_pin_pages() instead.
 *
 * Pages can only be pinned while the device is open and must be unpinned
 * by close_device, so the parent is spared the calls outside that span:
 * iommufd, for one, unmaps everything when it detaches a closed device.
 * Inside it the calls are not serialized with open_device and close_device:
 * type1 calls us holding the lock of its device list, and a parent pinning
 * from open_device takes the IOMMU's lock, which type1 holds when it takes
 * the list's; waiting here for open_device could deadlock.
 */
static void vfio_mdev_dma_unmap(struct vfio_device *vdev, u64 iova,
				u64 length)
{
	struct vfio_mdev *vmdev = container_of(vdev, struct vfio_mdev, vdev);
	struct mdev_device *mdev = vmdev->mdev;
	const struct mdev_parent_ops *ops = mdev_ops(mdev);

	if (ops->dma_unmap && READ_ONCE(vmdev->open))
		ops->dma_unmap(mdev, iova, length);
}

/*
 * VFIO devices not yet released.  The last reference to one may be put after
 * its mdev was removed (CONFIG_DEBUG_KOBJECT_RELEASE delays every release by
 * seconds), and the VFIO core then calls our release through our ops: the
 * module waits for them before it goes.
 */
static atomic_t vfio_mdev_nr_vdevs = ATOMIC_INIT(0);

static int vfio_mdev_init_vdev(struct vfio_device *vdev)
{
	/* Pairs with the atomic_dec_and_test() in vfio_mdev_release_vdev() */
	atomic_inc(&vfio_mdev_nr_vdevs);
	return 0;
}

static void vfio_mdev_release_vdev(struct vfio_device *vdev)
{
	/* Pairs with wait_var_event() in vfio_mdev_exit() */
	if (atomic_dec_and_test(&vfio_mdev_nr_vdevs))
		wake_up_var(&vfio_mdev_nr_vdevs);
}

static const struct vfio_device_ops vfio_mdev_dev_ops = {
	.name		= "vfio-mdev",
	.init		= vfio_mdev_init_vdev,
	.release	= vfio_mdev_release_vdev,
	.open_device	= vfio_mdev_open_device,
	.close_device	= vfio_mdev_close_device,
	.read		= vfio_mdev_read,
	.write		= vfio_mdev_write,
	.ioctl		= vfio_mdev_ioctl,
	.mmap		= vfio_mdev_mmap,
	.request	= vfio_mdev_request,
	.dma_unmap	= vfio_mdev_dma_unmap,
	.bind_iommufd	= vfio_iommufd_emulated_bind,
	.unbind_iommufd	= vfio_iommufd_emulated_unbind,
	.attach_ioas	= vfio_iommufd_emulated_attach_ioas,
	.detach_ioas	= vfio_iommufd_emulated_detach_ioas,
};

static struct file *
vfio_mdev_migration_set_state(struct vfio_device *vdev,
			      enum vfio_device_mig_state new_state)
{
	struct mdev_device *mdev = vdev_to_mdev(vdev);

	return mdev_ops(mdev)->migration_set_state(mdev, new_state);
}

static int vfio_mdev_migration_get_state(struct vfio_device *vdev,
					 enum vfio_device_mig_state *curr_state)
{
	struct mdev_device *mdev = vdev_to_mdev(vdev);

	return mdev_ops(mdev)->migration_get_state(mdev, curr_state);
}

static int vfio_mdev_migration_get_data_size(struct vfio_device *vdev,
					     unsigned long *stop_copy_length)
{
	struct mdev_device *mdev = vdev_to_mdev(vdev);

	return mdev_ops(mdev)->migration_get_data_size(mdev, stop_copy_length);
}

/*
 * The VFIO core answers the migration features itself, before any ioctl
 * reaches the driver: a classic parent migrates through these.
 */
static const struct vfio_migration_ops vfio_mdev_mig_ops = {
	.migration_set_state	= vfio_mdev_migration_set_state,
	.migration_get_state	= vfio_mdev_migration_get_state,
	.migration_get_data_size = vfio_mdev_migration_get_data_size,
};

static int vfio_mdev_log_start(struct vfio_device *vdev,
			       struct rb_root_cached *ranges, u32 nnodes,
			       u64 *page_size)
{
	struct mdev_device *mdev = vdev_to_mdev(vdev);

	return mdev_ops(mdev)->log_start(mdev, ranges, nnodes, page_size);
}

static int vfio_mdev_log_stop(struct vfio_device *vdev)
{
	struct mdev_device *mdev = vdev_to_mdev(vdev);

	return mdev_ops(mdev)->log_stop(mdev);
}

static int vfio_mdev_log_read_and_clear(struct vfio_device *vdev,
					unsigned long iova,
					unsigned long length,
					struct iova_bitmap *dirty)
{
	struct mdev_device *mdev = vdev_to_mdev(vdev);

	return mdev_ops(mdev)->log_read_and_clear(mdev, iova, length, dirty);
}

/* Likewise the DMA logging features, for a parent with the log callbacks. */
static const struct vfio_log_ops vfio_mdev_log_ops = {
	.log_start		= vfio_mdev_log_start,
	.log_stop		= vfio_mdev_log_stop,
	.log_read_and_clear	= vfio_mdev_log_read_and_clear,
};

static int vfio_mdev_probe(struct mdev_device *mdev)
{
	const struct mdev_parent_ops *ops = mdev_ops(mdev);
	struct vfio_mdev *vmdev;
	int ret;

	vmdev = vfio_alloc_device(vfio_mdev, vdev, &mdev->dev,
				  &vfio_mdev_dev_ops);
	if (IS_ERR(vmdev))
		return PTR_ERR(vmdev);
	vmdev->mdev = mdev;
	if (ops->migration_flags) {
		vmdev->vdev.migration_flags = ops->migration_flags;
		vmdev->vdev.mig_ops = &vfio_mdev_mig_ops;
	}
	/*
	 * Our Kconfig selects IOMMUFD_DRIVER, but a build out of tree may
	 * meet a kernel without it (Debian's 6.12 has no IOMMUFD).  There
	 * the VFIO core fails every DMA logging report with -EOPNOTSUPP
	 * before asking the driver: offering the feature would then make
	 * QEMU, which prefers device dirty tracking, fail each migration it
	 * would otherwise run (with enable-migration=on and the container's
	 * tracking).
	 */
	if (ops->log_start && IS_ENABLED(CONFIG_IOMMUFD_DRIVER))
		vmdev->vdev.log_ops = &vfio_mdev_log_ops;
	/* Before registration: the helpers may run as soon as it is opened */
	dev_set_drvdata(&mdev->dev, vmdev);

	/* The vendor state exists before user space can open the device */
	ret = ops->create(mdev);
	if (ret)
		goto err_put;

	ret = vfio_register_emulated_iommu_dev(&vmdev->vdev);
	if (ret)
		goto err_remove;
	return 0;

err_remove:
	ops->remove(mdev);
err_put:
	vfio_put_device(&vmdev->vdev);
	return ret;
}

static void vfio_mdev_remove(struct mdev_device *mdev)
{
	struct vfio_mdev *vmdev = dev_get_drvdata(&mdev->dev);

	/*
	 * Waits until user space has closed the device, calling the request
	 * callback meanwhile.  Pairs with vfio_register_emulated_iommu_dev().
	 */
	vfio_unregister_group_dev(&vmdev->vdev);
	/* Pairs with ops->create() in vfio_mdev_probe() */
	mdev_ops(mdev)->remove(mdev);
	/* Whatever the parent left there is gone with its state */
	vmdev->driver_data = NULL;
	/* Pairs with vfio_alloc_device() in vfio_mdev_probe() */
	vfio_put_device(&vmdev->vdev);
}

/*
 * The driver of @ops, registered on first use and shared by every parent
 * registered with @ops.  Pairs with vfio_mdev_put_driver().
 */
static struct vfio_mdev_driver *
vfio_mdev_get_driver(const struct mdev_parent_ops *ops)
{
	struct vfio_mdev_driver *vdrv;
	int ret;

	guard(mutex)(&vfio_mdev_drivers_lock);
	list_for_each_entry(vdrv, &vfio_mdev_drivers, node) {
		if (vdrv->ops == ops) {
			vdrv->users++;
			return vdrv;
		}
	}

	vdrv = kzalloc(sizeof(*vdrv), GFP_KERNEL);
	if (!vdrv)
		return ERR_PTR(-ENOMEM);
	vdrv->ops = ops;
	vdrv->users = 1;
	vdrv->drv.device_api = ops->device_api;
	vdrv->drv.max_instances = ops->max_instances;
	vdrv->drv.get_available = ops->get_available;
	vdrv->drv.show_description = ops->show_description;
	vdrv->drv.probe = vfio_mdev_probe;
	vdrv->drv.remove = vfio_mdev_remove;
	/* The owner's name outlives the driver: it unregisters on unload */
	vdrv->drv.driver.name = ops->name ?: module_name(ops->owner);
	/* The VFIO core pins it while a device is open */
	vdrv->drv.driver.owner = ops->owner;
	/* Present only while the vendor's state is: after create, to remove */
	vdrv->drv.driver.dev_groups = ops->mdev_attr_groups;

	ret = mdev_register_driver(&vdrv->drv);
	if (ret) {
		kfree(vdrv);
		return ERR_PTR(ret);
	}
	list_add(&vdrv->node, &vfio_mdev_drivers);
	return vdrv;
}

/* Pairs with vfio_mdev_get_driver(); the driver has no device left */
static void vfio_mdev_put_driver(struct vfio_mdev_driver *vdrv)
{
	guard(mutex)(&vfio_mdev_drivers_lock);
	if (--vdrv->users)
		return;
	list_del(&vdrv->node);
	mdev_unregister_driver(&vdrv->drv);
	kfree(vdrv);
}

/**
 * vfio_mdev_register_parent() - register a parent that uses classic callbacks
 * @parent: the parent structure, embedded in the vendor's; filled in here
 * @dev: the device that the mdevs hang off
 * @ops: the callbacks; must stay valid until the parent is unregistered
 * @types: the types @parent offers; must stay valid until the parent is
 *         unregistered
 * @nr_types: the number of entries in @types
 *
 * Registers the mdev driver of @ops, named &mdev_parent_ops.name or after
 * the module &mdev_parent_ops.owner, unless a parent registered with @ops
 * did already, adds the groups of @ops->dev_attr_groups to @dev, and
 * registers @parent with that driver through mdev_register_parent().  The
 * driver serves each device through @ops, and gives it the groups of
 * @ops->mdev_attr_groups while it is bound.  Unregister with
 * vfio_mdev_unregister_parent().
 *
 * Context: process context, may sleep.
 * Return: 0; -%EINVAL if @ops lacks device_api, create or remove, has
 * neither name nor owner, has migration flags without STOP_COPY or without
 * the migration callbacks, or has some of the log callbacks but not all
 * three; -%EBUSY if another driver on the mdev bus has the name; or another
 * negative errno from registration, in which case nothing was registered.
 */
int vfio_mdev_register_parent(struct mdev_parent *parent, struct device *dev,
			      const struct mdev_parent_ops *ops,
			      struct mdev_type **types, unsigned int nr_types)
{
	struct vfio_mdev_driver *vdrv;
	int ret;

	if (!ops || !ops->device_api || !ops->create || !ops->remove ||
	    (!ops->name && !ops->owner))
		return -EINVAL;
	if (ops->migration_flags &&
	    (!(ops->migration_flags & VFIO_MIGRATION_STOP_COPY) ||
	     !ops->migration_set_state || !ops->migration_get_state ||
	     !ops->migration_get_data_size))
		return -EINVAL;
	if (!ops->log_start != !ops->log_stop ||
	    !ops->log_start != !ops->log_read_and_clear)
		return -EINVAL;

	vdrv = vfio_mdev_get_driver(ops);
	if (IS_ERR(vdrv))
		return PTR_ERR(vdrv);

	ret = sysfs_create_groups(&dev->kobj, ops->dev_attr_groups);
	if (ret)
		goto err_put;

	ret = mdev_register_parent(parent, dev, &vdrv->drv, types, nr_types);
	if (ret)
		goto err_groups;
	return 0;

err_groups:
	sysfs_remove_groups(&dev->kobj, ops->dev_attr_groups);
err_put:
	vfio_mdev_put_driver(vdrv);
	return ret;
}
EXPORT_SYMBOL_GPL(vfio_mdev_register_parent);

/**
 * vfio_mdev_unregister_parent() - unregister a parent of classic callbacks
 * @parent: a parent registered with vfio_mdev_register_parent()
 *
 * Unregisters @parent with mdev_unregister_parent(), which removes every
 * device, then removes the groups of &mdev_parent_ops.dev_attr_groups from
 * the parent device and unregisters the driver of the callbacks when no
 * parent uses it any more.  Afterwards the vendor may free @parent and its
 * types.
 *
 * Context: process context, may sleep for as long as a device is open.
 */
void vfio_mdev_unregister_parent(struct mdev_parent *parent)
{
	struct vfio_mdev_driver *vdrv =
		container_of(parent->mdev_driver, struct vfio_mdev_driver, drv);
	struct device *dev = parent->dev;

	mdev_unregister_parent(parent);
	sysfs_remove_groups(&dev->kobj, vdrv->ops->dev_attr_groups);
	vfio_mdev_put_driver(vdrv);
}
EXPORT_SYMBOL_GPL(vfio_mdev_unregister_parent);

/**
 * vfio_mdev_pin_pages() - pin guest pages for DMA by a classic parent
 * @mdev: an open device of a classic parent
 * @iova: the I/O virtual address of the first page
 * @npage: the number of pages, at most %VFIO_PIN_PAGES_MAX_ENTRIES
 * @prot: %IOMMU_READ and/or %IOMMU_WRITE
 * @pages: filled with the pinned pages
 *
 * Pins the pages user space mapped at @iova in the container or IOAS the
 * device is attached to.  They stay pinned until vfio_mdev_unpin_pages(),
 * which the parent must call from &mdev_parent_ops.dma_unmap at the latest
 * when user space unmaps them.
 *
 * Context: process context, may sleep; only between the device's
 * open_device and close_device.
 * Return: @npage; -%EINVAL if the parent has no dma_unmap callback or the
 * arguments are invalid; or another negative errno.
 */
int vfio_mdev_pin_pages(struct mdev_device *mdev, dma_addr_t iova, int npage,
			int prot, struct page **pages)
{
	struct vfio_mdev *vmdev = mdev_to_vfio_mdev(mdev);

	/* Pinned pages would never be given back when user space unmaps */
	if (!vmdev || !mdev_ops(mdev)->dma_unmap)
		return -EINVAL;
	return vfio_pin_pages(&vmdev->vdev, iova, npage, prot, pages);
}
EXPORT_SYMBOL_GPL(vfio_mdev_pin_pages);

/**
 * vfio_mdev_unpin_pages() - unpin what vfio_mdev_pin_pages() pinned
 * @mdev: an open device of a classic parent
 * @iova: the I/O virtual address passed to vfio_mdev_pin_pages()
 * @npage: the number of pages passed to vfio_mdev_pin_pages()
 *
 * Context: process context, may sleep; only between the device's
 * open_device and close_device.
 */
void vfio_mdev_unpin_pages(struct mdev_device *mdev, dma_addr_t iova,
			   int npage)
{
	struct vfio_mdev *vmdev = mdev_to_vfio_mdev(mdev);

	/* Nothing can have been pinned without dma_unmap */
	if (!vmdev || WARN_ON_ONCE(!mdev_ops(mdev)->dma_unmap))
		return;
	vfio_unpin_pages(&vmdev->vdev, iova, npage);
}
EXPORT_SYMBOL_GPL(vfio_mdev_unpin_pages);

/**
 * vfio_mdev_dma_rw() - copy to or from guest memory for a classic parent
 * @mdev: an open device of a classic parent
 * @iova: the I/O virtual address to start at
 * @data: the kernel buffer
 * @len: the number of bytes to copy
 * @write: copy @data to @iova if true, from @iova to @data if false
 *
 * Copies through the container or IOAS the device is attached to, without
 * pinning.
 *
 * Context: process context, may sleep; only between the device's
 * open_device and close_device.
 * Return: 0; -%EINVAL if the device is not open or the arguments are
 * invalid; -%EFAULT or another negative errno if @iova is not mapped.
 */
int vfio_mdev_dma_rw(struct mdev_device *mdev, dma_addr_t iova, void *data,
		     size_t len, bool write)
{
	struct vfio_mdev *vmdev = mdev_to_vfio_mdev(mdev);

	if (!vmdev)
		return -EINVAL;
	return vfio_dma_rw(&vmdev->vdev, iova, data, len, write);
}
EXPORT_SYMBOL_GPL(vfio_mdev_dma_rw);

/**
 * vfio_mdev_unmap_user_range() - revoke user mappings of part of a device
 * @mdev: a device of a classic parent
 * @offset: the offset into the device file descriptor, a multiple of
 *          %PAGE_SIZE
 * @len: the length of the range, rounded up to whole pages; 0 means up to
 *       the end
 *
 * Zaps every user mapping of the range made through &mdev_parent_ops.mmap,
 * in every process.  The next access to it faults, into the fault handler
 * the parent installed (or with %SIGBUS if it installed none), so that the
 * parent can change what backs the range.
 *
 * Context: process context, may sleep; between &mdev_parent_ops.create and
 * &mdev_parent_ops.remove.
 */
void vfio_mdev_unmap_user_range(struct mdev_device *mdev, loff_t offset,
				loff_t len)
{
	struct vfio_mdev *vmdev = mdev_to_vfio_mdev(mdev);

	if (!vmdev)
		return;
	/* Every file of the device maps through the inode of its vfio_device */
	unmap_mapping_range(vmdev->vdev.inode->i_mapping, offset, len, true);
}
EXPORT_SYMBOL_GPL(vfio_mdev_unmap_user_range);

static void __exit vfio_mdev_exit(void)
{
	wait_var_event(&vfio_mdev_nr_vdevs, !atomic_read(&vfio_mdev_nr_vdevs));
}
module_exit(vfio_mdev_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("VFIO driver for mediated devices with classic callbacks");
