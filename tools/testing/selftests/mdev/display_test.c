// SPDX-License-Identifier: GPL-2.0-only
/*
 * The VFIO display samples, mdpy and mbochs, as user space sees them.
 *
 * Every test of the "display" fixture runs on a fresh device of one type
 * (one variant per type), created through sysfs and opened through a type1
 * container: the device, region and interrupt queries, configuration space,
 * the display plane queries, mmap of the framebuffer or video memory,
 * dma-buf export (mbochs; mdpy refuses it), the EDID region (mbochs),
 * the request interrupt, and every ioctl with a bad size, bad flags and
 * bad indexes.  The teardown removes the device and checks that its
 * instance came back.
 *
 * Two more tests check the instance accounting of each driver: mdpy's
 * count module parameter through the core's max_instances, and mbochs's
 * video memory pool shared by its types.
 *
 * Needs root and the modules loaded (mdpy, mbochs, vfio_iommu_type1);
 * a missing driver skips its tests.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <linux/vfio.h>

#include "mdev_harness.h"
#include "mdev_util.h"

#define MDEV_BUS_DIR		"/sys/class/mdev_bus"

/* From the kernel's drm_fourcc.h and enum drm_plane_type */
#define FOURCC_XRGB8888		0x34325258
#define PLANE_OVERLAY		0
#define PLANE_PRIMARY		1
#define PLANE_CURSOR		2

/* The region both samples add after the PCI ones */
#define EXTRA_REGION		VFIO_PCI_NUM_REGIONS
#define NUM_REGIONS		(VFIO_PCI_NUM_REGIONS + 1)

/* mbochs BAR2: the EDID window and the dispi registers */
#define MMIO_DISPI		0x500
#define DISPI_ID		0
#define DISPI_XRES		1
#define DISPI_YRES		2
#define DISPI_BPP		3
#define DISPI_ENABLE		4
#define DISPI_VIRT_WIDTH	6
#define DISPI_X_OFFSET		8
#define DISPI_Y_OFFSET		9
#define DISPI_VIDEO_MEMORY_64K	10

/* The sizes of the original structures: what every kernel accepts */
#define GFX_PLANE_MINSZ	offsetof(struct vfio_device_gfx_plane_info, reserved)
#define DEVICE_INFO_MINSZ	offsetof(struct vfio_device_info, cap_offset)
#define REGION_INFO_MINSZ	sizeof(struct vfio_region_info)

static long page_size;

/* sysfs */

static long sysfs_read_long(const char *path)
{
	char buf[64] = "";
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	return strtol(buf, NULL, 0);
}

static int sysfs_read_str(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

static void type_path(char *buf, size_t size, const char *parent,
		      const char *type, const char *file)
{
	snprintf(buf, size, MDEV_BUS_DIR "/%s/mdev_supported_types/%s-%s/%s",
		 parent, parent, type, file);
}

static bool type_exists(const char *parent, const char *type)
{
	char path[PATH_MAX];

	type_path(path, sizeof(path), parent, type, "");
	return access(path, F_OK) == 0;
}

static long available(const char *parent, const char *type)
{
	char path[PATH_MAX];

	type_path(path, sizeof(path), parent, type, "available_instances");
	return sysfs_read_long(path);
}

/*
 * available_instances once it reads @expect, or after 10 s.  A vendor may
 * give an instance back only when the device is released (mbochs returns
 * its memory then), which can come seconds after the removal: with
 * CONFIG_DEBUG_KOBJECT_RELEASE every release does.
 */
static long available_wait(const char *parent, const char *type, long expect)
{
	long val = available(parent, type);
	int i;

	for (i = 0; i < 200 && val != expect; i++) {
		usleep(50000);
		val = available(parent, type);
	}
	return val;
}

static int type_create(const char *parent, const char *type, const char *uuid)
{
	char path[PATH_MAX];

	type_path(path, sizeof(path), parent, type, "create");
	return sysfs_write(path, uuid);
}

/* VFIO through a type1 container */

struct vfio_handle {
	int container;
	int group;
	int device;
};

static void vfio_close(struct vfio_handle *h)
{
	if (h->device >= 0)
		close(h->device);
	if (h->group >= 0)
		close(h->group);
	if (h->container >= 0)
		close(h->container);
	h->device = -1;
	h->group = -1;
	h->container = -1;
}

static int vfio_open(const char *uuid, struct vfio_handle *h)
{
	int ret;

	h->group = -1;
	h->device = -1;
	h->container = open("/dev/vfio/vfio", O_RDWR);
	if (h->container < 0)
		return -errno;
	ret = vfio_group_open_device(uuid, h->container, true, &h->group);
	if (ret < 0) {
		vfio_close(h);
		return ret;
	}
	h->device = ret;
	return 0;
}

/* Device helpers */

static int query_plane(int fd, __u32 flags, __u32 plane_type,
		       struct vfio_device_gfx_plane_info *plane)
{
	memset(plane, 0, sizeof(*plane));
	plane->argsz = sizeof(*plane);
	plane->flags = flags;
	plane->drm_plane_type = plane_type;
	return ioctl(fd, VFIO_DEVICE_QUERY_GFX_PLANE, plane) ? -errno : 0;
}

static int region_pwrite(int fd, __u32 index, __u64 off, const void *buf,
			 size_t len)
{
	ssize_t n = pwrite(fd, buf, len, vfio_region_offset(fd, index) + off);

	if (n < 0)
		return -errno;
	return n == (ssize_t)len ? 0 : -EIO;
}

static int region_pread(int fd, __u32 index, __u64 off, void *buf,
			size_t len)
{
	ssize_t n = pread(fd, buf, len, vfio_region_offset(fd, index) + off);

	if (n < 0)
		return -errno;
	return n == (ssize_t)len ? 0 : -EIO;
}

static int dispi_write(int fd, unsigned int reg, __u16 val)
{
	return region_pwrite(fd, VFIO_PCI_BAR2_REGION_INDEX,
			     MMIO_DISPI + 2 * reg, &val, sizeof(val));
}

static int dispi_read(int fd, unsigned int reg)
{
	__u16 val;
	int ret;

	ret = region_pread(fd, VFIO_PCI_BAR2_REGION_INDEX, MMIO_DISPI + 2 * reg,
			   &val, sizeof(val));
	return ret ?: val;
}

/* Program a 32 bpp mode the way the bochs DRM driver does */
static int bochs_set_mode(int fd, __u16 width, __u16 height, __u16 yoffset)
{
	return dispi_write(fd, DISPI_ENABLE, 0) ?:
	       dispi_write(fd, DISPI_BPP, 32) ?:
	       dispi_write(fd, DISPI_XRES, width) ?:
	       dispi_write(fd, DISPI_YRES, height) ?:
	       dispi_write(fd, DISPI_VIRT_WIDTH, width) ?:
	       dispi_write(fd, DISPI_X_OFFSET, 0) ?:
	       dispi_write(fd, DISPI_Y_OFFSET, yoffset) ?:
	       dispi_write(fd, DISPI_ENABLE, 0x41);
}

static __u32 pattern(__u64 off)
{
	return (__u32)(off * 2654435761u) ^ 0x5a5a5a5a;
}

static int req_set(int fd, int efd)
{
	struct {
		struct vfio_irq_set hdr;
		__s32 fd;
	} set = {
		.hdr.argsz = sizeof(set),
		.hdr.flags = VFIO_IRQ_SET_DATA_EVENTFD |
			     VFIO_IRQ_SET_ACTION_TRIGGER,
		.hdr.index = VFIO_PCI_REQ_IRQ_INDEX,
		.hdr.count = 1,
		.fd = efd,
	};

	return ioctl(fd, VFIO_DEVICE_SET_IRQS, &set) ? -errno : 0;
}

static int irq_set_raw(int fd, __u32 argsz, __u32 flags, __u32 index,
		       __u32 start, __u32 count, const void *data,
		       size_t data_len)
{
	struct {
		struct vfio_irq_set hdr;
		__u8 data[16];
	} set = {
		.hdr.argsz = argsz,
		.hdr.flags = flags,
		.hdr.index = index,
		.hdr.start = start,
		.hdr.count = count,
	};

	memcpy(set.data, data, data_len);
	return ioctl(fd, VFIO_DEVICE_SET_IRQS, &set) ? -errno : 0;
}

/* The fixture: one device of one type */

FIXTURE(display) {
	char uuid[UUID_LEN + 1];
	bool created;
	long avail_before;
	struct vfio_handle h;
	struct vfio_device_info info;
	__u64 bar0_size;
};

FIXTURE_VARIANT(display) {
	const char *parent;
	const char *type;
	bool dmabuf;
	__u32 width;		/* mdpy */
	__u32 height;		/* mdpy */
	__u32 vram_mb;		/* mbochs */
	__u32 max_xres;		/* mbochs */
};

FIXTURE_VARIANT_ADD(display, mdpy_vga) {
	.parent = "mdpy", .type = "vga", .width = 640, .height = 480,
};

FIXTURE_VARIANT_ADD(display, mdpy_xga) {
	.parent = "mdpy", .type = "xga", .width = 1024, .height = 768,
};

FIXTURE_VARIANT_ADD(display, mdpy_hd) {
	.parent = "mdpy", .type = "hd", .width = 1920, .height = 1080,
};

FIXTURE_VARIANT_ADD(display, mbochs_small) {
	.parent = "mbochs", .type = "small", .dmabuf = true,
	.vram_mb = 4, .max_xres = 800,
};

FIXTURE_VARIANT_ADD(display, mbochs_medium) {
	.parent = "mbochs", .type = "medium", .dmabuf = true,
	.vram_mb = 16, .max_xres = 1920,
};

FIXTURE_VARIANT_ADD(display, mbochs_large) {
	.parent = "mbochs", .type = "large", .dmabuf = true,
	.vram_mb = 64, .max_xres = 0,
};

FIXTURE_SETUP(display)
{
	struct vfio_region_info bar0;
	long after;
	int ret;

	page_size = sysconf(_SC_PAGESIZE);
	self->h.container = -1;
	self->h.group = -1;
	self->h.device = -1;
	if (!type_exists(variant->parent, variant->type))
		SKIP(return, "%s is not loaded", variant->parent);

	/* A count that cannot be read is a failure, not a reason to skip */
	self->avail_before = available(variant->parent, variant->type);
	if (self->avail_before == 0)
		SKIP(return, "no %s-%s instance available", variant->parent,
		     variant->type);
	ASSERT_LT(0, self->avail_before);

	mdev_new_uuid(self->uuid);
	ASSERT_EQ(UUID_LEN, strlen(self->uuid));
	ASSERT_EQ(0, type_create(variant->parent, variant->type, self->uuid));
	self->created = true;

	/* Setup failures skip the teardown: undo by hand */
	after = available(variant->parent, variant->type);
	ret = vfio_open(self->uuid, &self->h);
	if (ret || after != self->avail_before - 1) {
		vfio_close(&self->h);
		mdev_remove(self->uuid);
		self->created = false;
		ASSERT_EQ(self->avail_before - 1, after);
		ASSERT_EQ(0, ret);
	}

	self->info.argsz = sizeof(self->info);
	ASSERT_EQ(0, ioctl(self->h.device, VFIO_DEVICE_GET_INFO, &self->info));
	ASSERT_EQ(0, vfio_get_region_info(self->h.device,
					  VFIO_PCI_BAR0_REGION_INDEX, &bar0));
	self->bar0_size = bar0.size;
}

/*
 * In the parent, after the test process is gone and with it every file it
 * had open: whatever the test did, the device must go and give its instance
 * back.
 */
FIXTURE_TEARDOWN_PARENT(display)
{
	if (!self->created)
		return;
	EXPECT_EQ(0, mdev_remove(self->uuid));
	EXPECT_EQ(self->avail_before,
		  available_wait(variant->parent, variant->type,
				 self->avail_before));
}

TEST_F(display, device_info)
{
	struct {
		struct vfio_device_info info;
		__u8 tail;
	} big;
	struct vfio_device_info info;
	int fd = self->h.device;

	EXPECT_EQ(VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET,
		  self->info.flags);
	EXPECT_EQ(NUM_REGIONS, self->info.num_regions);
	EXPECT_EQ(VFIO_PCI_NUM_IRQS, self->info.num_irqs);

	/* Too small */
	memset(&info, 0, sizeof(info));
	info.argsz = DEVICE_INFO_MINSZ - 1;
	EXPECT_EQ(-1, ioctl(fd, VFIO_DEVICE_GET_INFO, &info));
	EXPECT_EQ(EINVAL, errno);

	/* Exactly the original size */
	memset(&info, 0, sizeof(info));
	info.argsz = DEVICE_INFO_MINSZ;
	EXPECT_EQ(0, ioctl(fd, VFIO_DEVICE_GET_INFO, &info));
	EXPECT_EQ(NUM_REGIONS, info.num_regions);

	/* Larger than known: accepted, nothing written past what is known */
	memset(&big, 0, sizeof(big));
	big.info.argsz = sizeof(big);
	big.tail = 0xa5;
	EXPECT_EQ(0, ioctl(fd, VFIO_DEVICE_GET_INFO, &big));
	EXPECT_EQ(NUM_REGIONS, big.info.num_regions);
	EXPECT_EQ(0xa5, big.tail);
}

TEST_F(display, region_info)
{
	struct {
		struct vfio_region_info info;
		__u8 tail;
	} big;
	struct vfio_region_info info;
	__u32 rw = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
	int fd = self->h.device;
	__u32 i;

	for (i = 0; i < NUM_REGIONS; i++) {
		ASSERT_EQ(0, vfio_get_region_info(fd, i, &info));
		EXPECT_EQ(i, info.index);
		if (info.size)
			EXPECT_EQ(0, info.offset % page_size);
	}

	ASSERT_EQ(0, vfio_get_region_info(fd, VFIO_PCI_CONFIG_REGION_INDEX, &info));
	EXPECT_EQ(256, info.size);
	EXPECT_EQ(rw, info.flags);

	ASSERT_EQ(0, vfio_get_region_info(fd, VFIO_PCI_BAR0_REGION_INDEX, &info));
	EXPECT_EQ(rw | VFIO_REGION_INFO_FLAG_MMAP, info.flags);
	EXPECT_EQ(0, info.size & (info.size - 1));
	if (variant->dmabuf) {
		EXPECT_EQ((__u64)variant->vram_mb << 20, info.size);
	} else {
		EXPECT_LE((__u64)variant->width * variant->height * 4,
			  info.size);
	}

	ASSERT_EQ(0, vfio_get_region_info(fd, VFIO_PCI_BAR1_REGION_INDEX, &info));
	EXPECT_EQ(0, info.size);
	ASSERT_EQ(0, vfio_get_region_info(fd, VFIO_PCI_BAR2_REGION_INDEX, &info));
	if (variant->dmabuf) {
		EXPECT_EQ(4096, info.size);
		EXPECT_EQ(rw, info.flags);
	} else {
		EXPECT_EQ(0, info.size);
	}
	ASSERT_EQ(0, vfio_get_region_info(fd, VFIO_PCI_ROM_REGION_INDEX, &info));
	EXPECT_EQ(0, info.size);
	ASSERT_EQ(0, vfio_get_region_info(fd, VFIO_PCI_VGA_REGION_INDEX, &info));
	EXPECT_EQ(0, info.size);

	/* mdpy's display region is the framebuffer once more */
	ASSERT_EQ(0, vfio_get_region_info(fd, EXTRA_REGION, &info));
	if (!variant->dmabuf) {
		EXPECT_EQ(rw | VFIO_REGION_INFO_FLAG_MMAP, info.flags);
		EXPECT_EQ(self->bar0_size, info.size);
	}

	/* Bad indexes */
	EXPECT_EQ(-EINVAL, vfio_get_region_info(fd, NUM_REGIONS, &info));
	EXPECT_EQ(-EINVAL, vfio_get_region_info(fd, 16, &info));
	EXPECT_EQ(-EINVAL, vfio_get_region_info(fd, UINT32_MAX, &info));

	/* Too small */
	memset(&info, 0, sizeof(info));
	info.argsz = REGION_INFO_MINSZ - 1;
	EXPECT_EQ(-1, ioctl(fd, VFIO_DEVICE_GET_REGION_INFO, &info));
	EXPECT_EQ(EINVAL, errno);

	/* Larger than needed: the tail is left alone */
	memset(&big, 0, sizeof(big));
	big.info.argsz = sizeof(big);
	big.info.index = VFIO_PCI_BAR0_REGION_INDEX;
	big.tail = 0xa5;
	EXPECT_EQ(0, ioctl(fd, VFIO_DEVICE_GET_REGION_INFO, &big));
	EXPECT_EQ(self->bar0_size, big.info.size);
	EXPECT_EQ(0, big.info.cap_offset);
	EXPECT_EQ(0xa5, big.tail);
}

TEST_F(display, edid_region_caps)
{
	struct {
		struct vfio_region_info info;
		struct vfio_region_info_cap_type cap;
		__u8 tail;
	} buf;
	struct vfio_region_info info;
	int fd = self->h.device;

	if (!variant->dmabuf)
		SKIP(return, "mdpy has no EDID region");

	/* Too small for the capability: told how much is needed */
	ASSERT_EQ(0, vfio_get_region_info(fd, EXTRA_REGION, &info));
	EXPECT_TRUE(info.flags & VFIO_REGION_INFO_FLAG_CAPS);
	EXPECT_EQ(sizeof(info) + sizeof(buf.cap), info.argsz);
	EXPECT_EQ(0, info.cap_offset);

	/* Large enough, with a spare byte */
	memset(&buf, 0, sizeof(buf));
	buf.info.argsz = sizeof(buf);
	buf.info.index = EXTRA_REGION;
	buf.tail = 0xa5;
	ASSERT_EQ(0, ioctl(fd, VFIO_DEVICE_GET_REGION_INFO, &buf));
	EXPECT_EQ(sizeof(buf), buf.info.argsz);
	EXPECT_EQ(sizeof(buf.info), buf.info.cap_offset);
	EXPECT_EQ(VFIO_REGION_INFO_CAP_TYPE, buf.cap.header.id);
	EXPECT_EQ(1, buf.cap.header.version);
	EXPECT_EQ(0, buf.cap.header.next);
	EXPECT_EQ(VFIO_REGION_TYPE_GFX, buf.cap.type);
	EXPECT_EQ(VFIO_REGION_SUBTYPE_GFX_EDID, buf.cap.subtype);
	EXPECT_EQ(0xa5, buf.tail);
	EXPECT_EQ(VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
		  VFIO_REGION_INFO_FLAG_CAPS, buf.info.flags);
}

TEST_F(display, irq_info)
{
	struct {
		struct vfio_irq_info info;
		__u8 tail;
	} big;
	struct vfio_irq_info info;
	int fd = self->h.device;
	__u32 i;

	for (i = 0; i < VFIO_PCI_NUM_IRQS; i++) {
		memset(&info, 0, sizeof(info));
		info.argsz = sizeof(info);
		info.index = i;
		ASSERT_EQ(0, ioctl(fd, VFIO_DEVICE_GET_IRQ_INFO, &info));
		if (i == VFIO_PCI_REQ_IRQ_INDEX) {
			EXPECT_EQ(1, info.count);
			EXPECT_TRUE(info.flags & VFIO_IRQ_INFO_EVENTFD);
		} else {
			EXPECT_EQ(0, info.count);
		}
	}

	info.argsz = sizeof(info);
	info.index = VFIO_PCI_NUM_IRQS;
	EXPECT_EQ(-1, ioctl(fd, VFIO_DEVICE_GET_IRQ_INFO, &info));
	EXPECT_EQ(EINVAL, errno);
	info.index = UINT32_MAX;
	EXPECT_EQ(-1, ioctl(fd, VFIO_DEVICE_GET_IRQ_INFO, &info));
	EXPECT_EQ(EINVAL, errno);

	info.argsz = sizeof(info) - 1;
	info.index = 0;
	EXPECT_EQ(-1, ioctl(fd, VFIO_DEVICE_GET_IRQ_INFO, &info));
	EXPECT_EQ(EINVAL, errno);

	memset(&big, 0, sizeof(big));
	big.info.argsz = sizeof(big);
	big.info.index = VFIO_PCI_REQ_IRQ_INDEX;
	big.tail = 0xa5;
	EXPECT_EQ(0, ioctl(fd, VFIO_DEVICE_GET_IRQ_INFO, &big));
	EXPECT_EQ(1, big.info.count);
	EXPECT_EQ(0xa5, big.tail);
}

TEST_F(display, set_irqs)
{
	__u32 trig = VFIO_IRQ_SET_ACTION_TRIGGER;
	__u32 minsz = sizeof(struct vfio_irq_set);
	int fd = self->h.device;
	__s32 efd, bad_fd;
	__u64 count;
	__u8 yes = 1;

	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ASSERT_LE(0, efd);

	/* Bad sizes, flags, indexes, ranges and data */
	EXPECT_EQ(-EINVAL, irq_set_raw(fd, minsz - 1,
				       VFIO_IRQ_SET_DATA_NONE | trig,
				       VFIO_PCI_REQ_IRQ_INDEX, 0, 1, NULL, 0));
	EXPECT_EQ(-EINVAL, irq_set_raw(fd, minsz, VFIO_IRQ_SET_DATA_NONE | trig,
				       VFIO_PCI_INTX_IRQ_INDEX, 0, 1, NULL, 0));
	EXPECT_EQ(-EINVAL, irq_set_raw(fd, minsz, VFIO_IRQ_SET_DATA_NONE | trig,
				       VFIO_PCI_MSI_IRQ_INDEX, 0, 0, NULL, 0));
	EXPECT_EQ(-EINVAL, irq_set_raw(fd, minsz, VFIO_IRQ_SET_DATA_NONE | trig,
				       VFIO_PCI_NUM_IRQS, 0, 1, NULL, 0));
	EXPECT_EQ(-EINVAL, irq_set_raw(fd, minsz, VFIO_IRQ_SET_DATA_NONE | trig,
				       UINT32_MAX, 0, 1, NULL, 0));
	EXPECT_EQ(-EINVAL, irq_set_raw(fd, minsz,
				       VFIO_IRQ_SET_DATA_NONE | trig | 1u << 31,
				       VFIO_PCI_REQ_IRQ_INDEX, 0, 1, NULL, 0));
	EXPECT_EQ(-EINVAL, irq_set_raw(fd, minsz,
				       VFIO_IRQ_SET_DATA_NONE |
				       VFIO_IRQ_SET_DATA_BOOL | trig,
				       VFIO_PCI_REQ_IRQ_INDEX, 0, 1, &yes, 1));
	EXPECT_EQ(-EINVAL, irq_set_raw(fd, minsz,
				       VFIO_IRQ_SET_DATA_NONE |
				       VFIO_IRQ_SET_ACTION_MASK,
				       VFIO_PCI_REQ_IRQ_INDEX, 0, 1, NULL, 0));
	EXPECT_EQ(-EINVAL, irq_set_raw(fd, minsz,
				       VFIO_IRQ_SET_DATA_NONE | trig |
				       VFIO_IRQ_SET_ACTION_UNMASK,
				       VFIO_PCI_REQ_IRQ_INDEX, 0, 1, NULL, 0));
	EXPECT_EQ(-EINVAL, irq_set_raw(fd, minsz, VFIO_IRQ_SET_DATA_NONE | trig,
				       VFIO_PCI_REQ_IRQ_INDEX, 1, 1, NULL, 0));
	EXPECT_EQ(-EINVAL, irq_set_raw(fd, minsz, VFIO_IRQ_SET_DATA_NONE | trig,
				       VFIO_PCI_REQ_IRQ_INDEX, 0, 2, NULL, 0));
	EXPECT_EQ(-EINVAL, irq_set_raw(fd, minsz, VFIO_IRQ_SET_DATA_NONE | trig,
				       VFIO_PCI_REQ_IRQ_INDEX, UINT32_MAX, 1,
				       NULL, 0));
	/* No room for the data the flags announce */
	EXPECT_EQ(-EINVAL, irq_set_raw(fd, minsz + 3,
				       VFIO_IRQ_SET_DATA_EVENTFD | trig,
				       VFIO_PCI_REQ_IRQ_INDEX, 0, 1, &efd, 4));
	/* Data with a zero count */
	EXPECT_EQ(-EINVAL, irq_set_raw(fd, minsz + 4,
				       VFIO_IRQ_SET_DATA_EVENTFD | trig,
				       VFIO_PCI_REQ_IRQ_INDEX, 0, 0, &efd, 4));
	/* Not an eventfd, and not -1 */
	bad_fd = -2;
	EXPECT_EQ(-EINVAL, irq_set_raw(fd, minsz + 4,
				       VFIO_IRQ_SET_DATA_EVENTFD | trig,
				       VFIO_PCI_REQ_IRQ_INDEX, 0, 1, &bad_fd,
				       4));
	bad_fd = fd;
	EXPECT_EQ(-EINVAL, irq_set_raw(fd, minsz + 4,
				       VFIO_IRQ_SET_DATA_EVENTFD | trig,
				       VFIO_PCI_REQ_IRQ_INDEX, 0, 1, &bad_fd,
				       4));
	bad_fd = 1000000;
	EXPECT_EQ(-EBADF, irq_set_raw(fd, minsz + 4,
				      VFIO_IRQ_SET_DATA_EVENTFD | trig,
				      VFIO_PCI_REQ_IRQ_INDEX, 0, 1, &bad_fd,
				      4));

	/* Hook the eventfd (with a spare byte of argsz), fire it, unhook */
	EXPECT_EQ(0, irq_set_raw(fd, minsz + 5, VFIO_IRQ_SET_DATA_EVENTFD | trig,
				 VFIO_PCI_REQ_IRQ_INDEX, 0, 1, &efd, 4));
	EXPECT_EQ(0, irq_set_raw(fd, minsz, VFIO_IRQ_SET_DATA_NONE | trig,
				 VFIO_PCI_REQ_IRQ_INDEX, 0, 1, NULL, 0));
	EXPECT_EQ(sizeof(count), read(efd, &count, sizeof(count)));
	EXPECT_EQ(1, count);
	EXPECT_EQ(0, irq_set_raw(fd, minsz + 1, VFIO_IRQ_SET_DATA_BOOL | trig,
				 VFIO_PCI_REQ_IRQ_INDEX, 0, 1, &yes, 1));
	EXPECT_EQ(sizeof(count), read(efd, &count, sizeof(count)));
	EXPECT_EQ(1, count);
	EXPECT_EQ(0, irq_set_raw(fd, minsz, VFIO_IRQ_SET_DATA_NONE | trig,
				 VFIO_PCI_REQ_IRQ_INDEX, 0, 0, NULL, 0));
	EXPECT_EQ(0, irq_set_raw(fd, minsz, VFIO_IRQ_SET_DATA_NONE | trig,
				 VFIO_PCI_REQ_IRQ_INDEX, 0, 1, NULL, 0));
	EXPECT_EQ(-1, read(efd, &count, sizeof(count)));
	EXPECT_EQ(EAGAIN, errno);

	/* Hook and unhook with -1 */
	EXPECT_EQ(0, req_set(fd, efd));
	EXPECT_EQ(0, req_set(fd, -1));
	EXPECT_EQ(0, irq_set_raw(fd, minsz, VFIO_IRQ_SET_DATA_NONE | trig,
				 VFIO_PCI_REQ_IRQ_INDEX, 0, 1, NULL, 0));
	EXPECT_EQ(-1, read(efd, &count, sizeof(count)));
	close(efd);
}

TEST_F(display, config_space)
{
	int fd = self->h.device;
	__u32 bar0, bar2, ones = UINT32_MAX, val;
	__u16 vendor, device, class, junk = 0x5555;
	__u8 cfg[256], rev;
	__u64 cfg_off = vfio_region_offset(fd, VFIO_PCI_CONFIG_REGION_INDEX);

	ASSERT_EQ(sizeof(cfg), pread(fd, cfg, sizeof(cfg), cfg_off));
	memcpy(&vendor, cfg + 0x00, 2);
	memcpy(&device, cfg + 0x02, 2);
	memcpy(&class, cfg + 0x0a, 2);
	rev = cfg[0x08];
	EXPECT_EQ(0x0380, class);
	EXPECT_EQ(1, rev);

	if (variant->dmabuf) {
		EXPECT_EQ(0x1234, vendor);
		EXPECT_EQ(0x1111, device);
		memcpy(&bar2, cfg + 0x18, 4);
		EXPECT_EQ(0, bar2 & 0xf);	/* 32-bit memory */
	} else {
		__u32 format, width, height;

		EXPECT_EQ(0x1b36, vendor);
		EXPECT_EQ(0x000f, device);
		EXPECT_EQ(0x40, cfg[0x34]);
		EXPECT_TRUE(cfg[0x06] & 0x10);	/* capability list */
		EXPECT_EQ(0x09, cfg[0x40]);	/* vendor specific */
		EXPECT_EQ(0x00, cfg[0x41]);
		memcpy(&format, cfg + 0x44, 4);
		memcpy(&width, cfg + 0x48, 4);
		memcpy(&height, cfg + 0x4c, 4);
		EXPECT_EQ(FOURCC_XRGB8888, format);
		EXPECT_EQ(variant->width, width);
		EXPECT_EQ(variant->height, height);
	}
	EXPECT_EQ(0x1af4, *(__u16 *)(cfg + 0x2c));
	EXPECT_EQ(0x1100, *(__u16 *)(cfg + 0x2e));

	/* BAR sizing */
	memcpy(&bar0, cfg + 0x10, 4);
	EXPECT_EQ(0x8, bar0 & 0xf);		/* 32-bit prefetchable memory */
	ASSERT_EQ(4, pwrite(fd, &ones, 4, cfg_off + 0x10));
	ASSERT_EQ(4, pread(fd, &val, 4, cfg_off + 0x10));
	EXPECT_EQ((__u32)~(self->bar0_size - 1) | 0x8, val);
	ASSERT_EQ(4, pwrite(fd, &ones, 4, cfg_off + 0x14));
	ASSERT_EQ(4, pread(fd, &val, 4, cfg_off + 0x14));
	EXPECT_EQ(0, val);
	ASSERT_EQ(4, pwrite(fd, &ones, 4, cfg_off + 0x30));
	ASSERT_EQ(4, pread(fd, &val, 4, cfg_off + 0x30));
	EXPECT_EQ(0, val);
	if (variant->dmabuf) {
		ASSERT_EQ(4, pwrite(fd, &ones, 4, cfg_off + 0x18));
		ASSERT_EQ(4, pread(fd, &val, 4, cfg_off + 0x18));
		EXPECT_EQ(~(4096u - 1), val);
	}

	/* Read-only fields stay put */
	ASSERT_EQ(2, pwrite(fd, &junk, 2, cfg_off));
	ASSERT_EQ(2, pread(fd, &vendor, 2, cfg_off));
	EXPECT_EQ(variant->dmabuf ? 0x1234 : 0x1b36, vendor);

	/* The end of config space */
	EXPECT_EQ(4, pread(fd, cfg, 8, cfg_off + 252));
	EXPECT_EQ(-1, pread(fd, &val, 4, cfg_off + 256));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, pwrite(fd, &val, 4, cfg_off + 256));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(display, region_rw_bounds)
{
	int fd = self->h.device;
	__u64 bar0 = vfio_region_offset(fd, VFIO_PCI_BAR0_REGION_INDEX);
	__u64 bar1 = vfio_region_offset(fd, VFIO_PCI_BAR1_REGION_INDEX);
	__u64 extra = vfio_region_offset(fd, EXTRA_REGION);
	__u64 next = vfio_region_offset(fd, NUM_REGIONS - 1) + (1ULL << 40);
	__u32 val = 0;

	EXPECT_EQ(-1, pread(fd, &val, 4, bar1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, pread(fd, &val, 4, bar0 + self->bar0_size));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, pwrite(fd, &val, 4, bar0 + self->bar0_size));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, pread(fd, &val, 4, next));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, pread(fd, &val, 4, 1ULL << 62));
	EXPECT_EQ(EINVAL, errno);
	/* Short at the end of the framebuffer */
	EXPECT_EQ(2, pread(fd, &val, 4, bar0 + self->bar0_size - 2));
	EXPECT_EQ(0, pread(fd, &val, 0, bar0));
	EXPECT_NE(~0ULL, extra);
}

TEST_F(display, plane_flags)
{
	struct vfio_device_gfx_plane_info plane;
	__u32 mine = variant->dmabuf ? VFIO_GFX_PLANE_TYPE_DMABUF :
				       VFIO_GFX_PLANE_TYPE_REGION;
	__u32 other = variant->dmabuf ? VFIO_GFX_PLANE_TYPE_REGION :
					VFIO_GFX_PLANE_TYPE_DMABUF;
	int fd = self->h.device;

	EXPECT_EQ(0, query_plane(fd, VFIO_GFX_PLANE_TYPE_PROBE | mine,
				 PLANE_PRIMARY, &plane));
	EXPECT_EQ(-EINVAL, query_plane(fd, VFIO_GFX_PLANE_TYPE_PROBE | other,
				       PLANE_PRIMARY, &plane));
	EXPECT_EQ(-EINVAL, query_plane(fd, VFIO_GFX_PLANE_TYPE_PROBE,
				       PLANE_PRIMARY, &plane));
	EXPECT_EQ(-EINVAL, query_plane(fd, VFIO_GFX_PLANE_TYPE_PROBE | mine |
				       other, PLANE_PRIMARY, &plane));
	EXPECT_EQ(-EINVAL, query_plane(fd, 0, PLANE_PRIMARY, &plane));
	EXPECT_EQ(-EINVAL, query_plane(fd, other, PLANE_PRIMARY, &plane));
	EXPECT_EQ(-EINVAL, query_plane(fd, mine | other, PLANE_PRIMARY,
				       &plane));
	EXPECT_EQ(-EINVAL, query_plane(fd, mine | 1u << 3, PLANE_PRIMARY,
				       &plane));
	EXPECT_EQ(-EINVAL, query_plane(fd, mine | 1u << 31, PLANE_PRIMARY,
				       &plane));
	EXPECT_EQ(-EINVAL, query_plane(fd, mine, PLANE_CURSOR + 1, &plane));
	EXPECT_EQ(-EINVAL, query_plane(fd, mine, UINT32_MAX, &plane));

	/* Too small */
	memset(&plane, 0, sizeof(plane));
	plane.argsz = GFX_PLANE_MINSZ - 1;
	plane.flags = mine;
	plane.drm_plane_type = PLANE_PRIMARY;
	EXPECT_EQ(-1, ioctl(fd, VFIO_DEVICE_QUERY_GFX_PLANE, &plane));
	EXPECT_EQ(EINVAL, errno);
	plane.argsz = GFX_PLANE_MINSZ;
	EXPECT_EQ(0, ioctl(fd, VFIO_DEVICE_QUERY_GFX_PLANE, &plane));
}

TEST_F(display, plane_query)
{
	struct {
		struct vfio_device_gfx_plane_info plane;
		__u8 tail;
	} big;
	struct vfio_device_gfx_plane_info plane, again;
	struct vfio_region_info region;
	__u32 stride = variant->width * 4;
	int fd = self->h.device;

	if (variant->dmabuf) {
		/* Nothing programmed: a disabled plane */
		ASSERT_EQ(0, query_plane(fd, VFIO_GFX_PLANE_TYPE_DMABUF,
					 PLANE_PRIMARY, &plane));
		EXPECT_EQ(0, plane.drm_format);
		EXPECT_EQ(0, plane.width);
		EXPECT_EQ(0, plane.size);
		EXPECT_EQ(0, plane.dmabuf_id);

		ASSERT_EQ(0, bochs_set_mode(fd, 640, 480, 0));
		ASSERT_EQ(0, query_plane(fd, VFIO_GFX_PLANE_TYPE_DMABUF,
					 PLANE_PRIMARY, &plane));
		EXPECT_EQ(FOURCC_XRGB8888, plane.drm_format);
		EXPECT_EQ(0, plane.drm_format_mod);
		EXPECT_EQ(640, plane.width);
		EXPECT_EQ(480, plane.height);
		EXPECT_EQ(640 * 4, plane.stride);
		EXPECT_EQ(640 * 4 * 480, plane.size);
		EXPECT_NE(0, plane.dmabuf_id);

		/* The same layout keeps its ID, another gets a new one */
		ASSERT_EQ(0, query_plane(fd, VFIO_GFX_PLANE_TYPE_DMABUF,
					 PLANE_PRIMARY, &again));
		EXPECT_EQ(plane.dmabuf_id, again.dmabuf_id);
		ASSERT_EQ(0, bochs_set_mode(fd, 320, 240, 0));
		ASSERT_EQ(0, query_plane(fd, VFIO_GFX_PLANE_TYPE_DMABUF,
					 PLANE_PRIMARY, &again));
		EXPECT_EQ(320, again.width);
		EXPECT_NE(plane.dmabuf_id, again.dmabuf_id);
		EXPECT_NE(0, again.dmabuf_id);

		/* A framebuffer that is not page aligned cannot be shown */
		ASSERT_EQ(0, dispi_write(fd, DISPI_X_OFFSET, 1));
		ASSERT_EQ(0, query_plane(fd, VFIO_GFX_PLANE_TYPE_DMABUF,
					 PLANE_PRIMARY, &again));
		EXPECT_EQ(0, again.width);
		EXPECT_EQ(0, again.dmabuf_id);
		/* Nor one beyond video memory */
		ASSERT_EQ(0, dispi_write(fd, DISPI_X_OFFSET, 0));
		ASSERT_EQ(0, dispi_write(fd, DISPI_Y_OFFSET, 65535));
		ASSERT_EQ(0, query_plane(fd, VFIO_GFX_PLANE_TYPE_DMABUF,
					 PLANE_PRIMARY, &again));
		EXPECT_EQ(0, again.size);
		ASSERT_EQ(0, bochs_set_mode(fd, 640, 480, 0));
	} else {
		ASSERT_EQ(0, query_plane(fd, VFIO_GFX_PLANE_TYPE_REGION,
					 PLANE_PRIMARY, &plane));
		EXPECT_EQ(FOURCC_XRGB8888, plane.drm_format);
		EXPECT_EQ(0, plane.drm_format_mod);
		EXPECT_EQ(variant->width, plane.width);
		EXPECT_EQ(variant->height, plane.height);
		EXPECT_EQ(stride, plane.stride);
		EXPECT_LE(stride * variant->height, plane.size);
		EXPECT_EQ(0, plane.size % page_size);
		EXPECT_EQ(EXTRA_REGION, plane.region_index);

		/* The region named is mappable and holds the picture */
		ASSERT_EQ(0, vfio_get_region_info(fd, plane.region_index, &region));
		EXPECT_TRUE(region.flags & VFIO_REGION_INFO_FLAG_MMAP);
		EXPECT_LE(plane.size, region.size);
	}

	/* No cursor */
	ASSERT_EQ(0, query_plane(fd, variant->dmabuf ?
				 VFIO_GFX_PLANE_TYPE_DMABUF :
				 VFIO_GFX_PLANE_TYPE_REGION,
				 PLANE_CURSOR, &again));
	EXPECT_EQ(0, again.width);
	EXPECT_EQ(0, again.size);

	/*
	 * QEMU asks for a region plane without naming the plane type (0, an
	 * overlay): mdpy must answer with its framebuffer.  mbochs has no
	 * overlay.
	 */
	ASSERT_EQ(0, query_plane(fd, variant->dmabuf ?
				 VFIO_GFX_PLANE_TYPE_DMABUF :
				 VFIO_GFX_PLANE_TYPE_REGION,
				 PLANE_OVERLAY, &again));
	if (variant->dmabuf) {
		EXPECT_EQ(0, again.width);
	} else {
		EXPECT_EQ(plane.width, again.width);
		EXPECT_EQ(plane.region_index, again.region_index);
	}

	/* Larger than known: the tail is left alone */
	memset(&big, 0, sizeof(big));
	big.plane.argsz = sizeof(big);
	big.plane.flags = variant->dmabuf ? VFIO_GFX_PLANE_TYPE_DMABUF :
					    VFIO_GFX_PLANE_TYPE_REGION;
	big.plane.drm_plane_type = PLANE_PRIMARY;
	big.plane.reserved = 0x5a5a5a5a;
	big.tail = 0xa5;
	ASSERT_EQ(0, ioctl(fd, VFIO_DEVICE_QUERY_GFX_PLANE, &big));
	EXPECT_EQ(plane.width, big.plane.width);
	EXPECT_EQ(plane.region_index, big.plane.region_index);
	EXPECT_EQ(0x5a5a5a5a, big.plane.reserved);
	EXPECT_EQ(0xa5, big.tail);
}

/*
 * Write a word into every page of a mapping of BAR0, read it back with
 * pread() of the region, and the other way round.
 */
TEST_F(display, fb_mmap)
{
	int fd = self->h.device;
	__u64 bar0 = vfio_region_offset(fd, VFIO_PCI_BAR0_REGION_INDEX);
	__u64 size = self->bar0_size;
	__u32 *map, *map2, val;
	__u64 off;

	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, bar0);
	ASSERT_NE(MAP_FAILED, map);

	for (off = 0; off < size; off += page_size)
		map[(off + 4 * (off / page_size % 64)) / 4] = pattern(off);
	for (off = 0; off < size; off += page_size) {
		__u64 where = off + 4 * (off / page_size % 64);

		ASSERT_EQ(4, pread(fd, &val, 4, bar0 + where));
		ASSERT_EQ(pattern(off), val);
	}

	/* pwrite is seen through the mapping */
	val = 0xdeadbeef;
	ASSERT_EQ(4, pwrite(fd, &val, 4, bar0 + size - 4));
	EXPECT_EQ(0xdeadbeef, map[size / 4 - 1]);
	ASSERT_EQ(4, pwrite(fd, &val, 4, bar0 + page_size + 8));
	EXPECT_EQ(0xdeadbeef, map[(page_size + 8) / 4]);

	/* A partial mapping at an offset */
	map2 = mmap(NULL, page_size, PROT_READ, MAP_SHARED, fd,
		    bar0 + page_size);
	ASSERT_NE(MAP_FAILED, map2);
	EXPECT_EQ(0xdeadbeef, map2[2]);
	munmap(map2, page_size);

	if (!variant->dmabuf) {
		/* mdpy's display region is the same memory */
		map2 = mmap(NULL, size, PROT_READ, MAP_SHARED, fd,
			    vfio_region_offset(fd, EXTRA_REGION));
		ASSERT_NE(MAP_FAILED, map2);
		EXPECT_EQ(0, memcmp(map, map2, size));
		munmap(map2, size);
	}

	/* The mapping cannot grow past the region */
	map2 = mremap(map, size, size + page_size, 0);
	EXPECT_EQ(MAP_FAILED, map2);
	munmap(map, size);

	/* Bad mappings */
	EXPECT_EQ(MAP_FAILED, mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd,
				   bar0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, size + page_size, PROT_READ,
				   MAP_SHARED, fd, bar0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, page_size * 2, PROT_READ,
				   MAP_SHARED, fd, bar0 + size - page_size));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, page_size, PROT_READ, MAP_SHARED, fd,
				   bar0 + size));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, page_size, PROT_READ, MAP_SHARED, fd,
				   vfio_region_offset(fd, VFIO_PCI_CONFIG_REGION_INDEX)));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, page_size, PROT_READ, MAP_SHARED, fd,
				   vfio_region_offset(fd, VFIO_PCI_BAR2_REGION_INDEX)));
	EXPECT_EQ(EINVAL, errno);
}

/* A larger block through pwrite and pread, across page boundaries */
TEST_F(display, fb_rw_block)
{
	int fd = self->h.device;
	__u64 bar0 = vfio_region_offset(fd, VFIO_PCI_BAR0_REGION_INDEX);
	size_t len = 3 * page_size + 100, i;
	__u8 *out, *in;

	out = malloc(len);
	in = malloc(len);
	ASSERT_NE(NULL, out);
	ASSERT_NE(NULL, in);
	for (i = 0; i < len; i++)
		out[i] = i * 7 + 3;
	ASSERT_EQ(len, pwrite(fd, out, len, bar0 + page_size - 50));
	ASSERT_EQ(len, pread(fd, in, len, bar0 + page_size - 50));
	EXPECT_EQ(0, memcmp(out, in, len));
	free(out);
	free(in);
}

TEST_F(display, reset)
{
	struct vfio_device_gfx_plane_info plane;
	int fd = self->h.device;
	__u64 cfg_off = vfio_region_offset(fd, VFIO_PCI_CONFIG_REGION_INDEX);
	__u32 ones = UINT32_MAX, val;

	ASSERT_EQ(4, pwrite(fd, &ones, 4, cfg_off + 0x10));
	if (variant->dmabuf)
		ASSERT_EQ(0, bochs_set_mode(fd, 640, 480, 0));

	ASSERT_EQ(0, ioctl(fd, VFIO_DEVICE_RESET));

	ASSERT_EQ(4, pread(fd, &val, 4, cfg_off + 0x10));
	EXPECT_EQ(0x8, val);
	if (variant->dmabuf) {
		ASSERT_EQ(0, query_plane(fd, VFIO_GFX_PLANE_TYPE_DMABUF,
					 PLANE_PRIMARY, &plane));
		EXPECT_EQ(0, plane.width);
		EXPECT_EQ(0xb0c5, dispi_read(fd, DISPI_ID));
	}
}

TEST_F(display, dispi_registers)
{
	int fd = self->h.device;
	__u8 byte;

	if (!variant->dmabuf)
		SKIP(return, "mdpy has no dispi registers");

	EXPECT_EQ(0xb0c5, dispi_read(fd, DISPI_ID));
	EXPECT_EQ(variant->vram_mb * 16, dispi_read(fd, DISPI_VIDEO_MEMORY_64K));

	/* Read-only */
	ASSERT_EQ(0, dispi_write(fd, DISPI_ID, 0xb0c0));
	EXPECT_EQ(0xb0c5, dispi_read(fd, DISPI_ID));
	ASSERT_EQ(0, dispi_write(fd, DISPI_VIDEO_MEMORY_64K, 1));
	EXPECT_EQ(variant->vram_mb * 16, dispi_read(fd, DISPI_VIDEO_MEMORY_64K));

	/* Writable, also byte by byte */
	ASSERT_EQ(0, dispi_write(fd, DISPI_XRES, 1234));
	EXPECT_EQ(1234, dispi_read(fd, DISPI_XRES));
	byte = 0x02;
	ASSERT_EQ(0, region_pwrite(fd, VFIO_PCI_BAR2_REGION_INDEX,
				   MMIO_DISPI + 2 * DISPI_XRES + 1, &byte, 1));
	EXPECT_EQ(0x02d2, dispi_read(fd, DISPI_XRES));

	/* Legacy VGA ports and unknown registers read as zero */
	ASSERT_EQ(0, region_pread(fd, VFIO_PCI_BAR2_REGION_INDEX, 0x400,
				  &byte, 1));
	EXPECT_EQ(0, byte);
	ASSERT_EQ(0, region_pread(fd, VFIO_PCI_BAR2_REGION_INDEX, 0xfff,
				  &byte, 1));
	EXPECT_EQ(0, byte);
}

TEST_F(display, edid)
{
	struct vfio_region_gfx_edid regs;
	int fd = self->h.device;
	__u8 blob[128], seen[128];
	__u32 val;
	int i;

	if (!variant->dmabuf)
		SKIP(return, "mdpy has no EDID region");

	ASSERT_EQ(0, region_pread(fd, EXTRA_REGION, 0, &regs, sizeof(regs)));
	EXPECT_LE(sizeof(regs), regs.edid_offset);
	EXPECT_LE(128, regs.edid_max_size);
	EXPECT_EQ(0, regs.edid_size);
	EXPECT_EQ(VFIO_DEVICE_GFX_LINK_STATE_DOWN, regs.link_state);
	EXPECT_EQ(variant->max_xres, regs.max_xres);

#define EDID_REG(field) offsetof(struct vfio_region_gfx_edid, field)
	/* Read-only registers, bad values, bad sizes and alignment */
	val = 0;
	EXPECT_EQ(-EPERM, region_pwrite(fd, EXTRA_REGION,
					EDID_REG(edid_offset), &val, 4));
	EXPECT_EQ(-EPERM, region_pwrite(fd, EXTRA_REGION, EDID_REG(max_xres),
					&val, 4));
	val = regs.edid_max_size + 1;
	EXPECT_EQ(-EINVAL, region_pwrite(fd, EXTRA_REGION,
					 EDID_REG(edid_size), &val, 4));
	val = 3;
	EXPECT_EQ(-EINVAL, region_pwrite(fd, EXTRA_REGION,
					 EDID_REG(link_state), &val, 4));
	val = 0;
	EXPECT_EQ(-EINVAL, region_pwrite(fd, EXTRA_REGION,
					 EDID_REG(link_state), &val, 4));
	EXPECT_EQ(-EINVAL, region_pwrite(fd, EXTRA_REGION,
					 EDID_REG(edid_size), &val, 2));
	EXPECT_EQ(-EINVAL, region_pwrite(fd, EXTRA_REGION,
					 EDID_REG(edid_size) + 2, &val, 4));
	EXPECT_EQ(-EINVAL, region_pwrite(fd, EXTRA_REGION,
					 EDID_REG(edid_size), &regs, 8));
	EXPECT_EQ(-EINVAL, region_pwrite(fd, EXTRA_REGION, sizeof(regs),
					 &val, 4));

	/* The update protocol: link down, blob and size, link up */
	memset(blob, 0, sizeof(blob));
	blob[0] = 0x00;
	for (i = 1; i < 7; i++)
		blob[i] = 0xff;
	for (i = 8; i < 128; i++)
		blob[i] = i;
	val = VFIO_DEVICE_GFX_LINK_STATE_DOWN;
	ASSERT_EQ(0, region_pwrite(fd, EXTRA_REGION, EDID_REG(link_state),
				   &val, 4));
	ASSERT_EQ(0, region_pwrite(fd, EXTRA_REGION, regs.edid_offset, blob,
				   sizeof(blob)));
	val = sizeof(blob);
	ASSERT_EQ(0, region_pwrite(fd, EXTRA_REGION, EDID_REG(edid_size),
				   &val, 4));

	/* The guest sees nothing while the link is down */
	ASSERT_EQ(0, region_pread(fd, VFIO_PCI_BAR2_REGION_INDEX, 0, seen,
				  sizeof(seen)));
	for (i = 0; i < 128; i++)
		ASSERT_EQ(0, seen[i]);

	val = VFIO_DEVICE_GFX_LINK_STATE_UP;
	ASSERT_EQ(0, region_pwrite(fd, EXTRA_REGION, EDID_REG(link_state),
				   &val, 4));
	ASSERT_EQ(0, region_pread(fd, EXTRA_REGION, 0, &regs, sizeof(regs)));
	EXPECT_EQ(128, regs.edid_size);
	EXPECT_EQ(VFIO_DEVICE_GFX_LINK_STATE_UP, regs.link_state);

	/* ... and the blob once it is up, byte by byte as bochs reads it */
	for (i = 0; i < 128; i++)
		ASSERT_EQ(0, region_pread(fd, VFIO_PCI_BAR2_REGION_INDEX, i,
					  &seen[i], 1));
	EXPECT_EQ(0, memcmp(blob, seen, sizeof(blob)));
	/* Past edid_size: zero */
	ASSERT_EQ(0, region_pread(fd, VFIO_PCI_BAR2_REGION_INDEX, 128, seen,
				  4));
	EXPECT_EQ(0, seen[0] | seen[1] | seen[2] | seen[3]);
	/* The host reads the blob back */
	ASSERT_EQ(0, region_pread(fd, EXTRA_REGION, regs.edid_offset, seen,
				  sizeof(seen)));
	EXPECT_EQ(0, memcmp(blob, seen, sizeof(blob)));
#undef EDID_REG
}

TEST_F(display, dmabuf_export)
{
	struct vfio_device_gfx_plane_info plane;
	int fd = self->h.device;
	__u32 line[640], *map, *map2;
	int dfd, dfd2;
	__u32 id, y, x;
	off_t size;

	if (!variant->dmabuf)
		SKIP(return, "mdpy has no dma-buf planes");

	/* A picture, at a page-aligned y offset */
	ASSERT_EQ(0, bochs_set_mode(fd, 640, 480, 16));
	for (y = 0; y < 480; y += 37) {
		for (x = 0; x < 640; x++)
			line[x] = pattern(y * 640 + x);
		ASSERT_EQ(0, region_pwrite(fd, VFIO_PCI_BAR0_REGION_INDEX,
					   (16 + y) * 640 * 4, line,
					   sizeof(line)));
	}

	ASSERT_EQ(0, query_plane(fd, VFIO_GFX_PLANE_TYPE_DMABUF, PLANE_PRIMARY,
				 &plane));
	ASSERT_EQ(640, plane.width);
	id = plane.dmabuf_id;
	dfd = ioctl(fd, VFIO_DEVICE_GET_GFX_DMABUF, &id);
	ASSERT_LE(0, dfd);
	EXPECT_TRUE(fcntl(dfd, F_GETFD) & FD_CLOEXEC);
	size = lseek(dfd, 0, SEEK_END);
	EXPECT_EQ(plane.size, size);

	map = mmap(NULL, plane.size, PROT_READ | PROT_WRITE, MAP_SHARED, dfd, 0);
	ASSERT_NE(MAP_FAILED, map);
	for (y = 0; y < 480; y += 37)
		for (x = 0; x < 640; x++)
			ASSERT_EQ(pattern(y * 640 + x), map[y * 640 + x]);

	/* A second dma-buf of the same plane sees the same memory */
	dfd2 = ioctl(fd, VFIO_DEVICE_GET_GFX_DMABUF, &id);
	ASSERT_LE(0, dfd2);
	EXPECT_NE(dfd, dfd2);
	map2 = mmap(NULL, plane.size, PROT_READ, MAP_SHARED, dfd2, 0);
	ASSERT_NE(MAP_FAILED, map2);
	map[5] = 0x12345678;
	EXPECT_EQ(0x12345678, map2[5]);
	munmap(map2, plane.size);
	close(dfd2);

	/* Private or oversized mappings of the dma-buf are refused */
	EXPECT_EQ(MAP_FAILED, mmap(NULL, plane.size, PROT_READ, MAP_PRIVATE,
				   dfd, 0));
	EXPECT_EQ(MAP_FAILED, mmap(NULL, plane.size + page_size, PROT_READ,
				   MAP_SHARED, dfd, 0));

	/* Unknown IDs */
	id = 0;
	EXPECT_EQ(-1, ioctl(fd, VFIO_DEVICE_GET_GFX_DMABUF, &id));
	EXPECT_EQ(ENOENT, errno);
	id = plane.dmabuf_id + 1000;
	EXPECT_EQ(-1, ioctl(fd, VFIO_DEVICE_GET_GFX_DMABUF, &id));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(-1, ioctl(fd, VFIO_DEVICE_GET_GFX_DMABUF, NULL));
	EXPECT_EQ(EFAULT, errno);

	munmap(map, plane.size);
	close(dfd);
}

/* A display without dma-buf planes refuses to export one */
TEST_F(display, no_dmabuf)
{
	__u32 id = 1;

	if (variant->dmabuf)
		SKIP(return, "mbochs has dma-buf planes (dmabuf_export)");

	EXPECT_EQ(-1, ioctl(self->h.device, VFIO_DEVICE_GET_GFX_DMABUF, &id));
	EXPECT_EQ(ENOTTY, errno);
}

/*
 * Only eight layouts are remembered; the oldest is forgotten, but a dma-buf
 * already exported of it stays valid.
 */
TEST_F(display, dmabuf_plane_eviction)
{
	struct vfio_device_gfx_plane_info plane;
	int fd = self->h.device;
	__u32 first_id, id, *map;
	int dfd, i;

	if (!variant->dmabuf)
		SKIP(return, "mdpy has no dma-buf planes");

	ASSERT_EQ(0, bochs_set_mode(fd, 128, 64, 0));
	ASSERT_EQ(0, query_plane(fd, VFIO_GFX_PLANE_TYPE_DMABUF, PLANE_PRIMARY,
				 &plane));
	first_id = plane.dmabuf_id;
	dfd = ioctl(fd, VFIO_DEVICE_GET_GFX_DMABUF, &first_id);
	ASSERT_LE(0, dfd);

	for (i = 1; i <= 8; i++) {
		ASSERT_EQ(0, bochs_set_mode(fd, 128, 64 + i, 0));
		ASSERT_EQ(0, query_plane(fd, VFIO_GFX_PLANE_TYPE_DMABUF,
					 PLANE_PRIMARY, &plane));
	}
	id = first_id;
	EXPECT_EQ(-1, ioctl(fd, VFIO_DEVICE_GET_GFX_DMABUF, &id));
	EXPECT_EQ(ENOENT, errno);
	id = plane.dmabuf_id;
	i = ioctl(fd, VFIO_DEVICE_GET_GFX_DMABUF, &id);
	EXPECT_LE(0, i);
	close(i);

	map = mmap(NULL, page_size, PROT_READ | PROT_WRITE, MAP_SHARED, dfd, 0);
	ASSERT_NE(MAP_FAILED, map);
	map[0] = 42;
	munmap(map, page_size);
	close(dfd);
}

/*
 * A dma-buf keeps the device state, and its share of the memory pool, after
 * the device is closed and removed; closing the dma-buf frees both.
 */
TEST_F(display, dmabuf_outlives_device)
{
	struct vfio_device_gfx_plane_info plane;
	int fd = self->h.device;
	__u32 line[64], *map, id, x;
	int dfd;

	if (!variant->dmabuf)
		SKIP(return, "mdpy has no dma-buf planes");

	ASSERT_EQ(0, bochs_set_mode(fd, 64, 64, 0));
	for (x = 0; x < 64; x++)
		line[x] = pattern(x);
	ASSERT_EQ(0, region_pwrite(fd, VFIO_PCI_BAR0_REGION_INDEX, 0, line,
				   sizeof(line)));
	ASSERT_EQ(0, query_plane(fd, VFIO_GFX_PLANE_TYPE_DMABUF, PLANE_PRIMARY,
				 &plane));
	id = plane.dmabuf_id;
	dfd = ioctl(fd, VFIO_DEVICE_GET_GFX_DMABUF, &id);
	ASSERT_LE(0, dfd);
	map = mmap(NULL, plane.size, PROT_READ, MAP_SHARED, dfd, 0);
	ASSERT_NE(MAP_FAILED, map);

	vfio_close(&self->h);
	ASSERT_EQ(0, mdev_remove(self->uuid));
	self->created = false;

	/* Removed, but its memory is still in use */
	EXPECT_EQ(self->avail_before - 1,
		  available(variant->parent, variant->type));
	for (x = 0; x < 64; x++)
		ASSERT_EQ(pattern(x), map[x]);

	munmap(map, plane.size);
	close(dfd);
	EXPECT_EQ(self->avail_before,
		  available_wait(variant->parent, variant->type,
				 self->avail_before));
}

struct remover {
	const char *uuid;
	int ret;
};

static void *remove_thread(void *arg)
{
	struct remover *r = arg;

	r->ret = mdev_remove(r->uuid);
	return NULL;
}

/*
 * Removing a device that is open asks its user to let go through the
 * request interrupt; the removal completes once the device is closed.
 */
TEST_F_TIMEOUT(display, request_on_remove, 90)
{
	struct remover r = { .uuid = self->uuid, .ret = 1 };
	struct pollfd pfd;
	pthread_t thread;
	__u64 count;
	int efd;

	efd = eventfd(0, EFD_CLOEXEC);
	ASSERT_LE(0, efd);
	ASSERT_EQ(0, req_set(self->h.device, efd));

	ASSERT_EQ(0, pthread_create(&thread, NULL, remove_thread, &r));
	pfd.fd = efd;
	pfd.events = POLLIN;
	EXPECT_EQ(1, poll(&pfd, 1, 60000));
	if (pfd.revents & POLLIN)
		EXPECT_EQ(sizeof(count), read(efd, &count, sizeof(count)));

	/* Still there until closed */
	EXPECT_EQ(1, r.ret);
	vfio_close(&self->h);
	ASSERT_EQ(0, pthread_join(thread, NULL));
	EXPECT_EQ(0, r.ret);
	self->created = r.ret != 0;
	close(efd);
	EXPECT_EQ(self->avail_before,
		  available_wait(variant->parent, variant->type,
				 self->avail_before));
}

/* Vendor attributes of the device and the type's description */
TEST_F(display, sysfs_attributes)
{
	char path[PATH_MAX], buf[128], want[128];

	type_path(path, sizeof(path), variant->parent, variant->type,
		  "device_api");
	ASSERT_EQ(0, sysfs_read_str(path, buf, sizeof(buf)));
	EXPECT_STREQ("vfio-pci\n", buf);

	type_path(path, sizeof(path), variant->parent, variant->type,
		  "description");
	ASSERT_EQ(0, sysfs_read_str(path, buf, sizeof(buf)));
	if (variant->dmabuf)
		snprintf(want, sizeof(want),
			 "virtual display, %u MB video memory\n",
			 variant->vram_mb);
	else
		snprintf(want, sizeof(want),
			 "virtual display, %ux%u framebuffer\n",
			 variant->width, variant->height);
	EXPECT_STREQ(want, buf);

	type_path(path, sizeof(path), variant->parent, variant->type, "name");
	ASSERT_EQ(0, sysfs_read_str(path, buf, sizeof(buf)));
	snprintf(want, sizeof(want), "%s-%s\n", variant->parent,
		 variant->type);
	EXPECT_STREQ(want, buf);

	if (variant->dmabuf) {
		snprintf(path, sizeof(path),
			 MDEV_DEVICES "/%s/vendor/memory", self->uuid);
		snprintf(want, sizeof(want), "%u MB\n", variant->vram_mb);
	} else {
		snprintf(path, sizeof(path),
			 MDEV_DEVICES "/%s/vendor/resolution", self->uuid);
		snprintf(want, sizeof(want), "%ux%u\n", variant->width,
			 variant->height);
	}
	ASSERT_EQ(0, sysfs_read_str(path, buf, sizeof(buf)));
	EXPECT_STREQ(want, buf);

	type_path(path, sizeof(path), variant->parent, variant->type,
		  "devices/");
	strncat(path, self->uuid, sizeof(path) - strlen(path) - 1);
	EXPECT_EQ(0, access(path, F_OK));
}

/* Instance accounting */

#define MAX_TEST_DEVICES 32

static const char * const mdpy_type_names[] = { "vga", "xga", "hd" };
static const char * const mbochs_type_names[] = { "small", "medium", "large" };

static long count_devices(const char *parent, const char * const *types,
			  int nr_types)
{
	char path[PATH_MAX];
	struct dirent *de;
	long n = 0;
	DIR *dir;
	int i;

	for (i = 0; i < nr_types; i++) {
		type_path(path, sizeof(path), parent, types[i], "devices");
		dir = opendir(path);
		if (!dir)
			return -1;
		while ((de = readdir(dir)))
			if (de->d_name[0] != '.')
				n++;
		closedir(dir);
	}
	return n;
}

/*
 * mdpy's count parameter is the core's max_instances: one budget across
 * all three types.
 */
TEST(mdpy_instances)
{
	char uuids[MAX_TEST_DEVICES][UUID_LEN + 1];
	long count, live, left, i, t;
	int created = 0, ret;
	char extra[UUID_LEN + 1];

	/* Whether to skip, before anything is checked */
	if (!type_exists("mdpy", "vga"))
		SKIP(return, "mdpy is not loaded");
	count = sysfs_read_long("/sys/module/mdpy/parameters/count");
	live = count_devices("mdpy", mdpy_type_names, 3);
	left = count - live;
	if (count >= 0 && live >= 0 && left > MAX_TEST_DEVICES)
		SKIP(return, "count=%ld is too many to exhaust here", count);

	ASSERT_LE(0, count);
	ASSERT_LE(0, live);
	for (t = 0; t < 3; t++)
		ASSERT_EQ(left, available("mdpy", mdpy_type_names[t]));

	/* Use them all up, round robin over the types */
	for (i = 0; i < left; i++) {
		mdev_new_uuid(uuids[i]);
		ret = type_create("mdpy", mdpy_type_names[i % 3], uuids[i]);
		EXPECT_EQ(0, ret);
		if (ret)
			break;
		created++;
		for (t = 0; t < 3; t++)
			EXPECT_EQ(left - i - 1,
				  available("mdpy", mdpy_type_names[t]));
	}

	if (created == left) {
		for (t = 0; t < 3; t++) {
			mdev_new_uuid(extra);
			EXPECT_EQ(-EUSERS, type_create("mdpy",
						       mdpy_type_names[t],
						       extra));
		}
	}

	/* And give them back */
	for (i = created - 1; i >= 0; i--) {
		EXPECT_EQ(0, mdev_remove(uuids[i]));
		for (t = 0; t < 3; t++)
			EXPECT_EQ(left - i, available("mdpy",
						      mdpy_type_names[t]));
	}
}

/*
 * mbochs's types share one video memory pool: what is left of a type
 * depends on the devices of all types.
 */
TEST(mbochs_instances)
{
	static const long mb[] = { 4, 16, 64 };
	char uuids[MAX_TEST_DEVICES][UUID_LEN + 1];
	long pool, used = 0, free_mb, i, t, n, c[3];
	char medium[UUID_LEN + 1], extra[UUID_LEN + 1];
	int created = 0, ret;

	/* Whether to skip, before anything is checked */
	if (!type_exists("mbochs", "small"))
		SKIP(return, "mbochs is not loaded");
	pool = sysfs_read_long("/sys/module/mbochs/parameters/mem");
	for (t = 0; t < 3; t++) {
		c[t] = count_devices("mbochs", &mbochs_type_names[t], 1);
		used += c[t] * mb[t];
	}
	free_mb = pool - used;
	if (pool >= 0 && c[0] >= 0 && c[1] >= 0 && c[2] >= 0 && free_mb < 16)
		SKIP(return, "only %ld MB of the pool left", free_mb);

	ASSERT_LE(0, pool);
	for (t = 0; t < 3; t++)
		ASSERT_LE(0, c[t]);
	for (t = 0; t < 3; t++)
		ASSERT_EQ(free_mb / mb[t],
			  available_wait("mbochs", mbochs_type_names[t],
					 free_mb / mb[t]));

	/* One medium device takes 16 MB from every type's share */
	mdev_new_uuid(medium);
	ASSERT_EQ(0, type_create("mbochs", "medium", medium));
	for (t = 0; t < 3; t++)
		EXPECT_EQ((free_mb - 16) / mb[t],
			  available("mbochs", mbochs_type_names[t]));
	EXPECT_EQ(0, mdev_remove(medium));
	for (t = 0; t < 3; t++)
		EXPECT_EQ(free_mb / mb[t],
			  available_wait("mbochs", mbochs_type_names[t],
					 free_mb / mb[t]));

	/* Exhaust the pool with the largest type that fits, then smaller */
	n = 0;
	for (t = 2; t >= 0; t--) {
		while (available("mbochs", mbochs_type_names[t]) > 0 &&
		       n < MAX_TEST_DEVICES) {
			mdev_new_uuid(uuids[n]);
			ret = type_create("mbochs", mbochs_type_names[t],
					  uuids[n]);
			EXPECT_EQ(0, ret);
			if (ret)
				break;
			n++;
			created++;
		}
	}
	if (n < MAX_TEST_DEVICES) {
		for (t = 0; t < 3; t++) {
			EXPECT_EQ(0, available("mbochs",
					       mbochs_type_names[t]));
			mdev_new_uuid(extra);
			EXPECT_EQ(-ENOSPC, type_create("mbochs",
						       mbochs_type_names[t],
						       extra));
		}
	}

	for (i = created - 1; i >= 0; i--)
		EXPECT_EQ(0, mdev_remove(uuids[i]));
	for (t = 0; t < 3; t++)
		EXPECT_EQ(free_mb / mb[t],
			  available_wait("mbochs", mbochs_type_names[t],
					 free_mb / mb[t]));
}

TEST_HARNESS_MAIN
