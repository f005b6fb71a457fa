// SPDX-License-Identifier: GPL-2.0-only
/*
 * The parent functions of the vendor interface, with the symbol CRCs of
 * Linux 6.12's mdev.ko.
 *
 * With CONFIG_MODVERSIONS, genksyms computes the CRC of an export from the
 * definitions of all the types its prototype reaches (struct device,
 * struct module and on) that the exporting file has seen, so a header more
 * or less changes it.  Modules built against the distribution's mdev.ko
 * (i915's kvmgt.ko) check the CRCs when they load.  So the functions that
 * 6.12's drivers/vfio/mdev/mdev_core.c exports are exported here, from a
 * file that includes what that one includes and nothing else (do not add
 * includes), and call the core in mdev_core.c.
 * tools/testing/host/suites/25-symvers.sh compares the CRCs with the
 * distribution's.
 */

#include <linux/module.h>
#include <linux/slab.h>
#include <linux/sysfs.h>
#include <linux/mdev.h>

#include "mdev_private.h"

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
	return __mdev_register_parent(parent, dev, mdev_driver, types,
				      nr_types);
}
EXPORT_SYMBOL(mdev_register_parent);

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
	__mdev_unregister_parent(parent);
}
EXPORT_SYMBOL(mdev_unregister_parent);
