// SPDX-License-Identifier: GPL-2.0-only
/*
 * The mediated device core: parents, and the creation and removal of devices.
 */

#include <linux/device.h>
#include <linux/mdev.h>
#include <linux/module.h>
#include <linux/rhashtable.h>
#include <linux/slab.h>
#include <linux/sysfs.h>
#include <linux/wait_bit.h>

#include "mdev_private.h"

#define CREATE_TRACE_POINTS
#include "mdev_trace.h"

/* For observers of device lifetimes, such as the KUnit suite */
EXPORT_TRACEPOINT_SYMBOL_GPL(mdev_release);

static struct class_compat *mdev_bus_compat_class;

/*
 * Every UUID in use, whatever its parent, so that a duplicate is refused in
 * constant time however many devices exist.  An entry lives from creation
 * until the device is released.
 */
static struct rhashtable mdev_uuids;

static const struct rhashtable_params mdev_uuid_params = {
	.key_len		= sizeof(guid_t),
	.key_offset		= offsetof(struct mdev_device, uuid),
	.head_offset		= offsetof(struct mdev_device, uuid_node),
	.automatic_shrinking	= true,
};

static bool mdev_parent_counts_instances(struct mdev_parent *parent)
{
	return !mdev_parent_get_available(parent);
}

static void mdev_device_release(struct device *dev)
{
	struct mdev_device *mdev = to_mdev_device(dev);
	struct mdev_type *type = mdev->type;
	struct mdev_parent *parent = type->parent;

	trace_mdev_release(mdev);
	rhashtable_remove_fast(&mdev_uuids, &mdev->uuid_node, mdev_uuid_params);
	if (mdev_parent_counts_instances(parent))
		atomic_inc(&parent->available_instances);
	/* Pairs with the kobject_get() in mdev_device_create() */
	kobject_put(&type->kobj);
	/* Inserters may still be walking its table entry */
	kfree_rcu(mdev, rcu);

	/*
	 * Last, as mdev_unregister_parent() may return and the parent be freed
	 * as soon as the count reaches zero; wake_up_var() only hashes the
	 * address.  Pairs with the atomic_inc() in mdev_device_create().
	 */
	if (atomic_dec_and_test(&parent->nr_live))
		wake_up_var(&parent->nr_live);
}

const struct device_type mdev_device_type = {
	.groups		= mdev_device_groups,
	.release	= mdev_device_release,
};

static void mdev_device_del(struct mdev_device *mdev)
{
	lockdep_assert_held(&mdev->type->parent->unreg_sem);

	trace_mdev_remove(mdev);
	mdev_remove_sysfs_files(mdev);
	/* Unbinds the driver, which may wait for user space to let go */
	device_del(&mdev->dev);
	/* Pairs with device_initialize() in mdev_device_create() */
	put_device(&mdev->dev);
}

/**
 * mdev_device_create() - create a device of a type
 * @type: the type, of a registered parent
 * @uuid: the UUID user space chose
 *
 * Context: process context; takes the parent's unregistration lock.
 * Return: 0; -ENODEV if the parent is being unregistered; -EEXIST if @uuid
 * is in use; -EUSERS if the parent counts instances and has none left;
 * -ENOMEM; or the error of the driver's probe (-EAGAIN for -EPROBE_DEFER).
 * On error nothing of the device is left.
 */
int mdev_device_create(struct mdev_type *type, const guid_t *uuid)
{
	struct mdev_parent *parent = type->parent;
	struct mdev_device *mdev;
	int ret;

	/* Keeps unregistration away until the device is complete or gone */
	if (!down_read_trylock(&parent->unreg_sem)) {
		ret = -ENODEV;
		goto out_trace;
	}

	mdev = kzalloc(sizeof(*mdev), GFP_KERNEL);
	if (!mdev) {
		ret = -ENOMEM;
		goto err_unlock;
	}
	guid_copy(&mdev->uuid, uuid);
	mdev->type = type;

	/* A duplicate is refused before a full parent, as it always was */
	ret = rhashtable_lookup_insert_fast(&mdev_uuids, &mdev->uuid_node,
					    mdev_uuid_params);
	if (ret) {
		kfree(mdev);
		goto err_unlock;
	}

	if (mdev_parent_counts_instances(parent) &&
	    !atomic_add_unless(&parent->available_instances, -1, 0)) {
		ret = -EUSERS;
		goto err_unhash;
	}

	/* From here on mdev_device_release() undoes everything above */
	device_initialize(&mdev->dev);
	mdev->dev.parent = parent->dev;
	mdev->dev.bus = &mdev_bus_type;
	mdev->dev.type = &mdev_device_type;
	if (parent->ops)
		mdev->dev.groups = parent->ops->mdev_attr_groups;
	/* Pairs with the kobject_put() in mdev_device_release() */
	kobject_get(&type->kobj);
	/* Pairs with the atomic_dec_and_test() in mdev_device_release() */
	atomic_inc(&parent->nr_live);

	ret = dev_set_name(&mdev->dev, "%pUl", uuid);
	if (ret)
		goto err_put;

	ret = device_add(&mdev->dev);
	if (ret)
		goto err_put;

	ret = device_driver_attach(&parent->mdev_driver->driver, &mdev->dev);
	if (ret)
		goto err_del;

	ret = mdev_create_sysfs_files(mdev);
	if (ret)
		goto err_del;

	/* Only now may user space remove it; pairs with mdev_device_remove() */
	set_bit(MDEV_ACTIVE, &mdev->active);
	up_read(&parent->unreg_sem);
	trace_mdev_create(type, uuid, 0);
	return 0;

err_del:
	device_del(&mdev->dev);
err_put:
	put_device(&mdev->dev);
	up_read(&parent->unreg_sem);
	goto out_trace;
err_unhash:
	rhashtable_remove_fast(&mdev_uuids, &mdev->uuid_node, mdev_uuid_params);
	kfree_rcu(mdev, rcu);
err_unlock:
	up_read(&parent->unreg_sem);
out_trace:
	trace_mdev_create(type, uuid, ret);
	return ret;
}

/**
 * mdev_device_remove() - remove a device on behalf of user space
 * @mdev: the device
 *
 * Context: process context; takes the parent's unregistration lock.  Waits
 * until the device's driver has let go of it.
 * Return: 0; -EAGAIN if the device is still being created or already being
 * removed; -ENODEV if its parent is being unregistered, which removes it.
 */
int mdev_device_remove(struct mdev_device *mdev)
{
	struct mdev_parent *parent = mdev->type->parent;

	/* Pairs with the set_bit() at the end of mdev_device_create() */
	if (!test_and_clear_bit(MDEV_ACTIVE, &mdev->active))
		return -EAGAIN;

	if (!down_read_trylock(&parent->unreg_sem))
		return -ENODEV;

	mdev_device_del(mdev);
	up_read(&parent->unreg_sem);
	return 0;
}

/* Tell userspace (mdevctl, libvirt) a parent came or went. */
static void mdev_parent_uevent(struct device *dev, char *state)
{
	char *envp[2] = { state, NULL };

	kobject_uevent_env(&dev->kobj, KOBJ_CHANGE, envp);
}

int __mdev_register_parent(struct mdev_parent *parent, struct device *dev,
			   struct mdev_driver *mdev_driver,
			   const struct mdev_parent_ops *ops,
			   struct mdev_type **types, unsigned int nr_types)
{
	int ret;

	if (WARN_ON_ONCE(!dev || !mdev_driver || (nr_types && !types)))
		return -EINVAL;

	memset(parent, 0, sizeof(*parent));
	init_rwsem(&parent->unreg_sem);
	parent->dev = dev;
	parent->mdev_driver = mdev_driver;
	parent->ops = ops;
	parent->types = types;
	parent->nr_types = nr_types;
	atomic_set(&parent->available_instances,
		   mdev_parent_max_instances(parent));

	ret = parent_create_sysfs_files(parent);
	if (ret)
		return ret;

	if (ops && ops->dev_attr_groups) {
		ret = sysfs_create_groups(&dev->kobj, ops->dev_attr_groups);
		if (ret)
			goto err_types;
	}

	ret = class_compat_create_link(mdev_bus_compat_class, dev, NULL);
	if (ret)
		goto err_groups;

	trace_mdev_parent_register(parent);
	mdev_parent_uevent(dev, "MDEV_STATE=registered");
	return 0;

err_groups:
	if (ops && ops->dev_attr_groups)
		sysfs_remove_groups(&dev->kobj, ops->dev_attr_groups);
err_types:
	parent_remove_sysfs_files(parent);
	return ret;
}
EXPORT_SYMBOL_NS_GPL(__mdev_register_parent, MDEV_INTERNAL);

/**
 * mdev_register_parent() - register a device as the parent of mdevs
 * @parent: the parent structure, embedded in the vendor's; filled in here
 * @dev: the physical (or virtual) device that the mdevs hang off
 * @mdev_driver: the driver, registered with mdev_register_driver(), that
 *               every device created on @parent is bound to
 * @types: the types @parent offers; must stay valid until the parent is
 *         unregistered
 * @nr_types: the number of entries in @types
 *
 * Creates ``mdev_supported_types/`` below @dev with a directory per type,
 * the link ``/sys/class/mdev_bus/<dev>`` and sends a %KOBJ_CHANGE uevent
 * with ``MDEV_STATE=registered``.  The caller holds a reference on @dev
 * until mdev_unregister_parent() returns.
 *
 * Context: process context, may sleep.
 * Return: 0 or a negative errno, in which case nothing was registered.
 */
int mdev_register_parent(struct mdev_parent *parent, struct device *dev,
			 struct mdev_driver *mdev_driver,
			 struct mdev_type **types, unsigned int nr_types)
{
	return __mdev_register_parent(parent, dev, mdev_driver, NULL, types,
				      nr_types);
}
EXPORT_SYMBOL(mdev_register_parent);

static int mdev_remove_child(struct device *dev, void *data)
{
	if (dev->type == &mdev_device_type)
		mdev_device_del(to_mdev_device(dev));
	return 0;
}

/**
 * mdev_unregister_parent() - unregister a parent and remove its devices
 * @parent: a parent registered with mdev_register_parent()
 *
 * Makes further creations on @parent fail with -ENODEV, waits for those in
 * progress, removes every device of @parent (each driver's unbind may wait
 * for user space to close the device), waits until they are all released,
 * removes the sysfs files and sends a %KOBJ_CHANGE uevent with
 * ``MDEV_STATE=unregistered``.  Afterwards the vendor may free @parent and
 * its types.
 *
 * Context: process context, may sleep for as long as a device is open.
 */
void mdev_unregister_parent(struct mdev_parent *parent)
{
	struct device *dev = parent->dev;

	trace_mdev_parent_unregister(parent);

	down_write(&parent->unreg_sem);
	class_compat_remove_link(mdev_bus_compat_class, dev, NULL);
	device_for_each_child(dev, NULL, mdev_remove_child);
	/* Pairs with wake_up_var() in mdev_device_release() */
	wait_var_event(&parent->nr_live, !atomic_read(&parent->nr_live));
	if (parent->ops && parent->ops->dev_attr_groups)
		sysfs_remove_groups(&dev->kobj, parent->ops->dev_attr_groups);
	parent_remove_sysfs_files(parent);
	up_write(&parent->unreg_sem);

	mdev_parent_uevent(dev, "MDEV_STATE=unregistered");
}
EXPORT_SYMBOL(mdev_unregister_parent);

static int __init mdev_init(void)
{
	int ret;

	ret = rhashtable_init(&mdev_uuids, &mdev_uuid_params);
	if (ret)
		return ret;

	ret = bus_register(&mdev_bus_type);
	if (ret)
		goto err_uuids;

	mdev_bus_compat_class = class_compat_register("mdev_bus");
	if (!mdev_bus_compat_class) {
		ret = -ENOMEM;
		goto err_bus;
	}
	return 0;

err_bus:
	bus_unregister(&mdev_bus_type);
err_uuids:
	rhashtable_destroy(&mdev_uuids);
	return ret;
}

static void __exit mdev_exit(void)
{
	class_compat_unregister(mdev_bus_compat_class);
	bus_unregister(&mdev_bus_type);
	rhashtable_destroy(&mdev_uuids);
}

subsys_initcall(mdev_init);
module_exit(mdev_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Mediated device core");
