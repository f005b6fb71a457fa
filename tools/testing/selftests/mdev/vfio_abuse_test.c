// SPDX-License-Identifier: GPL-2.0-only
/*
 * Abuse of the VFIO device uAPI, the same tables on every type of every
 * sample driver: mtty (through the generic vfio_mdev driver), mdpy and
 * mbochs (their own VFIO drivers).
 *
 * Each test runs on a fresh device of one type (one fixture variant per
 * type, skipped when its parent is not loaded), created through sysfs in
 * the setup, opened through a type1 container, and removed in the
 * teardown, which also checks that the type's instance came back.  The
 * tests feed the device bad argsz values with a non-zero tail, unknown
 * flags, out-of-range region and interrupt indexes, bad SET_IRQS ranges
 * and data, reads, writes and mappings across and beyond the end of every
 * region, and bad dma-buf IDs; every case names the exact result wanted.
 * After every test the device must answer as it did before: the same
 * device, region and interrupt info and the same configuration space.
 *
 * Where the VFIO core decides, the errno is the core's (6.12).  Where the
 * driver decides, it is what the vfio-pci convention gives: -EINVAL for
 * bad sizes, flags and indexes and for an access that starts at or beyond
 * the end of a region, -EBADF for an fd that is not open, -ENOENT for an
 * unknown dma-buf ID, -ENOTTY for an ioctl the device does not have.  An
 * access that starts inside a region and runs past its end is cut short
 * by mdpy and mbochs, as vfio-pci does for its BARs, and refused whole
 * (-EINVAL) by mtty, whose registers take no partial accesses.
 *
 * The last test of each variant prints how many cases the variant ran.
 *
 * Needs root, vfio_iommu_type1 and the sample modules loaded.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

#include <linux/vfio.h>

#include "kselftest_harness.h"
#include "mdev_util.h"

#define MDEV_BUS_DIR		"/sys/class/mdev_bus"
#define MAX_REGIONS		16
#define MAX_IRQS		8
#define CFG_INDEX		VFIO_PCI_CONFIG_REGION_INDEX
#define CFG_SIZE		256

/* What an info buffer holds beyond its structure, and the fill bytes */
#define INFO_TAIL		64
#define INFO_BUF		(sizeof(struct vfio_device_gfx_plane_info) + \
				 INFO_TAIL)
#define FILL			0xa5
#define JUNK			0x5a

/* A region index far beyond any device's */
#define HUGE_REGION		0x7fffffu

/* enum drm_plane_type */
#define PLANE_PRIMARY		1
#define PLANE_CURSOR		2

/* mbochs BAR2: the bochs dispi registers, 16 bits each */
#define DISPI_BASE		0x500
#define DISPI_BPP		3
#define DISPI_XRES		1
#define DISPI_YRES		2
#define DISPI_ENABLE		4
#define DISPI_VIRT_WIDTH	6

static long page_size;

/* The cases run so far in this variant, shared by every test process */
static unsigned int *nr_cases;

static void __attribute__((constructor)) cases_init(void)
{
	nr_cases = mmap(NULL, sizeof(*nr_cases), PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (nr_cases == MAP_FAILED)
		exit(KSFT_FAIL);
	*nr_cases = 0;
}

/* One case: @expr must give @want (a count, 0 or -errno) */
#define CASE(want, expr, fmt, ...) do {					\
	long __got = (expr);						\
									\
	(*nr_cases)++;							\
	EXPECT_EQ((long)(want), __got)					\
		TH_LOG("%s: " fmt, variant->name, ##__VA_ARGS__);	\
} while (0)

/* The system calls, as a count or 0 on success and -errno on failure */

static long xioctl(int fd, unsigned long cmd, void *arg)
{
	long ret = ioctl(fd, cmd, arg);

	return ret < 0 ? -errno : ret;
}

static long xpread(int fd, void *buf, size_t len, off_t off)
{
	ssize_t n = pread(fd, buf, len, off);

	return n < 0 ? -errno : n;
}

static long xpwrite(int fd, const void *buf, size_t len, off_t off)
{
	ssize_t n = pwrite(fd, buf, len, off);

	return n < 0 ? -errno : n;
}

static long xmmap(int fd, size_t len, int flags, off_t off)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, fd, off);

	if (p == MAP_FAILED)
		return -errno;
	munmap(p, len);
	return 0;
}

static long sysfs_read_long(const char *path)
{
	char buf[32] = "";
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	return strtol(buf, NULL, 0);
}

FIXTURE(vfio_abuse) {
	char uuid[UUID_LEN + 1];
	char type_dir[PATH_MAX];
	bool created;
	long avail;
	/* The process that opened the device */
	pid_t owner;
	int container;
	int group;
	int fd;
	struct vfio_device_info info;
	struct vfio_region_info region[MAX_REGIONS];
	struct vfio_irq_info irq[MAX_IRQS];
	int irq_ret[MAX_IRQS];
	/* Region i is at i * stride in the device file */
	off_t stride;
	__u8 cfg[CFG_SIZE];
};

FIXTURE_VARIANT(vfio_abuse) {
	const char *name;
	const char *parent;
	/* VFIO_GFX_PLANE_TYPE_DMABUF or _REGION; 0 without a display */
	__u32 plane;
	/* An access running past a region's end is cut short, not refused */
	bool clamps;
};

FIXTURE_VARIANT_ADD(vfio_abuse, mtty_1) {
	.name = "mtty-1", .parent = "mtty",
};

FIXTURE_VARIANT_ADD(vfio_abuse, mtty_2) {
	.name = "mtty-2", .parent = "mtty",
};

FIXTURE_VARIANT_ADD(vfio_abuse, mdpy_vga) {
	.name = "mdpy-vga", .parent = "mdpy",
	.plane = VFIO_GFX_PLANE_TYPE_REGION, .clamps = true,
};

FIXTURE_VARIANT_ADD(vfio_abuse, mdpy_xga) {
	.name = "mdpy-xga", .parent = "mdpy",
	.plane = VFIO_GFX_PLANE_TYPE_REGION, .clamps = true,
};

FIXTURE_VARIANT_ADD(vfio_abuse, mdpy_hd) {
	.name = "mdpy-hd", .parent = "mdpy",
	.plane = VFIO_GFX_PLANE_TYPE_REGION, .clamps = true,
};

FIXTURE_VARIANT_ADD(vfio_abuse, mbochs_small) {
	.name = "mbochs-small", .parent = "mbochs",
	.plane = VFIO_GFX_PLANE_TYPE_DMABUF, .clamps = true,
};

FIXTURE_VARIANT_ADD(vfio_abuse, mbochs_medium) {
	.name = "mbochs-medium", .parent = "mbochs",
	.plane = VFIO_GFX_PLANE_TYPE_DMABUF, .clamps = true,
};

FIXTURE_VARIANT_ADD(vfio_abuse, mbochs_large) {
	.name = "mbochs-large", .parent = "mbochs",
	.plane = VFIO_GFX_PLANE_TYPE_DMABUF, .clamps = true,
};

static long available(const char *type_dir)
{
	char path[PATH_MAX + sizeof("/available_instances")];

	snprintf(path, sizeof(path), "%s/available_instances", type_dir);
	return sysfs_read_long(path);
}

static void close_all(struct _test_data_vfio_abuse *self)
{
	if (self->fd >= 0)
		close(self->fd);
	if (self->group >= 0)
		close(self->group);
	if (self->container >= 0)
		close(self->container);
	self->fd = -1;
	self->group = -1;
	self->container = -1;
}

/* Open the device and record how it answers; 0 or -errno */
static int open_and_snapshot(struct _test_data_vfio_abuse *self)
{
	struct vfio_region_info *r;
	__u32 i;
	int ret;

	self->container = open("/dev/vfio/vfio", O_RDWR);
	if (self->container < 0)
		return -errno;
	ret = vfio_group_open_device(self->uuid, self->container, true,
				     &self->group);
	if (ret < 0)
		return ret;
	self->fd = ret;

	self->info.argsz = sizeof(self->info);
	if (ioctl(self->fd, VFIO_DEVICE_GET_INFO, &self->info))
		return -errno;
	if (self->info.num_regions < 2 ||
	    self->info.num_regions > MAX_REGIONS ||
	    self->info.num_irqs > MAX_IRQS)
		return -ERANGE;
	for (i = 0; i < self->info.num_regions; i++) {
		r = &self->region[i];
		ret = vfio_get_region_info(self->fd, i, r);
		if (ret)
			return ret;
	}
	self->stride = self->region[1].offset - self->region[0].offset;
	for (i = 0; i < self->info.num_regions; i++)
		if (self->region[i].offset != (__u64)i * self->stride)
			return -ERANGE;
	for (i = 0; i < self->info.num_irqs; i++) {
		self->irq[i].argsz = sizeof(self->irq[i]);
		self->irq[i].index = i;
		self->irq_ret[i] = xioctl(self->fd, VFIO_DEVICE_GET_IRQ_INFO,
					  &self->irq[i]);
	}
	r = &self->region[CFG_INDEX];
	if (r->size != CFG_SIZE)
		return -ERANGE;
	if (pread(self->fd, self->cfg, CFG_SIZE, r->offset) != CFG_SIZE)
		return -EIO;
	return 0;
}

FIXTURE_SETUP(vfio_abuse)
{
	long after;
	int ret;

	page_size = sysconf(_SC_PAGESIZE);
	self->owner = getpid();
	self->created = false;
	self->container = -1;
	self->group = -1;
	self->fd = -1;
	snprintf(self->type_dir, sizeof(self->type_dir),
		 MDEV_BUS_DIR "/%s/mdev_supported_types/%s", variant->parent,
		 variant->name);
	if (access(self->type_dir, F_OK))
		SKIP(return, "%s is not loaded", variant->parent);
	/* A count that cannot be read is a failure, not a reason to skip */
	self->avail = available(self->type_dir);
	if (self->avail == 0)
		SKIP(return, "no %s instance available", variant->name);
	ASSERT_LT(0, self->avail);

	ASSERT_EQ(0, mdev_new_uuid(self->uuid));
	ASSERT_EQ(0, mdev_create(self->type_dir, self->uuid));
	self->created = true;

	/* The teardown only runs after a complete setup: undo by hand */
	after = available(self->type_dir);
	ret = open_and_snapshot(self);
	if (ret || after != self->avail - 1) {
		close_all(self);
		mdev_remove(self->uuid);
		self->created = false;
		ASSERT_EQ(self->avail - 1, after);
		ASSERT_EQ(0, ret) TH_LOG("cannot open %s: %s", variant->name,
					 strerror(-ret));
	}
}

/*
 * In the parent, once the test process and every file and mapping it had
 * are gone: the device must go and give its instance back.  After a failed
 * ASSERT the harness may run this in the test process itself, which must
 * then let go of the device first, or the removal would wait for it.
 */
FIXTURE_TEARDOWN_PARENT(vfio_abuse)
{
	char path[PATH_MAX];

	if (!self->created)
		return;
	if (getpid() == self->owner)
		close_all(self);
	EXPECT_EQ(0, mdev_remove(self->uuid));
	snprintf(path, sizeof(path), MDEV_DEVICES "/%s", self->uuid);
	EXPECT_NE(0, access(path, F_OK));
	EXPECT_EQ(self->avail, available(self->type_dir));
}

/* The device answers as it did when it was opened */
static void check_intact(struct __test_metadata *_metadata,
			 struct _test_data_vfio_abuse *self)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };
	struct vfio_region_info r;
	struct vfio_irq_info irq;
	__u8 cfg[CFG_SIZE];
	__u32 i;

	ASSERT_EQ(0, xioctl(self->fd, VFIO_DEVICE_GET_INFO, &info));
	EXPECT_EQ(self->info.flags, info.flags);
	EXPECT_EQ(self->info.num_regions, info.num_regions);
	EXPECT_EQ(self->info.num_irqs, info.num_irqs);
	for (i = 0; i < self->info.num_regions; i++) {
		ASSERT_EQ(0, vfio_get_region_info(self->fd, i, &r));
		EXPECT_EQ(0, memcmp(&self->region[i], &r, sizeof(r)))
			TH_LOG("region %u info changed", i);
	}
	for (i = 0; i < self->info.num_irqs; i++) {
		memset(&irq, 0, sizeof(irq));
		irq.argsz = sizeof(irq);
		irq.index = i;
		EXPECT_EQ(self->irq_ret[i],
			  xioctl(self->fd, VFIO_DEVICE_GET_IRQ_INFO, &irq));
		if (!self->irq_ret[i])
			EXPECT_EQ(0, memcmp(&self->irq[i], &irq, sizeof(irq)))
				TH_LOG("irq %u info changed", i);
	}
	ASSERT_EQ(CFG_SIZE, xpread(self->fd, cfg, CFG_SIZE,
				   self->region[CFG_INDEX].offset));
	EXPECT_EQ(0, memcmp(self->cfg, cfg, CFG_SIZE))
		TH_LOG("configuration space changed");
}

/* Info ioctls */

struct info_ioctl {
	const char *name;
	unsigned long cmd;
	size_t minsz;
	size_t size;
};

static const struct info_ioctl info_ioctls[] = {
	{ "GET_INFO", VFIO_DEVICE_GET_INFO,
	  offsetof(struct vfio_device_info, cap_offset),
	  sizeof(struct vfio_device_info) },
	{ "GET_REGION_INFO", VFIO_DEVICE_GET_REGION_INFO,
	  sizeof(struct vfio_region_info),
	  sizeof(struct vfio_region_info) },
	{ "GET_IRQ_INFO", VFIO_DEVICE_GET_IRQ_INFO,
	  sizeof(struct vfio_irq_info),
	  sizeof(struct vfio_irq_info) },
	{ "QUERY_GFX_PLANE", VFIO_DEVICE_QUERY_GFX_PLANE,
	  offsetof(struct vfio_device_gfx_plane_info, reserved),
	  sizeof(struct vfio_device_gfx_plane_info) },
};

enum argsz_kind { ARGSZ_ZERO, ARGSZ_SHORT, ARGSZ_MIN, ARGSZ_TAIL, ARGSZ_MAX };

static const struct {
	const char *name;
	enum argsz_kind kind;
	int ret;
} argsz_cases[] = {
	{ "argsz 0", ARGSZ_ZERO, -EINVAL },
	{ "argsz minimum - 1", ARGSZ_SHORT, -EINVAL },
	{ "argsz minimum", ARGSZ_MIN, 0 },
	{ "argsz structure + tail", ARGSZ_TAIL, 0 },
	{ "argsz U32_MAX", ARGSZ_MAX, 0 },
};

union info_buf {
	__u64 align;
	__u8 b[INFO_BUF];
	struct vfio_device_info dev;
	struct vfio_region_info region;
	struct vfio_irq_info irq;
	struct vfio_device_gfx_plane_info plane;
};

static __u32 argsz_of(const struct info_ioctl *io, enum argsz_kind kind)
{
	switch (kind) {
	case ARGSZ_ZERO:
		return 0;
	case ARGSZ_SHORT:
		return io->minsz - 1;
	case ARGSZ_MIN:
		return io->minsz;
	case ARGSZ_TAIL:
		return io->size + INFO_TAIL;
	default:
		return UINT32_MAX;
	}
}

/*
 * Fill @buf with FILL, the outputs of the structure with JUNK, and set
 * argsz and the inputs: the index, or the plane's flags and type.
 */
static void info_prepare(union info_buf *buf, const struct info_ioctl *io,
			 __u32 argsz, __u32 index, __u32 plane)
{
	memset(buf->b, FILL, sizeof(buf->b));
	memset(buf->b, JUNK, io->size);
	buf->dev.argsz = argsz;
	switch (io->cmd) {
	case VFIO_DEVICE_GET_REGION_INFO:
		buf->region.index = index;
		break;
	case VFIO_DEVICE_GET_IRQ_INFO:
		buf->irq.index = index;
		break;
	case VFIO_DEVICE_QUERY_GFX_PLANE:
		buf->plane.flags = plane;
		buf->plane.drm_plane_type = PLANE_PRIMARY;
		break;
	}
}

/*
 * After a successful call: nothing written past argsz nor past the
 * structure, except for the capability chain of a region.
 */
static bool info_tail_intact(const union info_buf *before,
			     const union info_buf *after,
			     const struct info_ioctl *io, __u32 argsz)
{
	size_t from = argsz < io->size ? argsz : io->size;
	size_t cap_from = SIZE_MAX, cap_to = 0, i;

	if (io->cmd == VFIO_DEVICE_GET_REGION_INFO &&
	    after->region.flags & VFIO_REGION_INFO_FLAG_CAPS &&
	    after->region.cap_offset) {
		cap_from = after->region.cap_offset;
		cap_to = cap_from + sizeof(struct vfio_region_info_cap_type);
	}
	for (i = from; i < sizeof(before->b); i++)
		if ((i < cap_from || i >= cap_to) &&
		    before->b[i] != after->b[i])
			return false;
	return true;
}

/* The outputs of a successful call are those of a plain one, @ref */
static bool info_same(const union info_buf *a, const union info_buf *ref,
		      const struct info_ioctl *io)
{
	switch (io->cmd) {
	case VFIO_DEVICE_GET_INFO:
		return a->dev.flags == ref->dev.flags &&
		       a->dev.num_regions == ref->dev.num_regions &&
		       a->dev.num_irqs == ref->dev.num_irqs;
	case VFIO_DEVICE_GET_REGION_INFO:
		return a->region.flags == ref->region.flags &&
		       a->region.index == ref->region.index &&
		       a->region.size == ref->region.size &&
		       a->region.offset == ref->region.offset;
	case VFIO_DEVICE_GET_IRQ_INFO:
		return !memcmp(a->b + 4, ref->b + 4, io->minsz - 4);
	default:
		return !memcmp(a->b + 8, ref->b + 8, io->minsz - 8);
	}
}

/* Every argsz case of one info ioctl on one index */
static void info_argsz_cases(struct __test_metadata *_metadata,
			     struct _test_data_vfio_abuse *self,
			     const struct _fixture_variant_vfio_abuse *variant,
			     const struct info_ioctl *io, __u32 index)
{
	union info_buf ref, before, after;
	unsigned int c;
	long ret;
	__u32 argsz;

	info_prepare(&ref, io, io->size, index, variant->plane);
	ASSERT_EQ(0, xioctl(self->fd, io->cmd, &ref));

	for (c = 0; c < ARRAY_SIZE(argsz_cases); c++) {
		argsz = argsz_of(io, argsz_cases[c].kind);
		info_prepare(&before, io, argsz, index, variant->plane);
		after = before;
		ret = xioctl(self->fd, io->cmd, &after);
		CASE(argsz_cases[c].ret, ret, "%s %u, %s (%u)", io->name,
		     index, argsz_cases[c].name, argsz);
		if (ret) {
			EXPECT_EQ(0, memcmp(&before, &after, sizeof(after)))
				TH_LOG("%s %u, %s: failed but wrote",
				       io->name, index, argsz_cases[c].name);
			continue;
		}
		EXPECT_TRUE(info_tail_intact(&before, &after, io, argsz))
			TH_LOG("%s %u, %s: wrote past argsz or the structure",
			       io->name, index, argsz_cases[c].name);
		EXPECT_TRUE(info_same(&after, &ref, io))
			TH_LOG("%s %u, %s: other answer than with argsz %zu",
			       io->name, index, argsz_cases[c].name,
			       io->size);
	}
}

/*
 * argsz too small (-EINVAL, nothing written), exactly the minimum, and
 * larger than the structure with a non-zero tail (accepted, the tail left
 * alone), for every info ioctl on every region and interrupt index.
 */
TEST_F(vfio_abuse, info_argsz)
{
	__u32 i;

	info_argsz_cases(_metadata, self, variant, &info_ioctls[0], 0);
	for (i = 0; i < self->info.num_regions; i++)
		info_argsz_cases(_metadata, self, variant, &info_ioctls[1], i);
	for (i = 0; i < self->info.num_irqs; i++)
		if (!self->irq_ret[i])
			info_argsz_cases(_metadata, self, variant,
					 &info_ioctls[2], i);
	if (variant->plane)
		info_argsz_cases(_metadata, self, variant, &info_ioctls[3], 0);
	check_intact(_metadata, self);
}

/* Region and interrupt indexes out of range, and an unknown ioctl */
TEST_F(vfio_abuse, bad_index)
{
	const __u32 bad[] = {
		self->info.num_regions, self->info.num_regions + 1,
		HUGE_REGION, 0x80000000u, UINT32_MAX,
	};
	const __u32 bad_irq[] = {
		self->info.num_irqs, self->info.num_irqs + 1, 0x80000000u,
		UINT32_MAX,
	};
	struct vfio_region_info r;
	struct vfio_irq_info irq;
	struct vfio_irq_set set;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++)
		CASE(-EINVAL, vfio_get_region_info(self->fd, bad[i], &r),
		     "GET_REGION_INFO index %u", bad[i]);
	for (i = 0; i < ARRAY_SIZE(bad_irq); i++) {
		memset(&irq, 0, sizeof(irq));
		irq.argsz = sizeof(irq);
		irq.index = bad_irq[i];
		CASE(-EINVAL, xioctl(self->fd, VFIO_DEVICE_GET_IRQ_INFO, &irq),
		     "GET_IRQ_INFO index %u", bad_irq[i]);
		memset(&set, 0, sizeof(set));
		set.argsz = sizeof(set);
		set.flags = VFIO_IRQ_SET_DATA_NONE |
			    VFIO_IRQ_SET_ACTION_TRIGGER;
		set.index = bad_irq[i];
		CASE(-EINVAL, xioctl(self->fd, VFIO_DEVICE_SET_IRQS, &set),
		     "SET_IRQS index %u, count 0", bad_irq[i]);
		set.count = 1;
		CASE(-EINVAL, xioctl(self->fd, VFIO_DEVICE_SET_IRQS, &set),
		     "SET_IRQS index %u, count 1", bad_irq[i]);
	}
	CASE(-ENOTTY, xioctl(self->fd, _IO(VFIO_TYPE, VFIO_BASE + 99), NULL),
	     "ioctl VFIO_BASE + 99");
	check_intact(_metadata, self);
}

/* SET_IRQS */

enum irq_data { NO_DATA, BOOL_TRUE, FD_MINUS_2, FD_INT_MIN, FD_NOT_EVENTFD,
		FD_CLOSED, FD_EVENTFD };

#define TRIG		VFIO_IRQ_SET_ACTION_TRIGGER
#define D_NONE		VFIO_IRQ_SET_DATA_NONE
#define D_BOOL		VFIO_IRQ_SET_DATA_BOOL
#define D_EFD		VFIO_IRQ_SET_DATA_EVENTFD
#define IRQ_SET_MINSZ	((int)sizeof(struct vfio_irq_set))

/*
 * On the request interrupt, which every sample has, with one vector.  argsz
 * is the header plus @data_len, plus @argsz_delta.
 */
static const struct irq_case {
	const char *name;
	__u32 flags;
	__u32 start;
	__u32 count;
	enum irq_data data;
	int data_len;
	int argsz_delta;
	int ret;
} irq_cases[] = {
	{ "unknown flag 1 << 6", D_NONE | TRIG | 1u << 6, 0, 1,
	  NO_DATA, 0, 0, -EINVAL },
	{ "unknown flag 1 << 31", D_NONE | TRIG | 1u << 31, 0, 1,
	  NO_DATA, 0, 0, -EINVAL },
	{ "no data type", TRIG, 0, 1, NO_DATA, 0, 0, -EINVAL },
	{ "two data types", D_NONE | D_BOOL | TRIG, 0, 1,
	  BOOL_TRUE, 1, 0, -EINVAL },
	{ "all data types", D_NONE | D_BOOL | D_EFD | TRIG, 0, 1,
	  FD_EVENTFD, 4, 0, -EINVAL },
	{ "no action", D_NONE, 0, 1, NO_DATA, 0, 0, -EINVAL },
	{ "two actions", D_NONE | TRIG | VFIO_IRQ_SET_ACTION_MASK, 0, 1,
	  NO_DATA, 0, 0, -EINVAL },
	{ "argsz below the header", D_NONE | TRIG, 0, 1,
	  NO_DATA, 0, -1, -EINVAL },
	{ "start 1", D_NONE | TRIG, 1, 1, NO_DATA, 0, 0, -EINVAL },
	{ "start 1, count 0", D_NONE | TRIG, 1, 0, NO_DATA, 0, 0, -EINVAL },
	{ "start U32_MAX", D_NONE | TRIG, UINT32_MAX, 1,
	  NO_DATA, 0, 0, -EINVAL },
	{ "start U32_MAX, count 0", D_NONE | TRIG, UINT32_MAX, 0,
	  NO_DATA, 0, 0, -EINVAL },
	{ "start + count wraps to 0", D_NONE | TRIG, 1, UINT32_MAX,
	  NO_DATA, 0, 0, -EINVAL },
	{ "start + count wraps to 1", D_NONE | TRIG, 2, UINT32_MAX,
	  NO_DATA, 0, 0, -EINVAL },
	{ "start + count wraps, halves", D_NONE | TRIG, 0x80000000u,
	  0x80000000u, NO_DATA, 0, 0, -EINVAL },
	{ "count 2", D_NONE | TRIG, 0, 2, NO_DATA, 0, 0, -EINVAL },
	{ "count U32_MAX", D_NONE | TRIG, 0, UINT32_MAX,
	  NO_DATA, 0, 0, -EINVAL },
	{ "eventfd -2", D_EFD | TRIG, 0, 1, FD_MINUS_2, 4, 0, -EINVAL },
	{ "eventfd INT_MIN", D_EFD | TRIG, 0, 1, FD_INT_MIN, 4, 0, -EINVAL },
	{ "eventfd not an eventfd", D_EFD | TRIG, 0, 1,
	  FD_NOT_EVENTFD, 4, 0, -EINVAL },
	{ "eventfd closed", D_EFD | TRIG, 0, 1, FD_CLOSED, 4, 0, -EBADF },
	{ "eventfd, argsz 3 short", D_EFD | TRIG, 0, 1,
	  FD_EVENTFD, 4, -1, -EINVAL },
	{ "eventfd, no data in argsz", D_EFD | TRIG, 0, 1,
	  FD_EVENTFD, 4, -4, -EINVAL },
	{ "eventfd, count 2", D_EFD | TRIG, 0, 2, FD_EVENTFD, 8, 0, -EINVAL },
	{ "eventfd, count 0", D_EFD | TRIG, 0, 0, FD_EVENTFD, 4, 0, -EINVAL },
	{ "bool, no data in argsz", D_BOOL | TRIG, 0, 1,
	  BOOL_TRUE, 1, -1, -EINVAL },
	{ "bool, count 2", D_BOOL | TRIG, 0, 2, BOOL_TRUE, 2, 0, -EINVAL },
	{ "bool, count 0", D_BOOL | TRIG, 0, 0, BOOL_TRUE, 1, 0, -EINVAL },
};

struct irq_set_buf {
	struct vfio_irq_set hdr;
	__s32 data[4];
};

static long irq_set(int fd, __u32 argsz, __u32 flags, __u32 index,
		    __u32 start, __u32 count, const void *data, size_t len)
{
	struct irq_set_buf set;

	memset(&set, 0, sizeof(set));
	set.hdr.argsz = argsz;
	set.hdr.flags = flags;
	set.hdr.index = index;
	set.hdr.start = start;
	set.hdr.count = count;
	memcpy(set.data, data, len);
	return xioctl(fd, VFIO_DEVICE_SET_IRQS, &set);
}

/* How often @efd was signalled since the last call */
static __u64 signals(int efd)
{
	__u64 n = 0;

	if (read(efd, &n, sizeof(n)) != sizeof(n))
		return 0;
	return n;
}

/*
 * With an eventfd hooked to the request interrupt, no bad SET_IRQS may
 * fire, unhook or replace it: afterwards it still fires, once.
 */
TEST_F(vfio_abuse, set_irqs)
{
	const __u32 req = VFIO_PCI_REQ_IRQ_INDEX;
	int efd, other, notefd, closed;
	__s32 fds[2];
	__u8 yes[2] = { 1, 1 };
	const struct irq_case *c;
	unsigned int i;
	const void *data;

	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	other = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	notefd = open("/dev/null", O_RDWR | O_CLOEXEC);
	closed = dup(notefd);
	ASSERT_LE(0, efd);
	ASSERT_LE(0, other);
	ASSERT_LE(0, notefd);
	ASSERT_LE(0, closed);
	close(closed);

	fds[0] = efd;
	ASSERT_EQ(0, irq_set(self->fd, IRQ_SET_MINSZ + 4, D_EFD | TRIG, req,
			     0, 1, fds, 4));

	for (i = 0; i < ARRAY_SIZE(irq_cases); i++) {
		c = &irq_cases[i];
		data = yes;
		switch (c->data) {
		case FD_MINUS_2:
			fds[0] = -2;
			break;
		case FD_INT_MIN:
			fds[0] = INT_MIN;
			break;
		case FD_NOT_EVENTFD:
			fds[0] = notefd;
			break;
		case FD_CLOSED:
			fds[0] = closed;
			break;
		default:
			fds[0] = other;
			break;
		}
		fds[1] = other;
		if (c->data != NO_DATA && c->data != BOOL_TRUE)
			data = fds;
		CASE(c->ret, irq_set(self->fd,
				     IRQ_SET_MINSZ + c->data_len +
				     c->argsz_delta, c->flags, req, c->start,
				     c->count, data, c->data_len),
		     "SET_IRQS %s", c->name);
	}

	/* Every index: starting at its count, or one vector too many */
	for (i = 0; i < self->info.num_irqs; i++) {
		if (self->irq_ret[i])
			continue;
		CASE(-EINVAL, irq_set(self->fd, IRQ_SET_MINSZ, D_NONE | TRIG, i,
				      self->irq[i].count, 1, NULL, 0),
		     "SET_IRQS index %u, start %u", i, self->irq[i].count);
		CASE(-EINVAL, irq_set(self->fd, IRQ_SET_MINSZ, D_NONE | TRIG, i,
				      0, self->irq[i].count + 1, NULL, 0),
		     "SET_IRQS index %u, count %u", i,
		     self->irq[i].count + 1);
	}

	EXPECT_EQ(0, signals(efd));
	EXPECT_EQ(0, signals(other));
	EXPECT_EQ(0, irq_set(self->fd, IRQ_SET_MINSZ, D_NONE | TRIG, req, 0, 1,
			     NULL, 0));
	EXPECT_EQ(1, signals(efd));
	EXPECT_EQ(0, signals(other));
	EXPECT_EQ(0, irq_set(self->fd, IRQ_SET_MINSZ, D_NONE | TRIG, req, 0, 0,
			     NULL, 0));
	close(efd);
	close(other);
	close(notefd);
	check_intact(_metadata, self);
}

/* Reads and writes */

/*
 * An access of @len bytes at @from_end bytes from the region's end, or
 * with @len 0, as long as the region from its middle; only regions of up
 * to HALF_MAX bytes, the others would take too long.
 */
#define HALF_MAX	(256 * 1024)

static const struct rw_case {
	const char *name;
	long from_end;
	size_t len;
} rw_cases[] = {
	{ "last byte and one past", -1, 2 },
	{ "last 4 bytes and 4 past", -4, 8 },
	{ "last byte and a page past", -1, 4096 },
	{ "second half and as much past", 0, 0 },
	{ "at the end", 0, 1 },
	{ "a page at the end", 0, 4096 },
	{ "a page past the end", 4096, 1 },
};

/*
 * The result of an access of @len bytes at @off into a region of @size:
 * the part inside it if it starts inside, where the driver cuts short
 * (else -EINVAL); -EINVAL if it starts at or past the end.
 */
static long rw_want(const struct _fixture_variant_vfio_abuse *variant,
		    __u64 size, __u64 off, size_t len)
{
	if (off >= size)
		return -EINVAL;
	if (off + len <= size)
		return len;
	return variant->clamps ? (long)(size - off) : -EINVAL;
}

TEST_F(vfio_abuse, rw_bounds)
{
	const __u32 bad[] = { self->info.num_regions, HUGE_REGION };
	struct vfio_region_info *r;
	const struct rw_case *c;
	__u8 *buf, *old;
	size_t len, in;
	__u64 off;
	unsigned int i;
	long want;
	__u32 n;

	buf = malloc(HALF_MAX);
	old = malloc(HALF_MAX);
	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, old);

	for (n = 0; n < self->info.num_regions; n++) {
		r = &self->region[n];
		if (!r->size) {
			/* Not implemented */
			CASE(-EINVAL, xpread(self->fd, buf, 1, r->offset),
			     "pread of empty region %u", n);
			CASE(-EINVAL, xpwrite(self->fd, buf, 1, r->offset),
			     "pwrite of empty region %u", n);
			continue;
		}
		ASSERT_EQ(VFIO_REGION_INFO_FLAG_READ |
			  VFIO_REGION_INFO_FLAG_WRITE,
			  r->flags & (VFIO_REGION_INFO_FLAG_READ |
				      VFIO_REGION_INFO_FLAG_WRITE));
		for (i = 0; i < ARRAY_SIZE(rw_cases); i++) {
			c = &rw_cases[i];
			if (!c->len) {
				if (r->size > HALF_MAX)
					continue;
				off = r->size / 2;
				len = r->size;
			} else {
				if (c->from_end < 0 &&
				    r->size < (__u64)-c->from_end)
					continue;
				off = r->size + c->from_end;
				len = c->len;
			}
			want = rw_want(variant, r->size, off, len);
			CASE(want, xpread(self->fd, buf, len, r->offset + off),
			     "pread of region %u: %s (%llu + %zu)", n,
			     c->name, (unsigned long long)off, len);

			/* Writes put back what is there */
			memset(buf, JUNK, len);
			in = want > 0 ? want : 0;
			if (in)
				ASSERT_EQ(in, xpread(self->fd, buf, in,
						     r->offset + off));
			memcpy(old, buf, in);
			CASE(want, xpwrite(self->fd, buf, len, r->offset + off),
			     "pwrite of region %u: %s (%llu + %zu)", n,
			     c->name, (unsigned long long)off, len);
			if (in) {
				ASSERT_EQ(in, xpread(self->fd, buf, in,
						     r->offset + off));
				EXPECT_EQ(0, memcmp(old, buf, in))
					TH_LOG("region %u changed", n);
			}
		}
	}

	/* Regions the device does not have */
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		off = (__u64)bad[i] * self->stride;
		CASE(-EINVAL, xpread(self->fd, buf, 1, off),
		     "pread of region %u", bad[i]);
		CASE(-EINVAL, xpwrite(self->fd, buf, 1, off),
		     "pwrite of region %u", bad[i]);
	}
	free(buf);
	free(old);
	check_intact(_metadata, self);
}

/* mmap */

TEST_F(vfio_abuse, mmap_bounds)
{
	const __u32 bad[] = { self->info.num_regions, HUGE_REGION };
	struct vfio_region_info *r;
	off_t base;
	size_t size;
	unsigned int i;
	__u32 n;

	for (n = 0; n < self->info.num_regions; n++) {
		r = &self->region[n];
		base = r->offset;
		size = r->size;
		CASE(-EINVAL, xmmap(self->fd, page_size, MAP_SHARED,
				    base + page_size / 2),
		     "mmap of region %u at half a page", n);
		CASE(-EINVAL, xmmap(self->fd, page_size, MAP_SHARED, base + 1),
		     "mmap of region %u at byte 1", n);
		if (!(r->flags & VFIO_REGION_INFO_FLAG_MMAP)) {
			/* Not mappable, or not there */
			CASE(-EINVAL, xmmap(self->fd, page_size, MAP_SHARED,
					    base),
			     "mmap of unmappable region %u", n);
			continue;
		}
		ASSERT_EQ(0, size % page_size);
		CASE(0, xmmap(self->fd, size, MAP_SHARED, base),
		     "mmap of all of region %u", n);
		CASE(0, xmmap(self->fd, page_size, MAP_SHARED,
			      base + size - page_size),
		     "mmap of the last page of region %u", n);
		CASE(-EINVAL, xmmap(self->fd, size + page_size, MAP_SHARED,
				    base),
		     "mmap of region %u and a page more", n);
		CASE(-EINVAL, xmmap(self->fd, 2 * page_size, MAP_SHARED,
				    base + size - page_size),
		     "mmap of the last page of region %u and one more", n);
		CASE(-EINVAL, xmmap(self->fd, page_size, MAP_SHARED,
				    base + size),
		     "mmap at the end of region %u", n);
		CASE(-EINVAL, xmmap(self->fd, page_size, MAP_PRIVATE, base),
		     "private mmap of region %u", n);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		CASE(-EINVAL, xmmap(self->fd, page_size, MAP_SHARED,
				    (off_t)bad[i] * self->stride),
		     "mmap of region %u", bad[i]);
	check_intact(_metadata, self);
}

/* Display planes and dma-bufs */

static long dispi_write(struct _test_data_vfio_abuse *self, unsigned int reg,
			__u16 val)
{
	return xpwrite(self->fd, &val, sizeof(val),
		       self->region[VFIO_PCI_BAR2_REGION_INDEX].offset +
		       DISPI_BASE + 2 * reg);
}

/* A 64x64 32 bpp mode, so that there is a plane to export */
static int bochs_small_mode(struct _test_data_vfio_abuse *self)
{
	static const __u16 regs[][2] = {
		{ DISPI_ENABLE, 0 }, { DISPI_BPP, 32 }, { DISPI_XRES, 64 },
		{ DISPI_YRES, 64 }, { DISPI_VIRT_WIDTH, 64 },
		{ DISPI_ENABLE, 0x41 },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(regs); i++)
		if (dispi_write(self, regs[i][0], regs[i][1]) != 2)
			return -EIO;
	return 0;
}

static long query_plane(int fd, __u32 flags, __u32 type,
			struct vfio_device_gfx_plane_info *plane)
{
	memset(plane, 0, sizeof(*plane));
	plane->argsz = sizeof(*plane);
	plane->flags = flags;
	plane->drm_plane_type = type;
	return xioctl(fd, VFIO_DEVICE_QUERY_GFX_PLANE, plane);
}

TEST_F(vfio_abuse, gfx)
{
	const __u32 other = variant->plane == VFIO_GFX_PLANE_TYPE_DMABUF ?
			    VFIO_GFX_PLANE_TYPE_REGION :
			    VFIO_GFX_PLANE_TYPE_DMABUF;
	const __u32 probe = VFIO_GFX_PLANE_TYPE_PROBE;
	const struct {
		const char *name;
		__u32 flags;
		__u32 type;
	} bad[] = {
		{ "no flags", 0, PLANE_PRIMARY },
		{ "probe alone", probe, PLANE_PRIMARY },
		{ "the other kind", other, PLANE_PRIMARY },
		{ "probe the other kind", probe | other, PLANE_PRIMARY },
		{ "both kinds", variant->plane | other, PLANE_PRIMARY },
		{ "probe both kinds", probe | variant->plane | other,
		  PLANE_PRIMARY },
		{ "unknown flag 1 << 3", variant->plane | 1u << 3,
		  PLANE_PRIMARY },
		{ "unknown flag 1 << 31", variant->plane | 1u << 31,
		  PLANE_PRIMARY },
		{ "probe, unknown flag", probe | variant->plane | 1u << 5,
		  PLANE_PRIMARY },
		{ "plane type 3", variant->plane, PLANE_CURSOR + 1 },
		{ "plane type U32_MAX", variant->plane, UINT32_MAX },
	};
	struct vfio_device_gfx_plane_info plane;
	__u32 id, bad_id[4];
	unsigned int i;
	int dfd;

	if (!variant->plane) {
		CASE(-ENOTTY, query_plane(self->fd,
					  VFIO_GFX_PLANE_TYPE_REGION,
					  PLANE_PRIMARY, &plane),
		     "QUERY_GFX_PLANE without a display");
		id = 1;
		CASE(-ENOTTY, xioctl(self->fd, VFIO_DEVICE_GET_GFX_DMABUF,
				     &id),
		     "GET_GFX_DMABUF without a display");
		check_intact(_metadata, self);
		return;
	}

	CASE(0, query_plane(self->fd, probe | variant->plane, PLANE_PRIMARY,
			    &plane), "QUERY_GFX_PLANE probe");
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		CASE(-EINVAL, query_plane(self->fd, bad[i].flags, bad[i].type,
					  &plane),
		     "QUERY_GFX_PLANE %s (flags %#x, type %u)", bad[i].name,
		     bad[i].flags, bad[i].type);

	if (variant->plane != VFIO_GFX_PLANE_TYPE_DMABUF) {
		id = 1;
		CASE(-ENOTTY, xioctl(self->fd, VFIO_DEVICE_GET_GFX_DMABUF,
				     &id),
		     "GET_GFX_DMABUF on a region display");
		check_intact(_metadata, self);
		return;
	}

	/* A plane to export, and IDs that name none */
	ASSERT_EQ(0, bochs_small_mode(self));
	ASSERT_EQ(0, query_plane(self->fd, variant->plane, PLANE_PRIMARY,
				 &plane));
	ASSERT_NE(0, plane.dmabuf_id);
	bad_id[0] = 0;
	bad_id[1] = plane.dmabuf_id + 1;
	bad_id[2] = plane.dmabuf_id + 1000;
	bad_id[3] = UINT32_MAX;
	for (i = 0; i < ARRAY_SIZE(bad_id); i++) {
		id = bad_id[i];
		CASE(-ENOENT, xioctl(self->fd, VFIO_DEVICE_GET_GFX_DMABUF, &id),
		     "GET_GFX_DMABUF id %u", bad_id[i]);
	}
	CASE(-EFAULT, xioctl(self->fd, VFIO_DEVICE_GET_GFX_DMABUF, NULL),
	     "GET_GFX_DMABUF without an argument");

	/* The real one still exports */
	id = plane.dmabuf_id;
	dfd = xioctl(self->fd, VFIO_DEVICE_GET_GFX_DMABUF, &id);
	EXPECT_LE(0, dfd);
	if (dfd >= 0)
		close(dfd);
	check_intact(_metadata, self);
}

/* Last of each variant: how many cases it ran */
TEST_F(vfio_abuse, summary)
{
	check_intact(_metadata, self);
	TH_LOG("%s: %u abuse cases", variant->name, *nr_cases);
	*nr_cases = 0;
}

TEST_HARNESS_MAIN
