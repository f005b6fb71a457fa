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

#include "mdev_private.h"

struct mdev_type_attribute {
	struct attribute attr;
	ssize_t (*show)(struct mdev_type *mtype, char *buf);
	ssize_t (*store)(struct mdev_type *mtype, const char *buf,
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

static ssize_t mdev_type_attr_show(struct kobject *kobj,
				   struct attribute *attr, char *buf)
{
	struct mdev_type_attribute *tattr = to_mdev_type_attr(attr);

	return tattr->show ? tattr->show(to_mdev_type(kobj), buf) : -EIO;
}

static ssize_t mdev_type_attr_store(struct kobject *kobj,
				    struct attribute *attr, const char *buf,
				    size_t count)
{
	struct mdev_type_attribute *tattr = to_mdev_type_attr(attr);

	return tattr->store ? tattr->store(to_mdev_type(kobj), buf, count) :
			      -EIO;
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

static ssize_t create_store(struct mdev_type *mtype, const char *buf,
			    size_t count)
{
	guid_t uuid;
	int ret;

	ret = mdev_parse_uuid(buf, count, &uuid);
	if (ret)
		return ret;

	ret = mdev_device_create(mtype, &uuid);
	return ret ? ret : count;
}
MDEV_TYPE_ATTR_WO(create);

static ssize_t device_api_show(struct mdev_type *mtype, char *buf)
{
	return sysfs_emit(buf, "%s\n", mtype->parent->mdev_driver->device_api);
}
MDEV_TYPE_ATTR_RO(device_api);

static ssize_t name_show(struct mdev_type *mtype, char *buf)
{
	return sysfs_emit(buf, "%s\n",
			  mtype->pretty_name ?: mtype->sysfs_name);
}
MDEV_TYPE_ATTR_RO(name);

static ssize_t available_instances_show(struct mdev_type *mtype, char *buf)
{
	struct mdev_parent *parent = mtype->parent;
	struct mdev_driver *drv = parent->mdev_driver;

	return sysfs_emit(buf, "%u\n", drv->get_available ?
			  drv->get_available(mtype) :
			  atomic_read(&parent->available_instances));
}
MDEV_TYPE_ATTR_RO(available_instances);

static ssize_t description_show(struct mdev_type *mtype, char *buf)
{
	return mtype->parent->mdev_driver->show_description(mtype, buf);
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
	struct mdev_parent *parent = to_mdev_type(kobj)->parent;

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

static void mdev_type_release(struct kobject *kobj)
{
	/* Pairs with the get_device() in mdev_type_add() */
	put_device(to_mdev_type(kobj)->parent->dev);
}

static const struct kobj_type mdev_type_ktype = {
	.sysfs_ops	= &mdev_type_sysfs_ops,
	.release	= mdev_type_release,
	.default_groups	= mdev_type_groups,
};

static int mdev_type_add(struct mdev_parent *parent, struct mdev_type *type)
{
	int ret;

	type->parent = parent;
	type->kobj.kset = parent->mdev_types_kset;
	/* Pairs with the put_device() in mdev_type_release() */
	get_device(parent->dev);

	ret = kobject_init_and_add(&type->kobj, &mdev_type_ktype, NULL,
				   "%s-%s", dev_driver_string(parent->dev),
				   type->sysfs_name);
	if (ret)
		goto err_put;

	type->devices_kobj = kobject_create_and_add("devices", &type->kobj);
	if (!type->devices_kobj) {
		ret = -ENOMEM;
		goto err_del;
	}
	return 0;

err_del:
	kobject_del(&type->kobj);
err_put:
	kobject_put(&type->kobj);
	return ret;
}

static void mdev_type_remove(struct mdev_type *type)
{
	kobject_put(type->devices_kobj);
	kobject_del(&type->kobj);
	kobject_put(&type->kobj);
}

static void mdev_parent_state_release(struct kobject *kobj)
{
	kfree(container_of(kobj, struct mdev_parent_state, kset.kobj));
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
 * parent_create_sysfs_files() - create ``mdev_supported_types`` of a parent
 * @parent: the parent being registered
 *
 * Allocates the parent's state around the kset of ``mdev_supported_types``
 * and points &mdev_parent.mdev_types_kset at it.
 *
 * Context: process context.
 * Return: 0 or a negative errno, with nothing created.
 */
int parent_create_sysfs_files(struct mdev_parent *parent)
{
	struct mdev_parent_state *state;
	unsigned int i;
	int ret;

	state = kzalloc(sizeof(*state), GFP_KERNEL);
	if (!state)
		return -ENOMEM;
	atomic_set(&state->nr_live, 0);
	ret = kobject_set_name(&state->kset.kobj, "mdev_supported_types");
	if (ret) {
		kfree(state);
		return ret;
	}
	state->kset.kobj.parent = &parent->dev->kobj;
	state->kset.kobj.ktype = &mdev_parent_state_ktype;
	/* Frees the name on error, and leaves the kobject unreferenced */
	ret = kset_register(&state->kset);
	if (ret) {
		kfree(state);
		return ret;
	}
	parent->mdev_types_kset = &state->kset;

	for (i = 0; i < parent->nr_types; i++) {
		ret = mdev_type_add(parent, parent->types[i]);
		if (ret)
			goto err_types;
	}
	return 0;

err_types:
	while (i--)
		mdev_type_remove(parent->types[i]);
	/* Frees the state with its last reference */
	kset_unregister(parent->mdev_types_kset);
	parent->mdev_types_kset = NULL;
	return ret;
}

/**
 * parent_remove_sysfs_files() - remove what parent_create_sysfs_files() made
 * @parent: the parent being unregistered, without devices
 *
 * Context: process context.
 */
void parent_remove_sysfs_files(struct mdev_parent *parent)
{
	unsigned int i;

	for (i = 0; i < parent->nr_types; i++)
		mdev_type_remove(parent->types[i]);
	/* Frees the state with its last reference */
	kset_unregister(parent->mdev_types_kset);
	parent->mdev_types_kset = NULL;
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
	 * unregistration of its parent may remove and release it, and the
	 * vendor then free the parent, while we are still below.  Holding a
	 * reference keeps both, as the unregistration waits for the release.
	 * Pairs with put_device() below.
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
 * @mdev: the device, added to the bus
 *
 * Context: process context.
 * Return: 0 or a negative errno, with no link left.
 */
int mdev_create_sysfs_files(struct mdev_device *mdev)
{
	struct mdev_type *type = mdev->type;
	struct kobject *kobj = &mdev->dev.kobj;
	int ret;

	ret = sysfs_create_link(type->devices_kobj, kobj, dev_name(&mdev->dev));
	if (ret)
		return ret;

	ret = sysfs_create_link(kobj, &type->kobj, "mdev_type");
	if (ret)
		goto err_devices_link;
	return 0;

err_devices_link:
	sysfs_remove_link(type->devices_kobj, dev_name(&mdev->dev));
	return ret;
}

/**
 * mdev_remove_sysfs_files() - remove what mdev_create_sysfs_files() made
 * @mdev: the device being removed
 *
 * Context: process context.
 */
void mdev_remove_sysfs_files(struct mdev_device *mdev)
{
	sysfs_remove_link(&mdev->dev.kobj, "mdev_type");
	sysfs_remove_link(mdev->type->devices_kobj, dev_name(&mdev->dev));
}
