// SPDX-License-Identifier: GPL-2.0
/*
 * Load generator of the mdev core benchmark: creates and removes mediated
 * devices through sysfs, opens one through VFIO and reads its region,
 * timing each operation with clock_gettime(CLOCK_MONOTONIC).
 *
 *   mdev_bench_load create TYPE_DIR N BLOCK UUID_FILE [MS]
 *	Writes N fresh UUIDs into TYPE_DIR/create, one pwrite() each on a
 *	single file descriptor.  Prints, for every BLOCK creations,
 *	"create <devices after the block> <mean us> <median us> <max us>",
 *	and saves the UUIDs, one a line, in UUID_FILE.  With MS, stops at
 *	the first block boundary after creating for MS milliseconds (by
 *	the guest's clock, the writes alone), however few devices that
 *	made: how far a core gets in a time budget.
 *
 *   mdev_bench_load remove UUID_FILE BLOCK SEED
 *	Removes every device of UUID_FILE in an order shuffled by SEED (0:
 *	in the order of the file), each
 *	by open(), write("1") and close() of /sys/bus/mdev/devices/<uuid>/remove.
 *	Prints, for every BLOCK removals, "remove <devices before the block>
 *	<mean us> <median us> <max us> <mean us of the write alone>".
 *
 *   mdev_bench_load open UUID ITERATIONS
 *	Opens the container, the group and the device through the VFIO group
 *	API ITERATIONS times, closing all three each time.  Prints
 *	"open <mean us> <median us>" (container open to device fd) and
 *	"close <mean us> <median us> <device us> <group us> <container us>"
 *	(the three closes together, then each alone, medians): a mean is
 *	at the mercy of one iteration during which the VM lost the host CPU.
 *
 *   mdev_bench_load pread UUID CALLS BATCH
 *	Opens the device once, then reads the 4-byte register at the start
 *	of region 0 CALLS times, timing each BATCH calls.  Prints "pread
 *	<median ns/op> <min ns/op> <mean ns/op>" over the batches: the median
 *	batch is the figure to compare, as a batch during which the VM lost
 *	the host CPU is an outlier.
 *
 *   mdev_bench_load sync-cost COUNT
 *	Passes COUNT sync points in a row, to measure what one costs.
 *
 *   mdev_bench_load host-sync DIR QEMU_PID LOG
 *	Runs on the host, beside the VM (see "Host CPU time" below).
 *
 * Exits non-zero, saying why, on the first failure.
 *
 * Host CPU time: the host that runs the VM is shared, and an operation
 * during which QEMU lost the CPU looks tens of milliseconds long to the
 * guest's clock.  So, when MDEV_BENCH_SYNC names a directory shared with the
 * host, each command also stops at its sync points (every block boundary,
 * and before and after the open and pread loops): it writes
 * "<seq> $MDEV_BENCH_TAG <label>" into DIR/req and waits until DIR/ack holds
 * <seq>.  host-sync, on the host, answers each request after appending
 * "<ns> $MDEV_BENCH_TAG <label>" to LOG, <ns> being the CPU time QEMU's
 * busiest thread (the TCG thread, which runs every vCPU) has used so far:
 * the difference between two sync points is what the guest executed in
 * between, however long it waited for the host CPU.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <linux/vfio.h>

#define UUID_LEN	36
#define REG_MAGIC	0x6d646576u	/* mdev_bench.c: MB_REG_MAGIC */

static void die(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "mdev_bench_load: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(err));
	exit(1);
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static unsigned long parse_num(const char *s, const char *what, bool zero)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || *end || end == s || (!v && !zero)) {
		errno = EINVAL;
		die("bad %s '%s'", what, s);
	}
	return v;
}

/* A positive number */
static unsigned long parse_ulong(const char *s, const char *what)
{
	return parse_num(s, what, false);
}

/* xorshift64*: reproducible shuffles and UUIDs, seeded from the caller */
static uint64_t rng_state;

static uint64_t rng_next(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

struct stats {
	double mean, median, max;
};

/* Sorts @v in place */
static struct stats stats_of(double *v, size_t n)
{
	struct stats s = { 0 };
	size_t i;

	for (i = 0; i < n; i++)
		s.mean += v[i];
	s.mean /= n;
	qsort(v, n, sizeof(*v), cmp_double);
	s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	s.max = v[n - 1];
	return s;
}

/* A random (version 4) UUID, lower case, NUL-terminated */
static void uuid_make(char out[UUID_LEN + 1])
{
	uint64_t hi = rng_next(), lo = rng_next();

	hi = (hi & ~0xf000ull) | 0x4000ull;
	lo = (lo & ~(0xc000ull << 48)) | (0x8000ull << 48);
	snprintf(out, UUID_LEN + 1, "%08x-%04x-%04x-%04x-%012llx",
		 (unsigned int)(hi >> 32), (unsigned int)(hi >> 16) & 0xffff,
		 (unsigned int)hi & 0xffff, (unsigned int)(lo >> 48),
		 (unsigned long long)lo & 0xffffffffffffull);
}

static void seed_from_urandom(void)
{
	int fd = open("/dev/urandom", O_RDONLY);

	if (fd < 0 || read(fd, &rng_state, sizeof(rng_state)) !=
		      sizeof(rng_state))
		die("/dev/urandom");
	close(fd);
	rng_state |= 1;
}

/* See "Host CPU time" above; a no-op without MDEV_BENCH_SYNC */
static void sync_point(const char *fmt, ...)
{
	static unsigned long seq;
	const char *dir = getenv("MDEV_BENCH_SYNC");
	const char *tag = getenv("MDEV_BENCH_TAG");
	char path[PATH_MAX], tmp[PATH_MAX], buf[64];
	struct timespec pause = { 0, 1000000 };
	va_list ap;
	FILE *f;
	int i;

	if (!dir || !*dir)
		return;
	fflush(stdout);
	seq++;
	snprintf(tmp, sizeof(tmp), "%s/req.tmp", dir);
	snprintf(path, sizeof(path), "%s/req", dir);
	f = fopen(tmp, "w");
	if (!f)
		die("%s", tmp);
	fprintf(f, "%lu %s ", seq, tag ? tag : "-");
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fprintf(f, "\n");
	if (fclose(f) || rename(tmp, path))
		die("%s", path);

	snprintf(path, sizeof(path), "%s/ack", dir);
	for (i = 0; i < 120000; i++) {
		int fd = open(path, O_RDONLY);
		ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

		if (fd >= 0)
			close(fd);
		if (n > 0) {
			buf[n] = '\0';
			if (strtoul(buf, NULL, 10) == seq)
				return;
		}
		nanosleep(&pause, NULL);
	}
	errno = ETIMEDOUT;
	die("no answer from the host to sync point %lu", seq);
}

static int cmd_create(const char *type_dir, unsigned long n,
		      unsigned long block, const char *uuid_file,
		      double limit_us)
{
	double spent = 0;
	char path[PATH_MAX], uuid[UUID_LEN + 1];
	double *lat = calloc(block, sizeof(*lat));
	FILE *out = fopen(uuid_file, "w");
	unsigned long i;
	int fd;

	if (!lat || !out)
		die("%s", uuid_file);
	snprintf(path, sizeof(path), "%s/create", type_dir);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		die("%s", path);
	seed_from_urandom();

	sync_point("create 0");
	for (i = 0; i < n; i++) {
		double t0, t1;

		uuid_make(uuid);
		t0 = now_us();
		if (pwrite(fd, uuid, UUID_LEN, 0) != UUID_LEN)
			die("create #%lu (%s)", i + 1, uuid);
		t1 = now_us();
		lat[i % block] = t1 - t0;
		spent += t1 - t0;
		fprintf(out, "%s\n", uuid);

		if ((i + 1) % block == 0 || i + 1 == n) {
			size_t len = i % block + 1;
			struct stats s = stats_of(lat, len);

			sync_point("create %lu", i + 1);
			printf("create %lu %.1f %.1f %.1f\n", i + 1, s.mean,
			       s.median, s.max);
			fflush(stdout);
			if (limit_us > 0 && spent >= limit_us)
				break;
		}
	}
	close(fd);
	if (fclose(out))
		die("%s", uuid_file);
	free(lat);
	return 0;
}

static char **read_uuids(const char *uuid_file, unsigned long *n)
{
	FILE *in = fopen(uuid_file, "r");
	char line[64], **v = NULL;
	unsigned long cap = 0;

	if (!in)
		die("%s", uuid_file);
	*n = 0;
	while (fgets(line, sizeof(line), in)) {
		line[strcspn(line, "\n")] = '\0';
		if (strlen(line) != UUID_LEN)
			continue;
		if (*n == cap) {
			cap = cap ? 2 * cap : 1024;
			v = realloc(v, cap * sizeof(*v));
			if (!v)
				die("realloc");
		}
		v[(*n)++] = strdup(line);
	}
	fclose(in);
	return v;
}

static int cmd_remove(const char *uuid_file, unsigned long block,
		      unsigned long seed)
{
	double *lat = calloc(block, sizeof(*lat));
	double wsum = 0;
	unsigned long n, i;
	char **uuids = read_uuids(uuid_file, &n);
	char path[PATH_MAX];

	if (!lat)
		die("calloc");
	rng_state = seed | 1;
	for (i = n; seed && i > 1; i--) {
		unsigned long j = rng_next() % i;
		char *tmp = uuids[i - 1];

		uuids[i - 1] = uuids[j];
		uuids[j] = tmp;
	}

	for (i = 0; i < n; i++) {
		double t0, t1, t2;
		int fd;

		if (i % block == 0)
			sync_point("remove %lu", n - i);
		snprintf(path, sizeof(path), "/sys/bus/mdev/devices/%s/remove",
			 uuids[i]);
		t0 = now_us();
		fd = open(path, O_WRONLY);
		if (fd < 0)
			die("%s", path);
		t1 = now_us();
		if (write(fd, "1", 1) != 1)
			die("remove #%lu (%s)", i + 1, uuids[i]);
		wsum += now_us() - t1;
		close(fd);
		t2 = now_us();
		lat[i % block] = t2 - t0;

		if ((i + 1) % block == 0 || i + 1 == n) {
			size_t len = i % block + 1;
			struct stats s = stats_of(lat, len);

			if (i + 1 == n)
				sync_point("remove 0");
			printf("remove %lu %.1f %.1f %.1f %.1f\n",
			       n - (i + 1 - len), s.mean, s.median, s.max,
			       wsum / len);
			fflush(stdout);
			wsum = 0;
		}
	}
	free(lat);
	return 0;
}

struct vfio_fds {
	int container, group, device;
};

static void group_path(const char *uuid, char *out, size_t len)
{
	char link[PATH_MAX], target[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "/sys/bus/mdev/devices/%s/iommu_group",
		 uuid);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		die("%s", link);
	target[n] = '\0';
	snprintf(out, len, "/dev/vfio/%s", basename(target));
}

static void vfio_open(const char *group, const char *uuid,
		      struct vfio_fds *f)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };

	f->container = open("/dev/vfio/vfio", O_RDWR);
	if (f->container < 0)
		die("/dev/vfio/vfio");
	f->group = open(group, O_RDWR);
	if (f->group < 0)
		die("%s", group);
	if (ioctl(f->group, VFIO_GROUP_GET_STATUS, &status))
		die("VFIO_GROUP_GET_STATUS");
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		errno = EBUSY;
		die("%s is not viable", group);
	}
	if (ioctl(f->group, VFIO_GROUP_SET_CONTAINER, &f->container))
		die("VFIO_GROUP_SET_CONTAINER");
	if (ioctl(f->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		die("VFIO_SET_IOMMU");
	f->device = ioctl(f->group, VFIO_GROUP_GET_DEVICE_FD, uuid);
	if (f->device < 0)
		die("VFIO_GROUP_GET_DEVICE_FD");
}

/* Each close alone, in us, into @us[0..2] when @us is not NULL */
static void vfio_close(struct vfio_fds *f, double *us)
{
	int fds[3] = { f->device, f->group, f->container };
	double t = now_us(), t1;
	int i;

	for (i = 0; i < 3; i++) {
		close(fds[i]);
		t1 = now_us();
		if (us)
			us[i] = t1 - t;
		t = t1;
	}
}

static int cmd_open(const char *uuid, unsigned long iterations)
{
	double *lat = calloc(iterations, sizeof(*lat));
	/* the three closes together, then the device, group, container fd */
	double *cl[4];
	struct stats c[4];
	char group[PATH_MAX];
	struct vfio_fds f;
	struct stats s;
	unsigned long i;
	int k;

	for (k = 0; k < 4; k++) {
		cl[k] = calloc(iterations, sizeof(*cl[k]));
		if (!cl[k])
			die("calloc");
	}
	if (!lat)
		die("calloc");
	group_path(uuid, group, sizeof(group));
	sync_point("open begin %lu", iterations);
	for (i = 0; i < iterations; i++) {
		double t0, t1, us[3];

		t0 = now_us();
		vfio_open(group, uuid, &f);
		t1 = now_us();
		vfio_close(&f, us);
		lat[i] = t1 - t0;
		cl[0][i] = us[0] + us[1] + us[2];
		for (k = 0; k < 3; k++)
			cl[k + 1][i] = us[k];
	}
	sync_point("open end %lu", iterations);
	s = stats_of(lat, iterations);
	for (k = 0; k < 4; k++)
		c[k] = stats_of(cl[k], iterations);
	printf("open %.1f %.1f\n", s.mean, s.median);
	printf("close %.1f %.1f %.1f %.1f %.1f\n", c[0].mean, c[0].median,
	       c[1].median, c[2].median, c[3].median);
	free(lat);
	for (k = 0; k < 4; k++)
		free(cl[k]);
	return 0;
}

static int cmd_pread(const char *uuid, unsigned long calls,
		     unsigned long batch)
{
	struct vfio_region_info info = { .argsz = sizeof(info), .index = 0 };
	unsigned long runs = (calls + batch - 1) / batch;
	double *per_op = calloc(runs, sizeof(*per_op));
	char group[PATH_MAX];
	struct vfio_fds f;
	struct stats s;
	unsigned long r, i;
	uint32_t val;

	if (!per_op)
		die("calloc");
	group_path(uuid, group, sizeof(group));
	vfio_open(group, uuid, &f);
	if (ioctl(f.device, VFIO_DEVICE_GET_REGION_INFO, &info))
		die("VFIO_DEVICE_GET_REGION_INFO");
	if (pread(f.device, &val, sizeof(val), info.offset) != sizeof(val))
		die("pread");
	if (val != REG_MAGIC) {
		errno = EIO;
		die("register reads %#x, not %#x", val, REG_MAGIC);
	}

	sync_point("pread begin %lu", calls);
	for (r = 0; r < runs; r++) {
		unsigned long todo = r + 1 < runs ? batch : calls - r * batch;
		double t0 = now_us();

		for (i = 0; i < todo; i++)
			if (pread(f.device, &val, sizeof(val), info.offset) !=
			    sizeof(val))
				die("pread #%lu", r * batch + i + 1);
		per_op[r] = (now_us() - t0) * 1e3 / todo;
	}
	sync_point("pread end %lu", calls);
	vfio_close(&f, NULL);
	s = stats_of(per_op, runs);
	printf("pread %.0f %.0f %.0f\n", s.median, per_op[0], s.mean);
	free(per_op);
	return 0;
}

static int cmd_sync_cost(unsigned long count)
{
	unsigned long i;

	sync_point("sync begin %lu", count);
	for (i = 1; i < count; i++)
		sync_point("sync %lu", i);
	sync_point("sync end %lu", count);
	return 0;
}

/* CPU time so far of the thread of @pid that has used the most, in ns */
static unsigned long long busiest_thread_ns(pid_t pid)
{
	unsigned long long best = 0, ns;
	char path[PATH_MAX];
	struct dirent *d;
	DIR *dir;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir)
		return 0;
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/schedstat", pid,
			 d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fscanf(f, "%llu", &ns) == 1 && ns > best)
			best = ns;
		fclose(f);
	}
	closedir(dir);
	return best;
}

static int cmd_host_sync(const char *dir, pid_t pid, const char *log_file)
{
	char req[PATH_MAX], ack[PATH_MAX], tmp[PATH_MAX], line[512];
	unsigned long last = 0;
	FILE *log = fopen(log_file, "a");
	int in = inotify_init1(IN_CLOEXEC);

	if (!log || in < 0 ||
	    inotify_add_watch(in, dir, IN_MOVED_TO | IN_CLOSE_WRITE) < 0)
		die("%s", dir);
	snprintf(req, sizeof(req), "%s/req", dir);
	snprintf(ack, sizeof(ack), "%s/ack", dir);
	snprintf(tmp, sizeof(tmp), "%s/ack.tmp", dir);

	/* Until QEMU exits; the timeout also catches a missed event */
	while (!kill(pid, 0) || errno != ESRCH) {
		struct pollfd p = { .fd = in, .events = POLLIN };
		char events[4096];
		unsigned long seq;
		FILE *f;

		if (poll(&p, 1, 200) > 0 && read(in, events, sizeof(events)) < 0)
			die("inotify");
		f = fopen(req, "r");
		if (!f)
			continue;
		if (!fgets(line, sizeof(line), f)) {
			fclose(f);
			continue;
		}
		fclose(f);
		seq = strtoul(line, NULL, 10);
		if (seq == last)
			continue;
		last = seq;
		fprintf(log, "%llu %s", busiest_thread_ns(pid),
			strchr(line, ' ') ? strchr(line, ' ') + 1 : "?\n");
		fflush(log);
		f = fopen(tmp, "w");
		if (!f || fprintf(f, "%lu\n", seq) < 0 || fclose(f) ||
		    rename(tmp, ack))
			die("%s", ack);
	}
	fclose(log);
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: mdev_bench_load create TYPE_DIR N BLOCK UUID_FILE [MS]\n"
		"       mdev_bench_load remove UUID_FILE BLOCK SEED\n"
		"       mdev_bench_load open UUID ITERATIONS\n"
		"       mdev_bench_load pread UUID CALLS BATCH\n"
		"       mdev_bench_load sync-cost COUNT\n"
		"       mdev_bench_load host-sync DIR QEMU_PID LOG\n");
	exit(2);
}

int main(int argc, char **argv)
{
	if ((argc == 6 || argc == 7) && !strcmp(argv[1], "create"))
		return cmd_create(argv[2], parse_ulong(argv[3], "N"),
				  parse_ulong(argv[4], "BLOCK"), argv[5],
				  argc == 7 ? 1e3 * parse_ulong(argv[6], "MS") : 0);
	if (argc == 5 && !strcmp(argv[1], "remove"))
		return cmd_remove(argv[2], parse_ulong(argv[3], "BLOCK"),
				  parse_num(argv[4], "SEED", true));
	if (argc == 4 && !strcmp(argv[1], "open"))
		return cmd_open(argv[2], parse_ulong(argv[3], "ITERATIONS"));
	if (argc == 5 && !strcmp(argv[1], "pread"))
		return cmd_pread(argv[2], parse_ulong(argv[3], "CALLS"),
				 parse_ulong(argv[4], "BATCH"));
	if (argc == 3 && !strcmp(argv[1], "sync-cost"))
		return cmd_sync_cost(parse_ulong(argv[2], "COUNT"));
	if (argc == 5 && !strcmp(argv[1], "host-sync"))
		return cmd_host_sync(argv[2], parse_ulong(argv[3], "QEMU_PID"),
				     argv[4]);
	usage();
	return 2;
}
