// SPDX-License-Identifier: GPL-2.0-only
/*
 * The sysfs management interface of mediated devices: the types below each
 * parent, and the files of each device.
 */

#include <linux/device.h>
#include <linux/kstrtox.h>
#include <linux/mdev.h>
#include <linux/slab.h>
#include <linux/sysfs.h>
#include <linux/wait_bit.h>

#include "mdev_private.h"

struct mdev_type_attribute {
	struct attribute attr;
	ssize_t (*show)(struct mdev_type_state *tstate, char *buf);
	ssize_t (*store)(struct mdev_type_state *tstate, const char *buf,
			 size_t count);
};

#define MDEV_TYPE_ATTR_RO(_name)					\
	static struct mdev_type_attribute mdev_type_attr_##_name =	\
		__ATTR(_name, 0444, _name##_show, NULL)
#define MDEV_TYPE_ATTR_WO(_name)					\
	static struct mdev_type_attribute mdev_type_attr_##_name =	\
		__ATTR(_name, 0200, NULL, _name##_store)

static struct mdev_type_attribute *to_mdev_type_attr(struct attribute *attr)
{
	return container_of(attr, struct mdev_type_attribute, attr);
}

/*
 * The attributes run while the type's directory is in sysfs, which the
 * parent's unregistration removes (draining them) before it returns: the
 * vendor's type and parent are valid here.
 */
static ssize_t mdev_type_attr_show(struct kobject *kobj,
				   struct attribute *attr, char *buf)
{
	struct mdev_type_attribute *tattr = to_mdev_type_attr(attr);

	return tattr->show ? tattr->show(to_mdev_type_state(kobj), buf) : -EIO;
}

static ssize_t mdev_type_attr_store(struct kobject *kobj,
				    struct attribute *attr, const char *buf,
				    size_t count)
{
	struct mdev_type_attribute *tattr = to_mdev_type_attr(attr);

	return tattr->store ?
	       tattr->store(to_mdev_type_state(kobj), buf, count) : -EIO;
}

static const struct sysfs_ops mdev_type_sysfs_ops = {
	.show	= mdev_type_attr_show,
	.store	= mdev_type_attr_store,
};

/*
 * Exactly a UUID: 36 characters in the 8-4-4-4-12 form, hex digits in either
 * case, optionally followed by one newline.  sysfs NUL-terminates @buf, so an
 * embedded NUL or a short write fails the digit check.
 */
static int mdev_parse_uuid(const char *buf, size_t count, guid_t *uuid)
{
	if (count == UUID_STRING_LEN + 1 && buf[UUID_STRING_LEN] == '\n')
		count--;
	if (count != UUID_STRING_LEN)
		return -EINVAL;
	return guid_parse(buf, uuid);
}

static ssize_t create_store(struct mdev_type_state *tstate, const char *buf,
			    size_t count)
{
	guid_t uuid;
	int ret;

	ret = mdev_parse_uuid(buf, count, &uuid);
	if (ret)
		return ret;

	ret = mdev_device_create(tstate, &uuid);
	return ret ? ret : count;
}
MDEV_TYPE_ATTR_WO(create);

static ssize_t device_api_show(struct mdev_type_state *tstate, char *buf)
{
	return sysfs_emit(buf, "%s\n",
			  tstate->type->parent->mdev_driver->device_api);
}
MDEV_TYPE_ATTR_RO(device_api);

static ssize_t name_show(struct mdev_type_state *tstate, char *buf)
{
	struct mdev_type *type = tstate->type;

	return sysfs_emit(buf, "%s\n", type->pretty_name ?: type->sysfs_name);
}
MDEV_TYPE_ATTR_RO(name);

static ssize_t available_instances_show(struct mdev_type_state *tstate,
					char *buf)
{
	struct mdev_driver *drv = tstate->type->parent->mdev_driver;

	if (tstate->pstate->counts_instances)
		return sysfs_emit(buf, "%u\n",
				  atomic_read(&tstate->pstate->available));
	return sysfs_emit(buf, "%u\n", drv->get_available(tstate->type));
}
MDEV_TYPE_ATTR_RO(available_instances);

static ssize_t description_show(struct mdev_type_state *tstate, char *buf)
{
	struct mdev_type *type = tstate->type;

	return type->parent->mdev_driver->show_description(type, buf);
}
MDEV_TYPE_ATTR_RO(description);

static struct attribute *mdev_type_attrs[] = {
	&mdev_type_attr_create.attr,
	&mdev_type_attr_device_api.attr,
	&mdev_type_attr_name.attr,
	&mdev_type_attr_available_instances.attr,
	&mdev_type_attr_description.attr,
	NULL,
};

static umode_t mdev_type_attr_is_visible(struct kobject *kobj,
					 struct attribute *attr, int n)
{
	struct mdev_parent *parent = to_mdev_type_state(kobj)->type->parent;

	if (attr == &mdev_type_attr_description.attr &&
	    !parent->mdev_driver->show_description)
		return 0;
	return attr->mode;
}

static const struct attribute_group mdev_type_group = {
	.attrs		= mdev_type_attrs,
	.is_visible	= mdev_type_attr_is_visible,
};
__ATTRIBUTE_GROUPS(mdev_type);

/* Only core memory here: this may run long after the vendor freed the type */
static void mdev_type_state_release(struct kobject *kobj)
{
	struct mdev_type_state *tstate = to_mdev_type_state(kobj);

	/* Pairs with the kobject_get() in mdev_type_add() */
	mdev_parent_state_put(tstate->pstate);
	kfree(tstate);
}

static const struct kobj_type mdev_type_ktype = {
	.sysfs_ops	= &mdev_type_sysfs_ops,
	.release	= mdev_type_state_release,
	.default_groups	= mdev_type_groups,
};

static struct mdev_type_state *mdev_type_add(struct mdev_parent_state *pstate,
					     struct mdev_parent *parent,
					     struct mdev_type *type)
{
	struct mdev_type_state *tstate;
	int ret;

	tstate = kzalloc(sizeof(*tstate), GFP_KERNEL);
	if (!tstate)
		return ERR_PTR(-ENOMEM);
	type->parent = parent;
	tstate->type = type;
	tstate->pstate = pstate;
	/* Pairs with the mdev_parent_state_put() in mdev_type_state_release() */
	kobject_get(&pstate->kset.kobj);
	tstate->kobj.kset = &pstate->kset;

	ret = kobject_init_and_add(&tstate->kobj, &mdev_type_ktype, NULL,
				   "%s-%s", dev_driver_string(parent->dev),
				   type->sysfs_name);
	if (ret)
		goto err_put;

	tstate->devices_kobj = kobject_create_and_add("devices", &tstate->kobj);
	if (!tstate->devices_kobj) {
		ret = -ENOMEM;
		goto err_del;
	}
	return tstate;

err_del:
	kobject_del(&tstate->kobj);
err_put:
	/* Frees @tstate, whose release drops the reference on @pstate */
	kobject_put(&tstate->kobj);
	return ERR_PTR(ret);
}

static void mdev_type_remove(struct mdev_type_state *tstate)
{
	kobject_put(tstate->devices_kobj);
	kobject_del(&tstate->kobj);
	/* Devices of the type may hold it longer */
	kobject_put(&tstate->kobj);
}

static atomic_t mdev_nr_parent_states = ATOMIC_INIT(0);

static void mdev_parent_state_release(struct kobject *kobj)
{
	struct mdev_parent_state *pstate =
		container_of(kobj, struct mdev_parent_state, kset.kobj);

	kfree(pstate->types);
	kfree(pstate);
	/* Pairs with wait_var_event() in mdev_wait_parent_states() */
	if (atomic_dec_and_test(&mdev_nr_parent_states))
		wake_up_var(&mdev_nr_parent_states);
}

/**
 * mdev_wait_parent_states() - wait until every parent's state is freed
 *
 * A parent's state, and with it every object it outlives (the types'
 * directories, the devices), is freed when its last reference is put, which
 * can come after the parent was unregistered and its module unloaded.  Their
 * release functions are in this module: it waits for them before it goes.
 *
 * Context: process context, at module exit.
 */
void mdev_wait_parent_states(void)
{
	wait_var_event(&mdev_nr_parent_states,
		       !atomic_read(&mdev_nr_parent_states));
}

/* As the kernel's own ksets: owned like the parent device */
static void mdev_parent_state_get_ownership(const struct kobject *kobj,
					    kuid_t *uid, kgid_t *gid)
{
	struct kobject *parent = kobj->parent;

	if (parent && parent->ktype && parent->ktype->get_ownership)
		parent->ktype->get_ownership(parent, uid, gid);
}

/* The kset's kobject type, as kset_create() sets up, but freeing our state */
static const struct kobj_type mdev_parent_state_ktype = {
	.sysfs_ops	= &kobj_sysfs_ops,
	.release	= mdev_parent_state_release,
	.get_ownership	= mdev_parent_state_get_ownership,
};

/**
 * mdev_parent_state_create() - create ``mdev_supported_types`` of a parent
 * @parent: the parent being registered, with its device and types set
 *
 * Allocates the parent's state around the kset of ``mdev_supported_types``,
 * registers the kset (still empty), and points &mdev_parent.mdev_types_kset
 * at it.
 *
 * Context: process context.
 * Return: the state, or an ERR_PTR() with nothing created.
 */
struct mdev_parent_state *mdev_parent_state_create(struct mdev_parent *parent)
{
	struct mdev_parent_state *pstate;
	int ret;

	pstate = kzalloc(sizeof(*pstate), GFP_KERNEL);
	if (!pstate)
		return ERR_PTR(-ENOMEM);
	pstate->types = kcalloc(parent->nr_types, sizeof(*pstate->types),
				GFP_KERNEL);
	if (parent->nr_types && !pstate->types) {
		kfree(pstate);
		return ERR_PTR(-ENOMEM);
	}
	init_rwsem(&pstate->unreg_sem);
	pstate->counts_instances = !parent->mdev_driver->get_available;
	atomic_set(&pstate->available, parent->mdev_driver->max_instances);

	ret = kobject_set_name(&pstate->kset.kobj, "mdev_supported_types");
	if (ret)
		goto err_free;
	pstate->kset.kobj.parent = &parent->dev->kobj;
	pstate->kset.kobj.ktype = &mdev_parent_state_ktype;
	/* Frees the name on error, and leaves the kobject unreferenced */
	ret = kset_register(&pstate->kset);
	if (ret)
		goto err_free;
	/* Pairs with the atomic_dec_and_test() in mdev_parent_state_release() */
	atomic_inc(&mdev_nr_parent_states);
	parent->mdev_types_kset = &pstate->kset;
	return pstate;

err_free:
	kfree(pstate->types);
	kfree(pstate);
	return ERR_PTR(ret);
}

/**
 * mdev_parent_state_put() - drop a reference on a parent's state
 * @pstate: the state
 *
 * The kset is unregistered by then; the state is freed with the last
 * reference.
 */
void mdev_parent_state_put(struct mdev_parent_state *pstate)
{
	kobject_put(&pstate->kset.kobj);
}

/**
 * mdev_types_add() - create the directory of every type of a parent
 * @parent: the parent being registered, with its state
 *
 * Each directory's ``create`` works at once.  The caller holds
 * &mdev_parent_state.unreg_sem for writing, so that a creation fails with
 * -ENODEV until the registration is complete, and none can have happened if
 * it fails.
 *
 * Context: process context.
 * Return: 0 or a negative errno, with no directory left.
 */
int mdev_types_add(struct mdev_parent *parent)
{
	struct mdev_parent_state *pstate = mdev_parent_state(parent);
	struct mdev_type_state *tstate;
	unsigned int i;

	lockdep_assert_held_write(&pstate->unreg_sem);

	for (i = 0; i < parent->nr_types; i++) {
		tstate = mdev_type_add(pstate, parent, parent->types[i]);
		if (IS_ERR(tstate))
			goto err_types;
		pstate->types[i] = tstate;
		pstate->nr_types++;
	}
	return 0;

err_types:
	mdev_types_remove(parent);
	return PTR_ERR(tstate);
}

/**
 * mdev_types_remove() - remove what mdev_types_add() made
 * @parent: the parent being unregistered, without devices
 *
 * The directories' objects are freed once the devices that were created in
 * them are released.
 *
 * Context: process context, with &mdev_parent_state.unreg_sem held for
 * writing.
 */
void mdev_types_remove(struct mdev_parent *parent)
{
	struct mdev_parent_state *pstate = mdev_parent_state(parent);

	lockdep_assert_held_write(&pstate->unreg_sem);

	while (pstate->nr_types)
		mdev_type_remove(pstate->types[--pstate->nr_types]);
}

static ssize_t remove_store(struct device *dev, struct device_attribute *attr,
			    const char *buf, size_t count)
{
	struct mdev_device *mdev = to_mdev_device(dev);
	unsigned long val;
	int ret;

	if (kstrtoul(buf, 0, &val))
		return -EINVAL;
	if (!val)
		return count;

	/* Still being created: leave the file for a later attempt */
	if (!test_bit(MDEV_ACTIVE, &to_mdev_core(mdev)->flags))
		return -EAGAIN;

	/*
	 * Once this file is gone nothing else keeps the device alive: an
	 * unregistration of its parent may remove it, and the vendor then
	 * free the parent, while we are still below.  A reference keeps the
	 * device, and through it the core's state of its type and parent,
	 * which is all mdev_device_remove() touches before it knows the parent
	 * is still registered.  Pairs with put_device() below.
	 */
	get_device(dev);
	/*
	 * Removing the device drains this file's writers: step out of them
	 * first.  If this fails, someone else is already removing the device.
	 */
	ret = 0;
	if (device_remove_file_self(dev, attr))
		ret = mdev_device_remove(mdev);
	put_device(dev);
	return ret ? ret : count;
}
static DEVICE_ATTR_WO(remove);

static struct attribute *mdev_device_attrs[] = {
	&dev_attr_remove.attr,
	NULL,
};

static const struct attribute_group mdev_device_group = {
	.attrs = mdev_device_attrs,
};

const struct attribute_group *mdev_device_groups[] = {
	&mdev_device_group,
	NULL,
};

/**
 * mdev_create_sysfs_files() - link a new device and its type both ways
 * @cdev: the device, added to the bus
 *
 * Context: process context.
 * Return: 0 or a negative errno, with no link left.
 */
int mdev_create_sysfs_files(struct mdev_core_device *cdev)
{
	struct mdev_type_state *tstate = cdev->tstate;
	struct kobject *kobj = &cdev->mdev.dev.kobj;
	int ret;

	ret = sysfs_create_link(tstate->devices_kobj, kobj, kobject_name(kobj));
	if (ret)
		return ret;

	ret = sysfs_create_link(kobj, &tstate->kobj, "mdev_type");
	if (ret)
		goto err_devices_link;
	return 0;

err_devices_link:
	sysfs_remove_link(tstate->devices_kobj, kobject_name(kobj));
	return ret;
}

/**
 * mdev_remove_sysfs_files() - remove what mdev_create_sysfs_files() made
 * @cdev: the device being removed
 *
 * Context: process context.
 */
void mdev_remove_sysfs_files(struct mdev_core_device *cdev)
{
	struct kobject *kobj = &cdev->mdev.dev.kobj;

	sysfs_remove_link(kobj, "mdev_type");
	sysfs_remove_link(cdev->tstate->devices_kobj, kobject_name(kobj));
}
