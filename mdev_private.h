/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Internal interfaces of the mediated device core.
 */

#ifndef MDEV_PRIVATE_H
#define MDEV_PRIVATE_H

#include <linux/mdev.h>
#include <linux/rhashtable-types.h>

/*
 * What the core keeps of a device beyond 6.12's struct mdev_device, which
 * it allocates embedded here.
 */
struct mdev_core_device {
	struct mdev_device mdev;
	/* entry in the core's table of every UUID in use, freed after RCU */
	struct rhash_head uuid_node;
	struct rcu_head rcu;
	/* bit MDEV_ACTIVE */
	unsigned long flags;
};

/* Bit in &mdev_core_device.flags: created, and no remover has claimed it */
#define MDEV_ACTIVE		0

static inline struct mdev_core_device *to_mdev_core(struct mdev_device *mdev)
{
	return container_of(mdev, struct mdev_core_device, mdev);
}

/*
 * What the core keeps of a parent beyond 6.12's struct mdev_parent, which
 * the vendor owns: the mdev_supported_types kset, allocated by the core, with
 * room around it.  &mdev_parent.mdev_types_kset points at @kset.
 */
struct mdev_parent_state {
	struct kset kset;
	/* devices not yet released; unregistration waits for zero */
	atomic_t nr_live;
};

static inline struct mdev_parent_state *
mdev_parent_state(const struct mdev_parent *parent)
{
	return container_of(parent->mdev_types_kset, struct mdev_parent_state,
			    kset);
}

extern const struct bus_type mdev_bus_type;
extern const struct device_type mdev_device_type;
extern const struct attribute_group *mdev_device_groups[];

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
			   struct mdev_type **types, unsigned int nr_types);
void __mdev_unregister_parent(struct mdev_parent *parent);

#endif /* MDEV_PRIVATE_H */
