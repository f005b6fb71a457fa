// SPDX-License-Identifier: GPL-2.0-only
/*
 * The mdev bus and the registration of drivers on it.
 */

#include <linux/device.h>
#include <linux/mdev.h>
#include <linux/module.h>

#include "mdev_private.h"
#include "mdev_trace.h"

static struct mdev_driver *to_mdev_driver(struct device_driver *drv)
{
	return container_of(drv, struct mdev_driver, driver);
}

static int mdev_bus_probe(struct device *dev)
{
	struct mdev_driver *drv = to_mdev_driver(dev->driver);
	struct mdev_device *mdev = to_mdev_device(dev);
	int ret = 0;

	if (drv->probe)
		ret = drv->probe(mdev);
	if (!ret)
		trace_mdev_bind(mdev);
	return ret;
}

static void mdev_bus_remove(struct device *dev)
{
	struct mdev_driver *drv = to_mdev_driver(dev->driver);
	struct mdev_device *mdev = to_mdev_device(dev);

	trace_mdev_unbind(mdev);
	if (drv->remove)
		drv->remove(mdev);
}

/*
 * A device is bound only to the driver its parent registered with, and the
 * core binds it explicitly with device_driver_attach() so that a probe error
 * fails the creation.  Matching nothing keeps the driver core from binding
 * devices to whichever mdev driver happens to register.
 */
static int mdev_bus_match(struct device *dev, const struct device_driver *drv)
{
	return 0;
}

const struct bus_type mdev_bus_type = {
	.name		= "mdev",
	.probe		= mdev_bus_probe,
	.remove		= mdev_bus_remove,
	.match		= mdev_bus_match,
};
