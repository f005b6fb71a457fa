// SPDX-License-Identifier: GPL-2.0-only
/*
 * The registration of mdev drivers, with the symbol CRCs of Linux 6.12's
 * mdev.ko: as mdev_core_exports.c explains, this file includes what 6.12's
 * drivers/vfio/mdev/mdev_driver.c includes and nothing else (do not add
 * includes).  The bus itself is in mdev_driver.c.
 */

#include <linux/iommu.h>
#include <linux/mdev.h>

#include "mdev_private.h"

/**
 * mdev_register_driver() - register a driver for mediated devices
 * @drv: the driver; &mdev_driver.device_api must be set
 *
 * Registers @drv on the mdev bus so that parents can name it in
 * mdev_register_parent().  The driver stays registered until
 * mdev_unregister_driver(); unregistering parents that use it first is the
 * caller's job.
 *
 * Context: process context, may sleep.
 * Return: 0, -EINVAL if @drv has no device_api, or an errno from
 * driver_register().
 */
int mdev_register_driver(struct mdev_driver *drv)
{
	if (!drv->device_api)
		return -EINVAL;

	drv->driver.bus = &mdev_bus_type;
	return driver_register(&drv->driver);
}
EXPORT_SYMBOL(mdev_register_driver);

/**
 * mdev_unregister_driver() - unregister a driver for mediated devices
 * @drv: a driver registered with mdev_register_driver()
 *
 * Context: process context, may sleep.
 */
void mdev_unregister_driver(struct mdev_driver *drv)
{
	driver_unregister(&drv->driver);
}
EXPORT_SYMBOL(mdev_unregister_driver);
