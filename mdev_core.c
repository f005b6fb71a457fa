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

#include "mdev_private.h"

#define CREATE_TRACE_POINTS
#include "mdev_trace.h"

/* For observers of device lifetimes, such as the KUnit suite */
EXPORT_TRACEPOINT_SYMBOL_GPL(mdev_release);

static struct class_compat *mdev_bus_compat_class;

/*
 * Every UUID in use, whatever its parent, so that a duplicate is refused in
 * constant time however many devices exist.  An entry lives from creation
 * until the device is removed.
 */
static struct rhashtable mdev_uuids;

static const struct rhashtable_params mdev_uuid_params = {
	.key_len		= sizeof(guid_t),
	.key_offset		= offsetof(struct mdev_core_device, mdev.uuid),
	.head_offset		= offsetof(struct mdev_core_device, uuid_node),
	.automatic_shrinking	= true,
};

static void mdev_device_release(struct device *dev)
{
	struct mdev_core_device *cdev = to_mdev_core(to_mdev_device(dev));
	struct mdev_type_state *tstate = cdev->tstate;

	/*
	 * Possibly long after the removal (a vendor's reference,
	 * CONFIG_DEBUG_KOBJECT_RELEASE), with the parent unregistered and its
	 * types and driver freed: only the core's memory is used here.
	 */
	trace_mdev_release(&cdev->mdev);
	/* Inserters may still be walking its table entry */
	kfree_rcu(cdev, rcu);
	/* Pairs with the kobject_get() in mdev_device_create() */
	kobject_put(&tstate->kobj);
}

const struct device_type mdev_device_type = {
	.groups		= mdev_device_groups,
	.release	= mdev_device_release,
};

/*
 * Give back what a device held of its parent: its UUID and, when the core
 * counts them, its instance.  Done when the device is removed rather than
 * released, so that user space can create the same UUID again at once,
 * however long the last reference is held.
 */
static void mdev_device_unpublish(struct mdev_core_device *cdev)
{
	struct mdev_parent_state *pstate = cdev->tstate->pstate;

	rhashtable_remove_fast(&mdev_uuids, &cdev->uuid_node, mdev_uuid_params);
	if (pstate->counts_instances)
		atomic_inc(&pstate->available);
}

static void mdev_device_del(struct mdev_core_device *cdev)
{
	lockdep_assert_held(&cdev->tstate->pstate->unreg_sem);

	trace_mdev_remove(&cdev->mdev);
	mdev_remove_sysfs_files(cdev);
	/* Unbinds the driver, which may wait for user space to let go */
	device_del(&cdev->mdev.dev);
	mdev_device_unpublish(cdev);
	/* Pairs with device_initialize() in mdev_device_create() */
	put_device(&cdev->mdev.dev);
}

/**
 * mdev_device_create() - create a device of a type
 * @tstate: the core's state of the type, of a registered parent
 * @uuid: the UUID user space chose
 *
 * Context: process context; takes the parent's unregistration lock.
 * Return: 0; -ENODEV if the parent is being registered or unregistered;
 * -EEXIST if @uuid is in use; -EUSERS if the parent counts instances and
 * has none left; -ENOMEM; -EAGAIN if the UUID table is being resized and
 * cannot take the entry now; or the error of the driver's probe (-EAGAIN
 * for -EPROBE_DEFER).  On error nothing of the device is left.
 */
int mdev_device_create(struct mdev_type_state *tstate, const guid_t *uuid)
{
	struct mdev_parent_state *pstate = tstate->pstate;
	struct mdev_type *type = tstate->type;
	struct mdev_parent *parent = type->parent;
	struct mdev_core_device *cdev;
	struct mdev_device *mdev;
	int ret;

	/*
	 * Keeps unregistration away until the device is complete or gone;
	 * held for writing while the parent is registered, too.
	 */
	if (!down_read_trylock(&pstate->unreg_sem)) {
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
	cdev->tstate = tstate;

	/* A duplicate is refused before a full parent, as it always was */
	ret = rhashtable_lookup_insert_fast(&mdev_uuids, &cdev->uuid_node,
					    mdev_uuid_params);
	if (ret) {
		kfree(cdev);
		/*
		 * -EBUSY: a resize is pending and the bucket is full.  It
		 * passes, and "busy" would read as "this UUID is busy".
		 */
		if (ret == -EBUSY)
			ret = -EAGAIN;
		goto err_unlock;
	}

	if (pstate->counts_instances &&
	    !atomic_add_unless(&pstate->available, -1, 0)) {
		rhashtable_remove_fast(&mdev_uuids, &cdev->uuid_node,
				       mdev_uuid_params);
		kfree_rcu(cdev, rcu);
		ret = -EUSERS;
		goto err_unlock;
	}

	/* From here on mdev_device_release() frees the device */
	device_initialize(&mdev->dev);
	mdev->dev.parent = parent->dev;
	mdev->dev.bus = &mdev_bus_type;
	mdev->dev.type = &mdev_device_type;
	/* Pairs with the kobject_put() in mdev_device_release() */
	kobject_get(&tstate->kobj);

	ret = dev_set_name(&mdev->dev, "%pUl", uuid);
	if (ret)
		goto err_put;

	ret = device_add(&mdev->dev);
	if (ret)
		goto err_put;

	ret = device_driver_attach(&parent->mdev_driver->driver, &mdev->dev);
	if (ret)
		goto err_del;

	ret = mdev_create_sysfs_files(cdev);
	if (ret)
		goto err_del;

	/* Only now may user space remove it; pairs with mdev_device_remove() */
	WRITE_ONCE(mdev->active, true);
	set_bit(MDEV_ACTIVE, &cdev->flags);
	up_read(&pstate->unreg_sem);
	trace_mdev_create(kobject_name(&tstate->kobj), uuid, 0);
	return 0;

err_del:
	device_del(&mdev->dev);
err_put:
	mdev_device_unpublish(cdev);
	put_device(&mdev->dev);
err_unlock:
	up_read(&pstate->unreg_sem);
out_trace:
	trace_mdev_create(kobject_name(&tstate->kobj), uuid, ret);
	return ret;
}

/**
 * mdev_device_remove() - remove a device on behalf of user space
 * @mdev: the device, referenced by the caller
 *
 * Context: process context; takes the parent's unregistration lock.  Waits
 * until the device's driver has let go of it.
 * Return: 0; -EAGAIN if the device is still being created or already being
 * removed; -ENODEV if its parent is being or has been unregistered, which
 * removes it.
 */
int mdev_device_remove(struct mdev_device *mdev)
{
	struct mdev_core_device *cdev = to_mdev_core(mdev);
	struct mdev_parent_state *pstate = cdev->tstate->pstate;
	int ret = 0;

	/* Pairs with the set_bit() at the end of mdev_device_create() */
	if (!test_and_clear_bit(MDEV_ACTIVE, &cdev->flags))
		return -EAGAIN;
	WRITE_ONCE(mdev->active, false);

	if (!down_read_trylock(&pstate->unreg_sem))
		return -ENODEV;
	/* The parent is gone, and the device with it */
	if (pstate->unregistered)
		ret = -ENODEV;
	else
		mdev_device_del(cdev);
	up_read(&pstate->unreg_sem);
	return ret;
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
	struct mdev_parent_state *pstate;
	int ret;

	if (WARN_ON_ONCE(!dev || !mdev_driver || (nr_types && !types)))
		return -EINVAL;

	memset(parent, 0, sizeof(*parent));
	parent->dev = dev;
	parent->mdev_driver = mdev_driver;
	parent->types = types;
	parent->nr_types = nr_types;

	pstate = mdev_parent_state_create(parent);
	if (IS_ERR(pstate))
		return PTR_ERR(pstate);

	/*
	 * Every type's create file works as soon as it exists: creations
	 * fail until the parent is complete, so that a failure below finds
	 * no device to undo.
	 */
	down_write(&pstate->unreg_sem);
	ret = mdev_types_add(parent);
	if (ret)
		goto err_unlock;

	ret = class_compat_create_link(mdev_bus_compat_class, dev, NULL);
	if (ret)
		goto err_types;
	up_write(&pstate->unreg_sem);

	trace_mdev_parent_register(parent);
	mdev_parent_uevent(dev, "MDEV_STATE=registered");
	return 0;

err_types:
	mdev_types_remove(parent);
err_unlock:
	pstate->unregistered = true;
	up_write(&pstate->unreg_sem);
	kset_unregister(&pstate->kset);
	parent->mdev_types_kset = NULL;
	return ret;
}

static int mdev_remove_child(struct device *dev, void *data)
{
	if (dev->type == &mdev_device_type)
		mdev_device_del(to_mdev_core(to_mdev_device(dev)));
	return 0;
}

/* mdev_unregister_parent(), exported from mdev_core_exports.c */
void __mdev_unregister_parent(struct mdev_parent *parent)
{
	struct mdev_parent_state *pstate = mdev_parent_state(parent);
	struct device *dev = parent->dev;

	trace_mdev_parent_unregister(parent);

	down_write(&pstate->unreg_sem);
	class_compat_remove_link(mdev_bus_compat_class, dev, NULL);
	device_for_each_child(dev, NULL, mdev_remove_child);
	mdev_types_remove(parent);
	/* A remover that got here first finds the device gone */
	pstate->unregistered = true;
	up_write(&pstate->unreg_sem);
	/*
	 * The state is freed once the devices still referenced, by the
	 * vendor or by a remover, are released; nothing waits for them.
	 */
	kset_unregister(&pstate->kset);
	parent->mdev_types_kset = NULL;

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
	/* Devices released late run our release functions: wait for them */
	mdev_wait_parent_states();
	class_compat_unregister(mdev_bus_compat_class);
	bus_unregister(&mdev_bus_type);
	rhashtable_destroy(&mdev_uuids);
}

subsys_initcall(mdev_init);
module_exit(mdev_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Mediated device core");
