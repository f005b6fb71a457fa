/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * VFIO mediated devices: the interface for vendor drivers.
 */

#ifndef MDEV_H
#define MDEV_H

#include <linux/device.h>
#include <linux/uuid.h>
#include <uapi/linux/vfio.h>

/**
 * DOC: overview
 *
 * A mediated device ("mdev") is a virtual device that a vendor driver carves
 * out of a physical device it owns, the *parent*.  The parent offers one or
 * more *types*; user space creates an instance of a type by writing a UUID
 * into ``mdev_supported_types/<driver>-<type>/create`` below the parent, and
 * removes it by writing ``1`` into ``/sys/bus/mdev/devices/<uuid>/remove``.
 *
 * A vendor driver serves its devices in one of two ways, and both share all
 * of the core:
 *
 * * **Its own mdev driver.**  The vendor registers a &struct mdev_driver with
 *   mdev_register_driver() and passes it to mdev_register_parent().  Every
 *   device created on the parent is bound to that driver, whose
 *   &mdev_driver.probe typically allocates and registers its own
 *   &struct vfio_device.  This is the interface of Linux 6.12.
 *
 * * **Classic callbacks.**  The vendor fills a &struct mdev_parent_ops and
 *   calls vfio_mdev_register_parent() (and vfio_mdev_unregister_parent()).
 *   ``vfio_mdev.ko`` registers an mdev driver built from the callbacks
 *   (named after &mdev_parent_ops.name, by default the vendor's module) and
 *   registers the parent with it: the core sees an ordinary parent.  The
 *   driver wraps each device in a &struct vfio_device with an emulated IOMMU
 *   and forwards open, close, read, write, ioctl, mmap, request and
 *   dma_unmap to the callbacks.  The vendor never touches VFIO.
 */

/**
 * DOC: lifetime and locking
 *
 * *Parent.*  &struct mdev_parent is embedded in the vendor's own structure.
 * It is live from a successful mdev_register_parent() until
 * mdev_unregister_parent() returns (for a classic parent: from
 * vfio_mdev_register_parent() until vfio_mdev_unregister_parent()); the
 * vendor must keep the parent's &struct device referenced over that whole
 * span.  Until mdev_register_parent() returns, a ``create`` fails with
 * ``-ENODEV``; if the registration fails, no device was created.
 * Unregistering first stops new creations (a racing ``create`` fails with
 * ``-ENODEV``), then removes every device of the parent, then its sysfs
 * files.  Removing a device unbinds its driver; a VFIO driver's unbind waits
 * until user space has closed the device (asking it to through the request
 * callback), so mdev_unregister_parent() blocks for as long as a device is
 * held open.  It does not wait for the devices' references to be put.
 *
 * *Types.*  &struct mdev_type is owned by the vendor and only used by the
 * core while its parent is registered: the vendor may free it as soon as
 * mdev_unregister_parent() has returned.  The type's sysfs directory is the
 * core's own object, which outlives the type as long as a device of the
 * type is referenced.
 *
 * *Devices.*  &struct mdev_device is allocated and freed by the core.  It is
 * valid from &mdev_driver.probe (or &mdev_parent_ops.create) until the
 * matching remove callback returns; a driver that needs it longer takes a
 * reference with get_device() on mdev_dev() and may hold it past
 * mdev_unregister_parent(), but once its parent is unregistered the device
 * is only memory: its &mdev_device.type, and the type's parent, must not be
 * used.  Its UUID, and its instance, are free again as soon as it is
 * removed; the core frees it when the last reference is put.
 *
 * *Locking.*  Callbacks are called without core locks held, except that
 * creation and removal hold the parent's unregistration lock for reading:
 * a callback must not call mdev_unregister_parent() on its own parent.
 * &mdev_driver.get_available and &mdev_driver.show_description may be called
 * at any time while the parent is registered, concurrently with anything.
 */

struct mdev_type;
struct mdev_parent_ops;
struct page;
struct vm_area_struct;

/*
 * The four structures below and the prototypes of the four functions
 * exported by mdev.ko are Linux 6.12's, member for member: genksyms then
 * gives our exports the symbol CRCs of the distribution's mdev.ko, and
 * modules built against the distribution's headers (i915's kvmgt.ko,
 * vfio_ccw, vfio_ap) load on our core.  What the core needs beyond them
 * lives in structures of its own.
 */

/**
 * struct mdev_device - a mediated device
 * @dev: the device on the mdev bus; its name is the UUID in lower case
 * @uuid: the UUID user space created the device with
 * @type: the type this device is an instance of
 *
 * Allocated and freed by the core; see "lifetime and locking".
 */
struct mdev_device {
	struct device dev;
	guid_t uuid;
	/* private: */
	/* unused, as in 6.12 where only the core used them */
	struct list_head next;
	/* public: */
	struct mdev_type *type;
	/* private: */
	/* created, and no remover has claimed it yet (the core's own flag) */
	bool active;
};

/**
 * struct mdev_type - a kind of device a parent can create
 * @sysfs_name: set by the driver: the type's directory is named
 *              ``<parent driver>-<sysfs_name>``
 * @pretty_name: set by the driver (optional): read back from ``name``;
 *               @sysfs_name is shown when it is %NULL
 * @parent: set by the core at registration
 *
 * Usually embedded in a vendor structure that describes the type, which the
 * driver reaches with container_of() from &mdev_device.type.
 */
struct mdev_type {
	const char *sysfs_name;
	const char *pretty_name;

	struct mdev_parent *parent;

	/* private: */
	/*
	 * unused: 6.12's core kept the type's directories here, in the
	 * vendor's memory; ours are its own
	 */
	struct kobject kobj;
	struct kobject *devices_kobj;
};

/**
 * struct mdev_parent - a device that mediated devices are created on
 * @dev: set by the core: the parent device
 * @mdev_driver: set by the core: the driver every device is bound to
 * @types: set by the core: the types passed at registration
 * @nr_types: set by the core: the number of entries in @types
 *
 * Embedded in the vendor's structure and filled in by
 * mdev_register_parent(); the vendor must not change it.
 */
struct mdev_parent {
	struct device *dev;
	struct mdev_driver *mdev_driver;
	/* private: */
	/* the mdev_supported_types directory, in the core's parent state */
	struct kset *mdev_types_kset;
	/* unused: the core's lock is in its parent state */
	struct rw_semaphore unreg_sem;
	/* public: */
	struct mdev_type **types;
	unsigned int nr_types;
	/* private: */
	/* unused: the core counts instances in its parent state */
	atomic_t available_instances;
};

/**
 * to_mdev_device() - the mdev a device on the mdev bus is embedded in
 * @dev: a device on the mdev bus
 *
 * Return: the &struct mdev_device containing @dev.
 */
static inline struct mdev_device *to_mdev_device(struct device *dev)
{
	return container_of(dev, struct mdev_device, dev);
}

/**
 * struct mdev_driver - a driver for mediated devices
 * @device_api: the VFIO device API its devices offer (e.g.
 *              %VFIO_DEVICE_API_PCI_STRING), shown in each type's
 *              ``device_api``; required
 * @max_instances: the number of devices the parent can hold across all of
 *                 its types, when @get_available is not given
 * @probe: bind to a newly created device; returns 0, or a negative errno
 *         that fails the creation (``-EPROBE_DEFER`` reaches user space as
 *         ``-EAGAIN``)
 * @remove: unbind from a device that is being removed
 * @get_available: (optional) the number of instances of @mtype that could
 *                 still be created.  When given, the core keeps no count of
 *                 its own and the driver refuses a creation in @probe.
 * @show_description: (optional) print a description of @mtype into the
 *                    ``PAGE_SIZE`` buffer @buf with sysfs_emit(); returns
 *                    the number of bytes printed or a negative errno.  The
 *                    ``description`` file exists only when this is given.
 * @driver: the driver on the mdev bus; set its name and owner
 *
 * Context: every callback is called in process context and may sleep.
 */
struct mdev_driver {
	const char *device_api;
	unsigned int max_instances;
	int (*probe)(struct mdev_device *dev);
	void (*remove)(struct mdev_device *dev);
	unsigned int (*get_available)(struct mdev_type *mtype);
	ssize_t (*show_description)(struct mdev_type *mtype, char *buf);
	struct device_driver driver;
};

int mdev_register_parent(struct mdev_parent *parent, struct device *dev,
			 struct mdev_driver *mdev_driver,
			 struct mdev_type **types, unsigned int nr_types);
void mdev_unregister_parent(struct mdev_parent *parent);

int mdev_register_driver(struct mdev_driver *drv);
void mdev_unregister_driver(struct mdev_driver *drv);

/**
 * mdev_dev() - the struct device of a mediated device
 * @mdev: the mediated device
 *
 * Return: the device on the mdev bus embedded in @mdev.
 */
static inline struct device *mdev_dev(struct mdev_device *mdev)
{
	return &mdev->dev;
}

struct iova_bitmap;
struct rb_root_cached;

/**
 * struct mdev_parent_ops - callbacks of a classic parent
 * @owner: the module that implements the callbacks; it cannot be unloaded
 *         while one of its devices is open
 * @name: (optional) the name of the mdev driver that ``vfio_mdev`` registers
 *        for these callbacks, unique on the mdev bus; the name of @owner
 *        when %NULL (required when @owner is %NULL)
 * @device_api: as &mdev_driver.device_api; required
 * @max_instances: as &mdev_driver.max_instances
 * @get_available: (optional) as &mdev_driver.get_available
 * @show_description: (optional) as &mdev_driver.show_description
 * @dev_attr_groups: (optional) attribute groups added to the parent device
 *                   while it is registered
 * @mdev_attr_groups: (optional) attribute groups of every device, present
 *                    from the return of @create until @remove is called
 * @create: required: set up the vendor state of a new device, typically
 *          stored with mdev_set_drvdata(); returns 0 or a negative errno
 *          that fails the creation
 * @remove: required: tear down what @create set up; called once the device
 *          is closed and can no longer be opened
 * @open_device: (optional) the first file descriptor of the device is being
 *               opened; returns 0 or a negative errno that fails the open
 * @close_device: (optional) the last file descriptor was closed
 * @read: (optional) read(2) on the device file descriptor; returns the bytes
 *        read or a negative errno
 * @write: (optional) write(2) on the device file descriptor; returns the
 *         bytes written or a negative errno
 * @ioctl: (optional) a device ioctl; returns as the ioctl defines, and
 *         ``-ENOTTY`` for an unknown command
 * @mmap: (optional) mmap(2) of the device file descriptor, called with the
 *        mmap lock held; returns 0 or a negative errno
 * @request: (optional) the device is being removed while open: ask user
 *           space to release it (e.g. signal a request eventfd).  Called
 *           again every few seconds with an increasing @count until the
 *           device is closed.
 * @dma_unmap: (optional) user space unmapped IOVA range [@iova,
 *             @iova + @length): unpin every page pinned inside it before
 *             returning.  Called from just before @open_device is called
 *             until @close_device has returned, the span in which pages
 *             can be pinned: so also before and while @open_device runs
 *             (it may pin already) and while @close_device runs.  Not
 *             serialized with them: the VFIO core calls it with its IOMMU
 *             locks held, which pinning takes, so it must not wait for
 *             @open_device or @close_device; the parent guards its record
 *             of pinned pages with a lock of its own.
 * @migration_flags: %VFIO_MIGRATION_STOP_COPY, optionally with
 *                   %VFIO_MIGRATION_P2P and %VFIO_MIGRATION_PRE_COPY, when
 *                   the device supports VFIO migration; else 0
 * @migration_set_state: (with @migration_flags) move the device to the
 *                       state user space asked for, @new_state, walking
 *                       every arc of the VFIO migration state machine on
 *                       the way (vfio_mig_get_next_state() finds them);
 *                       returns as &vfio_migration_ops.migration_set_state:
 *                       %NULL, the data file of the final state, or an
 *                       ERR_PTR()
 * @migration_get_state: (with @migration_flags) store the current state in
 *                       @curr_state; returns 0 or a negative errno
 * @migration_get_data_size: (with @migration_flags) store an estimate of
 *                           the data STOP_COPY will produce; returns 0 or a
 *                           negative errno
 * @log_start: (optional, all three log callbacks or none) start tracking
 *             the pages the device writes by DMA within the @nnodes IOVA
 *             ranges of @ranges (an interval tree), in pages of
 *             *@page_size, which it may round up to what it can track;
 *             returns 0 or a negative errno.  With them the device offers
 *             ``VFIO_DEVICE_FEATURE_DMA_LOGGING_*``: QEMU migrates a device
 *             only with dirty tracking, and a device that never writes
 *             guest memory tracks honestly by reporting nothing.  Offered
 *             only on a kernel with ``CONFIG_IOMMUFD_DRIVER``, without
 *             which the VFIO core cannot report.
 * @log_stop: stop tracking; returns 0 or a negative errno
 * @log_read_and_clear: mark in @dirty, with iova_bitmap_set(), the pages
 *                      written in [@iova, @iova + @length) since the last
 *                      call, and forget them; returns 0 or a negative errno
 *
 * A classic parent leaves the VFIO side to the generic ``vfio_mdev`` driver;
 * see "overview".  Every callback is called with the device live and bound.
 *
 * Context: every callback is called in process context and may sleep.
 */
struct mdev_parent_ops {
	struct module *owner;
	const char *name;
	const char *device_api;
	unsigned int max_instances;
	unsigned int (*get_available)(struct mdev_type *mtype);
	ssize_t (*show_description)(struct mdev_type *mtype, char *buf);
	const struct attribute_group **dev_attr_groups;
	const struct attribute_group **mdev_attr_groups;

	int (*create)(struct mdev_device *mdev);
	void (*remove)(struct mdev_device *mdev);
	int (*open_device)(struct mdev_device *mdev);
	void (*close_device)(struct mdev_device *mdev);
	ssize_t (*read)(struct mdev_device *mdev, char __user *buf,
			size_t count, loff_t *ppos);
	ssize_t (*write)(struct mdev_device *mdev, const char __user *buf,
			 size_t count, loff_t *ppos);
	long (*ioctl)(struct mdev_device *mdev, unsigned int cmd,
		      unsigned long arg);
	int (*mmap)(struct mdev_device *mdev, struct vm_area_struct *vma);
	void (*request)(struct mdev_device *mdev, unsigned int count);
	void (*dma_unmap)(struct mdev_device *mdev, u64 iova, u64 length);

	u32 migration_flags;
	struct file *(*migration_set_state)(struct mdev_device *mdev,
					    enum vfio_device_mig_state new_state);
	int (*migration_get_state)(struct mdev_device *mdev,
				   enum vfio_device_mig_state *curr_state);
	int (*migration_get_data_size)(struct mdev_device *mdev,
				       unsigned long *stop_copy_length);

	int (*log_start)(struct mdev_device *mdev, struct rb_root_cached *ranges,
			 u32 nnodes, u64 *page_size);
	int (*log_stop)(struct mdev_device *mdev);
	int (*log_read_and_clear)(struct mdev_device *mdev, unsigned long iova,
				  unsigned long length, struct iova_bitmap *dirty);
};

int vfio_mdev_register_parent(struct mdev_parent *parent, struct device *dev,
			      const struct mdev_parent_ops *ops,
			      struct mdev_type **types, unsigned int nr_types);
void vfio_mdev_unregister_parent(struct mdev_parent *parent);
void mdev_set_drvdata(struct mdev_device *mdev, void *data);
void *mdev_get_drvdata(struct mdev_device *mdev);
int vfio_mdev_pin_pages(struct mdev_device *mdev, dma_addr_t iova, int npage,
			int prot, struct page **pages);
void vfio_mdev_unpin_pages(struct mdev_device *mdev, dma_addr_t iova,
			   int npage);
int vfio_mdev_dma_rw(struct mdev_device *mdev, dma_addr_t iova, void *data,
		     size_t len, bool write);
void vfio_mdev_unmap_user_range(struct mdev_device *mdev, loff_t offset,
				loff_t len);

#endif /* MDEV_H */
