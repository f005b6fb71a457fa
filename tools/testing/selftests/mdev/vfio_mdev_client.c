// SPDX-License-Identifier: GPL-2.0-only
/*
 * A VFIO client of classic mediated devices, doing what QEMU does: through
 * a type1 container and the group, or through iommufd and the device's
 * cdev when the kernel has /dev/iommu.  It checks that vfio_mdev.ko
 * forwards every file operation to the parent, what it does for the
 * callbacks a parent leaves out, and that removing an open device waits
 * for user space.
 *
 * Devices come from the mdev_classic_test module (tests/mdev_classic_test.c
 * in the mdev tree), whose files count the calls that reached the parent;
 * the tests create and remove their own devices.  Environment:
 *
 *   MDEV_CLASSIC_FULL_TYPE  type directory of the parent with every callback
 *   MDEV_CLASSIC_BARE_TYPE  type directory of the parent with only the
 *                           required ones (defaults: the module's)
 *   MDEV_CLASSIC_RMMOD=1    also unload the module while a device is open
 *                           (it stays unloaded); MDEV_CLASSIC_MODULE names it
 *   MDEV_UUID               an existing classic mdev (e.g. of mtty) to open
 *                           like QEMU would; MDEV_EXPECT_PCI_ID=vvvv:dddd
 *                           is the PCI ID its config space must hold
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "kselftest_harness.h"
#include "mdev_util.h"

#define FULL_TYPE_DEFAULT	"/sys/class/mdev_bus/mdev_classic_full/" \
				"mdev_supported_types/mdev_classic_test-full"
#define BARE_TYPE_DEFAULT	"/sys/class/mdev_bus/mdev_classic_bare/" \
				"mdev_supported_types/mdev_classic_test-bare"
#define MODULE_DEFAULT		"mdev_classic_test"

/* The test device: mirrors tests/mdev_classic_test.c */
#define MCT_VENDOR		0x1b36
#define MCT_DEVICE		0x0005
#define MCT_REGS_INDEX		VFIO_PCI_BAR0_REGION_INDEX
#define MCT_BUF_INDEX		VFIO_PCI_BAR2_REGION_INDEX
#define MCT_REG_IOVA_LO		0x00
#define MCT_REG_IOVA_HI		0x04
#define MCT_REG_LEN		0x08
#define MCT_REG_CMD		0x0c
#define MCT_REG_STATUS		0x10
#define MCT_REG_PINNED		0x14
#define MCT_CMD_DMA_TO_BUF	1
#define MCT_CMD_DMA_FROM_BUF	2
#define MCT_CMD_PIN		3

#define TEST_IOVA		0x100000ULL

static long page_size;

/* ---- sysfs ---- */

/* The integer in a sysfs file, or LONG_MIN if it cannot be read */
static long sysfs_read_long(const char *path)
{
	char buf[64];
	ssize_t len;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return LONG_MIN;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return LONG_MIN;
	buf[len] = '\0';
	return strtol(buf, NULL, 0);
}

static long mdev_counter(const char *uuid, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), MDEV_DEVICES "/%s/classic_test/%s", uuid,
		 name);
	return sysfs_read_long(path);
}

/* The created/removed counters of the parent of a type directory */
static long parent_counter(const char *type_dir, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/../../classic_test/%s", type_dir, name);
	return sysfs_read_long(path);
}

static long module_refcnt(void)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/sys/module/%s/refcnt",
		 env_or("MDEV_CLASSIC_MODULE", MODULE_DEFAULT));
	return sysfs_read_long(path);
}

static bool mdev_exists(const char *uuid)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), MDEV_DEVICES "/%s", uuid);
	return access(path, F_OK) == 0;
}

/* ---- VFIO ---- */

struct vfio_dev {
	char uuid[UUID_LEN + 1];
	bool cdev;
	int container;
	int group;
	int iommufd;
	__u32 ioas_id;
	int device;
};

static void vfio_dev_init(struct vfio_dev *vd, bool cdev)
{
	memset(vd, 0, sizeof(*vd));
	vd->cdev = cdev;
	vd->container = -1;
	vd->group = -1;
	vd->iommufd = -1;
	vd->device = -1;
}

/* Closes everything; the UUID stays for the teardown */
static void vfio_dev_close(struct vfio_dev *vd)
{
	if (vd->device >= 0)
		close(vd->device);
	if (vd->group >= 0)
		close(vd->group);
	if (vd->container >= 0)
		close(vd->container);
	if (vd->iommufd >= 0)
		close(vd->iommufd);
	vd->device = -1;
	vd->group = -1;
	vd->container = -1;
	vd->iommufd = -1;
}

/* /dev/vfio/devices/vfioN of a device, from its vfio-dev directory */
static int cdev_path(const char *uuid, char *path, size_t size)
{
	char dir[PATH_MAX];
	struct dirent *de;
	int ret = -ENOENT;
	DIR *d;

	snprintf(dir, sizeof(dir), MDEV_DEVICES "/%s/vfio-dev", uuid);
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (!strncmp(de->d_name, "vfio", 4)) {
			snprintf(path, size, "/dev/vfio/devices/%s", de->d_name);
			ret = 0;
			break;
		}
	}
	closedir(d);
	return ret;
}

/*
 * The container and group, as QEMU sets them up; the device is opened by
 * vfio_dev_open_device().
 */
static void vfio_dev_setup_type1(struct __test_metadata *_metadata,
				 struct vfio_dev *vd)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	char path[PATH_MAX];
	int type;

	vd->container = open("/dev/vfio/vfio", O_RDWR);
	ASSERT_LE(0, vd->container) TH_LOG("/dev/vfio/vfio: %s", strerror(errno));
	ASSERT_EQ(VFIO_API_VERSION,
		  ioctl(vd->container, VFIO_GET_API_VERSION));
	if (ioctl(vd->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) == 1)
		type = VFIO_TYPE1v2_IOMMU;
	else
		type = VFIO_TYPE1_IOMMU;
	ASSERT_EQ(1, ioctl(vd->container, VFIO_CHECK_EXTENSION, type))
		TH_LOG("no type1 IOMMU: is vfio_iommu_type1 loaded?");

	ASSERT_EQ(0, vfio_group_path(vd->uuid, path, sizeof(path)));
	vd->group = open(path, O_RDWR);
	ASSERT_LE(0, vd->group) TH_LOG("%s: %s", path, strerror(errno));
	ASSERT_EQ(0, ioctl(vd->group, VFIO_GROUP_GET_STATUS, &status));
	ASSERT_TRUE(status.flags & VFIO_GROUP_FLAGS_VIABLE);
	ASSERT_FALSE(status.flags & VFIO_GROUP_FLAGS_CONTAINER_SET);

	ASSERT_EQ(0, ioctl(vd->group, VFIO_GROUP_SET_CONTAINER, &vd->container));
	ASSERT_EQ(0, ioctl(vd->container, VFIO_SET_IOMMU, type));
	ASSERT_EQ(0, ioctl(vd->group, VFIO_GROUP_GET_STATUS, &status));
	ASSERT_TRUE(status.flags & VFIO_GROUP_FLAGS_CONTAINER_SET);
}

/*
 * The group as QEMU sets it up when /dev/vfio/vfio is iommufd's: the group
 * joins an iommufd instead of a type1 container, and the type1 ioctls
 * (VFIO_SET_IOMMU, VFIO_IOMMU_MAP_DMA, VFIO_IOMMU_UNMAP_DMA) go to that
 * iommufd, which serves them (its vfio_compat.c).  vd->container holds the
 * iommufd, so vfio_dev_map() and vfio_dev_unmap() work unchanged.
 */
static void vfio_dev_setup_type1_compat(struct __test_metadata *_metadata,
					struct vfio_dev *vd)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	char path[PATH_MAX];

	vd->container = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, vd->container) TH_LOG("/dev/iommu: %s", strerror(errno));
	ASSERT_EQ(1, ioctl(vd->container, VFIO_CHECK_EXTENSION,
			   VFIO_TYPE1v2_IOMMU));

	ASSERT_EQ(0, vfio_group_path(vd->uuid, path, sizeof(path)));
	vd->group = open(path, O_RDWR);
	ASSERT_LE(0, vd->group) TH_LOG("%s: %s", path, strerror(errno));
	ASSERT_EQ(0, ioctl(vd->group, VFIO_GROUP_SET_CONTAINER, &vd->container))
		TH_LOG("group into an iommufd: %s", strerror(errno));
	ASSERT_EQ(0, ioctl(vd->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
	ASSERT_EQ(0, ioctl(vd->group, VFIO_GROUP_GET_STATUS, &status));
	ASSERT_TRUE(status.flags & VFIO_GROUP_FLAGS_CONTAINER_SET);
}

static void vfio_dev_setup_iommufd(struct __test_metadata *_metadata,
				   struct vfio_dev *vd)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };

	vd->iommufd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, vd->iommufd) TH_LOG("/dev/iommu: %s", strerror(errno));
	ASSERT_EQ(0, ioctl(vd->iommufd, IOMMU_IOAS_ALLOC, &alloc));
	vd->ioas_id = alloc.out_ioas_id;
}

/*
 * Open the device: the first open reaches the parent's open_device.
 * Returns 0 or -errno, with vd->device set on success.
 */
static int vfio_dev_open_device(struct vfio_dev *vd)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct vfio_device_attach_iommufd_pt attach = { .argsz = sizeof(attach) };
	char path[PATH_MAX];
	int fd, ret;

	if (!vd->cdev) {
		fd = ioctl(vd->group, VFIO_GROUP_GET_DEVICE_FD, vd->uuid);
		if (fd < 0)
			return -errno;
		vd->device = fd;
		return 0;
	}

	ret = cdev_path(vd->uuid, path, sizeof(path));
	if (ret)
		return ret;
	fd = open(path, O_RDWR);
	if (fd < 0)
		return -errno;
	bind.iommufd = vd->iommufd;
	if (ioctl(fd, VFIO_DEVICE_BIND_IOMMUFD, &bind))
		goto err_close;
	attach.pt_id = vd->ioas_id;
	if (ioctl(fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach))
		goto err_close;
	vd->device = fd;
	return 0;

err_close:
	ret = -errno;
	close(fd);
	return ret;
}

static void vfio_dev_close_device(struct vfio_dev *vd)
{
	close(vd->device);
	vd->device = -1;
}

/* What the kernel lacks to open devices through their cdev, or NULL */
static const char *cdev_missing(void)
{
	if (access("/dev/iommu", F_OK))
		return "no /dev/iommu: kernel without IOMMUFD";
	if (access("/sys/class/vfio-dev", F_OK))
		return "no vfio-dev class: kernel without VFIO_DEVICE_CDEV";
	return NULL;
}

/* Sets up the container or the IOAS of @vd and opens the device */
static void vfio_dev_open(struct __test_metadata *_metadata,
			  struct vfio_dev *vd)
{
	int ret;

	if (vd->cdev)
		vfio_dev_setup_iommufd(_metadata, vd);
	else
		vfio_dev_setup_type1(_metadata, vd);
	ret = vfio_dev_open_device(vd);
	ASSERT_EQ(0, ret) TH_LOG("opening the device: %s", strerror(-ret));
}

/* Creates a device of the type at @type_dir and opens it into @vd */
static void vfio_dev_create_open(struct __test_metadata *_metadata,
				 struct vfio_dev *vd, const char *type_dir)
{
	int ret;

	ret = mdev_new_uuid(vd->uuid);
	ASSERT_EQ(0, ret) TH_LOG("new UUID: %s", strerror(-ret));
	ret = mdev_create(type_dir, vd->uuid);
	ASSERT_EQ(0, ret) TH_LOG("creating %s on %s: %s", vd->uuid, type_dir,
				 strerror(-ret));
	vfio_dev_open(_metadata, vd);
}

/* Closes @vd and removes its device if it still exists */
static void vfio_dev_destroy(struct __test_metadata *_metadata,
			     struct vfio_dev *vd)
{
	vfio_dev_close(vd);
	if (vd->uuid[0] && mdev_exists(vd->uuid))
		EXPECT_EQ(0, mdev_remove(vd->uuid));
}

/* Map user memory at an IOVA of the container or IOAS: 0 or -errno */
static int vfio_dev_map(struct vfio_dev *vd, void *buf, size_t len,
			__u64 iova)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)buf,
		.iova = iova,
		.size = len,
	};
	struct iommu_ioas_map ioas_map = {
		.size = sizeof(ioas_map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = vd->ioas_id,
		.user_va = (uintptr_t)buf,
		.length = len,
		.iova = iova,
	};
	int ret;

	if (vd->cdev)
		ret = ioctl(vd->iommufd, IOMMU_IOAS_MAP, &ioas_map);
	else
		ret = ioctl(vd->container, VFIO_IOMMU_MAP_DMA, &map);
	return ret ? -errno : 0;
}

static int vfio_dev_unmap(struct vfio_dev *vd, size_t len, __u64 iova)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.iova = iova,
		.size = len,
	};
	struct iommu_ioas_unmap ioas_unmap = {
		.size = sizeof(ioas_unmap),
		.ioas_id = vd->ioas_id,
		.iova = iova,
		.length = len,
	};
	int ret;

	if (vd->cdev)
		ret = ioctl(vd->iommufd, IOMMU_IOAS_UNMAP, &ioas_unmap);
	else
		ret = ioctl(vd->container, VFIO_IOMMU_UNMAP_DMA, &unmap);
	return ret ? -errno : 0;
}

static int reg_write(int device, __u32 reg, __u32 val)
{
	off_t base = vfio_region_offset(device, MCT_REGS_INDEX);

	if (pwrite(device, &val, sizeof(val), base + reg) != sizeof(val))
		return -errno;
	return 0;
}

static int64_t reg_read(int device, __u32 reg)
{
	off_t base = vfio_region_offset(device, MCT_REGS_INDEX);
	__u32 val;

	if (pread(device, &val, sizeof(val), base + reg) != sizeof(val))
		return -errno;
	return val;
}

/* Run a DMA command of the test device; returns its status register */
static __s32 dma_command(int device, __u32 cmd, __u64 iova, __u32 len)
{
	if (reg_write(device, MCT_REG_IOVA_LO, (__u32)iova) ||
	    reg_write(device, MCT_REG_IOVA_HI, iova >> 32) ||
	    reg_write(device, MCT_REG_LEN, len) ||
	    reg_write(device, MCT_REG_CMD, cmd))
		return INT32_MIN;
	return (__s32)reg_read(device, MCT_REG_STATUS);
}

/* Read the PCI vendor and device ID from config space */
static int pci_ids(int device, __u16 *vendor, __u16 *devid)
{
	struct vfio_region_info info;
	__u16 ids[2];
	int ret;

	ret = vfio_get_region_info(device, VFIO_PCI_CONFIG_REGION_INDEX, &info);
	if (ret)
		return ret;
	if (pread(device, ids, sizeof(ids), info.offset) != sizeof(ids))
		return -errno;
	*vendor = ids[0];
	*devid = ids[1];
	return 0;
}

/* Writes 1 to a device's remove file from another thread */
struct remover {
	pthread_t thread;
	const char *uuid;
	int ret;
	bool done;	/* atomic */
};

static void *remover_fn(void *arg)
{
	struct remover *r = arg;

	r->ret = mdev_remove(r->uuid);
	__atomic_store_n(&r->done, true, __ATOMIC_SEQ_CST);
	return NULL;
}

static int remover_start(struct remover *r, const char *uuid)
{
	r->uuid = uuid;
	r->ret = 1;
	__atomic_store_n(&r->done, false, __ATOMIC_SEQ_CST);
	return pthread_create(&r->thread, NULL, remover_fn, r);
}

static void wait_ms(int ms)
{
	poll(NULL, 0, ms);
}

/* ---- a parent with every callback ---- */

FIXTURE(full) {
	const char *type_dir;
	struct vfio_dev vd;
	off_t regs, buf;
};

FIXTURE_VARIANT(full) {
	bool cdev;
};

FIXTURE_VARIANT_ADD(full, type1) {
	.cdev = false,
};

FIXTURE_VARIANT_ADD(full, iommufd) {
	.cdev = true,
};

FIXTURE_SETUP(full)
{
	const char *missing;

	self->type_dir = env_or("MDEV_CLASSIC_FULL_TYPE", FULL_TYPE_DEFAULT);
	vfio_dev_init(&self->vd, variant->cdev);
	if (access(self->type_dir, F_OK))
		SKIP(return, "%s missing: mdev_classic_test not loaded",
		     self->type_dir);
	missing = variant->cdev ? cdev_missing() : NULL;
	if (missing)
		SKIP(return, "%s", missing);

	vfio_dev_create_open(_metadata, &self->vd, self->type_dir);
	self->regs = vfio_region_offset(self->vd.device, MCT_REGS_INDEX);
	self->buf = vfio_region_offset(self->vd.device, MCT_BUF_INDEX);
	ASSERT_NE(-1, self->regs);
	ASSERT_NE(-1, self->buf);
}

FIXTURE_TEARDOWN(full)
{
	vfio_dev_destroy(_metadata, &self->vd);
}

TEST_F(full, device_info)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };
	long ioctls = mdev_counter(self->vd.uuid, "ioctl");

	ASSERT_EQ(0, ioctl(self->vd.device, VFIO_DEVICE_GET_INFO, &info));
	EXPECT_TRUE(info.flags & VFIO_DEVICE_FLAGS_PCI);
	EXPECT_EQ(VFIO_PCI_NUM_REGIONS, info.num_regions);
	EXPECT_EQ(VFIO_PCI_NUM_IRQS, info.num_irqs);

	/* The parent's own argument checks reach user space */
	info.argsz = 4;
	EXPECT_EQ(-1, ioctl(self->vd.device, VFIO_DEVICE_GET_INFO, &info));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(ioctls + 2, mdev_counter(self->vd.uuid, "ioctl"));
}

TEST_F(full, region_info)
{
	struct vfio_region_info info;

	ASSERT_EQ(0, vfio_get_region_info(self->vd.device,
					  VFIO_PCI_CONFIG_REGION_INDEX, &info));
	EXPECT_EQ(256, info.size);
	EXPECT_EQ(VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE,
		  info.flags);

	ASSERT_EQ(0, vfio_get_region_info(self->vd.device, MCT_BUF_INDEX, &info));
	EXPECT_EQ(page_size, info.size);
	EXPECT_TRUE(info.flags & VFIO_REGION_INFO_FLAG_MMAP);

	ASSERT_EQ(0, vfio_get_region_info(self->vd.device,
					  VFIO_PCI_BAR1_REGION_INDEX, &info));
	EXPECT_EQ(0, info.size);

	EXPECT_EQ(-EINVAL, vfio_get_region_info(self->vd.device,
						VFIO_PCI_NUM_REGIONS, &info));
}

TEST_F(full, irq_info)
{
	struct vfio_irq_info info = {
		.argsz = sizeof(info),
		.index = VFIO_PCI_REQ_IRQ_INDEX,
	};

	ASSERT_EQ(0, ioctl(self->vd.device, VFIO_DEVICE_GET_IRQ_INFO, &info));
	EXPECT_EQ(1, info.count);
	EXPECT_TRUE(info.flags & VFIO_IRQ_INFO_EVENTFD);

	info.index = VFIO_PCI_NUM_IRQS;
	EXPECT_EQ(-1, ioctl(self->vd.device, VFIO_DEVICE_GET_IRQ_INFO, &info));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(full, pci_config_ids)
{
	__u16 vendor, device;

	ASSERT_EQ(0, pci_ids(self->vd.device, &vendor, &device));
	EXPECT_EQ(MCT_VENDOR, vendor);
	EXPECT_EQ(MCT_DEVICE, device);
}

TEST_F(full, unknown_ioctl)
{
	long ioctls = mdev_counter(self->vd.uuid, "ioctl");

	/* Not a VFIO core ioctl: reaches the parent, which does not know it */
	EXPECT_EQ(-1, ioctl(self->vd.device, _IO(VFIO_TYPE, VFIO_BASE + 90)));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(ioctls + 1, mdev_counter(self->vd.uuid, "ioctl"));
}

TEST_F(full, read_write_forwarded)
{
	long reads = mdev_counter(self->vd.uuid, "read");
	long writes = mdev_counter(self->vd.uuid, "write");
	__u32 val = 0x1234, back = 0;
	char byte = 0;

	ASSERT_EQ(sizeof(val), pwrite(self->vd.device, &val, sizeof(val),
				      self->regs + MCT_REG_LEN));
	ASSERT_EQ(sizeof(back), pread(self->vd.device, &back, sizeof(back),
				      self->regs + MCT_REG_LEN));
	EXPECT_EQ(val, back);
	EXPECT_EQ(reads + 1, mdev_counter(self->vd.uuid, "read"));
	EXPECT_EQ(writes + 1, mdev_counter(self->vd.uuid, "write"));

	/* The parent's errors reach user space */
	EXPECT_EQ(-1, pread(self->vd.device, &byte, 1,
			    self->regs + MCT_REG_LEN));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, pwrite(self->vd.device, &byte, 1,
			     self->buf + page_size));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(reads + 2, mdev_counter(self->vd.uuid, "read"));
	EXPECT_EQ(writes + 2, mdev_counter(self->vd.uuid, "write"));
}

TEST_F(full, open_close_forwarded)
{
	long refcnt = module_refcnt();

	EXPECT_EQ(1, mdev_counter(self->vd.uuid, "open_device"));
	EXPECT_EQ(0, mdev_counter(self->vd.uuid, "close_device"));
	ASSERT_LE(1, refcnt) TH_LOG("an open device pins the parent's module");

	vfio_dev_close_device(&self->vd);
	EXPECT_EQ(1, mdev_counter(self->vd.uuid, "close_device"));
	EXPECT_EQ(refcnt - 1, module_refcnt());

	ASSERT_EQ(0, vfio_dev_open_device(&self->vd));
	EXPECT_EQ(2, mdev_counter(self->vd.uuid, "open_device"));
	EXPECT_EQ(refcnt, module_refcnt());
}

TEST_F(full, open_failure)
{
	char path[PATH_MAX];
	long refcnt;

	vfio_dev_close_device(&self->vd);
	refcnt = module_refcnt();

	snprintf(path, sizeof(path), MDEV_DEVICES "/%s/classic_test/fail_open",
		 self->vd.uuid);
	ASSERT_EQ(0, sysfs_write(path, "5"));
	EXPECT_EQ(-EIO, vfio_dev_open_device(&self->vd));
	EXPECT_EQ(2, mdev_counter(self->vd.uuid, "open_device"));
	EXPECT_EQ(1, mdev_counter(self->vd.uuid, "close_device"));
	/* The failed open gave the module reference back */
	EXPECT_EQ(refcnt, module_refcnt());

	ASSERT_EQ(0, vfio_dev_open_device(&self->vd));
	EXPECT_EQ(refcnt + 1, module_refcnt());
}

TEST_F(full, mmap_and_revoke)
{
	char path[PATH_MAX], back[8] = {};
	char *map;

	map = mmap(NULL, page_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   self->vd.device, self->buf);
	ASSERT_NE(MAP_FAILED, map) TH_LOG("mmap: %s", strerror(errno));
	EXPECT_EQ(1, mdev_counter(self->vd.uuid, "mmap"));
	EXPECT_EQ(0, mdev_counter(self->vd.uuid, "fault"));

	memcpy(map, "mapped", 7);
	EXPECT_EQ(1, mdev_counter(self->vd.uuid, "fault"));
	__atomic_store_n(&map[7], 0, __ATOMIC_RELAXED);
	EXPECT_EQ(1, mdev_counter(self->vd.uuid, "fault"));

	/* The mapping and the read path see the same page */
	ASSERT_EQ(sizeof(back), pread(self->vd.device, back, sizeof(back),
				      self->buf));
	EXPECT_STREQ("mapped", back);

	/* Revoked, the next access faults into the parent again */
	snprintf(path, sizeof(path), MDEV_DEVICES "/%s/classic_test/revoke",
		 self->vd.uuid);
	ASSERT_EQ(0, sysfs_write(path, "1"));
	EXPECT_EQ(1, mdev_counter(self->vd.uuid, "fault"));
	EXPECT_EQ('m', __atomic_load_n(&map[0], __ATOMIC_RELAXED));
	EXPECT_EQ(2, mdev_counter(self->vd.uuid, "fault"));
	ASSERT_EQ(0, munmap(map, page_size));

	/* The parent's refusal reaches user space */
	map = mmap(NULL, page_size, PROT_READ, MAP_PRIVATE, self->vd.device,
		   self->buf);
	EXPECT_EQ(MAP_FAILED, map);
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(2, mdev_counter(self->vd.uuid, "mmap"));
}

TEST_F(full, dma_rw)
{
	size_t len = 2 * page_size;
	char *mem, *data;

	mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	memset(mem, 'g', len);
	ASSERT_EQ(0, vfio_dev_map(&self->vd, mem, len, TEST_IOVA));

	/* Device reads guest memory: the buffer fills with it */
	EXPECT_EQ(0, dma_command(self->vd.device, MCT_CMD_DMA_TO_BUF,
				 TEST_IOVA + page_size, page_size));
	data = malloc(page_size);
	ASSERT_NE(NULL, data);
	ASSERT_EQ(page_size, pread(self->vd.device, data, page_size,
				   self->buf));
	EXPECT_EQ(0, memcmp(data, mem, page_size));

	/* Device writes guest memory, across a page boundary */
	memset(data, 'd', page_size);
	ASSERT_EQ(page_size, pwrite(self->vd.device, data, page_size,
				    self->buf));
	EXPECT_EQ(0, dma_command(self->vd.device, MCT_CMD_DMA_FROM_BUF,
				 TEST_IOVA + page_size / 2, page_size));
	EXPECT_EQ('g', mem[page_size / 2 - 1]);
	EXPECT_EQ(0, memcmp(mem + page_size / 2, data, page_size));
	EXPECT_EQ('g', mem[page_size / 2 + page_size]);

	/* Nothing mapped there */
	EXPECT_GT(0, dma_command(self->vd.device, MCT_CMD_DMA_TO_BUF,
				 TEST_IOVA + 16 * page_size, 8));

	EXPECT_EQ(0, vfio_dev_unmap(&self->vd, len, TEST_IOVA));
	free(data);
	munmap(mem, len);
}

/*
 * Pin a page, unmap it: VFIO calls dma_unmap (through vfio_mdev) and the
 * parent unpins.  The counters are compared with their values before,
 * as the test may run this more than once on one device.
 */
static void pin_and_unmap(struct __test_metadata *_metadata,
			  struct vfio_dev *vd)
{
	long unmaps = mdev_counter(vd->uuid, "dma_unmap");
	char *mem;

	mem = mmap(NULL, page_size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	mem[0] = 1;
	ASSERT_LE(0, unmaps);
	ASSERT_EQ(0, vfio_dev_map(vd, mem, page_size, TEST_IOVA));

	EXPECT_EQ(1, dma_command(vd->device, MCT_CMD_PIN, TEST_IOVA, 0));
	EXPECT_EQ(1, reg_read(vd->device, MCT_REG_PINNED));
	EXPECT_EQ(unmaps, mdev_counter(vd->uuid, "dma_unmap"));

	/* Unmapping a pinned page calls the parent, which unpins it */
	EXPECT_EQ(0, vfio_dev_unmap(vd, page_size, TEST_IOVA));
	EXPECT_LT(unmaps, mdev_counter(vd->uuid, "dma_unmap"));
	EXPECT_EQ(0, reg_read(vd->device, MCT_REG_PINNED));
	munmap(mem, page_size);
}

TEST_F(full, pin_then_dma_unmap)
{
	int ret;

	if (variant->cdev || access("/proc/lockdep", F_OK)) {
		pin_and_unmap(_metadata, &self->vd);
		return;
	}

	/*
	 * Under lockdep, not through the type1 container: to call dma_unmap
	 * type1 takes its device list lock inside its iommu lock and drops
	 * the iommu lock, and the unpin the parent must do in dma_unmap takes
	 * the iommu lock again inside the device list lock.  Lockdep reports
	 * that cycle inside vfio_iommu_type1.c (and is off for the rest of
	 * the boot), whatever the parent does.  The same type1 ioctls, on a
	 * group opened the same way, reach dma_unmap without it when an
	 * iommufd serves them: move the group from its container into one.
	 * The stock kernel (no lockdep) covers type1's own path.
	 */
	TH_LOG("lockdep: the type1 ioctls served by iommufd, not by type1");
	vfio_dev_close(&self->vd);
	vfio_dev_setup_type1_compat(_metadata, &self->vd);
	ret = vfio_dev_open_device(&self->vd);
	ASSERT_EQ(0, ret) TH_LOG("opening the device: %s", strerror(-ret));
	pin_and_unmap(_metadata, &self->vd);
}

TEST_F(full, pin_then_close)
{
	char *mem;

	mem = mmap(NULL, page_size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	mem[0] = 1;
	ASSERT_EQ(0, vfio_dev_map(&self->vd, mem, page_size, TEST_IOVA));

	EXPECT_EQ(1, dma_command(self->vd.device, MCT_CMD_PIN, TEST_IOVA, 0));
	EXPECT_EQ(-EBUSY, dma_command(self->vd.device, MCT_CMD_PIN,
				      TEST_IOVA, 0));

	/* Pinned at close: the parent unpins in close_device */
	vfio_dev_close_device(&self->vd);
	EXPECT_EQ(1, mdev_counter(self->vd.uuid, "close_device"));

	/*
	 * Nothing is left pinned: the unmap just works.  dma_unmap only
	 * reaches an open device (iommufd unmaps everything when it detaches
	 * one that was just closed).
	 */
	EXPECT_EQ(0, vfio_dev_unmap(&self->vd, page_size, TEST_IOVA));
	EXPECT_EQ(0, mdev_counter(self->vd.uuid, "dma_unmap"));
	munmap(mem, page_size);
}

TEST_F_TIMEOUT(full, remove_while_open, 180)
{
	struct {
		struct vfio_irq_set set;
		__s32 fd;
	} irq = {
		.set = {
			.argsz = sizeof(irq),
			.flags = VFIO_IRQ_SET_DATA_EVENTFD |
				 VFIO_IRQ_SET_ACTION_TRIGGER,
			.index = VFIO_PCI_REQ_IRQ_INDEX,
			.count = 1,
		},
	};
	long requested = parent_counter(self->type_dir, "requested");
	long removed = parent_counter(self->type_dir, "removed");
	struct pollfd pfd = { .events = POLLIN };
	struct remover r;
	__u64 events;

	irq.fd = eventfd(0, EFD_CLOEXEC);
	ASSERT_LE(0, irq.fd);
	ASSERT_EQ(0, ioctl(self->vd.device, VFIO_DEVICE_SET_IRQS, &irq));
	ASSERT_LE(0, removed);
	ASSERT_LE(0, requested);

	ASSERT_EQ(0, remover_start(&r, self->vd.uuid));

	/* The request callback asks us to let go */
	pfd.fd = irq.fd;
	ASSERT_EQ(1, poll(&pfd, 1, 60000)) TH_LOG("no request within 60 s");
	ASSERT_EQ(sizeof(events), read(irq.fd, &events, sizeof(events)));
	EXPECT_LT(requested, parent_counter(self->type_dir, "requested"));

	/*
	 * Until we do, the removal waits, the parent keeps its state and the
	 * device keeps working (its sysfs files are gone already).
	 */
	wait_ms(500);
	EXPECT_FALSE(__atomic_load_n(&r.done, __ATOMIC_SEQ_CST));
	EXPECT_EQ(removed, parent_counter(self->type_dir, "removed"));
	EXPECT_EQ(0, reg_read(self->vd.device, MCT_REG_PINNED));

	vfio_dev_close_device(&self->vd);
	ASSERT_EQ(0, pthread_join(r.thread, NULL));
	EXPECT_EQ(0, r.ret) TH_LOG("remove: %s", strerror(-r.ret));
	EXPECT_EQ(removed + 1, parent_counter(self->type_dir, "removed"));
	EXPECT_FALSE(mdev_exists(self->vd.uuid));
	close(irq.fd);
}

/* ---- a parent with only the required callbacks ---- */

FIXTURE(bare) {
	const char *type_dir;
	struct vfio_dev vd;
};

FIXTURE_VARIANT(bare) {
	bool cdev;
};

FIXTURE_VARIANT_ADD(bare, type1) {
	.cdev = false,
};

FIXTURE_VARIANT_ADD(bare, iommufd) {
	.cdev = true,
};

FIXTURE_SETUP(bare)
{
	const char *missing;

	self->type_dir = env_or("MDEV_CLASSIC_BARE_TYPE", BARE_TYPE_DEFAULT);
	vfio_dev_init(&self->vd, variant->cdev);
	if (access(self->type_dir, F_OK))
		SKIP(return, "%s missing: mdev_classic_test not loaded",
		     self->type_dir);
	missing = variant->cdev ? cdev_missing() : NULL;
	if (missing)
		SKIP(return, "%s", missing);

	/* No open_device callback: opening just succeeds */
	vfio_dev_create_open(_metadata, &self->vd, self->type_dir);
}

FIXTURE_TEARDOWN(bare)
{
	vfio_dev_destroy(_metadata, &self->vd);
}

TEST_F(bare, missing_callbacks)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };
	char path[PATH_MAX], buf[4] = {};
	void *map;

	EXPECT_EQ(-1, pread(self->vd.device, buf, sizeof(buf), 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, pwrite(self->vd.device, buf, sizeof(buf), 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->vd.device, VFIO_DEVICE_GET_INFO, &info));
	EXPECT_EQ(EINVAL, errno);
	map = mmap(NULL, page_size, PROT_READ, MAP_SHARED, self->vd.device, 0);
	EXPECT_EQ(MAP_FAILED, map);
	EXPECT_EQ(EINVAL, errno);

	/* Without dma_unmap the parent may not pin */
	snprintf(path, sizeof(path), MDEV_DEVICES "/%s/classic_test/pin",
		 self->vd.uuid);
	EXPECT_EQ(-EINVAL, sysfs_write(path, "0x100000"));

	/* Closing without close_device, and opening again, just work */
	vfio_dev_close_device(&self->vd);
	EXPECT_EQ(0, vfio_dev_open_device(&self->vd));
}

TEST_F_TIMEOUT(bare, remove_waits_without_request, 180)
{
	long removed = parent_counter(self->type_dir, "removed");
	struct remover r;

	ASSERT_LE(0, removed);
	ASSERT_EQ(0, remover_start(&r, self->vd.uuid));

	/* Nothing can ask us to let go: the removal just waits */
	wait_ms(2000);
	EXPECT_FALSE(__atomic_load_n(&r.done, __ATOMIC_SEQ_CST));
	EXPECT_EQ(removed, parent_counter(self->type_dir, "removed"));

	vfio_dev_close_device(&self->vd);
	ASSERT_EQ(0, pthread_join(r.thread, NULL));
	EXPECT_EQ(0, r.ret) TH_LOG("remove: %s", strerror(-r.ret));
	EXPECT_EQ(removed + 1, parent_counter(self->type_dir, "removed"));
	EXPECT_FALSE(mdev_exists(self->vd.uuid));
}

/* ---- any classic mdev, e.g. of mtty, opened like QEMU ---- */

FIXTURE(external) {
	struct vfio_dev vd;
};

FIXTURE_VARIANT(external) {
	bool cdev;
};

FIXTURE_VARIANT_ADD(external, type1) {
	.cdev = false,
};

FIXTURE_VARIANT_ADD(external, iommufd) {
	.cdev = true,
};

FIXTURE_SETUP(external)
{
	const char *uuid = getenv("MDEV_UUID");
	const char *missing;

	vfio_dev_init(&self->vd, variant->cdev);
	if (!uuid || !*uuid)
		SKIP(return, "MDEV_UUID not set");
	missing = variant->cdev ? cdev_missing() : NULL;
	if (missing)
		SKIP(return, "%s", missing);
	ASSERT_EQ(UUID_LEN, strlen(uuid));
	snprintf(self->vd.uuid, sizeof(self->vd.uuid), "%s", uuid);
	ASSERT_TRUE(mdev_exists(uuid));

	vfio_dev_open(_metadata, &self->vd);
}

FIXTURE_TEARDOWN(external)
{
	/* The device belongs to whoever created it */
	vfio_dev_close(&self->vd);
}

TEST_F(external, pci_device)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };
	const char *expect = getenv("MDEV_EXPECT_PCI_ID");
	struct vfio_region_info rinfo;
	__u16 vendor, device;
	char id[16];

	ASSERT_EQ(0, ioctl(self->vd.device, VFIO_DEVICE_GET_INFO, &info));
	ASSERT_TRUE(info.flags & VFIO_DEVICE_FLAGS_PCI);
	ASSERT_LE(VFIO_PCI_CONFIG_REGION_INDEX + 1, info.num_regions);
	ASSERT_EQ(0, vfio_get_region_info(self->vd.device,
					  VFIO_PCI_CONFIG_REGION_INDEX, &rinfo));
	ASSERT_LE(64, rinfo.size);

	ASSERT_EQ(0, pci_ids(self->vd.device, &vendor, &device));
	snprintf(id, sizeof(id), "%04x:%04x", vendor, device);
	ksft_print_msg("%s: PCI ID %s, %u regions, %u irqs\n", self->vd.uuid,
		       id, info.num_regions, info.num_irqs);
	if (expect)
		EXPECT_STREQ(expect, id);
}

/* ---- the parent's module ---- */

TEST_F_TIMEOUT(full, rmmod_while_open, 180)
{
	const char *name = env_or("MDEV_CLASSIC_MODULE", MODULE_DEFAULT);

	if (strcmp(env_or("MDEV_CLASSIC_RMMOD", "0"), "1"))
		SKIP(return, "unloads the module: set MDEV_CLASSIC_RMMOD=1");

	/* An open device keeps the parent's module loaded */
	EXPECT_EQ(-1, syscall(SYS_delete_module, name, O_NONBLOCK));
	EXPECT_EQ(EWOULDBLOCK, errno);
	EXPECT_TRUE(mdev_exists(self->vd.uuid));

	/* Closed, the module goes and takes its devices with it */
	vfio_dev_close(&self->vd);
	EXPECT_EQ(0, syscall(SYS_delete_module, name, O_NONBLOCK))
		TH_LOG("delete_module: %s", strerror(errno));
	EXPECT_FALSE(mdev_exists(self->vd.uuid));
	EXPECT_NE(0, access(self->type_dir, F_OK));
}

static void __attribute__((constructor)) init_page_size(void)
{
	page_size = sysconf(_SC_PAGESIZE);
}

TEST_HARNESS_MAIN
