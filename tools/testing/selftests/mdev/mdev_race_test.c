// SPDX-License-Identifier: GPL-2.0-only
/*
 * Everything at once on mediated devices: worker threads create, remove,
 * open through VFIO, read and close devices of several parents (mtty,
 * classic through vfio_mdev.ko; mdpy, its own mdev driver) for a fixed
 * time, each picking the parent, the type and the device at random, so
 * that they meet on the same device, on the same parent and on different
 * ones.  Meanwhile one more thread unloads and reloads the vendor modules,
 * one after the other, with delete_module(2) and finit_module(2).
 *
 * What each operation may answer while that goes on:
 *
 *   create  0; ENOSPC or EUSERS when the parent is full; ENOENT when its
 *           module is not loaded (no create file); ENODEV while the
 *           parent is being unregistered
 *   remove  0; ENOENT or ENODEV when the device went away meanwhile (its
 *           parent's module was unloaded, which removes it)
 *   open    0; ENOENT or ENODEV when the device went away or is going
 *           (including when its module is being unloaded: the VFIO core
 *           and vfio_mdev then cannot pin it); EBUSY when another thread
 *           holds the group or the device; through the cdev, EINVAL
 *           when the device is open elsewhere (VFIO binds a cdev only to
 *           a device nobody else has open); through the group, EINVAL
 *           (a container the group left), and ENXIO (a cdev without its
 *           device), only if the device is gone within a second after
 *   read    the vendor ID in configuration space, on a device that opened
 *   close   always
 *   unload  0; EAGAIN (EWOULDBLOCK) while a device of the module is open,
 *           which pins it: the thread retries; any other answer fails
 *   reload  0
 *
 * Anything else fails the test, and so does a device left at the end, an
 * available_instances that is not back to its value at the start, or a
 * module that could not be unloaded for 10 s.  The program prints
 * "threads x seconds" and how many operations of each kind were done.
 *
 * Environment: MDEV_RACE_SECONDS (default 20), MDEV_RACE_THREADS (default
 * 4); MDEV_SAMPLEDIR, where mtty.ko and mdpy.ko are (set by the VM rig;
 * without it no module is reloaded).  Run as root in a VM with mtty and
 * mdpy loaded, vfio_iommu_type1 too, and no mdev present, e.g. by
 * tools/testing/vm/suites/60-hardening.sh.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/syscall.h>

#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "kselftest_harness.h"
#include "mdev_util.h"

#define MDEV_CLASS		"/sys/class/mdev_bus"
#define MAX_DEVS		64
#define MAX_THREADS		32
#define MAX_TYPES		8
#define UNLOAD_RETRY_MS		10000

/* ---------------------------------------------------------------------- */
/* Helpers                                                                */

static long read_long(const char *path)
{
	char buf[64];
	ssize_t len;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return LONG_MIN;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return LONG_MIN;
	buf[len] = '\0';
	return strtol(buf, NULL, 0);
}

static unsigned int rnd(unsigned int *seed, unsigned int n)
{
	return rand_r(seed) % n;
}

static void random_uuid(unsigned int *seed, char *uuid)
{
	uint8_t b[16];
	int i;

	for (i = 0; i < 16; i++)
		b[i] = rand_r(seed);
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(uuid, UUID_LEN + 1,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
		 b[10], b[11], b[12], b[13], b[14], b[15]);
}

static unsigned int env_uint(const char *name, unsigned int def)
{
	const char *val = getenv(name);

	return val && *val ? strtoul(val, NULL, 0) : def;
}

static bool module_loaded(const char *name)
{
	char path[PATH_MAX];

	return exists(pathf(path, "/sys/module/%s/initstate", name));
}

/* ---------------------------------------------------------------------- */
/* Parents and their types                                                */

struct rparent {
	const char *name;	/* below /sys/class/mdev_bus, and the module */
	const char *types[2];
};

static const struct rparent rparents[] = {
	{ "mtty", { "mtty-1", "mtty-2" } },
	{ "mdpy", { "mdpy-vga", "mdpy-xga" } },
};

#define NR_PARENTS	ARRAY_SIZE(rparents)
#define NR_RTYPES	(NR_PARENTS * 2)

static long type_avail(int i)
{
	char path[PATH_MAX];

	return read_long(pathf(path,
		MDEV_CLASS "/%s/mdev_supported_types/%s/available_instances",
		rparents[i / 2].name, rparents[i / 2].types[i % 2]));
}

static int count_mdevs(void)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	d = opendir(MDEV_DEVICES);
	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* Remove every mdev on the bus; the number removed */
static int remove_all(void)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int n = 0;

	d = opendir(MDEV_DEVICES);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (!sysfs_write(pathf(path, MDEV_DEVICES "/%s/remove",
				       de->d_name), "1"))
			n++;
	}
	closedir(d);
	return n;
}

/* ---------------------------------------------------------------------- */
/* Shared state                                                           */

enum op {
	OP_CREATE,
	OP_REMOVE,
	OP_OPEN,
	OP_READ,
	OP_CLOSE,
	OP_UNLOAD,
	OP_RELOAD,
	NR_OPS
};

static const char * const op_names[NR_OPS] = {
	"create", "remove", "open", "read", "close", "unload", "reload",
};

/* The answers each operation may give besides 0 */
static bool expected(enum op kind, int err)
{
	switch (kind) {
	case OP_CREATE:
		return err == ENOSPC || err == EUSERS || err == ENOENT ||
		       err == ENODEV;
	case OP_REMOVE:
		return err == ENOENT || err == ENODEV;
	case OP_OPEN:
		return err == ENOENT || err == ENODEV || err == EBUSY;
	case OP_UNLOAD:
		return err == EAGAIN;
	default:
		return false;
	}
}

struct dev {
	char uuid[UUID_LEN + 1];
	int parent;
};

struct race {
	pthread_mutex_t lock;
	/* The devices the workers created and did not remove; protected by lock */
	struct dev devs[MAX_DEVS];
	int nr_devs;

	atomic_bool stop;
	atomic_ulong ok[NR_OPS];
	atomic_ulong err[NR_OPS][256];
	atomic_ulong unexpected;
	char first_unexpected[256];	/* protected by lock */

	bool cdev;		/* /dev/iommu and VFIO cdevs exist */
	const char *sampledir;
};

/* @excused: an answer expected only in the circumstances the caller saw */
static void count(struct race *r, enum op kind, int err, const char *what,
		  bool excused)
{
	if (!err) {
		atomic_fetch_add(&r->ok[kind], 1);
		return;
	}
	atomic_fetch_add(&r->err[kind][err & 255], 1);
	if (expected(kind, err) || excused)
		return;
	if (!atomic_fetch_add(&r->unexpected, 1)) {
		pthread_mutex_lock(&r->lock);
		snprintf(r->first_unexpected, sizeof(r->first_unexpected),
			 "%s %s: %s", op_names[kind], what, errname(err));
		pthread_mutex_unlock(&r->lock);
	}
	fprintf(stderr, "# unexpected: %s %s: %s\n", op_names[kind], what,
		errname(err));
}

static void dev_add(struct race *r, const char *uuid, int parent)
{
	pthread_mutex_lock(&r->lock);
	if (r->nr_devs < MAX_DEVS) {
		memcpy(r->devs[r->nr_devs].uuid, uuid, UUID_LEN + 1);
		r->devs[r->nr_devs].parent = parent;
		r->nr_devs++;
	}
	pthread_mutex_unlock(&r->lock);
}

/* A random device: taken off the list if @take; false if there is none */
static bool dev_pick(struct race *r, unsigned int *seed, bool take,
		     struct dev *out)
{
	int i;

	pthread_mutex_lock(&r->lock);
	if (!r->nr_devs) {
		pthread_mutex_unlock(&r->lock);
		return false;
	}
	i = rnd(seed, r->nr_devs);
	*out = r->devs[i];
	if (take)
		r->devs[i] = r->devs[--r->nr_devs];
	pthread_mutex_unlock(&r->lock);
	return true;
}

/* Forget a device that is gone */
static void dev_forget(struct race *r, const char *uuid)
{
	int i;

	pthread_mutex_lock(&r->lock);
	for (i = 0; i < r->nr_devs; i++) {
		if (!strcmp(r->devs[i].uuid, uuid)) {
			r->devs[i] = r->devs[--r->nr_devs];
			break;
		}
	}
	pthread_mutex_unlock(&r->lock);
}

/* ---------------------------------------------------------------------- */
/* Workers                                                                */

static void op_create(struct race *r, unsigned int *seed)
{
	int t = rnd(seed, NR_RTYPES), p = t / 2, ret;
	char path[PATH_MAX], uuid[UUID_LEN + 1];

	random_uuid(seed, uuid);
	ret = sysfs_write(pathf(path, MDEV_CLASS "/%s/mdev_supported_types/%s/create",
				rparents[p].name, rparents[p].types[t % 2]),
			uuid);
	count(r, OP_CREATE, -ret, rparents[p].types[t % 2], false);
	if (!ret)
		dev_add(r, uuid, p);
}

static void op_remove(struct race *r, unsigned int *seed)
{
	char path[PATH_MAX];
	struct dev d;
	int ret;

	if (!dev_pick(r, seed, true, &d))
		return op_create(r, seed);
	ret = sysfs_write(pathf(path, MDEV_DEVICES "/%s/remove", d.uuid), "1");
	count(r, OP_REMOVE, -ret, rparents[d.parent].name, false);
}

/* Whether a device disappears within a second */
static bool mdev_gone(const char *uuid)
{
	char path[PATH_MAX];
	long end = now_ms() + 1000;

	pathf(path, MDEV_DEVICES "/%s", uuid);
	while (exists(path)) {
		if (now_ms() > end)
			return false;
		usleep(5000);
	}
	return true;
}

/* Open a device like QEMU does: 0 or -errno, v->device set on success */
static int vfio_open_group(struct vfio_fds *v, const char *uuid)
{
	char link[PATH_MAX], target[PATH_MAX], path[PATH_MAX];
	ssize_t len;

	len = readlink(pathf(link, MDEV_DEVICES "/%s/iommu_group", uuid),
		       target, sizeof(target) - 1);
	if (len < 0)
		return -errno;
	target[len] = '\0';
	v->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (v->container < 0)
		return -errno;
	v->group = open(pathf(path, "/dev/vfio/%s", strrchr(target, '/') + 1),
			O_RDWR | O_CLOEXEC);
	if (v->group < 0)
		return -errno;
	if (ioctl(v->group, VFIO_GROUP_SET_CONTAINER, &v->container) ||
	    ioctl(v->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		return -errno;
	v->device = ioctl(v->group, VFIO_GROUP_GET_DEVICE_FD, uuid);
	return v->device < 0 ? -errno : 0;
}

static int vfio_open_cdev(struct vfio_fds *v, const char *uuid)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct vfio_device_attach_iommufd_pt attach = {
		.argsz = sizeof(attach),
	};
	char dir[PATH_MAX], path[PATH_MAX] = "";
	struct dirent *de;
	DIR *d;

	d = opendir(pathf(dir, MDEV_DEVICES "/%s/vfio-dev", uuid));
	if (!d)
		return -errno;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "vfio", 4))
			pathf(path, "/dev/vfio/devices/%s", de->d_name);
	closedir(d);
	if (!path[0])
		return -ENOENT;

	v->iommufd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	if (v->iommufd < 0)
		return -errno;
	if (ioctl(v->iommufd, IOMMU_IOAS_ALLOC, &alloc))
		return -errno;
	v->device = open(path, O_RDWR | O_CLOEXEC);
	if (v->device < 0)
		return -errno;
	bind.iommufd = v->iommufd;
	attach.pt_id = alloc.out_ioas_id;
	if (ioctl(v->device, VFIO_DEVICE_BIND_IOMMUFD, &bind) ||
	    ioctl(v->device, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach))
		return -errno;
	return 0;
}

static void op_open(struct race *r, unsigned int *seed)
{
	struct vfio_fds v;
	struct vfio_region_info info = {
		.argsz = sizeof(info),
		.index = VFIO_PCI_CONFIG_REGION_INDEX,
	};
	bool cdev = r->cdev && rnd(seed, 2);
	uint16_t vendor = 0;
	struct dev d;
	int ret;

	if (!dev_pick(r, seed, false, &d))
		return op_create(r, seed);
	vfio_fds_init(&v);
	ret = cdev ? vfio_open_cdev(&v, d.uuid) : vfio_open_group(&v, d.uuid);
	count(r, OP_OPEN, -ret, cdev ? "cdev" : "group",
	      (cdev && ret == -EINVAL) ||
	      ((ret == -EINVAL || ret == -ENXIO) && mdev_gone(d.uuid)));
	if (ret) {
		vfio_fds_close(&v);
		if (ret == -ENOENT)
			dev_forget(r, d.uuid);
		return;
	}

	ret = 0;
	if (ioctl(v.device, VFIO_DEVICE_GET_REGION_INFO, &info) ||
	    pread(v.device, &vendor, sizeof(vendor), info.offset) !=
	    sizeof(vendor))
		ret = errno ? errno : EIO;
	else if (!vendor || vendor == 0xffff)
		ret = EIO;
	count(r, OP_READ, ret, rparents[d.parent].name, false);

	/* Sometimes hold it, for removal and unloading to run into */
	if (!rnd(seed, 4))
		usleep(rnd(seed, 20000));
	vfio_fds_close(&v);
	count(r, OP_CLOSE, 0, "", false);
}

struct worker {
	pthread_t thread;
	struct race *r;
	unsigned int seed;
};

static void *worker_fn(void *arg)
{
	struct worker *w = arg;
	struct race *r = w->r;
	unsigned int pick;

	while (!atomic_load(&r->stop)) {
		pick = rnd(&w->seed, 10);
		if (pick < 3)
			op_create(r, &w->seed);
		else if (pick < 5)
			op_remove(r, &w->seed);
		else
			op_open(r, &w->seed);
	}
	return NULL;
}

/* ---------------------------------------------------------------------- */
/* The module thread                                                      */

struct reloader {
	pthread_t thread;
	struct race *r;
	unsigned int seconds;
	unsigned int cycles;
	bool failed;
	char why[256];
	/* Set when the thread is done: the race lasts until then */
	atomic_bool finished;
};

static int reload_one(struct reloader *m, const char *name)
{
	struct race *r = m->r;
	char path[PATH_MAX];
	long end = now_ms() + UNLOAD_RETRY_MS;
	int ret, fd;

	/* Open devices pin the module: retry until none is open */
	for (;;) {
		ret = syscall(SYS_delete_module, name, O_NONBLOCK) ? errno : 0;
		count(r, OP_UNLOAD, ret, name, false);
		if (!ret)
			break;
		if (ret != EAGAIN || now_ms() > end) {
			snprintf(m->why, sizeof(m->why), "unloading %s: %s",
				 name, errname(ret));
			return -1;
		}
		usleep(2000);
	}
	if (exists(pathf(path, MDEV_CLASS "/%s", name))) {
		snprintf(m->why, sizeof(m->why), "%s unloaded, %.200s is left",
			 name, path);
		return -1;
	}

	/* Let the workers find it gone for a moment */
	usleep(300000);

	fd = open(pathf(path, "%s/%s.ko", r->sampledir, name),
		  O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(m->why, sizeof(m->why), "%.200s: %s", path,
			 errname(errno));
		return -1;
	}
	ret = syscall(SYS_finit_module, fd, "", 0) ? errno : 0;
	close(fd);
	count(r, OP_RELOAD, ret, name, false);
	if (ret) {
		snprintf(m->why, sizeof(m->why), "reloading %s: %s", name,
			 errname(ret));
		return -1;
	}
	return 0;
}

static void *reloader_fn(void *arg)
{
	struct reloader *m = arg;
	struct race *r = m->r;
	long start = now_ms();
	unsigned int i = 0;

	/*
	 * A cycle every quarter of the run, in the middle of it: never in
	 * the first or the last second, alternating between the modules.
	 */
	for (;;) {
		long next = start + (long)m->seconds * 1000 * (i + 1) / 4;

		if (i >= 3)
			break;
		while (now_ms() < next && !atomic_load(&r->stop))
			usleep(10000);
		if (atomic_load(&r->stop))
			break;
		if (reload_one(m, rparents[i % NR_PARENTS].name)) {
			m->failed = true;
			break;
		}
		m->cycles++;
		i++;
	}
	atomic_store(&m->finished, true);
	return NULL;
}

/* ---------------------------------------------------------------------- */
/* The test                                                               */

FIXTURE(race) {
	struct race r;
	long avail[NR_RTYPES];
};

FIXTURE_SETUP(race)
{
	char path[PATH_MAX];
	unsigned int i, t;

	memset(&self->r, 0, sizeof(self->r));
	pthread_mutex_init(&self->r.lock, NULL);
	if (geteuid())
		SKIP(return, "not root");
	for (i = 0; i < NR_PARENTS; i++)
		for (t = 0; t < 2; t++)
			if (!exists(pathf(path, MDEV_CLASS "/%s/mdev_supported_types/%s",
					  rparents[i].name, rparents[i].types[t])))
				SKIP(return, "%.200s missing: load mtty and mdpy",
				     path);
	if (!exists("/dev/vfio/vfio"))
		SKIP(return, "no /dev/vfio/vfio");
	if (count_mdevs() != 0)
		SKIP(return, "mdevs exist already: the test wants none");
	/* /dev/vfio/devices/ only appears with the first device */
	self->r.cdev = exists("/dev/iommu");
	self->r.sampledir = getenv("MDEV_SAMPLEDIR");
	for (i = 0; i < NR_RTYPES; i++)
		self->avail[i] = type_avail(i);
}

FIXTURE_TEARDOWN(race)
{
	pthread_mutex_destroy(&self->r.lock);
}

TEST_F_TIMEOUT(race, everything_at_once, 600)
{
	unsigned int seconds = env_uint("MDEV_RACE_SECONDS", 20);
	unsigned int nr = env_uint("MDEV_RACE_THREADS", 4);
	struct worker workers[MAX_THREADS];
	struct reloader m = { .r = &self->r, .seconds = seconds };
	struct race *r = &self->r;
	char line[1024];
	unsigned long total = 0;
	bool reload = false;
	size_t len = 0;
	unsigned int i;
	int op, e;

	ASSERT_LT(0, nr);
	ASSERT_GE(MAX_THREADS, nr);
	ASSERT_LT(0, seconds);

	if (r->sampledir && *r->sampledir) {
		char path[PATH_MAX];

		reload = true;
		for (i = 0; i < NR_PARENTS; i++)
			if (!exists(pathf(path, "%s/%s.ko", r->sampledir,
					  rparents[i].name)))
				reload = false;
	}
	if (!reload)
		TH_LOG("no vendor module reloads: MDEV_SAMPLEDIR is not set or lacks a module");
	TH_LOG("%u threads for %u s, VFIO through %s", nr, seconds,
	       r->cdev ? "the group and the cdev" : "the group");

	for (i = 0; i < nr; i++) {
		workers[i].r = r;
		workers[i].seed = now_ms() * (i + 1) + i;
		ASSERT_EQ(0, pthread_create(&workers[i].thread, NULL,
					    worker_fn, &workers[i]));
	}
	if (reload)
		ASSERT_EQ(0, pthread_create(&m.thread, NULL, reloader_fn, &m));

	/*
	 * The race lasts its time, and until the third reload is done: on a
	 * debug kernel that releases kobjects late
	 * (CONFIG_DEBUG_KOBJECT_RELEASE) an unload takes seconds, and a cycle
	 * can outlast its quarter of the run.  Two minutes more at most.
	 */
	sleep(seconds);
	for (i = 0; reload && i < 1200 && !atomic_load(&m.finished); i++)
		usleep(100000);
	atomic_store(&r->stop, true);
	for (i = 0; i < nr; i++)
		pthread_join(workers[i].thread, NULL);
	if (reload)
		pthread_join(m.thread, NULL);

	/* The report */
	for (op = 0; op < NR_OPS; op++) {
		unsigned long n = atomic_load(&r->ok[op]);

		len += snprintf(line + len, sizeof(line) - len, "%s%s=%lu",
				op ? " " : "", op_names[op], n);
		for (e = 1; e < 256; e++) {
			unsigned long k = atomic_load(&r->err[op][e]);

			if (k)
				len += snprintf(line + len, sizeof(line) - len,
						"+%s:%lu", errname(e), k);
			n += k;
		}
		if (op < OP_UNLOAD)
			total += n;
	}
	TH_LOG("per operation, succeeded(+errno:count): %s", line);
	printf("# race: %u threads x %u s: %lu operations (%s), %u module reload cycles\n",
	       nr, seconds, total, line, m.cycles);
	fflush(stdout);

	EXPECT_FALSE(m.failed) TH_LOG("module thread: %s", m.why);
	EXPECT_EQ(0, atomic_load(&r->unexpected))
		TH_LOG("first unexpected answer: %s", r->first_unexpected);
	if (reload)
		EXPECT_EQ(3, m.cycles);
	EXPECT_LT(0, atomic_load(&r->ok[OP_CREATE]));
	EXPECT_LT(0, atomic_load(&r->ok[OP_OPEN]));

	/* Every module back, then every device gone, every instance back */
	for (i = 0; i < NR_PARENTS; i++) {
		const char *name = rparents[i].name;

		EXPECT_TRUE(module_loaded(name))
			TH_LOG("%s is not loaded at the end", name ?: "?");
	}
	TH_LOG("%d devices left by the workers, removed now", remove_all());
	EXPECT_EQ(0, count_mdevs());
	for (i = 0; i < NR_RTYPES; i++) {
		const char *type = rparents[i / 2].types[i % 2];
		long end = now_ms() + 10000;

		/*
		 * mbochs gives its memory back at the release, which
		 * CONFIG_DEBUG_KOBJECT_RELEASE delays by up to 4 s
		 */
		while (type_avail(i) != self->avail[i] && now_ms() < end)
			usleep(50000);
		EXPECT_EQ(self->avail[i], type_avail(i))
			TH_LOG("%s available_instances", type ?: "?");
	}
}

TEST_HARNESS_MAIN
