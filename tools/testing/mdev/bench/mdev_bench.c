// SPDX-License-Identifier: GPL-2.0-only
/*
 * A vendor driver that exists only to benchmark the mediated device core.
 *
 * It registers one parent, /sys/class/mdev_bench/mdev_bench, with one type,
 * "mdev_bench-bench", that allows MB_MAX_INSTANCES devices.  Written to the
 * Linux 6.12 mdev API, so that the same source builds against the kernel's
 * include/linux/mdev.h and against ours and the two cores can be compared.
 *
 * The parameter "mode" selects what the driver does when a device is
 * created:
 *
 *   core - probe does nothing: what is measured is the mdev core alone;
 *   vfio - probe registers an emulated-IOMMU vfio_device, as a real vendor
 *          driver does.  Its only region answers 4-byte reads.
 *
 * Built with MDEV_BENCH_CLASSIC defined (only against our header), the
 * driver instead registers its parent through vfio_mdev_register_parent()
 * with classic callbacks, and vfio_mdev's driver for them owns the
 * vfio_device: the same region, reached through vfio_mdev's forwarding.
 *
 * The VFIO view of a device: VFIO_DEVICE_GET_INFO reports one region,
 * region 0 at offset 0, MB_REGION_SIZE bytes, readable.  A 4-byte aligned
 * read of it returns MB_REG_MAGIC XOR the offset.  Nothing else is offered.
 *
 * Only for benchmarks: tools/testing/mdev/bench/ drives it.
 */

#include <linux/device.h>
#include <linux/mdev.h>
#include <linux/minmax.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/vfio.h>

#define MB_MAX_INSTANCES	100000
#define MB_REGION_SIZE		0x1000
#define MB_REG_MAGIC		0x6d646576	/* "mdev" */

struct mb_parent {
	struct mdev_parent parent;
	struct device *dev;
	struct mdev_type type;
	/* the list of types handed to the core: just @type */
	struct mdev_type *typep;
};

static const struct class mb_class = {
	.name = "mdev_bench",
};

static struct mb_parent *mb_parent;

/* The register file shared by both ways of serving a device */
static ssize_t mb_region_read(char __user *buf, size_t count, loff_t *ppos)
{
	loff_t pos = *ppos;
	u32 val;

	if (count != sizeof(val) || pos < 0 || !IS_ALIGNED(pos, sizeof(val)) ||
	    pos + count > MB_REGION_SIZE)
		return -EINVAL;

	val = MB_REG_MAGIC ^ (u32)pos;
	if (copy_to_user(buf, &val, sizeof(val)))
		return -EFAULT;
	*ppos = pos + count;
	return count;
}

static long mb_get_info(void __user *arg)
{
	struct vfio_device_info info;
	unsigned long minsz = offsetofend(struct vfio_device_info, num_irqs);

	if (copy_from_user(&info, arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;

	info.flags = VFIO_DEVICE_FLAGS_PCI;
	info.num_regions = 1;
	info.num_irqs = 0;
	return copy_to_user(arg, &info, minsz) ? -EFAULT : 0;
}

static long mb_get_region_info(void __user *arg)
{
	struct vfio_region_info info;
	unsigned long minsz = offsetofend(struct vfio_region_info, offset);

	if (copy_from_user(&info, arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz || info.index != 0)
		return -EINVAL;

	info.flags = VFIO_REGION_INFO_FLAG_READ;
	info.cap_offset = 0;
	info.size = MB_REGION_SIZE;
	info.offset = 0;
	return copy_to_user(arg, &info, minsz) ? -EFAULT : 0;
}

static long mb_region_ioctl(unsigned int cmd, unsigned long arg)
{
	switch (cmd) {
	case VFIO_DEVICE_GET_INFO:
		return mb_get_info((void __user *)arg);
	case VFIO_DEVICE_GET_REGION_INFO:
		return mb_get_region_info((void __user *)arg);
	default:
		return -ENOTTY;
	}
}

#ifndef MDEV_BENCH_CLASSIC

static char *mode = "vfio";
module_param(mode, charp, 0444);
MODULE_PARM_DESC(mode,
		 "core: probe does nothing; vfio: probe registers a vfio_device (default)");

static bool mb_with_vfio;

struct mb_vdev {
	struct vfio_device vdev;
};

static ssize_t mb_vfio_read(struct vfio_device *vdev, char __user *buf,
			    size_t count, loff_t *ppos)
{
	return mb_region_read(buf, count, ppos);
}

static long mb_vfio_ioctl(struct vfio_device *vdev, unsigned int cmd,
			  unsigned long arg)
{
	return mb_region_ioctl(cmd, arg);
}

static const struct vfio_device_ops mb_vfio_ops = {
	.name		= "mdev-bench",
	.read		= mb_vfio_read,
	.ioctl		= mb_vfio_ioctl,
	.bind_iommufd	= vfio_iommufd_emulated_bind,
	.unbind_iommufd	= vfio_iommufd_emulated_unbind,
	.attach_ioas	= vfio_iommufd_emulated_attach_ioas,
	.detach_ioas	= vfio_iommufd_emulated_detach_ioas,
};

static int mb_probe(struct mdev_device *mdev)
{
	struct mb_vdev *mvdev;
	int ret;

	if (!mb_with_vfio)
		return 0;

	mvdev = vfio_alloc_device(mb_vdev, vdev, &mdev->dev, &mb_vfio_ops);
	if (IS_ERR(mvdev))
		return PTR_ERR(mvdev);

	ret = vfio_register_emulated_iommu_dev(&mvdev->vdev);
	if (ret) {
		/* Pairs with vfio_alloc_device() */
		vfio_put_device(&mvdev->vdev);
		return ret;
	}
	dev_set_drvdata(&mdev->dev, mvdev);
	return 0;
}

static void mb_remove(struct mdev_device *mdev)
{
	struct mb_vdev *mvdev = dev_get_drvdata(&mdev->dev);

	if (!mvdev)
		return;
	/* Pairs with vfio_register_emulated_iommu_dev() in mb_probe() */
	vfio_unregister_group_dev(&mvdev->vdev);
	/* Pairs with vfio_alloc_device() in mb_probe() */
	vfio_put_device(&mvdev->vdev);
}

static struct mdev_driver mb_driver = {
	.device_api	= VFIO_DEVICE_API_PCI_STRING,
	.max_instances	= MB_MAX_INSTANCES,
	.probe		= mb_probe,
	.remove		= mb_remove,
	.driver = {
		.name		= "mdev_bench",
		.owner		= THIS_MODULE,
		.mod_name	= KBUILD_MODNAME,
	},
};

static int mb_register(struct mb_parent *mp)
{
	int ret;

	if (!strcmp(mode, "vfio"))
		mb_with_vfio = true;
	else if (strcmp(mode, "core"))
		return -EINVAL;

	ret = mdev_register_driver(&mb_driver);
	if (ret)
		return ret;

	ret = mdev_register_parent(&mp->parent, mp->dev, &mb_driver,
				   &mp->typep, 1);
	if (ret)
		mdev_unregister_driver(&mb_driver);
	return ret;
}

static void mb_unregister(struct mb_parent *mp)
{
	mdev_unregister_parent(&mp->parent);
	mdev_unregister_driver(&mb_driver);
}

#else /* MDEV_BENCH_CLASSIC */

/* Nothing to set up: the state of a device is its offset alone */
static int mb_classic_create(struct mdev_device *mdev)
{
	return 0;
}

static void mb_classic_remove(struct mdev_device *mdev)
{
}

static ssize_t mb_classic_read(struct mdev_device *mdev, char __user *buf,
			       size_t count, loff_t *ppos)
{
	return mb_region_read(buf, count, ppos);
}

static long mb_classic_ioctl(struct mdev_device *mdev, unsigned int cmd,
			     unsigned long arg)
{
	return mb_region_ioctl(cmd, arg);
}

static const struct mdev_parent_ops mb_classic_ops = {
	.owner		= THIS_MODULE,
	.device_api	= VFIO_DEVICE_API_PCI_STRING,
	.max_instances	= MB_MAX_INSTANCES,
	.create		= mb_classic_create,
	.remove		= mb_classic_remove,
	.read		= mb_classic_read,
	.ioctl		= mb_classic_ioctl,
};

static int mb_register(struct mb_parent *mp)
{
	return vfio_mdev_register_parent(&mp->parent, mp->dev, &mb_classic_ops,
					 &mp->typep, 1);
}

static void mb_unregister(struct mb_parent *mp)
{
	vfio_mdev_unregister_parent(&mp->parent);
}

#endif /* MDEV_BENCH_CLASSIC */

static int __init mb_init(void)
{
	struct mb_parent *mp;
	int ret;

	mp = kzalloc(sizeof(*mp), GFP_KERNEL);
	if (!mp)
		return -ENOMEM;

	ret = class_register(&mb_class);
	if (ret)
		goto err_free;

	mp->dev = device_create(&mb_class, NULL, MKDEV(0, 0), mp, "mdev_bench");
	if (IS_ERR(mp->dev)) {
		ret = PTR_ERR(mp->dev);
		goto err_class;
	}

	mp->type.sysfs_name = "bench";
	mp->type.pretty_name = "mdev core benchmark";
	mp->typep = &mp->type;
	ret = mb_register(mp);
	if (ret)
		goto err_device;
	mb_parent = mp;
	return 0;

err_device:
	device_unregister(mp->dev);
err_class:
	class_unregister(&mb_class);
err_free:
	kfree(mp);
	return ret;
}

static void __exit mb_exit(void)
{
	struct mb_parent *mp = mb_parent;

	/* Removes every device left; the type is unused afterwards */
	mb_unregister(mp);
	device_unregister(mp->dev);
	class_unregister(&mb_class);
	kfree(mp);
}

module_init(mb_init);
module_exit(mb_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Benchmark vendor driver for the mediated device core");
