// SPDX-License-Identifier: GPL-2.0-only
/*
 * The sysfs management interface of mediated devices, seen from user space:
 * what ``create`` and ``remove`` accept and refuse (and with which errno),
 * the layout and format of every file, who may write them, the VFIO group a
 * device gets, its uevents, and creation and removal racing each other.
 *
 * The tests run over each sample parent that is registered (mtty, a
 * classic parent served by vfio_mdev.ko; mdpy and mbochs, which bring their
 * own mdev driver): the mdev_sysfs tests once per parent, as variants, one
 * whose module is not loaded being skipped; the input tables of create and
 * remove once per input, each trying every parent registered.  Only the
 * parent's name is known in advance: its types and files are discovered.
 *
 * Nothing a test does may outlive it.  Each fixture snapshots every type of
 * every parent (available_instances and devices/) together with the devices
 * on the mdev bus, compares that after every refused write and again at
 * teardown, after removing whatever a failed test left behind.
 *
 * Run as root with the samples loaded, e.g. by
 * tools/testing/vm/suites/20-sysfs.sh in the test VM.
 */

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/netlink.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "mdev_harness.h"

#define MDEV_CLASS		"/sys/class/mdev_bus"
#define MDEV_DEVICES		"/sys/bus/mdev/devices"
#define UUID_LEN		36
#define MAX_TYPES		16
/*
 * How long sysfs may take to settle after a write before it is a failure:
 * a vendor may give an instance back only at the release (mbochs), which
 * CONFIG_DEBUG_KOBJECT_RELEASE delays by up to 4 s
 */
#define SETTLE_MS		10000
#define NOBODY			65534
/* The races: threads, and how long they run */
#define RACE_THREADS		4
#define RACE_SECONDS		5

/* ---------------------------------------------------------------------- */
/* Small helpers                                                          */

static const char *errname(int err)
{
	const char *name = strerrorname_np(err);

	return name ? name : "E?";
}

/* A return value as text: "EINVAL" for -EINVAL, else the number */
static const char *retname(long ret)
{
	static __thread char buf[32];

	if (ret < 0)
		return errname(-ret);
	snprintf(buf, sizeof(buf), "%ld", ret);
	return buf;
}

/*
 * @_ret is what one of the helpers below returned (-errno on failure):
 * expect exactly the failure @_errno.  Compared by name, so that a mismatch
 * reads "Expected 'EINVAL' == 'EEXIST'"; takes a trailing TH_LOG() like the
 * harness's own EXPECT_*().
 */
#define EXPECT_ERRNO(_errno, _ret)					\
	EXPECT_STREQ(errname(_errno), retname(_ret))

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* One write(2) of @len bytes: what it returned, or -errno */
static ssize_t write_file(const char *path, const void *buf, size_t len)
{
	ssize_t ret;
	int fd;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = write(fd, buf, len);
	if (ret < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* One read(2) into @buf, NUL-terminated: the length, or -errno */
static ssize_t read_file(const char *path, char *buf, size_t size)
{
	ssize_t ret;
	int fd;

	buf[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = read(fd, buf, size - 1);
	if (ret < 0)
		ret = -errno;
	else
		buf[ret] = '\0';
	close(fd);
	return ret;
}

/* 0 if @path opens with @flags, else -errno */
static int try_open(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/*
 * Formats a path into @buf of PATH_MAX bytes.  sysfs paths never come
 * near that; one that would is cut short and fails to open.
 */
static __printf(2, 3) char *pathf(char *buf, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, PATH_MAX, fmt, ap);
	va_end(ap);
	return buf;
}

/* A decimal number on one line, as available_instances is; -1 otherwise */
static long parse_count(const char *text)
{
	char *end;
	long val;

	if (!isdigit((unsigned char)text[0]) ||
	    (text[0] == '0' && text[1] != '\n'))
		return -1;
	errno = 0;
	val = strtol(text, &end, 10);
	if (errno || strcmp(end, "\n"))
		return -1;
	return val;
}

static long read_count(const char *path)
{
	char buf[64];

	if (read_file(path, buf, sizeof(buf)) <= 0)
		return -1;
	return parse_count(buf);
}

static int skip_dots(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* The entries of a directory, sorted: their number or -errno */
static int list_dir(const char *path, struct dirent ***list)
{
	int n = scandir(path, list, skip_dots, alphasort);

	return n < 0 ? -errno : n;
}

static void free_list(struct dirent **list, int n)
{
	while (n > 0)
		free(list[--n]);
	if (n == 0)
		free(list);
}

static void make_uuid(char uuid[UUID_LEN + 1])
{
	unsigned char b[16];
	size_t i;

	if (getrandom(b, sizeof(b), 0) != sizeof(b))
		for (i = 0; i < sizeof(b); i++)
			b[i] = rand();
	b[6] = (b[6] & 0x0f) | 0x40;	/* version 4 */
	b[8] = (b[8] & 0x3f) | 0x80;	/* RFC 4122 variant */
	snprintf(uuid, UUID_LEN + 1,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
		 b[10], b[11], b[12], b[13], b[14], b[15]);
}

static const char *dev_path(char *buf, const char *uuid, const char *file)
{
	pathf(buf, "%s/%s%s%s", MDEV_DEVICES, uuid, file ? "/" : "",
	      file ?: "");
	return buf;
}

static const char *type_path(char *buf, const char *type, const char *file)
{
	pathf(buf, "%s/%s", type, file);
	return buf;
}

static bool exists(const char *path)
{
	struct stat st;

	return !lstat(path, &st);
}

static bool mdev_exists(const char *uuid)
{
	char path[PATH_MAX];

	return exists(dev_path(path, uuid, NULL));
}

/* Writes "<uuid>\n" to the type's create: the write's result */
static ssize_t mdev_create(const char *type, const char *uuid)
{
	char path[PATH_MAX], buf[UUID_LEN + 2];

	snprintf(buf, sizeof(buf), "%s\n", uuid);
	return write_file(type_path(path, type, "create"), buf, UUID_LEN + 1);
}

/* Writes "1" to the device's remove: the write's result */
static ssize_t mdev_remove(const char *uuid)
{
	char path[PATH_MAX];

	return write_file(dev_path(path, uuid, "remove"), "1", 1);
}

static long type_avail(const char *type)
{
	char path[PATH_MAX];

	return read_count(type_path(path, type, "available_instances"));
}

/* The last component of where the link @path points, in @buf */
static const char *link_name(const char *path, char *buf, size_t size)
{
	char target[PATH_MAX];
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	const char *base;

	if (n < 0)
		return NULL;
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	n = strlen(base);
	if ((size_t)n >= size)
		n = size - 1;
	memcpy(buf, base, n);
	buf[n] = '\0';
	return buf;
}

/* Whether @a and @b resolve to the same place */
static bool same_file(const char *a, const char *b)
{
	char ra[PATH_MAX], rb[PATH_MAX];

	return realpath(a, ra) && realpath(b, rb) && !strcmp(ra, rb);
}

/* ---------------------------------------------------------------------- */
/* Snapshots of the whole interface                                       */

/*
 * The devices on the mdev bus, then for every type of every parent its
 * available_instances and devices/, as text: two snapshots are equal when
 * nothing a user of the interface can see changed.
 */
static char *snapshot(void)
{
	struct dirent **parents, **types, **devs;
	char path[PATH_MAX], avail[64];
	int np, nt, nd, i, j, k;
	char *text = NULL;
	size_t size = 0;
	FILE *f;

	f = open_memstream(&text, &size);
	if (!f)
		return NULL;

	fprintf(f, "bus:");
	nd = list_dir(MDEV_DEVICES, &devs);
	for (k = 0; k < nd; k++)
		fprintf(f, " %s", devs[k]->d_name);
	free_list(devs, nd);
	fprintf(f, "\n");

	np = list_dir(MDEV_CLASS, &parents);
	for (i = 0; i < np; i++) {
		const char *p = parents[i]->d_name;

		pathf(path, "%s/%s/mdev_supported_types", MDEV_CLASS, p);
		nt = list_dir(path, &types);
		for (j = 0; j < nt; j++) {
			const char *t = types[j]->d_name;

			pathf(path, "%s/%s/mdev_supported_types/%s/available_instances",
			      MDEV_CLASS, p, t);
			if (read_file(path, avail, sizeof(avail)) < 0)
				snprintf(avail, sizeof(avail), "?");
			avail[strcspn(avail, "\n")] = '\0';
			fprintf(f, "%s/%s avail=%s devices:", p, t, avail);

			pathf(path, "%s/%s/mdev_supported_types/%s/devices",
			      MDEV_CLASS, p, t);
			nd = list_dir(path, &devs);
			for (k = 0; k < nd; k++)
				fprintf(f, " %s", devs[k]->d_name);
			free_list(devs, nd);
			fprintf(f, "\n");
		}
		free_list(types, nt);
	}
	free_list(parents, np);

	fclose(f);
	return text;
}

/*
 * Snapshots until one equals @want, for up to SETTLE_MS: a device is gone
 * from user space's view only once it is released, which a reference held
 * elsewhere may delay.  Returns the last snapshot; @waited_ms is 0 when the
 * first one matched, else how long the wait took.
 */
static char *settle(const char *want, long *waited_ms)
{
	long start = now_ms();
	char *seen;

	*waited_ms = 0;
	for (;;) {
		seen = snapshot();
		if (!want || (seen && !strcmp(want, seen)) ||
		    *waited_ms >= SETTLE_MS)
			return seen;
		free(seen);
		usleep(10000);
		*waited_ms = now_ms() - start;
	}
}

/*
 * Expect sysfs to look exactly as the snapshot @_want says; the rest is a
 * printf() format and its arguments saying when.
 */
#define EXPECT_STATE(_want, ...) do {					\
	const char *__es_want = (_want);				\
	char __es_when[256];						\
	long __es_ms;							\
	char *__es_seen = settle(__es_want, &__es_ms);			\
	bool __es_same = __es_want && __es_seen &&			\
			 !strcmp(__es_want, __es_seen);			\
									\
	snprintf(__es_when, sizeof(__es_when), __VA_ARGS__);		\
	EXPECT_TRUE(__es_same) {					\
		TH_LOG("%s: sysfs is not as it was\n"			\
		       "---- expected:\n%s---- seen:\n%s----",		\
		       __es_when, __es_want, __es_seen);		\
	}								\
	if (__es_same && __es_ms > 0)					\
		TH_LOG("%s: sysfs took %ld ms to settle", __es_when,	\
		       __es_ms);					\
	free(__es_seen);						\
} while (0)

/* ---------------------------------------------------------------------- */
/* The parent under test                                                  */

struct mdev_ctx {
	char parent[PATH_MAX];		/* /sys/class/mdev_bus/<name> */
	int nr_types;
	char types[MAX_TYPES][PATH_MAX]; /* .../mdev_supported_types/<t> */
	char *before;			/* snapshot() at setup */
	char *bus_before;		/* " <uuid> ... " at setup */
};

static char *bus_list(void)
{
	struct dirent **devs;
	char *text = NULL;
	size_t size = 0;
	FILE *f;
	int n, i;

	f = open_memstream(&text, &size);
	if (!f)
		return NULL;
	fprintf(f, " ");
	n = list_dir(MDEV_DEVICES, &devs);
	for (i = 0; i < n; i++)
		fprintf(f, "%s ", devs[i]->d_name);
	free_list(devs, n);
	fclose(f);
	return text;
}

/*
 * Finds the parent @name and its types.  Returns 0, KSFT_SKIP when it is
 * not registered, KSFT_FAIL when it is broken; @why says why.
 */
static int ctx_find(struct mdev_ctx *ctx, const char *name,
		    char *why, size_t size)
{
	struct dirent **types;
	char path[PATH_MAX];
	int n, i;

	pathf(ctx->parent, "%s/%s", MDEV_CLASS, name);
	if (!exists(ctx->parent)) {
		snprintf(why, size, "no parent %s: sample %s not loaded",
			 ctx->parent, name);
		return KSFT_SKIP;
	}

	pathf(path, "%s/mdev_supported_types", ctx->parent);
	n = list_dir(path, &types);
	if (n <= 0) {
		snprintf(why, size, "%s: %s", path,
			 n ? errname(-n) : "no types");
		return KSFT_FAIL;
	}
	for (i = 0; i < n && i < MAX_TYPES; i++)
		pathf(ctx->types[i], "%s/%s", path, types[i]->d_name);
	ctx->nr_types = i;
	free_list(types, n);
	return 0;
}

/* Snapshots sysfs into @ctx: 0, or KSFT_FAIL */
static int ctx_snap(struct mdev_ctx *ctx, char *why, size_t size)
{
	ctx->before = snapshot();
	ctx->bus_before = bus_list();
	if (!ctx->before || !ctx->bus_before) {
		snprintf(why, size, "out of memory");
		return KSFT_FAIL;
	}
	return 0;
}

/* Finds the parent @name and snapshots sysfs; returns as ctx_find() */
static int ctx_init(struct mdev_ctx *ctx, const char *name,
		    char *why, size_t size)
{
	int ret;

	if (geteuid()) {
		snprintf(why, size, "must run as root");
		return KSFT_SKIP;
	}
	ret = ctx_find(ctx, name, why, size);
	return ret ? ret : ctx_snap(ctx, why, size);
}

/*
 * Ends a setup by what ctx_init() or all_init() returned: skips the test,
 * fails it, or lets it run.  The setup must return right after.
 */
static void setup_check(struct __test_metadata *_metadata, int ret,
			const char *why)
{
	if (ret == KSFT_SKIP)
		SKIP(return, "%.900s", why);
	ASSERT_EQ(0, ret)
		TH_LOG("%s", why);
}

/* Removes what a failed test left, then checks sysfs is as it was */
static void ctx_fini(struct __test_metadata *_metadata, struct mdev_ctx *ctx)
{
	struct dirent **devs;
	char key[NAME_MAX + 3];
	int n, i;

	n = list_dir(MDEV_DEVICES, &devs);
	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), " %s ", devs[i]->d_name);
		if (ctx->bus_before && strstr(ctx->bus_before, key))
			continue;
		TH_LOG("teardown: removing leftover device %s: %s",
		       devs[i]->d_name, retname(mdev_remove(devs[i]->d_name)));
	}
	free_list(devs, n);

	EXPECT_STATE(ctx->before, "at teardown");
	free(ctx->before);
	free(ctx->bus_before);
}

/*
 * The sample parents, by the name of the parent device: the variants of
 * the mdev_sysfs fixture below say more about each.
 */
static const char * const parent_names[] = { "mtty", "mdpy", "mbochs" };

/*
 * The input tables run over every sample parent that is registered, one
 * test per input: parsing is the core's, the same whatever the parent, so
 * one result per input is what tells a regression apart.
 */
struct mdev_all {
	int nr;
	struct mdev_ctx ctx[ARRAY_SIZE(parent_names)];
};

/* Finds the parents and snapshots sysfs into the first; as ctx_init() */
static int all_init(struct mdev_all *all, char *why, size_t size)
{
	size_t i;
	int ret;

	if (geteuid()) {
		snprintf(why, size, "must run as root");
		return KSFT_SKIP;
	}
	for (i = 0; i < ARRAY_SIZE(parent_names); i++) {
		ret = ctx_find(&all->ctx[all->nr], parent_names[i], why, size);
		if (ret == KSFT_SKIP)
			continue;
		if (ret)
			return ret;
		all->nr++;
	}
	if (!all->nr) {
		snprintf(why, size, "no sample parent is registered");
		return KSFT_SKIP;
	}
	return ctx_snap(&all->ctx[0], why, size);
}

/* The setup of the input tables' fixtures */
static void all_setup(struct __test_metadata *_metadata, struct mdev_all *all)
{
	char why[PATH_MAX + 64];

	setup_check(_metadata, all_init(all, why, sizeof(why)), why);
}

/* The name of a parent, for messages */
static const char *ctx_name(const struct mdev_ctx *ctx)
{
	return strrchr(ctx->parent, '/') + 1;
}

/* ---------------------------------------------------------------------- */
/* create: one test per input                                             */

/* The length of an input: @len, or up to the NUL of @bytes when it is 0 */
static size_t variant_len(const char *bytes, size_t len)
{
	return len ? len : strlen(bytes);
}

#define UUID_A		"6f1d0b8e-3c47-4a9e-9b2d-51c7e0a4f382"
#define UUID_A_UPPER	"6F1D0B8E-3C47-4A9E-9B2D-51C7E0A4F382"

/* Expected results besides an errno */
#define CREATED		0	/* returns the length; the device exists */
#define NOTHING		(-1)	/* returns 0; nothing happens */
#define KEPT		(-2)	/* returns the length; the device stays */
#define REMOVED		(-3)	/* returns the length; the device is gone */

/*
 * One variant per input: @bytes, @len bytes long (NULs included) or up to
 * its NUL when @len is 0, padded with newlines to @size bytes when @size is
 * larger.  Spaces before a newline are written \x20.
 *
 * An empty write never reaches the store: sysfs returns 0 for it.  Writes
 * of a page or more reach it cut to one page (kernfs has no atomic write
 * size for sysfs attributes, so it truncates rather than failing with
 * E2BIG), which the store refuses with EINVAL like any wrong length.
 */
FIXTURE(create_input) {
	struct mdev_all all;
};

FIXTURE_VARIANT(create_input) {
	const char *bytes;
	size_t len;
	size_t size;
	int expect;
};

FIXTURE_VARIANT_ADD(create_input, empty) {
	.bytes = "",
	.expect = NOTHING,
};

FIXTURE_VARIANT_ADD(create_input, newline_only) {
	.bytes = "\n",
	.expect = EINVAL,
};

FIXTURE_VARIANT_ADD(create_input, nul_only) {
	.bytes = "\0",
	.len = 1,
	.expect = EINVAL,
};

FIXTURE_VARIANT_ADD(create_input, len35) {
	.bytes = "6f1d0b8e-3c47-4a9e-9b2d-51c7e0a4f38",
	.expect = EINVAL,
};

FIXTURE_VARIANT_ADD(create_input, len35_newline) {
	.bytes = "6f1d0b8e-3c47-4a9e-9b2d-51c7e0a4f38\n",
	.expect = EINVAL,
};

FIXTURE_VARIANT_ADD(create_input, len37_digit) {
	.bytes = UUID_A "0",
	.expect = EINVAL,
};

FIXTURE_VARIANT_ADD(create_input, len38) {
	.bytes = UUID_A "00",
	.expect = EINVAL,
};

FIXTURE_VARIANT_ADD(create_input, two_newlines) {
	.bytes = UUID_A "\n\n",
	.expect = EINVAL,
};

FIXTURE_VARIANT_ADD(create_input, leading_newline) {
	.bytes = "\n" UUID_A,
	.expect = EINVAL,
};

FIXTURE_VARIANT_ADD(create_input, no_dashes) {
	.bytes = "6f1d0b8e3c474a9e9b2d51c7e0a4f382",
	.expect = EINVAL,
};

FIXTURE_VARIANT_ADD(create_input, no_dashes_len36) {
	.bytes = "6f1d0b8e3c474a9e9b2d51c7e0a4f3820000",
	.expect = EINVAL,
};

FIXTURE_VARIANT_ADD(create_input, dash_shifted) {
	.bytes = "6f1d0b8-e3c47-4a9e-9b2d-51c7e0a4f382",
	.expect = EINVAL,
};

FIXTURE_VARIANT_ADD(create_input, dash_for_digit) {
	.bytes = "6f1d0b8e-3c47-4a9e-9b2d-51c7e0a4-382",
	.expect = EINVAL,
};

FIXTURE_VARIANT_ADD(create_input, digit_for_dash) {
	.bytes = "6f1d0b8e03c47-4a9e-9b2d-51c7e0a4f382",
	.expect = EINVAL,
};

FIXTURE_VARIANT_ADD(create_input, dashes_only) {
	.bytes = "------------------------------------",
	.expect = EINVAL,
};

FIXTURE_VARIANT_ADD(create_input, spaces_only) {
	.bytes = "                                    ",
	.expect = EINVAL,
};

FIXTURE_VARIANT_ADD(create_input, nonhex_g) {
	.bytes = "6f1d0b8e-3c47-4a9e-9b2d-51c7e0a4g382",
	.expect = EINVAL,
};

FIXTURE_VARIANT_ADD(create_input, nonhex_first) {
	.bytes = "xf1d0b8e-3c47-4a9e-9b2d-51c7e0a4f382",
	.expect = EINVAL,
};

FIXTURE_VARIANT_ADD(create_input, nonhex_last) {
	.bytes = "6f1d0b8e-3c47-4a9e-9b2d-51c7e0a4f38z",
	.expect = EINVAL,
};

FIXTURE_VARIANT_ADD(create_input, braces) {
	.bytes = "{" UUID_A "}",
	.expect = EINVAL,
};

FIXTURE_VARIANT_ADD(create_input, braces_newline) {
	.bytes = "{" UUID_A "}\n",
	.expect = EINVAL,
};

FIXTURE_VARIANT_ADD(create_input, embedded_nul) {
	.bytes = "6f1d0b8e-3c\0007-4a9e-9b2d-51c7e0a4f382\n",
	.len = UUID_LEN + 1,
	.expect = EINVAL,
};

FIXTURE_VARIANT_ADD(create_input, trailing_nul) {
	.bytes = UUID_A "\0",
	.len = UUID_LEN + 1,
	.expect = EINVAL,
};

FIXTURE_VARIANT_ADD(create_input, leading_nul) {
	.bytes = "\0" UUID_A,
	.len = UUID_LEN + 1,
	.expect = EINVAL,
};

FIXTURE_VARIANT_ADD(create_input, leading_space) {
	.bytes = " " UUID_A,
	.expect = EINVAL,
};

FIXTURE_VARIANT_ADD(create_input, trailing_space) {
	.bytes = UUID_A " ",
	.expect = EINVAL,
};

FIXTURE_VARIANT_ADD(create_input, trailing_space_newline) {
	.bytes = UUID_A "\x20\n",
	.expect = EINVAL,
};

FIXTURE_VARIANT_ADD(create_input, space_for_dash) {
	.bytes = "6f1d0b8e 3c47-4a9e-9b2d-51c7e0a4f382",
	.expect = EINVAL,
};

FIXTURE_VARIANT_ADD(create_input, leading_tab) {
	.bytes = "\t" UUID_A,
	.expect = EINVAL,
};

FIXTURE_VARIANT_ADD(create_input, trailing_tab) {
	.bytes = UUID_A "\t",
	.expect = EINVAL,
};

FIXTURE_VARIANT_ADD(create_input, crlf) {
	.bytes = UUID_A "\r\n",
	.expect = EINVAL,
};

FIXTURE_VARIANT_ADD(create_input, cr) {
	.bytes = UUID_A "\r",
	.expect = EINVAL,
};

FIXTURE_VARIANT_ADD(create_input, urn) {
	.bytes = "urn:uuid:" UUID_A,
	.expect = EINVAL,
};

FIXTURE_VARIANT_ADD(create_input, hex_prefix) {
	.bytes = "0x1d0b8e-3c47-4a9e-9b2d-51c7e0a4f382",
	.expect = EINVAL,
};

FIXTURE_VARIANT_ADD(create_input, plus_sign) {
	.bytes = "+f1d0b8e-3c47-4a9e-9b2d-51c7e0a4f382",
	.expect = EINVAL,
};

FIXTURE_VARIANT_ADD(create_input, high_byte) {
	.bytes = "\377f1d0b8e-3c47-4a9e-9b2d-51c7e0a4f382",
	.expect = EINVAL,
};

FIXTURE_VARIANT_ADD(create_input, two_uuids) {
	.bytes = UUID_A "\n" UUID_A "\n",
	.expect = EINVAL,
};

FIXTURE_VARIANT_ADD(create_input, page) {
	.bytes = UUID_A "\n",
	.size = 4096,
	.expect = EINVAL,
};

FIXTURE_VARIANT_ADD(create_input, page_plus_one) {
	.bytes = UUID_A "\n",
	.size = 4097,
	.expect = EINVAL,
};

FIXTURE_VARIANT_ADD(create_input, len64k) {
	.bytes = UUID_A "\n",
	.size = 65536,
	.expect = EINVAL,
};

FIXTURE_VARIANT_ADD(create_input, lower) {
	.bytes = UUID_A,
	.expect = CREATED,
};

FIXTURE_VARIANT_ADD(create_input, lower_newline) {
	.bytes = UUID_A "\n",
	.expect = CREATED,
};

FIXTURE_VARIANT_ADD(create_input, upper) {
	.bytes = UUID_A_UPPER,
	.expect = CREATED,
};

FIXTURE_VARIANT_ADD(create_input, upper_newline) {
	.bytes = UUID_A_UPPER "\n",
	.expect = CREATED,
};

FIXTURE_VARIANT_ADD(create_input, mixed_case) {
	.bytes = "6F1d0B8e-3C47-4a9E-9b2D-51c7E0a4F382\n",
	.expect = CREATED,
};

FIXTURE_VARIANT_ADD(create_input, nil) {
	.bytes = "00000000-0000-0000-0000-000000000000\n",
	.expect = CREATED,
};

FIXTURE_VARIANT_ADD(create_input, max) {
	.bytes = "ffffffff-ffff-ffff-ffff-ffffffffffff\n",
	.expect = CREATED,
};

FIXTURE_SETUP(create_input)
{
	all_setup(_metadata, &self->all);
}

FIXTURE_TEARDOWN(create_input)
{
	ctx_fini(_metadata, &self->all.ctx[0]);
}

/*
 * Write the input to the create file of each parent's first type: anything
 * but a UUID is refused with nothing left behind; a UUID in any case names
 * the device in lower case.
 */
TEST_F(create_input, write)
{
	size_t bytes = variant_len(variant->bytes, variant->len);
	size_t len = variant->size > bytes ? variant->size : bytes;
	char path[PATH_MAX], uuid[UUID_LEN + 1];
	const char *type;
	ssize_t ret;
	char *buf;
	int i, k;

	buf = malloc(len + 1);
	ASSERT_NE(NULL, buf);
	memset(buf, '\n', len);
	memcpy(buf, variant->bytes, bytes);

	for (k = 0; k < self->all.nr; k++) {
		type = self->all.ctx[k].types[0];
		ret = write_file(type_path(path, type, "create"), buf, len);

		switch (variant->expect) {
		case CREATED:
			EXPECT_EQ((ssize_t)len, ret)
				TH_LOG("%s refused a valid UUID: %s", type,
				       retname(ret));
			for (i = 0; i < UUID_LEN; i++)
				uuid[i] = tolower((unsigned char)variant->bytes[i]);
			uuid[UUID_LEN] = '\0';
			EXPECT_TRUE(mdev_exists(uuid))
				TH_LOG("%s: no device %s (in lower case)",
				       type, uuid);
			pathf(path, "%s/devices/%s", type, uuid);
			EXPECT_TRUE(exists(path))
				TH_LOG("no link %s", path);
			if (ret > 0)
				EXPECT_EQ(1, mdev_remove(uuid));
			break;
		case NOTHING:
			EXPECT_EQ(0, ret)
				TH_LOG("%s: an empty write returned %s", type,
				       retname(ret));
			break;
		default:
			EXPECT_ERRNO(variant->expect, ret)
				TH_LOG("%s", type);
			break;
		}
		EXPECT_STATE(self->all.ctx[0].before, "%s: after the write",
			     ctx_name(&self->all.ctx[k]));
	}
	free(buf);
}

/* ---------------------------------------------------------------------- */
/* remove: one test per input                                             */

/* One variant per input, of @len bytes or up to its NUL when @len is 0 */
FIXTURE(remove_input) {
	struct mdev_all all;
};

FIXTURE_VARIANT(remove_input) {
	const char *bytes;
	size_t len;
	int expect;
};

FIXTURE_VARIANT_ADD(remove_input, zero) {
	.bytes = "0",
	.expect = KEPT,
};

FIXTURE_VARIANT_ADD(remove_input, zero_newline) {
	.bytes = "0\n",
	.expect = KEPT,
};

FIXTURE_VARIANT_ADD(remove_input, zero_zero) {
	.bytes = "00",
	.expect = KEPT,
};

FIXTURE_VARIANT_ADD(remove_input, hex_zero) {
	.bytes = "0x0",
	.expect = KEPT,
};

FIXTURE_VARIANT_ADD(remove_input, empty) {
	.bytes = "",
	.expect = NOTHING,
};

FIXTURE_VARIANT_ADD(remove_input, minus_one) {
	.bytes = "-1",
	.expect = EINVAL,
};

FIXTURE_VARIANT_ADD(remove_input, letters) {
	.bytes = "abc",
	.expect = EINVAL,
};

FIXTURE_VARIANT_ADD(remove_input, hex_prefix_only) {
	.bytes = "0x",
	.expect = EINVAL,
};

FIXTURE_VARIANT_ADD(remove_input, ulong_max_plus_one) {
	.bytes = "18446744073709551616",
	.expect = EINVAL,
};

FIXTURE_VARIANT_ADD(remove_input, huge) {
	.bytes = "340282366920938463463374607431768211456",
	.expect = EINVAL,
};

FIXTURE_VARIANT_ADD(remove_input, leading_space) {
	.bytes = " 1",
	.expect = EINVAL,
};

FIXTURE_VARIANT_ADD(remove_input, trailing_space) {
	.bytes = "1 ",
	.expect = EINVAL,
};

FIXTURE_VARIANT_ADD(remove_input, newline_only) {
	.bytes = "\n",
	.expect = EINVAL,
};

FIXTURE_VARIANT_ADD(remove_input, two_newlines) {
	.bytes = "1\n\n",
	.expect = EINVAL,
};

FIXTURE_VARIANT_ADD(remove_input, trailing_letter) {
	.bytes = "1x",
	.expect = EINVAL,
};

FIXTURE_VARIANT_ADD(remove_input, decimal_point) {
	.bytes = "1.0",
	.expect = EINVAL,
};

FIXTURE_VARIANT_ADD(remove_input, one) {
	.bytes = "1",
	.expect = REMOVED,
};

FIXTURE_VARIANT_ADD(remove_input, one_newline) {
	.bytes = "1\n",
	.expect = REMOVED,
};

FIXTURE_VARIANT_ADD(remove_input, hex_one) {
	.bytes = "0x1",
	.expect = REMOVED,
};

FIXTURE_VARIANT_ADD(remove_input, plus_one) {
	.bytes = "+1",
	.expect = REMOVED,
};

FIXTURE_VARIANT_ADD(remove_input, octal) {
	.bytes = "010",
	.expect = REMOVED,
};

FIXTURE_VARIANT_ADD(remove_input, ulong_max) {
	.bytes = "18446744073709551615",
	.expect = REMOVED,
};

FIXTURE_SETUP(remove_input)
{
	all_setup(_metadata, &self->all);
}

FIXTURE_TEARDOWN(remove_input)
{
	ctx_fini(_metadata, &self->all.ctx[0]);
}

/*
 * Write the input to the remove file of a new device of each parent: a
 * non-zero number removes it, zero keeps it, anything else is refused.
 */
TEST_F(remove_input, write)
{
	size_t len = variant_len(variant->bytes, variant->len);
	char path[PATH_MAX], uuid[UUID_LEN + 1];
	const char *name;
	char *with_device;
	ssize_t ret;
	int k;

	for (k = 0; k < self->all.nr; k++) {
		name = ctx_name(&self->all.ctx[k]);
		make_uuid(uuid);
		ret = mdev_create(self->all.ctx[k].types[0], uuid);
		ASSERT_EQ(UUID_LEN + 1, ret)
			TH_LOG("%s: creating %s: %s", name, uuid, retname(ret));
		with_device = snapshot();

		ret = write_file(dev_path(path, uuid, "remove"),
				 variant->bytes, len);
		switch (variant->expect) {
		case REMOVED:
			EXPECT_EQ((ssize_t)len, ret)
				TH_LOG("%s: remove refused: %s", name,
				       retname(ret));
			EXPECT_FALSE(mdev_exists(uuid));
			break;
		case KEPT:
			EXPECT_EQ((ssize_t)len, ret)
				TH_LOG("%s: remove refused: %s", name,
				       retname(ret));
			EXPECT_STATE(with_device, "%s: after writing zero",
				     name);
			break;
		case NOTHING:
			EXPECT_EQ(0, ret)
				TH_LOG("%s: an empty write returned %s", name,
				       retname(ret));
			EXPECT_STATE(with_device, "%s: after writing nothing",
				     name);
			break;
		default:
			EXPECT_ERRNO(variant->expect, ret)
				TH_LOG("%s", name);
			EXPECT_STATE(with_device, "%s: after a refused write",
				     name);
			break;
		}
		if (mdev_exists(uuid))
			EXPECT_EQ(1, mdev_remove(uuid));
		EXPECT_STATE(self->all.ctx[0].before, "%s: after removing",
			     name);
		free(with_device);
	}
}

/* ---------------------------------------------------------------------- */
/* Everything else, once per parent                                       */

FIXTURE(mdev_sysfs) {
	struct mdev_ctx ctx;
};

FIXTURE_VARIANT(mdev_sysfs) {
	const char *parent;
	const char *driver;
	int full_errno;
};

/*
 * The sample parents: the name of the parent device, the driver its
 * devices bind to, and the errno of a creation when the parent is full
 * (mtty and mbochs count their own resources and refuse in their create
 * or probe; mdpy lets the core count its max_instances).  parent_names[]
 * lists the same.
 */
FIXTURE_VARIANT_ADD(mdev_sysfs, mtty) {
	.parent = "mtty",
	.driver = "mtty",
	.full_errno = ENOSPC,
};

FIXTURE_VARIANT_ADD(mdev_sysfs, mdpy) {
	.parent = "mdpy",
	.driver = "mdpy",
	.full_errno = EUSERS,
};

FIXTURE_VARIANT_ADD(mdev_sysfs, mbochs) {
	.parent = "mbochs",
	.driver = "mbochs",
	.full_errno = ENOSPC,
};

FIXTURE_SETUP(mdev_sysfs)
{
	char why[PATH_MAX + 64];
	int ret = ctx_init(&self->ctx, variant->parent, why, sizeof(why));

	setup_check(_metadata, ret, why);
}

FIXTURE_TEARDOWN(mdev_sysfs)
{
	ctx_fini(_metadata, &self->ctx);
}

/*
 * What is wrong with @path, which should be a file of type @fmt (S_IFREG,
 * ...) owned by root with mode @mode (any mode when -1), or NULL.
 */
static const char *mode_problem(const char *path, unsigned int fmt, int mode)
{
	static __thread char why[PATH_MAX + 64];
	struct stat st;

	if (lstat(path, &st))
		snprintf(why, sizeof(why), "%s: %s", path, errname(errno));
	else if ((st.st_mode & S_IFMT) != fmt)
		snprintf(why, sizeof(why), "%s: file type %o, not %o", path,
			 st.st_mode & S_IFMT, fmt);
	else if (mode >= 0 && (st.st_mode & 07777) != (unsigned int)mode)
		snprintf(why, sizeof(why), "%s: mode %04o, not %04o", path,
			 st.st_mode & 07777, mode);
	else if (st.st_uid)
		snprintf(why, sizeof(why), "%s: owned by uid %u", path,
			 st.st_uid);
	else
		return NULL;
	return why;
}

#define EXPECT_MODE(_path, _fmt, _mode)					\
	EXPECT_STREQ("ok", mode_problem(_path, _fmt, _mode) ?: "ok")

/*
 * /sys/class/mdev_bus/<parent> links to the parent, whose
 * mdev_supported_types/ holds one <driver>-<type> directory per type with
 * create (root only), name, device_api, available_instances, an optional
 * description (all world-readable) and devices/.
 */
TEST_F(mdev_sysfs, type_layout)
{
	char path[PATH_MAX], prefix[NAME_MAX + 1] = "";
	int i;

	EXPECT_MODE(self->ctx.parent, S_IFLNK, -1);
	pathf(path, "%s/mdev_supported_types", self->ctx.parent);
	EXPECT_MODE(path, S_IFDIR, -1);

	for (i = 0; i < self->ctx.nr_types; i++) {
		const char *type = self->ctx.types[i];
		const char *dir = strrchr(type, '/') + 1;
		const char *dash = strchr(dir, '-');

		/* Every type is named after the same driver */
		ASSERT_NE(NULL, dash)
			TH_LOG("type %s is not <driver>-<type>", dir);
		EXPECT_NE(dir, dash);
		EXPECT_NE('\0', dash[1]);
		if (!prefix[0])
			snprintf(prefix, sizeof(prefix), "%.*s",
				 (int)(dash - dir + 1), dir);
		EXPECT_EQ(0, strncmp(dir, prefix, strlen(prefix)))
			TH_LOG("type %s does not start with %s", dir, prefix);

		EXPECT_MODE(type, S_IFDIR, -1);
		EXPECT_MODE(type_path(path, type, "create"), S_IFREG, 0200);
		EXPECT_MODE(type_path(path, type, "name"), S_IFREG, 0444);
		EXPECT_MODE(type_path(path, type, "device_api"), S_IFREG,
			    0444);
		EXPECT_MODE(type_path(path, type, "available_instances"),
			    S_IFREG, 0444);
		EXPECT_MODE(type_path(path, type, "devices"), S_IFDIR, -1);
		if (exists(type_path(path, type, "description")))
			EXPECT_MODE(path, S_IFREG, 0444);
	}
}

/* What is wrong with @buf, read(2) returning @len, as one line, or NULL */
static const char *line_problem(const char *buf, ssize_t len)
{
	if (len < 0)
		return errname(-len);
	if (len <= 1)
		return "empty";
	if (buf[len - 1] != '\n')
		return "no trailing newline";
	if (strlen(buf) != (size_t)len)
		return "holds a NUL";
	if (strcspn(buf, "\n") != (size_t)len - 1)
		return "more than one line";
	return NULL;
}

/*
 * "one line" when @buf, read(2) from @path returning @len, is one
 * non-empty line; else the file, what is wrong and what it held.
 */
static const char *one_line(const char *path, const char *buf, ssize_t len)
{
	static __thread char why[PATH_MAX + 8192 + 64];
	const char *problem = line_problem(buf, len);

	if (!problem)
		return "one line";
	snprintf(why, sizeof(why), "%s: %s: '%s'", path, problem, buf);
	return why;
}

/* Expect the file @_path to have read as exactly one non-empty line */
#define EXPECT_ONE_LINE(_path, _buf, _len)				\
	EXPECT_STREQ("one line", one_line(_path, _buf, _len))

/* name, device_api, available_instances, description: one line each */
TEST_F(mdev_sysfs, type_attr_format)
{
	static const char * const apis[] = {
		"vfio-pci\n", "vfio-platform\n", "vfio-amba\n", "vfio-ccw\n",
		"vfio-ap\n",
	};
	char path[PATH_MAX], buf[8192];
	ssize_t len;
	bool known;
	size_t i;
	int t;

	for (t = 0; t < self->ctx.nr_types; t++) {
		const char *type = self->ctx.types[t];

		len = read_file(type_path(path, type, "name"), buf,
				sizeof(buf));
		EXPECT_ONE_LINE(path, buf, len);

		len = read_file(type_path(path, type, "device_api"), buf,
				sizeof(buf));
		EXPECT_ONE_LINE(path, buf, len);
		known = false;
		for (i = 0; i < ARRAY_SIZE(apis); i++)
			known |= !strcmp(buf, apis[i]);
		EXPECT_TRUE(known)
			TH_LOG("%s: unknown API '%s'", path, buf);

		len = read_file(type_path(path, type, "available_instances"),
				buf, sizeof(buf));
		EXPECT_ONE_LINE(path, buf, len);
		EXPECT_LE(0, parse_count(buf))
			TH_LOG("%s: not a decimal number: '%s'", path, buf);

		if (!exists(type_path(path, type, "description")))
			continue;
		len = read_file(path, buf, sizeof(buf));
		EXPECT_ONE_LINE(path, buf, len);
	}
}

/* Even root can neither read create and remove nor write the others */
TEST_F(mdev_sysfs, attr_direction)
{
	static const char * const read_only[] = {
		"name", "device_api", "available_instances", "description",
	};
	char path[PATH_MAX], uuid[UUID_LEN + 1];
	size_t i;
	int t;

	for (t = 0; t < self->ctx.nr_types; t++) {
		const char *type = self->ctx.types[t];

		EXPECT_ERRNO(EACCES, try_open(type_path(path, type, "create"),
					      O_RDONLY));
		for (i = 0; i < ARRAY_SIZE(read_only); i++) {
			type_path(path, type, read_only[i]);
			if (!exists(path))
				continue;
			EXPECT_ERRNO(EACCES, try_open(path, O_WRONLY))
				TH_LOG("%s", path);
		}
	}

	make_uuid(uuid);
	ASSERT_EQ(UUID_LEN + 1, mdev_create(self->ctx.types[0], uuid));
	EXPECT_ERRNO(EACCES, try_open(dev_path(path, uuid, "remove"),
				      O_RDONLY));
	EXPECT_EQ(1, mdev_remove(uuid));
}

/*
 * A device of each type in turn: the bus lists it below its parent, it and
 * its type link to each other, and only its own type's count goes down by
 * one while it exists.
 */
TEST_F(mdev_sysfs, create_remove)
{
	char path[PATH_MAX], path2[PATH_MAX], uuid[UUID_LEN + 1];
	char name[NAME_MAX + 1];
	long avail, avail_now;
	ssize_t ret;
	int t;

	for (t = 0; t < self->ctx.nr_types; t++) {
		const char *type = self->ctx.types[t];

		avail = type_avail(type);
		ASSERT_LE(0, avail);
		if (!avail) {
			TH_LOG("%s: no instance available", type);
			continue;
		}

		make_uuid(uuid);
		ret = mdev_create(type, uuid);
		ASSERT_EQ(UUID_LEN + 1, ret)
			TH_LOG("create on %s: %s", type, retname(ret));

		/* The device, below its parent */
		EXPECT_MODE(dev_path(path, uuid, NULL), S_IFLNK, -1);
		pathf(path2, "%s/%s", self->ctx.parent, uuid);
		EXPECT_TRUE(same_file(path, path2))
			TH_LOG("%s is not %s", path, path2);
		EXPECT_MODE(dev_path(path, uuid, "remove"), S_IFREG, 0200);
		EXPECT_STREQ("mdev", link_name(dev_path(path, uuid, "subsystem"),
					       name, sizeof(name)));

		/* Device and type link to each other */
		EXPECT_MODE(dev_path(path, uuid, "mdev_type"), S_IFLNK, -1);
		EXPECT_TRUE(same_file(path, type))
			TH_LOG("mdev_type of %s is not %s", uuid, type);
		pathf(path2, "%s/devices/%s", type, uuid);
		EXPECT_MODE(path2, S_IFLNK, -1);
		EXPECT_TRUE(same_file(path2, dev_path(path, uuid, NULL)))
			TH_LOG("%s does not lead to the device", path2);

		avail_now = type_avail(type);
		EXPECT_EQ(avail - 1, avail_now)
			TH_LOG("%s: available_instances %ld -> %ld", type,
			       avail, avail_now);

		EXPECT_EQ(1, mdev_remove(uuid));
		EXPECT_FALSE(mdev_exists(uuid));
		EXPECT_FALSE(exists(path2));
		EXPECT_STATE(self->ctx.before, "after removing %s", uuid);
	}
}

/*
 * Once created the device is bound to its driver, which registered a VFIO
 * device: the iommu_group link names /dev/vfio/<group>.
 */
TEST_F(mdev_sysfs, bound_to_vfio)
{
	char path[PATH_MAX], name[NAME_MAX + 1], uuid[UUID_LEN + 1];
	struct stat st;
	char *end;

	make_uuid(uuid);
	ASSERT_EQ(UUID_LEN + 1, mdev_create(self->ctx.types[0], uuid));

	if (!link_name(dev_path(path, uuid, "driver"), name, sizeof(name)))
		snprintf(name, sizeof(name), "(none)");
	EXPECT_STREQ(variant->driver, name);

	ASSERT_NE(NULL, link_name(dev_path(path, uuid, "iommu_group"), name,
				  sizeof(name)))
		TH_LOG("%s: no iommu_group", uuid);
	strtoul(name, &end, 10);
	EXPECT_TRUE(name[0] && !*end)
		TH_LOG("iommu_group %s is not a number", name);

	pathf(path, "/dev/vfio/%s", name);
	ASSERT_EQ(0, stat(path, &st))
		TH_LOG("%s: %s", path, errname(errno));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	TH_LOG("%s is in IOMMU group %s, %s mode %04o", uuid, name, path,
	       st.st_mode & 07777);

	EXPECT_EQ(1, mdev_remove(uuid));
	EXPECT_FALSE(exists(path))
		TH_LOG("%s outlived its only device", path);
}

/*
 * Root may unbind a device from its driver through the driver core's
 * sysfs files (no mdev driver suppresses them).  It then has no VFIO
 * device, cannot be bound to any mdev driver again (the bus matches
 * nothing: binding is the core's job), and can still be removed, giving
 * everything back.
 */
TEST_F(mdev_sysfs, unbind_then_remove)
{
	char path[PATH_MAX], drv[NAME_MAX + 1], uuid[UUID_LEN + 1];
	struct dirent **drivers;
	int n, i;

	/* Before there is a device: a failed ASSERT skips the teardown */
	pathf(path, "/sys/bus/mdev/drivers/%s/unbind", variant->driver);
	ASSERT_TRUE(exists(path))
		TH_LOG("%s has no unbind file", variant->driver);

	make_uuid(uuid);
	ASSERT_EQ(UUID_LEN + 1, mdev_create(self->ctx.types[0], uuid));
	ASSERT_NE(NULL, link_name(dev_path(path, uuid, "driver"), drv,
				  sizeof(drv)));
	EXPECT_STREQ(variant->driver, drv);
	pathf(path, "/sys/bus/mdev/drivers/%s/unbind", drv);

	EXPECT_EQ(UUID_LEN, write_file(path, uuid, UUID_LEN))
		TH_LOG("unbind: %s", retname(write_file(path, uuid, UUID_LEN)));
	EXPECT_FALSE(exists(dev_path(path, uuid, "driver")));
	EXPECT_FALSE(exists(dev_path(path, uuid, "iommu_group")));
	EXPECT_TRUE(exists(dev_path(path, uuid, "mdev_type")));

	n = list_dir("/sys/bus/mdev/drivers", &drivers);
	for (i = 0; i < n; i++) {
		pathf(path, "/sys/bus/mdev/drivers/%s/bind",
		      drivers[i]->d_name);
		if (!exists(path))
			continue;
		EXPECT_ERRNO(ENODEV, write_file(path, uuid, UUID_LEN))
			TH_LOG("binding to %s", drivers[i]->d_name);
	}
	free_list(drivers, n);
	EXPECT_EQ(UUID_LEN, write_file("/sys/bus/mdev/drivers_probe", uuid,
				       UUID_LEN));
	EXPECT_FALSE(exists(dev_path(path, uuid, "driver")))
		TH_LOG("drivers_probe bound %s", uuid);

	EXPECT_EQ(1, mdev_remove(uuid));
	EXPECT_FALSE(mdev_exists(uuid));
	EXPECT_STATE(self->ctx.before, "after removing an unbound device");
}

static int uevent_open(void)
{
	struct sockaddr_nl sa = {
		.nl_family = AF_NETLINK,
		.nl_groups = 1,
	};
	int size = 4 << 20, fd, err;

	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC,
		    NETLINK_KOBJECT_UEVENT);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/*
 * Waits up to @ms for the kernel's uevent "<action>@<...>/<uuid>" and puts
 * its variables, one per line, in @env.
 */
static bool uevent_wait(int fd, const char *action, const char *uuid,
			char *env, size_t size, int ms)
{
	long deadline = now_ms() + ms;
	char buf[8192], *p, *at;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t off;
	ssize_t n;

	while (now_ms() < deadline) {
		if (poll(&pfd, 1, deadline - now_ms()) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
		if (n <= 0)
			continue;
		buf[n] = '\0';

		at = strchr(buf, '@');
		if (!at || (size_t)(at - buf) != strlen(action) ||
		    strncmp(buf, action, at - buf))
			continue;
		p = strrchr(at, '/');
		if (!p || strcmp(p + 1, uuid))
			continue;

		off = 0;
		env[0] = '\0';
		for (p = buf + strlen(buf) + 1; p < buf + n;
		     p += strlen(p) + 1)
			off += snprintf(env + off, off < size ? size - off : 0,
					"%s\n", p);
		return true;
	}
	return false;
}

/* add and bind as the device appears, unbind and remove as it goes */
TEST_F(mdev_sysfs, uevents)
{
	char uuid[UUID_LEN + 1], env[4096], want[128];
	bool ok;
	int fd;

	fd = uevent_open();
	if (fd < 0)
		SKIP(return, "no uevent socket: %s", errname(-fd));

	make_uuid(uuid);
	ASSERT_EQ(UUID_LEN + 1, mdev_create(self->ctx.types[0], uuid));

	ok = uevent_wait(fd, "add", uuid, env, sizeof(env), 5000);
	EXPECT_TRUE(ok)
		TH_LOG("no add uevent for %s", uuid);
	if (ok)
		EXPECT_NE(NULL, strstr(env, "SUBSYSTEM=mdev\n"))
			TH_LOG("add uevent:\n%s", env);

	ok = uevent_wait(fd, "bind", uuid, env, sizeof(env), 5000);
	EXPECT_TRUE(ok)
		TH_LOG("no bind uevent for %s", uuid);
	snprintf(want, sizeof(want), "DRIVER=%s\n", variant->driver);
	if (ok)
		EXPECT_NE(NULL, strstr(env, want))
			TH_LOG("bind uevent:\n%s", env);

	ASSERT_EQ(1, mdev_remove(uuid));
	EXPECT_TRUE(uevent_wait(fd, "unbind", uuid, env, sizeof(env), 5000))
		TH_LOG("no unbind uevent for %s", uuid);
	EXPECT_TRUE(uevent_wait(fd, "remove", uuid, env, sizeof(env), 5000))
		TH_LOG("no remove uevent for %s", uuid);
	close(fd);
}

static void upper(char *dst, const char *src)
{
	while (*src)
		*dst++ = toupper((unsigned char)*src++);
	*dst = '\0';
}

/* A UUID in use cannot be created again on the same type, in any case */
TEST_F(mdev_sysfs, duplicate_same_type)
{
	char uuid[UUID_LEN + 1], uuid_upper[UUID_LEN + 1], *with_device;
	const char *type = self->ctx.types[0];

	make_uuid(uuid);
	upper(uuid_upper, uuid);
	ASSERT_EQ(UUID_LEN + 1, mdev_create(type, uuid));
	with_device = snapshot();

	EXPECT_ERRNO(EEXIST, mdev_create(type, uuid));
	EXPECT_ERRNO(EEXIST, mdev_create(type, uuid_upper));
	EXPECT_STATE(with_device, "after creating %s twice", uuid);

	EXPECT_EQ(1, mdev_remove(uuid));
	free(with_device);
}

/* ... nor on another type of the same parent */
TEST_F(mdev_sysfs, duplicate_other_type)
{
	char uuid[UUID_LEN + 1], *with_device;
	int t;

	if (self->ctx.nr_types < 2)
		SKIP(return, "%s has a single type", variant->parent);

	make_uuid(uuid);
	ASSERT_EQ(UUID_LEN + 1, mdev_create(self->ctx.types[0], uuid));
	with_device = snapshot();

	for (t = 1; t < self->ctx.nr_types; t++) {
		if (type_avail(self->ctx.types[t]) <= 0)
			continue;
		EXPECT_ERRNO(EEXIST, mdev_create(self->ctx.types[t], uuid))
			TH_LOG("%s", self->ctx.types[t]);
	}
	EXPECT_STATE(with_device, "after creating %s on each type", uuid);

	EXPECT_EQ(1, mdev_remove(uuid));
	free(with_device);
}

/* ... nor on a type of another parent: UUIDs are unique system-wide */
TEST_F(mdev_sysfs, duplicate_other_parent)
{
	char uuid[UUID_LEN + 1], other[PATH_MAX] = "", path[PATH_MAX];
	struct dirent **parents, **types;
	char *with_device;
	int np, nt, i, j;

	/* A type with room on any other parent */
	np = list_dir(MDEV_CLASS, &parents);
	for (i = 0; i < np && !other[0]; i++) {
		pathf(path, "%s/%s/mdev_supported_types", MDEV_CLASS,
		      parents[i]->d_name);
		if (same_file(path, self->ctx.types[0]) ||
		    !strcmp(parents[i]->d_name, variant->parent))
			continue;
		nt = list_dir(path, &types);
		for (j = 0; j < nt && !other[0]; j++) {
			pathf(other, "%s/%s", path, types[j]->d_name);
			if (type_avail(other) <= 0)
				other[0] = '\0';
		}
		free_list(types, nt);
	}
	free_list(parents, np);
	if (!other[0])
		SKIP(return, "no other parent with room (load another sample)");

	make_uuid(uuid);
	ASSERT_EQ(UUID_LEN + 1, mdev_create(self->ctx.types[0], uuid));
	with_device = snapshot();

	EXPECT_ERRNO(EEXIST, mdev_create(other, uuid))
		TH_LOG("%s", other);
	EXPECT_STATE(with_device, "after creating %s on %s", uuid, other);

	EXPECT_EQ(1, mdev_remove(uuid));
	free(with_device);
}

/* Once the remove write returned, the UUID can be used again at once */
TEST_F(mdev_sysfs, uuid_reuse)
{
	char uuid[UUID_LEN + 1];
	ssize_t ret;
	int i, t;

	make_uuid(uuid);
	for (i = 0; i < 3; i++) {
		for (t = 0; t < self->ctx.nr_types; t++) {
			if (type_avail(self->ctx.types[t]) <= 0)
				continue;
			ret = mdev_create(self->ctx.types[t], uuid);
			ASSERT_EQ(UUID_LEN + 1, ret)
				TH_LOG("round %d, %s: %s", i,
				       self->ctx.types[t], retname(ret));
			ASSERT_EQ(1, mdev_remove(uuid));
		}
	}
	EXPECT_STATE(self->ctx.before, "after reusing %s", uuid);
}

/*
 * Whether every type of @ctx tells how many instances it has left: a test
 * skips for want of instances only when it knows there are none.
 */
static bool counts_readable(const struct mdev_ctx *ctx)
{
	int t;

	for (t = 0; t < ctx->nr_types; t++)
		if (type_avail(ctx->types[t]) < 0)
			return false;
	return true;
}

/*
 * The type of @ctx with the fewest instances left but at least @min, or
 * NULL when none has that many; *@left says how many it has.
 */
static const char *fewest_left(const struct mdev_ctx *ctx, long min,
			       long *left)
{
	const char *type = NULL;
	long avail;
	int t;

	*left = LONG_MAX;
	for (t = 0; t < ctx->nr_types; t++) {
		avail = type_avail(ctx->types[t]);
		if (avail >= min && avail < *left) {
			*left = avail;
			type = ctx->types[t];
		}
	}
	return type;
}

/* Creates @n devices of @type, under the new UUIDs it puts in @uuids */
static void fill_type(struct __test_metadata *_metadata, const char *type,
		      char (*uuids)[UUID_LEN + 1], long n)
{
	ssize_t ret;
	long i;

	for (i = 0; i < n; i++) {
		make_uuid(uuids[i]);
		ret = mdev_create(type, uuids[i]);
		ASSERT_EQ(UUID_LEN + 1, ret)
			TH_LOG("instance %ld of %ld on %s: %s", i + 1, n,
			       type, retname(ret));
	}
}

/*
 * Fill the type with the fewest instances left: its count reaches 0 and
 * one more creation, on it or on any other type showing 0, fails with the
 * parent's errno and leaves nothing behind.
 */
TEST_F_TIMEOUT(mdev_sysfs, exhaust, 300)
{
	char (*uuids)[UUID_LEN + 1], uuid[UUID_LEN + 1], *full;
	const char *type;
	bool readable;
	long best, i;
	int t;

	readable = counts_readable(&self->ctx);
	type = fewest_left(&self->ctx, 1, &best);
	if (readable && !type)
		SKIP(return, "no type has an instance left");
	if (readable && best > 256)
		SKIP(return, "%s has %ld instances left, too many", type, best);
	ASSERT_TRUE(readable)
		TH_LOG("an available_instances of %s cannot be read",
		       variant->parent);

	uuids = calloc(best, sizeof(*uuids));
	ASSERT_NE(NULL, uuids);
	fill_type(_metadata, type, uuids, best);
	EXPECT_EQ(0, type_avail(type));
	full = snapshot();

	make_uuid(uuid);
	EXPECT_ERRNO(variant->full_errno, mdev_create(type, uuid))
		TH_LOG("%s, full", type);
	for (t = 0; t < self->ctx.nr_types; t++) {
		if (self->ctx.types[t] == type ||
		    type_avail(self->ctx.types[t]) != 0)
			continue;
		EXPECT_ERRNO(variant->full_errno,
			     mdev_create(self->ctx.types[t], uuid))
			TH_LOG("%s, showing 0 available", self->ctx.types[t]);
	}
	EXPECT_STATE(full, "after creating on a full parent");
	TH_LOG("%ld devices of %s, then %s", best, strrchr(type, '/') + 1,
	       errname(variant->full_errno));

	for (i = 0; i < best; i++)
		EXPECT_EQ(1, mdev_remove(uuids[i]));
	EXPECT_STATE(self->ctx.before, "after emptying the parent");
	free(full);
	free(uuids);
}

/*
 * A UUID in use is EEXIST even on a full parent: the duplicate is what is
 * wrong with the request (Linux 6.12 checks it before counting).
 */
TEST_F_TIMEOUT(mdev_sysfs, duplicate_when_full, 300)
{
	char (*uuids)[UUID_LEN + 1];
	const char *type;
	bool readable;
	long best, i;

	readable = counts_readable(&self->ctx);
	type = fewest_left(&self->ctx, 1, &best);
	if (readable && !type)
		SKIP(return, "no type has an instance left");
	if (readable && best > 256)
		SKIP(return, "%.900s has %ld instances left, too many", type,
		     best);
	ASSERT_TRUE(readable)
		TH_LOG("an available_instances of %s cannot be read",
		       variant->parent);

	uuids = calloc(best, sizeof(*uuids));
	ASSERT_NE(NULL, uuids);
	fill_type(_metadata, type, uuids, best);
	ASSERT_EQ(0, type_avail(type));

	EXPECT_ERRNO(EEXIST, mdev_create(type, uuids[0]))
		TH_LOG("%s full, creating %s again", type, uuids[0]);

	for (i = 0; i < best; i++)
		EXPECT_EQ(1, mdev_remove(uuids[i]));
	free(uuids);
}

struct flip {
	const char *type;
	const char *uuid;
	int *stop;
	unsigned long count[3];	/* creator: created, EEXIST; remover: below */
	long err;		/* first unexpected result */
};

enum { FLIP_DONE, FLIP_BUSY, FLIP_EAGAIN };

/* Creates the device whenever it does not exist */
static void *flip_create_fn(void *arg)
{
	struct flip *f = arg;
	ssize_t ret;

	while (!f->err && !__atomic_load_n(f->stop, __ATOMIC_RELAXED)) {
		ret = mdev_create(f->type, f->uuid);
		if (ret == UUID_LEN + 1)
			f->count[FLIP_DONE]++;
		else if (ret == -EEXIST)
			f->count[FLIP_BUSY]++;
		else
			f->err = ret < 0 ? ret : -EIO;
	}
	return NULL;
}

/* Removes it as soon as its remove file appears */
static void *flip_remove_fn(void *arg)
{
	struct flip *f = arg;
	char path[PATH_MAX];
	ssize_t ret;

	dev_path(path, f->uuid, "remove");
	while (!f->err && !__atomic_load_n(f->stop, __ATOMIC_RELAXED)) {
		ret = write_file(path, "1", 1);
		if (ret == 1)
			f->count[FLIP_DONE]++;
		else if (ret == -ENOENT || ret == -ENODEV)
			f->count[FLIP_BUSY]++;
		else if (ret == -EAGAIN)
			f->count[FLIP_EAGAIN]++;
		else
			f->err = ret < 0 ? ret : -EIO;
	}
	return NULL;
}

/*
 * One thread creating a UUID again and again, another writing its remove
 * file as soon as it exists, possibly before the creation completed (which
 * is EAGAIN, and keeps the file): no other error, nothing left.
 */
TEST_F_TIMEOUT(mdev_sysfs, remove_while_creating, 120)
{
	char uuid[UUID_LEN + 1];
	struct flip creator = {}, remover = {};
	pthread_t tc, tr;
	int stop = 0;

	make_uuid(uuid);
	creator.type = self->ctx.types[0];
	creator.uuid = uuid;
	creator.stop = &stop;
	remover = creator;
	ASSERT_EQ(0, pthread_create(&tc, NULL, flip_create_fn, &creator));
	ASSERT_EQ(0, pthread_create(&tr, NULL, flip_remove_fn, &remover));
	sleep(RACE_SECONDS);
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	pthread_join(tc, NULL);
	pthread_join(tr, NULL);

	EXPECT_EQ(0, creator.err)
		TH_LOG("create: %s", retname(creator.err));
	EXPECT_EQ(0, remover.err)
		TH_LOG("remove: %s", retname(remover.err));
	TH_LOG("%lu created (%lu EEXIST), %lu removed (%lu absent, %lu EAGAIN)",
	       creator.count[FLIP_DONE], creator.count[FLIP_BUSY],
	       remover.count[FLIP_DONE], remover.count[FLIP_BUSY],
	       remover.count[FLIP_EAGAIN]);
	EXPECT_LT(0, remover.count[FLIP_DONE]);
	if (mdev_exists(uuid))
		EXPECT_EQ(1, mdev_remove(uuid));
	EXPECT_STATE(self->ctx.before, "after the race");
}

/*
 * A remove file held open across the removal of its device: writing to it
 * again fails with ENODEV (the file is gone), and the path with ENOENT.
 */
TEST_F(mdev_sysfs, remove_stale_fd)
{
	char path[PATH_MAX], uuid[UUID_LEN + 1];
	ssize_t ret;
	int fd;

	make_uuid(uuid);
	ASSERT_EQ(UUID_LEN + 1, mdev_create(self->ctx.types[0], uuid));
	fd = open(dev_path(path, uuid, "remove"), O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);

	ret = write(fd, "1", 1);
	EXPECT_EQ(1, ret)
		TH_LOG("first write: %s", errname(errno));
	EXPECT_FALSE(mdev_exists(uuid));

	ret = write(fd, "1", 1);
	EXPECT_ERRNO(ENODEV, ret < 0 ? -errno : ret);
	close(fd);

	EXPECT_ERRNO(ENOENT, try_open(path, O_WRONLY));
	EXPECT_STATE(self->ctx.before, "after removing %s", uuid);
}

struct unpriv_result {
	int setup;		/* 0 or the errno of dropping privileges */
	int caps;		/* effective capabilities left (low word) */
	int create;		/* opening create for writing */
	int remove;		/* opening remove for writing */
	int group;		/* opening /dev/vfio/<group> */
	int name;		/* reading name */
};

/* As nobody without capabilities, try what only root may do */
static void unpriv_child(const char *type, const char *uuid,
			 const char *group, int out)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct caps[2] = {};
	struct unpriv_result r = {};
	char path[PATH_MAX], buf[256];

	if (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
	    setresuid(NOBODY, NOBODY, NOBODY) ||
	    syscall(SYS_capset, &hdr, caps)) {
		r.setup = errno;
		goto out;
	}
	if (syscall(SYS_capget, &hdr, caps))
		r.setup = errno;
	r.caps = caps[0].effective | caps[1].effective;

	r.create = try_open(type_path(path, type, "create"), O_WRONLY);
	r.remove = try_open(dev_path(path, uuid, "remove"), O_WRONLY);
	pathf(path, "/dev/vfio/%s", group);
	r.group = try_open(path, O_RDWR);
	r.name = read_file(type_path(path, type, "name"), buf, sizeof(buf));
	if (r.name > 0)
		r.name = 0;
out:
	if (write(out, &r, sizeof(r)) != sizeof(r))
		_exit(1);
	_exit(0);
}

/*
 * Only root manages devices: as an unprivileged user, create and remove
 * (mode 0200, root's) and the VFIO group cannot be opened, while the type
 * can still be read.
 */
TEST_F(mdev_sysfs, unprivileged)
{
	char path[PATH_MAX], uuid[UUID_LEN + 1], group[NAME_MAX + 1];
	const char *type = self->ctx.types[0];
	struct unpriv_result r;
	int pipefd[2], status;
	pid_t pid;

	make_uuid(uuid);
	ASSERT_EQ(UUID_LEN + 1, mdev_create(type, uuid));
	ASSERT_NE(NULL, link_name(dev_path(path, uuid, "iommu_group"), group,
				  sizeof(group)));

	/* Root can: the refusals below are about privilege */
	pathf(path, "/dev/vfio/%s", group);
	EXPECT_EQ(0, try_open(path, O_RDWR))
		TH_LOG("root opening %s: %s", path,
		       retname(try_open(path, O_RDWR)));

	ASSERT_EQ(0, pipe2(pipefd, O_CLOEXEC));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(pipefd[0]);
		unpriv_child(type, uuid, group, pipefd[1]);
	}
	close(pipefd[1]);
	ASSERT_EQ(sizeof(r), read(pipefd[0], &r, sizeof(r)));
	close(pipefd[0]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));

	ASSERT_EQ(0, r.setup)
		TH_LOG("dropping privileges: %s", errname(r.setup));
	EXPECT_EQ(0, r.caps)
		TH_LOG("capabilities left: %#x", r.caps);
	TH_LOG("uid %d: create %s, remove %s, /dev/vfio/%s %s, name %s",
	       NOBODY, retname(r.create), retname(r.remove), group,
	       retname(r.group), retname(r.name));
	EXPECT_ERRNO(EACCES, r.create);
	EXPECT_ERRNO(EACCES, r.remove);
	EXPECT_ERRNO(EACCES, r.group);
	EXPECT_EQ(0, r.name);

	EXPECT_TRUE(mdev_exists(uuid));
	EXPECT_EQ(1, mdev_remove(uuid));
}

struct racer {
	pthread_t thread;
	const char *type;
	int *stop;
	int full_errno;		/* a creation may fail with this, or 0 */
	unsigned long rounds;
	unsigned long refused;	/* creations that failed with full_errno */
	long err;		/* first failure, as -errno */
	char what[64];
};

/* Create and remove devices, each with a fresh UUID, until told to stop */
static void *racer_fn(void *arg)
{
	struct racer *r = arg;
	char uuid[UUID_LEN + 1];
	ssize_t ret;

	while (!__atomic_load_n(r->stop, __ATOMIC_RELAXED)) {
		make_uuid(uuid);
		ret = mdev_create(r->type, uuid);
		if (r->full_errno && ret == -r->full_errno) {
			r->refused++;
			continue;
		}
		if (ret != UUID_LEN + 1) {
			r->err = ret < 0 ? ret : -EIO;
			snprintf(r->what, sizeof(r->what), "create %s", uuid);
			break;
		}
		ret = mdev_remove(uuid);
		if (ret != 1) {
			r->err = ret < 0 ? ret : -EIO;
			snprintf(r->what, sizeof(r->what), "remove %s", uuid);
			break;
		}
		r->rounds++;
	}
	return NULL;
}

struct watcher {
	pthread_t thread;
	struct mdev_ctx *ctx;
	int *stop;
	unsigned long reads;
	char bad[PATH_MAX + 64];
};

/* Meanwhile, every count must read as a number, whatever the moment */
static void *watcher_fn(void *arg)
{
	struct watcher *w = arg;
	int t;

	while (!__atomic_load_n(w->stop, __ATOMIC_RELAXED)) {
		for (t = 0; t < w->ctx->nr_types; t++) {
			if (type_avail(w->ctx->types[t]) < 0 && !w->bad[0])
				snprintf(w->bad, sizeof(w->bad),
					 "%s: unreadable available_instances",
					 w->ctx->types[t]);
			w->reads++;
		}
		free(snapshot());
	}
	return NULL;
}

/*
 * Threads creating and removing distinct devices on one type for a few
 * seconds while another reads the counts: nothing fails, nothing is left.
 */
TEST_F_TIMEOUT(mdev_sysfs, concurrent_create_remove, 120)
{
	struct racer racers[RACE_THREADS] = {};
	struct watcher watcher = { .ctx = &self->ctx };
	const char *type = NULL;
	unsigned long total = 0;
	long avail, best = 0;
	int stop = 0, n, i, t;
	bool readable;

	for (t = 0; t < self->ctx.nr_types; t++) {
		avail = type_avail(self->ctx.types[t]);
		if (avail > best) {
			best = avail;
			type = self->ctx.types[t];
		}
	}
	readable = counts_readable(&self->ctx);
	if (readable && best < 2)
		SKIP(return, "no type has two instances left");
	ASSERT_TRUE(readable)
		TH_LOG("an available_instances of %s cannot be read",
		       variant->parent);
	n = best < RACE_THREADS ? best : RACE_THREADS;

	watcher.stop = &stop;
	ASSERT_EQ(0, pthread_create(&watcher.thread, NULL, watcher_fn,
				    &watcher));
	for (i = 0; i < n; i++) {
		racers[i].type = type;
		racers[i].stop = &stop;
		ASSERT_EQ(0, pthread_create(&racers[i].thread, NULL, racer_fn,
					    &racers[i]));
	}
	sleep(RACE_SECONDS);
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < n; i++)
		pthread_join(racers[i].thread, NULL);
	pthread_join(watcher.thread, NULL);

	for (i = 0; i < n; i++) {
		EXPECT_EQ(0, racers[i].err)
			TH_LOG("thread %d: %s: %s", i, racers[i].what,
			       retname(racers[i].err));
		total += racers[i].rounds;
	}
	EXPECT_EQ('\0', watcher.bad[0])
		TH_LOG("%s", watcher.bad);
	TH_LOG("%d threads on %s: %lu devices created and removed in %d s, %lu counts read",
	       n, strrchr(type, '/') + 1, total, RACE_SECONDS, watcher.reads);
	EXPECT_LT(0, total);
	EXPECT_STATE(self->ctx.before, "after the race");
}

/*
 * The same on a type with only two instances left: the threads compete
 * for them, the losers get the parent's "full" errno, and the count comes
 * back to where it was.
 */
TEST_F_TIMEOUT(mdev_sysfs, concurrent_overcommit, 300)
{
	struct racer racers[RACE_THREADS] = {};
	char (*fill)[UUID_LEN + 1] = NULL;
	unsigned long total = 0, refused = 0;
	long best, nr_fill;
	const char *type;
	bool readable;
	int stop = 0, i;

	readable = counts_readable(&self->ctx);
	type = fewest_left(&self->ctx, 2, &best);
	if (readable && !type)
		SKIP(return, "no type has two instances left");
	if (readable && best > 256)
		SKIP(return, "%.900s has %ld instances left, too many", type,
		     best);
	ASSERT_TRUE(readable)
		TH_LOG("an available_instances of %s cannot be read",
		       variant->parent);

	nr_fill = best - 2;
	if (nr_fill) {
		fill = calloc(nr_fill, sizeof(*fill));
		ASSERT_NE(NULL, fill);
	}
	fill_type(_metadata, type, fill, nr_fill);
	ASSERT_EQ(2, type_avail(type));

	for (i = 0; i < RACE_THREADS; i++) {
		racers[i].type = type;
		racers[i].stop = &stop;
		racers[i].full_errno = variant->full_errno;
		ASSERT_EQ(0, pthread_create(&racers[i].thread, NULL, racer_fn,
					    &racers[i]));
	}
	sleep(RACE_SECONDS);
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < RACE_THREADS; i++)
		pthread_join(racers[i].thread, NULL);

	for (i = 0; i < RACE_THREADS; i++) {
		EXPECT_EQ(0, racers[i].err)
			TH_LOG("thread %d: %s: %s", i, racers[i].what,
			       retname(racers[i].err));
		total += racers[i].rounds;
		refused += racers[i].refused;
	}
	TH_LOG("%d threads for 2 instances of %s: %lu created and removed, %lu refused with %s",
	       RACE_THREADS, strrchr(type, '/') + 1, total, refused,
	       errname(variant->full_errno));
	EXPECT_LT(0, total);
	EXPECT_EQ(2, type_avail(type));

	for (i = 0; i < nr_fill; i++)
		EXPECT_EQ(1, mdev_remove(fill[i]));
	free(fill);
	EXPECT_STATE(self->ctx.before, "after the race");
}

struct same_uuid {
	pthread_t thread;
	const char *path;
	const char *bytes;
	size_t len;
	pthread_barrier_t *start;
	ssize_t ret;
};

static void *same_uuid_fn(void *arg)
{
	struct same_uuid *s = arg;

	pthread_barrier_wait(s->start);
	s->ret = write_file(s->path, s->bytes, s->len);
	return NULL;
}

/* Threads creating the same UUID at once: one wins, the others EEXIST */
TEST_F(mdev_sysfs, concurrent_same_uuid)
{
	struct same_uuid threads[RACE_THREADS] = {};
	char path[PATH_MAX], line[UUID_LEN + 2], uuid[UUID_LEN + 1];
	const char *type = self->ctx.types[0];
	pthread_barrier_t start;
	int i, n, won = 0;
	char *with_device;
	long avail;

	avail = type_avail(type);
	if (avail >= 0 && avail < 2)
		SKIP(return, "%.900s has %ld instances left", type, avail);
	ASSERT_LE(2, avail)
		TH_LOG("%s/available_instances cannot be read", type);
	n = avail < RACE_THREADS ? avail : RACE_THREADS;

	make_uuid(uuid);
	snprintf(line, sizeof(line), "%s\n", uuid);
	type_path(path, type, "create");
	ASSERT_EQ(0, pthread_barrier_init(&start, NULL, n));
	for (i = 0; i < n; i++) {
		threads[i].path = path;
		threads[i].bytes = line;
		threads[i].len = UUID_LEN + 1;
		threads[i].start = &start;
		ASSERT_EQ(0, pthread_create(&threads[i].thread, NULL,
					    same_uuid_fn, &threads[i]));
	}
	for (i = 0; i < n; i++)
		pthread_join(threads[i].thread, NULL);
	pthread_barrier_destroy(&start);

	for (i = 0; i < n; i++) {
		if (threads[i].ret == UUID_LEN + 1)
			won++;
		else
			EXPECT_ERRNO(EEXIST, threads[i].ret);
	}
	EXPECT_EQ(1, won);
	EXPECT_EQ(avail - 1, type_avail(type));
	with_device = snapshot();

	/* And the same for removing it: every writer sees success or ENODEV */
	dev_path(path, uuid, "remove");
	ASSERT_EQ(0, pthread_barrier_init(&start, NULL, n));
	for (i = 0; i < n; i++) {
		threads[i].bytes = "1";
		threads[i].len = 1;
		ASSERT_EQ(0, pthread_create(&threads[i].thread, NULL,
					    same_uuid_fn, &threads[i]));
	}
	for (i = 0; i < n; i++)
		pthread_join(threads[i].thread, NULL);
	pthread_barrier_destroy(&start);

	for (i = 0; i < n; i++) {
		if (threads[i].ret != 1 && threads[i].ret != -ENOENT)
			EXPECT_ERRNO(ENODEV, threads[i].ret);
	}
	EXPECT_FALSE(mdev_exists(uuid));
	EXPECT_STATE(self->ctx.before, "after the removal race");
	free(with_device);
}

TEST_HARNESS_MAIN
