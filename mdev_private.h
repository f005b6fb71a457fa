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
 * it has them and from its mdev driver otherwise; the member names match.
 */
#define mdev_parent_cb(parent, member)					\
	((parent)->ops ? (parent)->ops->member : (parent)->mdev_driver->member)

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
