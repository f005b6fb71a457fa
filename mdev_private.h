/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Internal interfaces of the mediated device core.
 */

#ifndef MDEV_PRIVATE_H
#define MDEV_PRIVATE_H

#include <linux/mdev.h>
#include <linux/rhashtable-types.h>
#include <linux/rwsem.h>

/*
 * The core's objects outlive the vendor's.  The vendor frees its parent and
 * types as soon as mdev_unregister_parent() returns, but a device is
 * released when its last reference is put, which may be later: a vendor
 * may keep a reference, and with CONFIG_DEBUG_KOBJECT_RELEASE every release
 * comes seconds after the last put.  So what a release touches lives in
 * memory the core allocated and reference counts:
 *
 *   mdev_core_device --> mdev_type_state --> mdev_parent_state
 *
 * each holding a reference on the next; the vendor's &struct mdev_type and
 * &struct mdev_parent are only used while the parent is registered.  The
 * 6.12 members that pointed into the vendor's memory for that purpose
 * (&mdev_type.kobj, &mdev_type.devices_kobj, &mdev_parent.unreg_sem,
 * &mdev_parent.available_instances) are left unused.
 */

/*
 * What the core keeps of a parent: the mdev_supported_types kset, which
 * &mdev_parent.mdev_types_kset points at, with room around it.  Freed with
 * the kset's last reference.
 */
struct mdev_parent_state {
	struct kset kset;
	/*
	 * Read: creating or removing a device.  Write: registering and
	 * unregistering the parent, so that neither can happen meanwhile.
	 */
	struct rw_semaphore unreg_sem;
	/* Set under @unreg_sem for writing once the parent is unregistered */
	bool unregistered;
	/* The core counts instances (the driver has no get_available) */
	bool counts_instances;
	/* Instances left, when @counts_instances */
	atomic_t available;
	/* The types' directories, @nr_types of them, in the vendor's order */
	unsigned int nr_types;
	struct mdev_type_state **types;
};

static inline struct mdev_parent_state *
mdev_parent_state(const struct mdev_parent *parent)
{
	return container_of(parent->mdev_types_kset, struct mdev_parent_state,
			    kset);
}

/*
 * What the core keeps of a type: its sysfs directory and the devices/
 * directory in it.  The kobject holds a reference on the parent's state;
 * every device of the type holds one on the kobject.
 */
struct mdev_type_state {
	struct kobject kobj;
	struct kobject *devices_kobj;
	/* The vendor's type: only valid while the parent is registered */
	struct mdev_type *type;
	struct mdev_parent_state *pstate;
};

static inline struct mdev_type_state *to_mdev_type_state(struct kobject *kobj)
{
	return container_of(kobj, struct mdev_type_state, kobj);
}

/*
 * What the core keeps of a device beyond 6.12's struct mdev_device, which
 * it allocates embedded here.
 */
struct mdev_core_device {
	struct mdev_device mdev;
	/* The type's directory; referenced until the device's release */
	struct mdev_type_state *tstate;
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

extern const struct bus_type mdev_bus_type;
extern const struct device_type mdev_device_type;
extern const struct attribute_group *mdev_device_groups[];

struct mdev_parent_state *mdev_parent_state_create(struct mdev_parent *parent);
void mdev_parent_state_put(struct mdev_parent_state *pstate);
void mdev_wait_parent_states(void);
int mdev_types_add(struct mdev_parent *parent);
void mdev_types_remove(struct mdev_parent *parent);

int mdev_create_sysfs_files(struct mdev_core_device *cdev);
void mdev_remove_sysfs_files(struct mdev_core_device *cdev);

int mdev_device_create(struct mdev_type_state *tstate, const guid_t *uuid);
int mdev_device_remove(struct mdev_device *mdev);

int __mdev_register_parent(struct mdev_parent *parent, struct device *dev,
			   struct mdev_driver *mdev_driver,
			   struct mdev_type **types, unsigned int nr_types);
void __mdev_unregister_parent(struct mdev_parent *parent);

#endif /* MDEV_PRIVATE_H */
