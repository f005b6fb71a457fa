/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Internal interfaces of the mediated device core.
 */

#ifndef MDEV_PRIVATE_H
#define MDEV_PRIVATE_H

#include <linux/mdev.h>

/* Bit in &mdev_device.active: creation finished, no remover has claimed it */
#define MDEV_ACTIVE		0

extern const struct bus_type mdev_bus_type;
extern const struct device_type mdev_device_type;
extern const struct attribute_group *mdev_device_groups[];

/*
 * The type-level settings of a parent come from its classic callbacks when
 * it has them and from its mdev driver otherwise.
 */
static inline const char *mdev_parent_device_api(const struct mdev_parent *parent)
{
	return parent->ops ? parent->ops->device_api :
			     parent->mdev_driver->device_api;
}

static inline unsigned int
mdev_parent_max_instances(const struct mdev_parent *parent)
{
	return parent->ops ? parent->ops->max_instances :
			     parent->mdev_driver->max_instances;
}

typedef unsigned int (*mdev_get_available_t)(struct mdev_type *mtype);
typedef ssize_t (*mdev_show_description_t)(struct mdev_type *mtype, char *buf);

static inline mdev_get_available_t
mdev_parent_get_available(const struct mdev_parent *parent)
{
	return parent->ops ? parent->ops->get_available :
			     parent->mdev_driver->get_available;
}

static inline mdev_show_description_t
mdev_parent_show_description(const struct mdev_parent *parent)
{
	return parent->ops ? parent->ops->show_description :
			     parent->mdev_driver->show_description;
}

static inline struct mdev_type *to_mdev_type(struct kobject *kobj)
{
	return container_of(kobj, struct mdev_type, kobj);
}

int parent_create_sysfs_files(struct mdev_parent *parent);
void parent_remove_sysfs_files(struct mdev_parent *parent);

int mdev_create_sysfs_files(struct mdev_device *mdev);
void mdev_remove_sysfs_files(struct mdev_device *mdev);

int mdev_device_create(struct mdev_type *type, const guid_t *uuid);
int mdev_device_remove(struct mdev_device *mdev);

int __mdev_register_parent(struct mdev_parent *parent, struct device *dev,
			   struct mdev_driver *mdev_driver,
			   const struct mdev_parent_ops *ops,
			   struct mdev_type **types, unsigned int nr_types);

#endif /* MDEV_PRIVATE_H */
