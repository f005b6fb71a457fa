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
	.key_offset		= offsetof(struct mdev_core_device, mdev.uuid),
	.head_offset		= offsetof(struct mdev_core_device, uuid_node),
	.automatic_shrinking	= true,
};

static bool mdev_parent_counts_instances(struct mdev_parent *parent)
{
	return !parent->mdev_driver->get_available;
}

static void mdev_device_release(struct device *dev)
{
	struct mdev_device *mdev = to_mdev_device(dev);
	struct mdev_core_device *cdev = to_mdev_core(mdev);
	struct mdev_type *type = mdev->type;
	struct mdev_parent *parent = type->parent;
	struct mdev_parent_state *state = mdev_parent_state(parent);

	trace_mdev_release(mdev);
	rhashtable_remove_fast(&mdev_uuids, &cdev->uuid_node, mdev_uuid_params);
	if (mdev_parent_counts_instances(parent))
		atomic_inc(&parent->available_instances);
	/* Pairs with the kobject_get() in mdev_device_create() */
	kobject_put(&type->kobj);
	/* Inserters may still be walking its table entry */
	kfree_rcu(cdev, rcu);

	/*
	 * Last, as mdev_unregister_parent() may return and the parent and its
	 * state be freed as soon as the count reaches zero; wake_up_var() only
	 * hashes the address.  Pairs with the atomic_inc() in
	 * mdev_device_create().
	 */
	if (atomic_dec_and_test(&state->nr_live))
		wake_up_var(&state->nr_live);
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
	struct mdev_core_device *cdev;
	struct mdev_device *mdev;
	int ret;

	/* Keeps unregistration away until the device is complete or gone */
	if (!down_read_trylock(&parent->unreg_sem)) {
		ret = -ENODEV;
		goto out_trace;
	}

	cdev = kzalloc(sizeof(*cdev), GFP_KERNEL);
	if (!cdev) {
		ret = -ENOMEM;
		goto err_unlock;
	}
	mdev = &cdev->mdev;
	guid_copy(&mdev->uuid, uuid);
	INIT_LIST_HEAD(&mdev->next);
	mdev->type = type;

	/* A duplicate is refused before a full parent, as it always was */
	ret = rhashtable_lookup_insert_fast(&mdev_uuids, &cdev->uuid_node,
					    mdev_uuid_params);
	if (ret) {
		kfree(cdev);
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
	/* Pairs with the kobject_put() in mdev_device_release() */
	kobject_get(&type->kobj);
	/* Pairs with the atomic_dec_and_test() in mdev_device_release() */
	atomic_inc(&mdev_parent_state(parent)->nr_live);

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
	WRITE_ONCE(mdev->active, true);
	set_bit(MDEV_ACTIVE, &cdev->flags);
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
	rhashtable_remove_fast(&mdev_uuids, &cdev->uuid_node, mdev_uuid_params);
	kfree_rcu(cdev, rcu);
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
	if (!test_and_clear_bit(MDEV_ACTIVE, &to_mdev_core(mdev)->flags))
		return -EAGAIN;
	WRITE_ONCE(mdev->active, false);

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

/* mdev_register_parent(), exported from mdev_core_exports.c */
int __mdev_register_parent(struct mdev_parent *parent, struct device *dev,
			   struct mdev_driver *mdev_driver,
			   struct mdev_type **types, unsigned int nr_types)
{
	int ret;

	if (WARN_ON_ONCE(!dev || !mdev_driver || (nr_types && !types)))
		return -EINVAL;

	memset(parent, 0, sizeof(*parent));
	init_rwsem(&parent->unreg_sem);
	parent->dev = dev;
	parent->mdev_driver = mdev_driver;
	parent->types = types;
	parent->nr_types = nr_types;
	atomic_set(&parent->available_instances, mdev_driver->max_instances);

	ret = parent_create_sysfs_files(parent);
	if (ret)
		return ret;

	ret = class_compat_create_link(mdev_bus_compat_class, dev, NULL);
	if (ret)
		goto err_types;

	trace_mdev_parent_register(parent);
	mdev_parent_uevent(dev, "MDEV_STATE=registered");
	return 0;

err_types:
	parent_remove_sysfs_files(parent);
	return ret;
}

static int mdev_remove_child(struct device *dev, void *data)
{
	if (dev->type == &mdev_device_type)
		mdev_device_del(to_mdev_device(dev));
	return 0;
}

/* mdev_unregister_parent(), exported from mdev_core_exports.c */
void __mdev_unregister_parent(struct mdev_parent *parent)
{
	struct mdev_parent_state *state = mdev_parent_state(parent);
	struct device *dev = parent->dev;

	trace_mdev_parent_unregister(parent);

	down_write(&parent->unreg_sem);
	class_compat_remove_link(mdev_bus_compat_class, dev, NULL);
	device_for_each_child(dev, NULL, mdev_remove_child);
	/* Pairs with wake_up_var() in mdev_device_release() */
	wait_var_event(&state->nr_live, !atomic_read(&state->nr_live));
	parent_remove_sysfs_files(parent);
	up_write(&parent->unreg_sem);

	mdev_parent_uevent(dev, "MDEV_STATE=unregistered");
}

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
