// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fault injection sweeps over the paths of mediated devices: every
 * allocation a path makes is failed in turn, with the per-task fail-nth
 * file (Documentation/fault-injection/fault-injection.rst), for
 * N = 1, 2, 3, ... until the operation succeeds without the fault being hit.
 *
 *   create           writing a UUID to mdev_supported_types/<type>/create,
 *                    which also runs the vendor's probe: mtty (classic
 *                    callbacks, through vfio_mdev.ko), mdpy and mbochs
 *                    (their own mdev driver)
 *   open             opening the VFIO device of an mdev: through a type1
 *                    container and VFIO_GROUP_GET_DEVICE_FD, and through
 *                    its cdev with an iommufd bind and attach
 *   parent_register  loading a vendor module with finit_module(2), whose
 *                    init registers the parent; unloaded with
 *                    delete_module(2) after each load that succeeds.
 *                    Only the calls made from do_init_module() on are
 *                    swept, those of the module's init: the module
 *                    loader's own before it (about 300) are the kernel's,
 *                    slow to sweep under TCG, and swept only with
 *                    MDEV_FAULT_LOADER=1.  Where do_init_module() starts
 *                    is found by bisection, from whether the trace event
 *                    module:module_load, emitted just before it, came.
 *                    Meanwhile a thread writes UUIDs into the create
 *                    file of the parent's first type: none may succeed
 *                    during a load that fails (ENODEV until the parent is
 *                    registered), and at least one write must have
 *                    reached the core during the sweep.
 *
 * After each injected fault the operation either failed, or succeeded if
 * the fault did not fall on a path that can fail it (fail-nth reads 0 once
 * the fault was consumed); either way nothing of a failed operation may
 * be left: no device on the bus or below its type, no VFIO device or
 * group, available_instances as before, and the same operation without a
 * fault succeeds right after (a create even with the very UUID that just
 * failed).  Each test prints "swept <n> fault points" and the program ends
 * with a summary line of every path ("# fault points swept: ...").  A
 * sweep that has not come to its end within its bound (see
 * MDEV_FAULT_MAX_POINTS) fails: the fault points it did not reach were
 * not tested.
 *
 * The fault-injection knobs (restored at the end): failslab fails every
 * allocation that fail-nth picks, sleeping ones included
 * (ignore-gfp-wait=N: the paths here allocate with GFP_KERNEL); it stays
 * quiet (verbose=0, or every fault would dump a stack); probability stays
 * 0 and task-filter=Y, so that nothing but fail-nth ever fails an
 * allocation, and only in this task.  fail_page_alloc keeps its default
 * ignore-gfp-wait=Y: failing sleeping page allocations mostly hits the
 * page allocator's own warn_alloc() on behalf of callers that are not
 * ours, and slab allocations are where our error paths start.
 *
 * Some core paths report a failed allocation by design: vmalloc() prints
 * "vmalloc error: ..." with a stack dump when it cannot allocate its
 * vm_struct (mdpy's framebuffer), and so does the page allocator ("page
 * allocation failure").  Such a dump is not a bug, but the VM rig fails a
 * run on any "Call Trace:"; and the VFIO core has a bug of its own that
 * WARNs on a failed allocation (see KNOWN_WARN_RE).  Each sweep is
 * therefore bracketed by the rig's expected-report markers,
 * "mdev-rig: expected-report-begin pid=<pid> (mdev_fault_test)" and
 * "mdev-rig: expected-report-end pid=<pid>", <pid> being the test's
 * process, the one the faults hit; and the test watches /dev/kmsg itself
 * meanwhile: any line the rig would call a kernel report fails the test,
 * except the call trace of one of those allocation warnings and that one
 * known warning.  So do records the test could not read because the log
 * overwrote them first (EPIPE): any of them could have been a report.
 * The rig still scans everything outside the brackets, and kmemleak at the
 * end.  (The VM boots with log_buf_len=16M, which holds a whole run.)
 *
 * Environment: MDEV_SAMPLEDIR, where mtty.ko, mdpy.ko and mbochs.ko are
 * (set by the VM rig); MDEV_FAULT_MAX_POINTS (default 600) bounds each
 * sweep: a path with more fault points than that is swept over its last
 * ones, which hold the vendor's and our code, and a sweep that has not
 * ended after twice that many fails; MDEV_FAULT_LOADER=1 (see above);
 * MDEV_FAULT_STRIDE=k sweeps every k-th point of parent_register.
 * Run as root in a VM with the samples and vfio_iommu_type1 loaded and no
 * mdev present, e.g. by tools/testing/vm/suites/60-hardening.sh.  What a
 * sweep needs and does not find (fail-nth, failslab's debugfs knobs,
 * mlockall(), IOMMUFD, the samples' modules ...) skips it, except on the
 * rig's debug kernel (MDEV_VM_KERNEL=debug), which has it all: there it
 * fails.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <regex.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "mdev_harness.h"
#include "mdev_util.h"

#define MDEV_CLASS		"/sys/class/mdev_bus"
#define VFIO_DEVICES		"/dev/vfio/devices"
#define IOMMU_GROUPS		"/sys/kernel/iommu_groups"
#define DEBUGFS			"/sys/kernel/debug"
#define MAX_TYPES		8
#define DEFAULT_MAX_POINTS	600
/* How long the state may take to settle after an operation */
#define SETTLE_MS		3000
/*
 * ... and to be exactly as before at the end of a sweep, when every
 * release has come: CONFIG_DEBUG_KOBJECT_RELEASE delays each by 1-4 s
 */
#define SETTLE_EXACT_MS		15000

/* ---------------------------------------------------------------------- */
/* Small helpers                                                          */

/* The first line of a file, without its newline: length or -errno */
static int read_str(const char *path, char *buf, size_t size)
{
	ssize_t len;
	int fd;

	buf[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = read(fd, buf, size - 1);
	close(fd);
	if (len < 0)
		return -errno;
	buf[len] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return strlen(buf);
}

static long read_long(const char *path)
{
	char buf[64];

	if (read_str(path, buf, sizeof(buf)) <= 0)
		return LONG_MIN;
	return strtol(buf, NULL, 0);
}

/* Entries of a directory other than . and ..; -1 if it cannot be read */
static int count_dir(const char *path)
{
	struct dirent *de;
	int n = 0;
	DIR *d;

	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void random_uuid(char *uuid)
{
	uint8_t b[16];
	int i;

	if (getrandom(b, sizeof(b), 0) != sizeof(b))
		for (i = 0; i < 16; i++)
			b[i] = rand();
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(uuid, UUID_LEN + 1,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
		 b[10], b[11], b[12], b[13], b[14], b[15]);
}

static bool module_loaded(const char *name)
{
	char path[PATH_MAX];

	/* /sys/module/<name>/initstate exists only for a live module */
	return exists(pathf(path, "/sys/module/%s/initstate", name));
}

static int delete_module(const char *name)
{
	return syscall(SYS_delete_module, name, O_NONBLOCK) ? -errno : 0;
}

static int finit_module(int fd)
{
	return syscall(SYS_finit_module, fd, "", 0) ? -errno : 0;
}

/* ---------------------------------------------------------------------- */
/* Parents                                                                */

struct parent {
	const char *name;	/* below /sys/class/mdev_bus, and the module */
	const char *type;	/* the type the sweeps create */
};

static const struct parent parents[] = {
	{ "mtty", "mtty-1" },
	{ "mdpy", "mdpy-vga" },
	{ "mbochs", "mbochs-small" },
};

static const struct parent *find_parent(const char *name)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(parents); i++)
		if (!strcmp(parents[i].name, name))
			return &parents[i];
	return NULL;
}

/*
 * What must come back after every failed operation: the instances left of
 * every type of the parent, and what exists on the mdev bus and in VFIO.
 */
struct snapshot {
	int nr_types;
	char types[MAX_TYPES][NAME_MAX + 1];
	long avail[MAX_TYPES];
	int type_devices[MAX_TYPES];
	int mdevs;
	int vfio_devices;
	int groups;
};

static void snap_take(const struct parent *p, struct snapshot *s)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	memset(s, 0, sizeof(*s));
	d = opendir(pathf(path, MDEV_CLASS "/%s/mdev_supported_types",
			  p->name));
	while (d && (de = readdir(d)) && s->nr_types < MAX_TYPES) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(s->types[s->nr_types], NAME_MAX + 1, "%s", de->d_name);
		s->nr_types++;
	}
	if (d)
		closedir(d);
	/* readdir's order is stable, but compare in a known one */
	qsort(s->types, s->nr_types, sizeof(s->types[0]),
	      (int (*)(const void *, const void *))strcmp);
	for (int i = 0; i < s->nr_types; i++) {
		pathf(path, MDEV_CLASS "/%s/mdev_supported_types/%s/available_instances",
		      p->name, s->types[i]);
		s->avail[i] = read_long(path);
		pathf(path, MDEV_CLASS "/%s/mdev_supported_types/%s/devices",
		      p->name, s->types[i]);
		s->type_devices[i] = count_dir(path);
	}
	s->mdevs = count_dir(MDEV_DEVICES);
	s->vfio_devices = count_dir(VFIO_DEVICES);
	s->groups = count_dir(IOMMU_GROUPS);
}

/* NULL if equal, else what differs */
static const char *snap_diff(const struct snapshot *a,
			     const struct snapshot *b)
{
	static char why[256];

	if (a->nr_types != b->nr_types)
		return "the number of types";
	for (int i = 0; i < a->nr_types; i++) {
		if (strcmp(a->types[i], b->types[i]))
			return "the names of the types";
		if (a->avail[i] != b->avail[i]) {
			snprintf(why, sizeof(why),
				 "%s available_instances %ld, was %ld",
				 b->types[i], b->avail[i], a->avail[i]);
			return why;
		}
		if (a->type_devices[i] != b->type_devices[i]) {
			snprintf(why, sizeof(why), "%s/devices has %d, had %d",
				 b->types[i], b->type_devices[i],
				 a->type_devices[i]);
			return why;
		}
	}
	if (a->mdevs != b->mdevs) {
		snprintf(why, sizeof(why), "%d devices on the mdev bus, was %d",
			 b->mdevs, a->mdevs);
		return why;
	}
	if (a->vfio_devices != b->vfio_devices) {
		snprintf(why, sizeof(why), "%d VFIO device cdevs, was %d",
			 b->vfio_devices, a->vfio_devices);
		return why;
	}
	if (a->groups != b->groups) {
		snprintf(why, sizeof(why), "%d IOMMU groups, was %d",
			 b->groups, a->groups);
		return why;
	}
	return NULL;
}

/*
 * Whether @b differs from @a only by releases still to come.  What goes
 * with a release can come seconds after the operation that let go of it
 * (CONFIG_DEBUG_KOBJECT_RELEASE delays every release by 1-4 s): an IOMMU
 * group's directory, and mbochs' memory, which it gives back when its VFIO
 * device is released.  So more groups and fewer instances may be pending;
 * a leak of either shows at the end of the sweep, which waits for the state
 * to be exactly as before (snap_settle_exact()).
 */
static bool snap_pending_only(const struct snapshot *a,
			      const struct snapshot *b)
{
	if (a->nr_types != b->nr_types || a->mdevs != b->mdevs ||
	    a->vfio_devices != b->vfio_devices || b->groups < a->groups)
		return false;
	for (int i = 0; i < a->nr_types; i++)
		if (strcmp(a->types[i], b->types[i]) ||
		    a->type_devices[i] != b->type_devices[i] ||
		    b->avail[i] > a->avail[i])
			return false;
	return true;
}

/*
 * Wait up to @ms for the state to be @want, or only releases away from it
 * if @pending: NULL, or what differs
 */
static const char *__snap_settle(const struct parent *p,
				 const struct snapshot *want, long ms,
				 bool pending)
{
	long end = now_ms() + ms;
	struct snapshot now;
	const char *why;

	for (;;) {
		snap_take(p, &now);
		why = snap_diff(want, &now);
		if (!why || (pending && snap_pending_only(want, &now)))
			return NULL;
		if (now_ms() > end)
			return why;
		usleep(10000);
	}
}

/* After one operation: @want, but for releases to come */
static const char *snap_settle(const struct parent *p,
			       const struct snapshot *want)
{
	return __snap_settle(p, want, SETTLE_MS, true);
}

/* Before and after a sweep: exactly @want */
static const char *snap_settle_exact(const struct parent *p,
				     const struct snapshot *want)
{
	return __snap_settle(p, want, SETTLE_EXACT_MS, false);
}

static int parent_create(const struct parent *p, const char *uuid)
{
	char path[PATH_MAX];

	return sysfs_write(pathf(path, MDEV_CLASS "/%s/mdev_supported_types/%s/create",
			       p->name, p->type), uuid);
}

static bool mdev_exists(const char *uuid)
{
	char path[PATH_MAX];

	return exists(pathf(path, MDEV_DEVICES "/%s", uuid));
}

/* Whether anything of @uuid is still in sysfs */
static const char *mdev_trace(const struct parent *p, const char *uuid)
{
	static char path[PATH_MAX];

	if (exists(pathf(path, MDEV_DEVICES "/%s", uuid)))
		return path;
	if (exists(pathf(path, "/sys/devices/virtual/%s/%s/%s", p->name,
			 p->name, uuid)))
		return path;
	if (exists(pathf(path, MDEV_CLASS "/%s/mdev_supported_types/%s/devices/%s",
			 p->name, p->type, uuid)))
		return path;
	return NULL;
}

/* ---------------------------------------------------------------------- */
/* fail-nth                                                               */

/* A debugfs knob and the value it had, restored at exit */
struct knob {
	const char *path;
	const char *value;
	char saved[32];
	bool set;
};

static struct knob knobs[] = {
	{ DEBUGFS "/failslab/ignore-gfp-wait", "N" },
	{ DEBUGFS "/failslab/verbose", "0" },
	{ DEBUGFS "/failslab/probability", "0" },
	{ DEBUGFS "/failslab/task-filter", "Y" },
	{ DEBUGFS "/fail_page_alloc/verbose", "0" },
	{ DEBUGFS "/fail_page_alloc/probability", "0" },
};

static void knobs_restore(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(knobs); i++) {
		if (knobs[i].set)
			sysfs_write(knobs[i].path, knobs[i].saved);
		knobs[i].set = false;
	}
}

/* NULL when fault injection is ready, else why not */
static const char *knobs_setup(void)
{
	static char why[PATH_MAX + 64];
	unsigned int i;
	int ret;

	if (!exists("/proc/thread-self/fail-nth"))
		return "no /proc/thread-self/fail-nth (CONFIG_FAULT_INJECTION)";
	for (i = 0; i < ARRAY_SIZE(knobs); i++) {
		struct knob *k = &knobs[i];

		if (k->set)
			continue;
		ret = read_str(k->path, k->saved, sizeof(k->saved));
		if (ret < 0) {
			snprintf(why, sizeof(why), "%s: %s (CONFIG_FAILSLAB, debugfs?)",
				 k->path, errname(-ret));
			return why;
		}
		ret = sysfs_write(k->path, k->value);
		if (ret) {
			snprintf(why, sizeof(why), "writing %s: %s", k->path,
				 errname(-ret));
			return why;
		}
		k->set = true;
	}
	return NULL;
}

struct nth {
	int fd;
};

static int nth_open(struct nth *nth)
{
	nth->fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	return nth->fd < 0 ? -errno : 0;
}

/* Fail the @n-th fault-injectable call of this task from now on */
static void nth_arm(struct nth *nth, unsigned int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", n);

	if (pwrite(nth->fd, buf, len, 0) != len)
		abort();
}

/* Disarm; returns what was left of the count: 0 if the fault was hit */
static unsigned int nth_disarm(struct nth *nth)
{
	char buf[16] = "";
	unsigned int left;

	if (pread(nth->fd, buf, sizeof(buf) - 1, 0) <= 0)
		abort();
	left = strtoul(buf, NULL, 10);
	if (pwrite(nth->fd, "0", 1, 0) != 1)
		abort();
	return left;
}

/* ---------------------------------------------------------------------- */
/* The kernel log during a sweep                                          */

/* What tools/testing/vm/run-vm.sh calls a kernel report */
#define REPORT_RE \
	"BUG: |UBSAN:|WARNING:|-+\\[ cut here \\]-+|(^|[^[:alnum:]])Oops[: ]|" \
	"kernel BUG|general protection fault|INFO: task .* blocked for more than|" \
	"rcu: INFO:|detected stalls on CPU|unreferenced object 0x|Call Trace:|" \
	"Kernel panic|possible recursive locking|possible circular locking|" \
	"inconsistent lock state|lock held when returning|suspicious RCU usage|" \
	"ODEBUG:"

/* The allocation failures that dump a stack by design */
#define ALLOC_WARN_RE	"vmalloc error: |page allocation failure: "

/*
 * A bug of the VFIO core of Linux 6.12 (drivers/vfio/group.c), not ours:
 * when dev_set_name() or cdev_device_add() fails in vfio_create_group(),
 * it drops the new group with put_device() while the group still holds
 * its iommu_group, so vfio_group_release() hits WARN_ON(group->iommu_group)
 * and the reference taken by vfio_group_alloc() is never put: the IOMMU
 * group of the device that was being created stays behind, empty.  Every
 * create of an mdev goes through there (vfio_register_emulated_iommu_dev()),
 * so the create sweeps tolerate this one warning, with its leaked group,
 * and count it; any other report still fails them.
 */
#define KNOWN_WARN_RE	"WARNING: .* at drivers/vfio/group\\.c:[0-9]+ vfio_group_release\\+"
#define CUT_HERE	"------------[ cut here ]------------"
#define END_TRACE	"---[ end trace "

/*
 * Where the reading of one task's records is: the records of several tasks
 * interleave (a WARN from a kworker among this task's own), and the log
 * names each record's task with CONFIG_PRINTK_CALLER ("caller=T<pid>").
 */
struct kmsg_caller {
	/* "T<pid>" or "C<cpu>"; "" for a log without callers */
	char id[16];
	/* a "cut here" line, held until the next one tells what it begins */
	bool cut_here;
	/* inside the known VFIO warning, until its end-of-trace line */
	bool in_known_warn;
	/* records left in the stack dump of the last allocation warning */
	int in_alloc_warn;
};

#define KMSG_CALLERS	16

struct kmsg {
	int fd;
	regex_t report;
	regex_t alloc_warn;
	regex_t known_warn;
	struct kmsg_caller callers[KMSG_CALLERS];
	unsigned int next_caller;
	int known_warns;
	int alloc_warns;
	int reports;
	char first_report[512];
};

/*
 * The rig's expected-report markers: they name this process, the one whose
 * faults may make the kernel report, so that the rig accepts only its
 * reports inside the bracket.
 */
static void kmsg_mark(const char *what, const char *suffix)
{
	char buf[128];

	snprintf(buf, sizeof(buf), "mdev-rig: %s pid=%d%s\n", what, getpid(),
		 suffix);
	sysfs_write("/dev/kmsg", buf);
}

static int kmsg_begin(struct kmsg *k)
{
	memset(k, 0, sizeof(*k));
	if (regcomp(&k->report, REPORT_RE, REG_EXTENDED | REG_NOSUB) ||
	    regcomp(&k->alloc_warn, ALLOC_WARN_RE, REG_EXTENDED | REG_NOSUB) ||
	    regcomp(&k->known_warn, KNOWN_WARN_RE, REG_EXTENDED | REG_NOSUB))
		return -EINVAL;
	k->fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (k->fd < 0)
		return -errno;
	lseek(k->fd, 0, SEEK_END);
	kmsg_mark("expected-report-begin", " (mdev_fault_test)");
	return 0;
}

static void kmsg_report(struct kmsg *k, const char *msg)
{
	if (!k->reports++)
		snprintf(k->first_report, sizeof(k->first_report), "%s", msg);
	fprintf(stderr, "# kernel report: %s\n", msg);
}

/* The reading state of the task that wrote the record @hdr introduces */
static struct kmsg_caller *kmsg_caller(struct kmsg *k, const char *hdr)
{
	const char *c = strstr(hdr, ",caller=");
	char id[16] = "";
	struct kmsg_caller *kc;
	unsigned int i;

	if (c)
		snprintf(id, sizeof(id), "%.*s", (int)strcspn(c + 8, ",;"),
			 c + 8);
	for (i = 0; i < KMSG_CALLERS; i++)
		if (!strcmp(k->callers[i].id, id))
			return &k->callers[i];
	/* A new one, in the place of the least recent */
	kc = &k->callers[k->next_caller++ % KMSG_CALLERS];
	memset(kc, 0, sizeof(*kc));
	snprintf(kc->id, sizeof(kc->id), "%s", id);
	return kc;
}

/* Read what the kernel logged since the last call */
static void kmsg_poll(struct kmsg *k)
{
	char rec[8192], *msg, *nl;
	struct kmsg_caller *kc;
	ssize_t len;

	for (;;) {
		len = read(k->fd, rec, sizeof(rec) - 1);
		if (len < 0 && errno == EPIPE) {
			/* The next read() goes on with the oldest record left */
			kmsg_report(k, "records overwritten before they were read (EPIPE)");
			continue;
		}
		if (len <= 0)
			return;
		rec[len] = '\0';
		msg = strchr(rec, ';');
		if (!msg)
			continue;
		*msg++ = '\0';
		nl = strchr(msg, '\n');
		if (nl)
			*nl = '\0';
		kc = kmsg_caller(k, rec);

		if (kc->cut_here) {
			kc->cut_here = false;
			if (!regexec(&k->known_warn, msg, 0, NULL, 0)) {
				k->known_warns++;
				kc->in_known_warn = true;
				fprintf(stderr, "# known VFIO warning, tolerated\n");
				continue;
			}
			kmsg_report(k, CUT_HERE);
		}
		if (kc->in_known_warn) {
			if (!strncmp(msg, END_TRACE, strlen(END_TRACE)))
				kc->in_known_warn = false;
			else if (!strcmp(msg, "Call Trace:"))
				continue;
		}
		if (!strcmp(msg, CUT_HERE)) {
			kc->cut_here = true;
			continue;
		}
		if (!regexec(&k->alloc_warn, msg, 0, NULL, 0)) {
			k->alloc_warns++;
			/* The header, registers and trace of dump_stack() */
			kc->in_alloc_warn = 16;
			continue;
		}
		if (kc->in_alloc_warn > 0) {
			kc->in_alloc_warn--;
			if (!strcmp(msg, "Call Trace:"))
				continue;
		}
		if (!regexec(&k->report, msg, 0, NULL, 0))
			kmsg_report(k, msg);
	}
}

static void kmsg_end(struct kmsg *k)
{
	unsigned int i;

	if (k->fd < 0)
		return;
	kmsg_poll(k);
	for (i = 0; i < KMSG_CALLERS; i++)
		if (k->callers[i].cut_here)
			kmsg_report(k, CUT_HERE);
	kmsg_mark("expected-report-end", "");
	close(k->fd);
	k->fd = -1;
	regfree(&k->report);
	regfree(&k->alloc_warn);
	regfree(&k->known_warn);
}

/* ---------------------------------------------------------------------- */
/* Sweeps                                                                 */

/* What one sweep did, for its log line and the summary */
struct sweep {
	unsigned int first;	/* the first N swept */
	unsigned int points;	/* N swept with the fault hit */
	unsigned int failed;	/* of those, the operation failed */
	unsigned int absorbed;	/* the operation succeeded all the same */
	unsigned int total;	/* fault-injectable calls of a plain run */
	unsigned int known;	/* of those, hit the known VFIO core bug */
	unsigned int errnos[256];
	bool done;		/* ended with a run that hit no fault */
};

/* MDEV_FAULT_MAX_POINTS, or 0 when it is not a positive number */
static unsigned int max_points(void)
{
	const char *env = getenv("MDEV_FAULT_MAX_POINTS");
	unsigned long val;
	char *end;

	if (!env || !*env)
		return DEFAULT_MAX_POINTS;
	errno = 0;
	val = strtoul(env, &end, 0);
	if (errno || *end || !val || val > UINT_MAX / 2 || env[0] == '-')
		return 0;
	return val;
}

/*
 * The step of the parent_register sweep, MDEV_FAULT_STRIDE (default 1):
 * each of its points loads and unloads a module, which a debug kernel with
 * CONFIG_DEBUG_KOBJECT_RELEASE makes seconds long, so the rig sweeps every
 * k-th point there; 0 if the variable is unusable.
 */
static unsigned int stride(void)
{
	const char *env = getenv("MDEV_FAULT_STRIDE");
	unsigned long val;
	char *end;

	if (!env || !*env)
		return 1;
	errno = 0;
	val = strtoul(env, &end, 0);
	if (errno || *end || !val || val > 1000 || env[0] == '-')
		return 0;
	return val;
}

/*
 * Whether a sweep that began at @sw->first and has reached @n is past its
 * bound and must end: the sweep starts max_points() before the end of a
 * plain run, so it only gets this far when the operation makes ever more
 * calls, and the sweep fails, unfinished.
 */
static bool sweep_overrun(const struct sweep *sw, unsigned int n)
{
	return n - sw->first + 1 >= 2 * max_points();
}

/* The summary, shared with the forked tests: printed at exit */
#define MAX_SUMMARY	16
struct summary_line {
	char path[64];
	unsigned int points, total, first;
	bool done;
};

static struct summary_line *summary;

static void summary_add(const char *path, const struct sweep *sw)
{
	struct summary_line *l;
	int i;

	if (!summary)
		return;
	for (i = 0; i < MAX_SUMMARY && summary[i].path[0]; i++)
		;
	if (i == MAX_SUMMARY)
		return;
	l = &summary[i];
	l->points = sw->points;
	l->total = sw->total;
	l->first = sw->first;
	l->done = sw->done;
	snprintf(l->path, sizeof(l->path), "%s", path);
}

static void __attribute__((constructor)) summary_init(void)
{
	void *p = mmap(NULL, sizeof(*summary) * MAX_SUMMARY,
		       PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	summary = p == MAP_FAILED ? NULL : p;
}

static void __attribute__((destructor)) summary_print(void)
{
	char line[2048] = "";
	size_t len = 0;
	int i;

	knobs_restore();
	if (!summary || !summary[0].path[0])
		return;
	for (i = 0; i < MAX_SUMMARY && summary[i].path[0]; i++) {
		const struct summary_line *l = &summary[i];

		len += snprintf(line + len, sizeof(line) - len, "%s%s=%u",
				i ? " " : "", l->path, l->points);
		if (l->first > 1)
			len += snprintf(line + len, sizeof(line) - len,
					"(N=%u..%u)", l->first,
					l->first + l->points - 1);
		if (!l->done)
			len += snprintf(line + len, sizeof(line) - len,
					"(unfinished)");
	}
	printf("# fault points swept: %s\n", line);
	fflush(stdout);
}

static void sweep_log(struct __test_metadata *_metadata, const char *path,
		      const struct sweep *sw)
{
	char errs[512] = "";
	size_t len = 0;
	int e;

	for (e = 1; e < 256; e++)
		if (sw->errnos[e])
			len += snprintf(errs + len, sizeof(errs) - len, "%s%s:%u",
					len ? " " : "", errname(e),
					sw->errnos[e]);
	TH_LOG("%s: swept %u fault points, N=%u..%u of %u: %u failed (%s), %u absorbed, %u known%s",
	       path, sw->points, sw->first, sw->first + sw->points - 1,
	       sw->total, sw->failed, errs, sw->absorbed, sw->known,
	       sw->done ? "" : "; UNFINISHED");
	summary_add(path, sw);
	/* The fault points after the last one swept were never tried */
	EXPECT_TRUE(sw->done)
		TH_LOG("%s: the sweep did not reach a run without a fault (bound: %u points)",
		       path, 2 * max_points());
}

/*
 * The first N to sweep, from how many fault-injectable calls a plain run
 * of the operation makes (measured with a fail-nth too large to be hit):
 * all of them, or the last max_points() ones.
 */
static unsigned int sweep_first(struct sweep *sw, unsigned int total)
{
	unsigned int max = max_points();

	sw->total = total;
	sw->first = total > max ? total - max + 1 : 1;
	return sw->first;
}

#define NTH_COUNT	1000000

/* Everything a test needs */
struct fault_ctx {
	const struct parent *p;
	struct snapshot before;
	struct nth nth;
	struct kmsg kmsg;
	long deadline;
};

/*
 * At the end of a sweep: exactly @want, whose IOMMU groups were @groups
 * when the sweep began, but for one more group per warning of the known
 * VFIO bug (KNOWN_WARN_RE) seen since: each leaks its group.  The warning
 * comes with the group's release, which may be seconds late
 * (CONFIG_DEBUG_KOBJECT_RELEASE), so the log is read again meanwhile.
 */
static const char *sweep_settle(struct fault_ctx *c,
				const struct snapshot *want, int groups)
{
	long end = now_ms() + SETTLE_EXACT_MS;
	struct snapshot w = *want, now;
	const char *why;

	for (;;) {
		kmsg_poll(&c->kmsg);
		w.groups = groups + c->kmsg.known_warns;
		snap_take(c->p, &now);
		why = snap_diff(&w, &now);
		if (!why || now_ms() > end)
			return why;
		usleep(10000);
	}
}

/*
 * The rig's debug kernel (MDEV_VM_KERNEL=debug) has everything a sweep
 * needs: there, what would skip a sweep elsewhere is a failure.
 */
static bool debug_kernel(void)
{
	return !strcmp(env_or("MDEV_VM_KERNEL", ""), "debug");
}

/*
 * A setup that cannot go on for @why: skips the test, or fails it on the
 * debug kernel.  The setup must return right after.
 */
static void setup_unmet(struct __test_metadata *_metadata, const char *why)
{
	knobs_restore();
	munlockall();
	if (!debug_kernel())
		SKIP(return, "%s", why);
	TH_LOG("the debug kernel has what the sweeps need, but: %s", why);
	ASSERT_FALSE(debug_kernel());
}

/* NULL when the test can run, else why not (see setup_unmet()) */
static const char *ctx_setup(struct fault_ctx *c, const char *parent,
			     bool need_loaded)
{
	static char why[PATH_MAX + 64];
	const char *knob_why;
	char path[PATH_MAX];

	memset(c, 0, sizeof(*c));
	c->kmsg.fd = -1;
	c->nth.fd = -1;
	if (!max_points())
		return "MDEV_FAULT_MAX_POINTS is not a positive number";
	if (geteuid())
		return "not root";
	knob_why = knobs_setup();
	if (knob_why)
		return knob_why;
	c->p = find_parent(parent);
	if (need_loaded &&
	    !exists(pathf(path, MDEV_CLASS "/%s/mdev_supported_types/%s",
			  parent, c->p->type))) {
		snprintf(why, sizeof(why), "parent %s (type %s) not registered",
			 parent, c->p->type);
		return why;
	}
	if (count_dir(MDEV_DEVICES) > 0)
		return "mdevs exist already: the sweeps want none";
	/* No page fault may take a fault meant for the operation */
	if (mlockall(MCL_CURRENT | MCL_FUTURE)) {
		snprintf(why, sizeof(why), "mlockall: %s", errname(errno));
		return why;
	}
	if (nth_open(&c->nth))
		return "cannot open /proc/thread-self/fail-nth";
	snap_take(c->p, &c->before);
	return NULL;
}

static void ctx_teardown(struct __test_metadata *_metadata,
			 struct fault_ctx *c)
{
	if (c->nth.fd >= 0) {
		nth_disarm(&c->nth);
		close(c->nth.fd);
	}
	if (c->kmsg.fd >= 0) {
		kmsg_end(&c->kmsg);
		EXPECT_EQ(0, c->kmsg.reports)
			TH_LOG("kernel report during the sweep: %s",
			       c->kmsg.first_report);
	}
	if (c->kmsg.known_warns)
		TH_LOG("%d warnings of the known VFIO core bug (tolerated)",
		       c->kmsg.known_warns);
	if (c->kmsg.alloc_warns)
		TH_LOG("%d stack dumps of failed allocations (expected)",
		       c->kmsg.alloc_warns);
	knobs_restore();
	munlockall();
}

/* ---------------------------------------------------------------------- */
/* create                                                                 */

FIXTURE(create) {
	struct fault_ctx c;
};

FIXTURE_VARIANT(create) {
	const char *parent;
};

FIXTURE_VARIANT_ADD(create, mtty) { .parent = "mtty" };
FIXTURE_VARIANT_ADD(create, mdpy) { .parent = "mdpy" };
FIXTURE_VARIANT_ADD(create, mbochs) { .parent = "mbochs" };

FIXTURE_SETUP(create)
{
	const char *why = ctx_setup(&self->c, variant->parent, true);

	if (why)
		setup_unmet(_metadata, why);
}

FIXTURE_TEARDOWN(create)
{
	ctx_teardown(_metadata, &self->c);
}

TEST_F_TIMEOUT(create, sweep, 600)
{
	struct fault_ctx *c = &self->c;
	char path[PATH_MAX], uuid[UUID_LEN + 1];
	struct sweep sw = {};
	unsigned int n, left;
	const char *why;
	ssize_t ret;
	int fd, err, known, groups;

	fd = open(pathf(path, MDEV_CLASS "/%s/mdev_supported_types/%s/create",
			c->p->name, c->p->type), O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, fd) TH_LOG("%s: %s", path, strerror(errno));

	/* How many calls a plain create makes */
	random_uuid(uuid);
	nth_arm(&c->nth, NTH_COUNT);
	ret = pwrite(fd, uuid, UUID_LEN, 0);
	left = nth_disarm(&c->nth);
	ASSERT_EQ(UUID_LEN, ret) TH_LOG("plain create: %s", strerror(errno));
	ASSERT_EQ(0, mdev_remove(uuid));
	ASSERT_EQ(NULL, snap_settle_exact(c->p, &c->before));
	n = sweep_first(&sw, NTH_COUNT - left);

	ASSERT_EQ(0, kmsg_begin(&c->kmsg));
	groups = c->before.groups;
	for (;; n++) {
		random_uuid(uuid);
		nth_arm(&c->nth, n);
		ret = pwrite(fd, uuid, UUID_LEN, 0);
		err = errno;
		left = nth_disarm(&c->nth);

		if (left) {
			/* No fault on the way: the sweep is complete */
			EXPECT_EQ(UUID_LEN, ret)
				TH_LOG("N=%u: create failed with %s but hit no fault",
				       n, errname(err));
			if (ret == UUID_LEN)
				EXPECT_EQ(0, mdev_remove(uuid));
			sw.done = ret == UUID_LEN;
			break;
		}
		sw.points++;
		known = c->kmsg.known_warns;
		kmsg_poll(&c->kmsg);
		if (c->kmsg.known_warns != known) {
			/* See KNOWN_WARN_RE: its IOMMU group stays behind */
			sw.known++;
			c->before.groups++;
			TH_LOG("N=%u: known VFIO bug (KNOWN_WARN_RE), an IOMMU group leaked",
			       n);
		}
		if (ret == UUID_LEN) {
			/* The fault was absorbed: the device must be whole */
			sw.absorbed++;
			EXPECT_TRUE(mdev_exists(uuid))
				TH_LOG("N=%u: create succeeded, no device", n);
			EXPECT_EQ(0, mdev_remove(uuid))
				TH_LOG("N=%u: removing the device", n);
		} else {
			sw.failed++;
			sw.errnos[err & 255]++;
			why = mdev_trace(c->p, uuid);
			EXPECT_EQ(NULL, why)
				TH_LOG("N=%u: create failed with %s but left %s",
				       n, errname(err), why);
		}
		why = snap_settle(c->p, &c->before);
		EXPECT_EQ(NULL, why)
			TH_LOG("N=%u (create %s): %s", n,
			       ret == UUID_LEN ? "succeeded" : errname(err),
			       why);

		/* The same UUID again, without a fault */
		if (ret != UUID_LEN) {
			EXPECT_EQ(0, parent_create(c->p, uuid))
				TH_LOG("N=%u: plain create after the fault", n);
			if (mdev_exists(uuid))
				EXPECT_EQ(0, mdev_remove(uuid));
			why = snap_settle(c->p, &c->before);
			EXPECT_EQ(NULL, why)
				TH_LOG("N=%u: after a plain create and remove: %s",
				       n, why);
		}
		kmsg_poll(&c->kmsg);
		if (_metadata->exit_code == KSFT_FAIL || sweep_overrun(&sw, n))
			break;
	}
	close(fd);
	why = sweep_settle(c, &c->before, groups);
	EXPECT_EQ(NULL, why) TH_LOG("after the sweep: %s", why);
	sweep_log(_metadata, pathf(path, "create.%s", c->p->name), &sw);
}

/* ---------------------------------------------------------------------- */
/* open                                                                   */

/* /dev/vfio/<group> of a device */
static int group_path(const char *uuid, char *path)
{
	char link[PATH_MAX], target[PATH_MAX];
	ssize_t len;

	len = readlink(pathf(link, MDEV_DEVICES "/%s/iommu_group", uuid),
		       target, sizeof(target) - 1);
	if (len < 0)
		return -errno;
	target[len] = '\0';
	pathf(path, "/dev/vfio/%s", strrchr(target, '/') + 1);
	return 0;
}

/* /dev/vfio/devices/vfioN of a device */
static int cdev_path(const char *uuid, char *path)
{
	char dir[PATH_MAX];
	struct dirent *de;
	int ret = -ENOENT;
	DIR *d;

	d = opendir(pathf(dir, MDEV_DEVICES "/%s/vfio-dev", uuid));
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (!strncmp(de->d_name, "vfio", 4)) {
			pathf(path, VFIO_DEVICES "/%s", de->d_name);
			ret = 0;
			break;
		}
	}
	closedir(d);
	return ret;
}

/*
 * Everything before the device is opened, without faults: a type1
 * container with the group, or an iommufd with an IOAS.  0 or -errno.
 */
static int vfio_prepare(struct vfio_fds *v, const char *uuid, bool cdev)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	char path[PATH_MAX];
	int ret;

	vfio_fds_init(v);
	if (cdev) {
		v->iommufd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
		if (v->iommufd < 0)
			return -errno;
		if (ioctl(v->iommufd, IOMMU_IOAS_ALLOC, &alloc))
			goto err;
		v->ioas = alloc.out_ioas_id;
		return 0;
	}
	ret = group_path(uuid, path);
	if (ret)
		return ret;
	v->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (v->container < 0)
		return -errno;
	v->group = open(path, O_RDWR | O_CLOEXEC);
	if (v->group < 0)
		goto err;
	if (ioctl(v->group, VFIO_GROUP_SET_CONTAINER, &v->container) ||
	    ioctl(v->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		goto err;
	return 0;
err:
	ret = -errno;
	vfio_fds_close(v);
	return ret;
}

/*
 * Open the device: VFIO_GROUP_GET_DEVICE_FD, or open the cdev, bind it to
 * the iommufd and attach it to the IOAS.  0 or -errno, v->device set on
 * success.
 */
static int vfio_open(struct vfio_fds *v, const char *uuid, const char *cdev)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct vfio_device_attach_iommufd_pt attach = {
		.argsz = sizeof(attach),
	};
	int fd, ret;

	if (!cdev) {
		fd = ioctl(v->group, VFIO_GROUP_GET_DEVICE_FD, uuid);
		if (fd < 0)
			return -errno;
		v->device = fd;
		return 0;
	}
	fd = open(cdev, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	bind.iommufd = v->iommufd;
	attach.pt_id = v->ioas;
	if (ioctl(fd, VFIO_DEVICE_BIND_IOMMUFD, &bind) ||
	    ioctl(fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach)) {
		ret = -errno;
		close(fd);
		return ret;
	}
	v->device = fd;
	return 0;
}

/* The vendor ID in the configuration space of an open PCI device, or -errno */
static long vfio_read_vendor(int device)
{
	struct vfio_region_info info = {
		.argsz = sizeof(info),
		.index = VFIO_PCI_CONFIG_REGION_INDEX,
	};
	uint16_t vendor;

	if (ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &info))
		return -errno;
	if (pread(device, &vendor, sizeof(vendor), info.offset) !=
	    sizeof(vendor))
		return -errno;
	return vendor;
}

FIXTURE(open) {
	struct fault_ctx c;
	char uuid[UUID_LEN + 1];
	char cdev[PATH_MAX];
	struct snapshot with_device;
	long vendor;
};

FIXTURE_VARIANT(open) {
	const char *parent;
	bool cdev;
};

FIXTURE_VARIANT_ADD(open, mtty_group) { .parent = "mtty" };
FIXTURE_VARIANT_ADD(open, mtty_cdev) { .parent = "mtty", .cdev = true };
FIXTURE_VARIANT_ADD(open, mdpy_group) { .parent = "mdpy" };
FIXTURE_VARIANT_ADD(open, mdpy_cdev) { .parent = "mdpy", .cdev = true };

FIXTURE_SETUP(open)
{
	const char *why = ctx_setup(&self->c, variant->parent, true);
	struct vfio_fds v;
	int ret;

	self->uuid[0] = '\0';
	if (!why && variant->cdev && !exists("/dev/iommu"))
		why = "no /dev/iommu (IOMMUFD)";
	if (!why && !variant->cdev && !exists("/dev/vfio/vfio"))
		why = "no /dev/vfio/vfio (VFIO_CONTAINER)";
	if (why) {
		setup_unmet(_metadata, why);
		return;
	}

	/* Whether it has a cdev is known once it exists: before any check */
	random_uuid(self->uuid);
	ret = parent_create(self->c.p, self->uuid);
	if (!ret && variant->cdev &&
	    (cdev_path(self->uuid, self->cdev) || !exists(self->cdev))) {
		/* The teardown does not run after a setup that ends early */
		mdev_remove(self->uuid);
		setup_unmet(_metadata,
			    "the device has no VFIO cdev (VFIO_DEVICE_CDEV)");
		return;
	}
	ASSERT_EQ(0, ret) TH_LOG("create: %s", errname(-ret));
	snap_take(self->c.p, &self->with_device);

	/* One plain open: it works, and what the device reads */
	ASSERT_EQ(0, vfio_prepare(&v, self->uuid, variant->cdev))
		TH_LOG("is vfio_iommu_type1 loaded?");
	ASSERT_EQ(0, vfio_open(&v, self->uuid,
			       variant->cdev ? self->cdev : NULL));
	self->vendor = vfio_read_vendor(v.device);
	vfio_fds_close(&v);
	ASSERT_LT(0, self->vendor);
}

FIXTURE_TEARDOWN(open)
{
	if (self->uuid[0] && mdev_exists(self->uuid)) {
		EXPECT_EQ(0, mdev_remove(self->uuid));
		EXPECT_EQ(NULL, snap_settle_exact(self->c.p, &self->c.before));
	}
	ctx_teardown(_metadata, &self->c);
}

TEST_F_TIMEOUT(open, sweep, 600)
{
	struct fault_ctx *c = &self->c;
	const char *cdev = variant->cdev ? self->cdev : NULL;
	char name[64];
	struct sweep sw = {};
	unsigned int n, left;
	struct vfio_fds v;
	const char *why;
	int ret, groups;

	/* How many calls a plain open makes */
	ASSERT_EQ(0, vfio_prepare(&v, self->uuid, variant->cdev));
	nth_arm(&c->nth, NTH_COUNT);
	ret = vfio_open(&v, self->uuid, cdev);
	left = nth_disarm(&c->nth);
	vfio_fds_close(&v);
	ASSERT_EQ(0, ret);
	n = sweep_first(&sw, NTH_COUNT - left);

	ASSERT_EQ(0, kmsg_begin(&c->kmsg));
	groups = c->before.groups;
	for (;; n++) {
		ASSERT_EQ(0, vfio_prepare(&v, self->uuid, variant->cdev));
		nth_arm(&c->nth, n);
		ret = vfio_open(&v, self->uuid, cdev);
		left = nth_disarm(&c->nth);
		if (!ret)
			EXPECT_EQ(self->vendor, vfio_read_vendor(v.device))
				TH_LOG("N=%u: the device opened but reads wrong",
				       n);
		vfio_fds_close(&v);

		if (left) {
			EXPECT_EQ(0, ret)
				TH_LOG("N=%u: open failed with %s but hit no fault",
				       n, errname(-ret));
			sw.done = !ret;
			break;
		}
		sw.points++;
		if (!ret) {
			sw.absorbed++;
		} else {
			sw.failed++;
			sw.errnos[-ret & 255]++;
		}

		/* Nothing left open: a plain open works, and so does remove */
		why = snap_settle(c->p, &self->with_device);
		EXPECT_EQ(NULL, why)
			TH_LOG("N=%u (open %s): %s", n,
			       ret ? errname(-ret) : "succeeded", why);
		ASSERT_EQ(0, vfio_prepare(&v, self->uuid, variant->cdev));
		ret = vfio_open(&v, self->uuid, cdev);
		EXPECT_EQ(0, ret)
			TH_LOG("N=%u: plain open after the fault: %s", n,
			       errname(-ret));
		if (!ret)
			EXPECT_EQ(self->vendor, vfio_read_vendor(v.device));
		vfio_fds_close(&v);

		kmsg_poll(&c->kmsg);
		if (_metadata->exit_code == KSFT_FAIL || sweep_overrun(&sw, n))
			break;
	}
	/* Removal would wait forever for an open count that leaked */
	EXPECT_EQ(0, mdev_remove(self->uuid));
	why = sweep_settle(c, &c->before, groups);
	EXPECT_EQ(NULL, why) TH_LOG("after the sweep: %s", why);
	snprintf(name, sizeof(name), "open.%s.%s", c->p->name,
		 variant->cdev ? "cdev" : "group");
	sweep_log(_metadata, name, &sw);
}

/* ---------------------------------------------------------------------- */
/* parent_register                                                        */

/* What a vendor module leaves in sysfs while it is loaded */
static const char *module_trace(const char *name)
{
	static char path[PATH_MAX];

	if (exists(pathf(path, "/sys/module/%s", name)))
		return path;
	if (exists(pathf(path, MDEV_CLASS "/%s", name)))
		return path;
	if (exists(pathf(path, "/sys/class/%s", name)))
		return path;
	if (exists(pathf(path, "/sys/bus/mdev/drivers/%s", name)))
		return path;
	return NULL;
}

/*
 * A thread that writes UUIDs into the create file of the parent's first
 * type while a faulted load is registering it: the file works as soon as
 * it exists, before the registration is complete, and a registration that
 * fails after that point must not leave a device behind (its vendor goes
 * with the module).  The core refuses such a create with ENODEV.  The file
 * is reached below the parent device, which exists before the
 * registration starts; /sys/class/mdev_bus/<parent> is linked last.
 */
#define MAX_RACED	64

struct creator {
	pthread_t thread;
	char path[PATH_MAX];
	/*
	 * Set by the sweep around each faulted load, and to stop the thread;
	 * busy: inside a write, so that the sweep knows when the thread is
	 * idle.  All three accessed with __atomic builtins.
	 */
	int armed, stop, busy;
	/* Over the load that was just armed */
	int created, refused, other, other_errno;
	char uuids[MAX_RACED][UUID_LEN + 1];
};

static void *creator_main(void *arg)
{
	struct creator *cr = arg;
	char uuid[UUID_LEN + 1];
	ssize_t ret;
	int fd;

	while (!__atomic_load_n(&cr->stop, __ATOMIC_SEQ_CST)) {
		__atomic_store_n(&cr->busy, 1, __ATOMIC_SEQ_CST);
		if (!__atomic_load_n(&cr->armed, __ATOMIC_SEQ_CST)) {
			__atomic_store_n(&cr->busy, 0, __ATOMIC_SEQ_CST);
			usleep(100);
			continue;
		}
		fd = open(cr->path, O_WRONLY | O_CLOEXEC);
		if (fd >= 0) {
			random_uuid(uuid);
			ret = write(fd, uuid, UUID_LEN);
			if (ret == UUID_LEN) {
				if (cr->created < MAX_RACED)
					memcpy(cr->uuids[cr->created], uuid,
					       sizeof(uuid));
				cr->created++;
			} else if (errno == ENODEV) {
				cr->refused++;
			} else {
				cr->other++;
				cr->other_errno = errno;
			}
			close(fd);
		}
		__atomic_store_n(&cr->busy, 0, __ATOMIC_SEQ_CST);
	}
	return NULL;
}

static void creator_arm(struct creator *cr)
{
	cr->created = 0;
	cr->refused = 0;
	cr->other = 0;
	__atomic_store_n(&cr->armed, 1, __ATOMIC_SEQ_CST);
}

/* Waits until the thread is out of any write it started while armed */
static void creator_disarm(struct creator *cr)
{
	__atomic_store_n(&cr->armed, 0, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&cr->busy, __ATOMIC_SEQ_CST))
		usleep(100);
}

/*
 * After a load that succeeded: what the thread created once the parent was
 * registered is legitimate; remove it, so that the parent is as loaded.
 */
static void creator_clean(struct __test_metadata *_metadata,
			  struct creator *cr)
{
	int i;

	for (i = 0; i < cr->created && i < MAX_RACED; i++)
		EXPECT_EQ(0, mdev_remove(cr->uuids[i]))
			TH_LOG("raced device %s", cr->uuids[i]);
	EXPECT_GE(MAX_RACED, cr->created);
}

FIXTURE(parent_register) {
	struct fault_ctx c;
	int fd;
	bool was_loaded;
	struct snapshot unloaded;
	struct creator cr;
	bool creating;
};

FIXTURE_VARIANT(parent_register) {
	const char *parent;
};

FIXTURE_VARIANT_ADD(parent_register, mtty) { .parent = "mtty" };
FIXTURE_VARIANT_ADD(parent_register, mdpy) { .parent = "mdpy" };
FIXTURE_VARIANT_ADD(parent_register, mbochs) { .parent = "mbochs" };

/*
 * The module file in a memfd, open read-only: finit_module() then reads it
 * from memory, so that the sweep does not fail the allocations of the file
 * system the samples live on (9p in the VM), which are not what is tested.
 */
static int module_memfd(const char *path)
{
	char buf[65536], self[64];
	int in, mfd, ro;
	ssize_t len;

	in = open(path, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	mfd = memfd_create("mdev_fault_test.ko", MFD_CLOEXEC);
	if (mfd < 0) {
		close(in);
		return -errno;
	}
	while ((len = read(in, buf, sizeof(buf))) > 0)
		if (write(mfd, buf, len) != len)
			break;
	close(in);
	/* A file open for writing cannot be loaded (ETXTBSY) */
	snprintf(self, sizeof(self), "/proc/self/fd/%d", mfd);
	ro = open(self, O_RDONLY | O_CLOEXEC);
	close(mfd);
	return ro < 0 ? -errno : ro;
}

FIXTURE_SETUP(parent_register)
{
	const char *dir = getenv("MDEV_SAMPLEDIR");
	const char *why = ctx_setup(&self->c, variant->parent, false);
	char path[PATH_MAX], missing[256];

	self->fd = -1;
	self->was_loaded = false;
	self->creating = false;
	if (!why && (!dir || !*dir))
		why = "MDEV_SAMPLEDIR not set";
	if (!why && !exists(pathf(path, "%s/%s.ko", dir, variant->parent))) {
		snprintf(missing, sizeof(missing), "%.200s not built", path);
		why = missing;
	}
	if (!why && (!module_loaded("mdev") ||
		     (!strcmp(variant->parent, "mtty") &&
		      !module_loaded("vfio_mdev"))))
		why = "mdev.ko (and vfio_mdev.ko for mtty) not loaded";
	if (why) {
		setup_unmet(_metadata, why);
		return;
	}

	self->fd = module_memfd(path);
	ASSERT_LE(0, self->fd) TH_LOG("%s: %s", path, errname(-self->fd));
	self->was_loaded = module_loaded(variant->parent);
	if (self->was_loaded)
		ASSERT_EQ(0, delete_module(variant->parent));
	ASSERT_EQ(NULL, module_trace(variant->parent));
	snap_take(self->c.p, &self->unloaded);

	pathf(self->cr.path,
	      "/sys/devices/virtual/%s/%s/mdev_supported_types/%s/create",
	      variant->parent, variant->parent, self->c.p->type);
	ASSERT_EQ(0, pthread_create(&self->cr.thread, NULL, creator_main,
				    &self->cr));
	self->creating = true;
}

FIXTURE_TEARDOWN(parent_register)
{
	if (self->creating) {
		__atomic_store_n(&self->cr.stop, 1, __ATOMIC_SEQ_CST);
		pthread_join(self->cr.thread, NULL);
	}
	if (self->fd >= 0) {
		if (self->was_loaded && !module_loaded(variant->parent))
			EXPECT_EQ(0, finit_module(self->fd));
		close(self->fd);
	}
	ctx_teardown(_metadata, &self->c);
}

/*
 * The module is loaded and its parent registered as it should be: the type
 * the other sweeps use exists, and a device can be created and removed.
 */
static const char *parent_check(const struct parent *p)
{
	static char why[PATH_MAX + 64];
	char path[PATH_MAX], uuid[UUID_LEN + 1];
	int ret;

	if (!exists(pathf(path, MDEV_CLASS "/%s/mdev_supported_types/%s/create",
			  p->name, p->type)))
		return "its type has no create file";
	random_uuid(uuid);
	ret = parent_create(p, uuid);
	if (ret) {
		snprintf(why, sizeof(why), "create: %s", errname(-ret));
		return why;
	}
	ret = mdev_remove(uuid);
	if (ret) {
		snprintf(why, sizeof(why), "remove: %s", errname(-ret));
		return why;
	}
	return NULL;
}

/* The tracefs directory, or NULL */
static const char *tracefs(void)
{
	if (exists("/sys/kernel/tracing/events/module/module_load"))
		return "/sys/kernel/tracing";
	if (exists(DEBUGFS "/tracing/events/module/module_load"))
		return DEBUGFS "/tracing";
	return NULL;
}

/*
 * Whether the @n-th fault-injectable call of a load is made inside
 * do_init_module(), which calls the module's init and is the last part of
 * loading: just before it, the loader emits the trace event
 * module:module_load.  When the fault fails the load, whether that event
 * came tells; a load that succeeds all the same tells nothing, and then
 * the next call is asked: *@n is set to the one that answered.  Returns 1
 * or 0, or -1 if no call answered.
 */
static int fault_in_init(struct fault_ctx *c, int fd, const char *name,
			 unsigned int *n)
{
	char path[PATH_MAX], buf[65536], event[64];
	const char *dir = tracefs();
	unsigned int m;
	ssize_t len;
	int ret, tfd;

	snprintf(event, sizeof(event), "module_load: %s", name);
	for (m = *n; m < *n + 8; m++) {
		/* Opening it for writing with O_TRUNC empties the buffer */
		tfd = open(pathf(path, "%s/trace", dir),
			   O_WRONLY | O_TRUNC | O_CLOEXEC);
		if (tfd < 0)
			return -1;
		close(tfd);
		nth_arm(&c->nth, m);
		ret = finit_module(fd);
		nth_disarm(&c->nth);
		if (!ret) {
			if (delete_module(name))
				return -1;
			continue;
		}
		tfd = open(path, O_RDONLY | O_CLOEXEC);
		if (tfd < 0)
			return -1;
		len = read(tfd, buf, sizeof(buf) - 1);
		close(tfd);
		if (len < 0)
			return -1;
		buf[len] = '\0';
		*n = m;
		return !!strstr(buf, event);
	}
	return -1;
}

/*
 * The first fault point of a load inside do_init_module(), found by
 * bisection over [1, @total]: the loader's own calls all come before it.
 * Returns 0 if it cannot tell.
 */
static unsigned int first_init_point(struct fault_ctx *c, int fd,
				     const char *name, unsigned int total)
{
	unsigned int lo = 1, hi = total + 1, mid;
	const char *dir = tracefs();
	char path[PATH_MAX];
	int in_init;

	if (!dir || sysfs_write(pathf(path, "%s/events/module/module_load/enable",
				      dir), "1"))
		return 0;
	/* The first fault in do_init_module() is in [lo, hi) */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		in_init = fault_in_init(c, fd, name, &mid);
		if (in_init < 0) {
			lo = 0;
			break;
		}
		if (in_init)
			hi = mid;
		else
			lo = mid + 1;
	}
	sysfs_write(path, "0");
	return lo <= total ? lo : 0;
}

TEST_F_TIMEOUT(parent_register, sweep, 900)
{
	struct fault_ctx *c = &self->c;
	const char *name = variant->parent;
	struct snapshot loaded;
	struct sweep sw = {};
	unsigned int n, left, raced = 0;
	char label[64];
	const char *why;
	int ret;

	ASSERT_NE(0, stride()) TH_LOG("MDEV_FAULT_STRIDE unusable");

	/* How many calls a plain load makes */
	nth_arm(&c->nth, NTH_COUNT);
	ret = finit_module(self->fd);
	left = nth_disarm(&c->nth);
	ASSERT_EQ(0, ret) TH_LOG("plain load: %s", errname(-ret));
	ASSERT_EQ(NULL, parent_check(c->p));
	snap_take(c->p, &loaded);
	ASSERT_EQ(0, delete_module(name));
	n = sweep_first(&sw, NTH_COUNT - left);

	ASSERT_EQ(0, kmsg_begin(&c->kmsg));
	/*
	 * What is ours is the module's init, which registers the parent:
	 * unless MDEV_FAULT_LOADER=1, the module loader's own calls before
	 * do_init_module() are not swept.  A couple of calls of margin, for
	 * those that bisection could not ask (see fault_in_init()).
	 */
	if (!getenv("MDEV_FAULT_LOADER") || strcmp(getenv("MDEV_FAULT_LOADER"), "1")) {
		unsigned int init = first_init_point(c, self->fd, name,
						     sw.total);

		ASSERT_NE(0, init)
			TH_LOG("cannot locate do_init_module() among the %u calls",
			       sw.total);
		init = init > 3 ? init - 2 : 1;
		TH_LOG("%s: %u calls, do_init_module()'s from N=%u on",
		       name, sw.total, init);
		if (init > n) {
			n = init;
			sw.first = n;
		}
		ASSERT_EQ(0, c->kmsg.reports)
			TH_LOG("kernel report while locating do_init_module(): %s",
			       c->kmsg.first_report);
	}
	for (;; n += stride()) {
		creator_arm(&self->cr);
		nth_arm(&c->nth, n);
		ret = finit_module(self->fd);
		left = nth_disarm(&c->nth);
		creator_disarm(&self->cr);
		raced += self->cr.created + self->cr.refused;
		if (!ret) {
			creator_clean(_metadata, &self->cr);
		} else {
			EXPECT_EQ(0, self->cr.created)
				TH_LOG("N=%u: load failed with %s after %d create(s)",
				       n, errname(-ret), self->cr.created);
		}
		EXPECT_EQ(0, self->cr.other)
			TH_LOG("N=%u: a create during the load failed with %s, not ENODEV",
			       n, errname(self->cr.other_errno));

		if (left) {
			EXPECT_EQ(0, ret)
				TH_LOG("N=%u: load failed with %s but hit no fault",
				       n, errname(-ret));
			if (!ret) {
				why = parent_check(c->p);
				EXPECT_EQ(NULL, why) TH_LOG("N=%u: %s", n, why);
				EXPECT_EQ(0, delete_module(name));
			}
			sw.done = !ret;
			break;
		}
		sw.points++;
		if (!ret) {
			/* Absorbed: the parent must be whole */
			sw.absorbed++;
			why = parent_check(c->p);
			EXPECT_EQ(NULL, why)
				TH_LOG("N=%u: loaded after a fault, but %s", n,
				       why);
			why = snap_settle(c->p, &loaded);
			EXPECT_EQ(NULL, why)
				TH_LOG("N=%u: loaded after a fault: %s", n, why);
			ret = delete_module(name);
			ASSERT_EQ(0, ret)
				TH_LOG("N=%u: unload: %s", n, errname(-ret));
		} else {
			sw.failed++;
			sw.errnos[-ret & 255]++;
			why = module_trace(name);
			EXPECT_EQ(NULL, why)
				TH_LOG("N=%u: load failed with %s but left %s",
				       n, errname(-ret), why);
		}
		why = snap_settle(c->p, &self->unloaded);
		EXPECT_EQ(NULL, why)
			TH_LOG("N=%u (load %s): %s", n,
			       ret ? errname(-ret) : "succeeded", why);

		/* A plain load works right after */
		if (ret) {
			ret = finit_module(self->fd);
			ASSERT_EQ(0, ret)
				TH_LOG("N=%u: plain load after the fault: %s",
				       n, errname(-ret));
			why = parent_check(c->p);
			EXPECT_EQ(NULL, why)
				TH_LOG("N=%u: plain load after the fault: %s",
				       n, why);
			ret = delete_module(name);
			ASSERT_EQ(0, ret)
				TH_LOG("N=%u: unload: %s", n, errname(-ret));
		}

		kmsg_poll(&c->kmsg);
		if (_metadata->exit_code == KSFT_FAIL || sweep_overrun(&sw, n))
			break;
	}
	why = sweep_settle(c, &self->unloaded, self->unloaded.groups);
	EXPECT_EQ(NULL, why) TH_LOG("after the sweep: %s", why);
	snprintf(label, sizeof(label), "parent_register.%s", name);
	sweep_log(_metadata, label, &sw);
	TH_LOG("%s: %u writes to create reached the core during faulted loads",
	       name, raced);
	/* Else the check above was never put to the test */
	if (sw.done)
		EXPECT_LT(0, raced)
			TH_LOG("no create during any faulted load of %s", name);
}

TEST_HARNESS_MAIN
