// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests of the mediated device core.
 *
 * Fake parents are KUnit devices registered through the public API.  The
 * tests drive the core the way user space does, by writing and reading its
 * sysfs files, on a private kernel mount of sysfs so that they also run
 * before user space has mounted one (built in, under kunit.py).
 */

#include <kunit/device.h>
#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kthread.h>
#include <linux/mdev.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/uuid.h>

#include "mdev_private.h"
#include "mdev_trace.h"

#define TEST_UUID	"8a1f39c8-4d3e-4b8e-9a2c-6f1e0d3c7b5a"
#define TEST_UUID2	"0b7d7a51-1d2a-4e6b-8f0d-2f9e1c5a6d34"

static struct vfsmount *sysfs_mnt;

/*
 * How long a release may take after the last reference is put: with
 * CONFIG_DEBUG_KOBJECT_RELEASE it comes 1 to 4 s later, from a workqueue.
 */
#define RELEASE_TIMEOUT_MS	15000

/* What the fake drivers saw; reset by each test's init */
static struct {
	int probe_err;
	int nr_probe;
	int nr_remove;
	/* releases_total when the test started */
	int release_base;
	unsigned int available;
	/* Probe takes a reference on the device, left in @held */
	bool hold;
	struct mdev_device *held;
} fake;

/*
 * Every probe, and every release (from the tracepoint, which may fire from
 * a workqueue), since the suite started: each device that was probed is
 * released once, maybe after its test ended.
 */
static atomic_t probes_total, releases_total;

struct fake_parent {
	struct mdev_parent parent;
	struct device *dev;
	struct mdev_type type_a;
	struct mdev_type type_b;
	struct mdev_type *types[2];
	char path[128];
};

static int fake_probe(struct mdev_device *mdev)
{
	fake.nr_probe++;
	atomic_inc(&probes_total);
	if (!fake.probe_err && fake.hold)
		fake.held = to_mdev_device(get_device(mdev_dev(mdev)));
	return fake.probe_err;
}

static void fake_remove(struct mdev_device *mdev)
{
	fake.nr_remove++;
}

static unsigned int fake_get_available(struct mdev_type *mtype)
{
	return fake.available;
}

static ssize_t fake_show_description(struct mdev_type *mtype, char *buf)
{
	return sysfs_emit(buf, "a %s for tests\n", mtype->sysfs_name);
}

/* The core counts instances: two, shared by both types of a parent */
static struct mdev_driver counted_driver = {
	.device_api	= "vfio-pci",
	.max_instances	= 2,
	.probe		= fake_probe,
	.remove		= fake_remove,
	.driver		= {
		.name	= "mdev_kunit_counted",
		.owner	= THIS_MODULE,
	},
};

/* The driver counts instances and describes its types */
static struct mdev_driver available_driver = {
	.device_api		= "vfio-ccw",
	.probe			= fake_probe,
	.remove			= fake_remove,
	.get_available		= fake_get_available,
	.show_description	= fake_show_description,
	.driver			= {
		.name	= "mdev_kunit_available",
		.owner	= THIS_MODULE,
	},
};

static void fake_release_probe(void *data, struct mdev_device *mdev)
{
	atomic_inc(&releases_total);
}

/* Devices released since the test started */
static int nr_released(void)
{
	return atomic_read(&releases_total) - fake.release_base;
}

/* Whether @n devices were released in all, within RELEASE_TIMEOUT_MS */
static bool released(int n)
{
	unsigned int ms;

	for (ms = 0; ms < RELEASE_TIMEOUT_MS; ms += 20) {
		if (nr_released() >= n)
			break;
		msleep(20);
	}
	return nr_released() == n;
}

/* Write @buf to the sysfs file at @path; returns bytes written or -errno */
static ssize_t sysfs_write(struct kunit *test, const char *path,
			   const char *buf, size_t len)
{
	struct file *file;
	ssize_t ret;

	file = file_open_root_mnt(sysfs_mnt, path, O_WRONLY, 0);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(file), "open %s: %ld", path,
			       PTR_ERR(file));
	ret = kernel_write(file, buf, len, NULL);
	fput(file);
	return ret;
}

static ssize_t sysfs_writes(struct kunit *test, const char *path,
			    const char *str)
{
	return sysfs_write(test, path, str, strlen(str));
}

/* Read the sysfs file at @path into @buf, NUL-terminated */
static void sysfs_read(struct kunit *test, const char *path, char *buf,
		       size_t size)
{
	struct file *file;
	loff_t pos = 0;
	ssize_t ret;

	file = file_open_root_mnt(sysfs_mnt, path, O_RDONLY, 0);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(file), "open %s: %ld", path,
			       PTR_ERR(file));
	ret = kernel_read(file, buf, size - 1, &pos);
	fput(file);
	KUNIT_ASSERT_GE(test, ret, 0);
	buf[ret] = '\0';
}

static bool sysfs_exists(const char *path)
{
	struct file *file;

	file = file_open_root_mnt(sysfs_mnt, path, O_PATH, 0);
	if (IS_ERR(file))
		return false;
	fput(file);
	return true;
}

/* The directory of @type below mdev_supported_types: <driver>-<name> */
static const char *type_dir(struct fake_parent *p, struct mdev_type *type,
			    char *buf, size_t size)
{
	snprintf(buf, size, "%s-%s", dev_driver_string(p->dev),
		 type->sysfs_name);
	return buf;
}

static unsigned int read_available(struct kunit *test, struct fake_parent *p,
				   struct mdev_type *type)
{
	char path[256], buf[16], dir[64];
	unsigned int val;

	snprintf(path, sizeof(path), "%s/mdev_supported_types/%s/available_instances",
		 p->path, type_dir(p, type, dir, sizeof(dir)));
	sysfs_read(test, path, buf, sizeof(buf));
	KUNIT_ASSERT_EQ(test, kstrtouint(buf, 10, &val), 0);
	return val;
}

static ssize_t write_create(struct kunit *test, struct fake_parent *p,
			    struct mdev_type *type, const char *buf, size_t len)
{
	char path[256], dir[64];

	snprintf(path, sizeof(path), "%s/mdev_supported_types/%s/create",
		 p->path, type_dir(p, type, dir, sizeof(dir)));
	return sysfs_write(test, path, buf, len);
}

static ssize_t create_uuid(struct kunit *test, struct fake_parent *p,
			   struct mdev_type *type, const char *uuid)
{
	return write_create(test, p, type, uuid, strlen(uuid));
}

static ssize_t remove_uuid(struct kunit *test, const char *uuid,
			   const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), "bus/mdev/devices/%s/remove", uuid);
	return sysfs_writes(test, path, val);
}

static bool device_exists(const char *uuid)
{
	char path[128];

	snprintf(path, sizeof(path), "bus/mdev/devices/%s", uuid);
	return sysfs_exists(path);
}

static void unregister_parent_action(void *data)
{
	mdev_unregister_parent(data);
}

static struct fake_parent *
fake_parent_register(struct kunit *test, const char *name,
		     struct mdev_driver *drv)
{
	struct fake_parent *p;
	char *kpath;
	int ret;

	p = kunit_kzalloc(test, sizeof(*p), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, p);
	p->dev = kunit_device_register(test, name);
	KUNIT_ASSERT_FALSE(test, IS_ERR(p->dev));

	p->type_a.sysfs_name = "a";
	p->type_a.pretty_name = "Type A";
	p->type_b.sysfs_name = "b";
	p->types[0] = &p->type_a;
	p->types[1] = &p->type_b;

	kpath = kobject_get_path(&p->dev->kobj, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, kpath);
	/* Relative to the sysfs root: drop the leading '/' */
	strscpy(p->path, kpath + 1, sizeof(p->path));
	kfree(kpath);

	ret = mdev_register_parent(&p->parent, p->dev, drv, p->types,
				   ARRAY_SIZE(p->types));
	KUNIT_ASSERT_EQ(test, ret, 0);
	ret = kunit_add_action_or_reset(test, unregister_parent_action,
					&p->parent);
	KUNIT_ASSERT_EQ(test, ret, 0);
	return p;
}

/*
 * For a test that counts releases: wait until the devices of earlier tests
 * are released, which may be seconds after those tests ended, and count
 * from there.  The other tests do not wait.
 */
static void releases_settle(struct kunit *test)
{
	unsigned int ms;

	for (ms = 0; ms < RELEASE_TIMEOUT_MS; ms += 20) {
		if (atomic_read(&releases_total) == atomic_read(&probes_total))
			break;
		msleep(20);
	}
	KUNIT_ASSERT_EQ_MSG(test, atomic_read(&releases_total),
			    atomic_read(&probes_total),
			    "devices of earlier tests not released");
	fake.release_base = atomic_read(&releases_total);
}

static int mdev_test_init(struct kunit *test)
{
	memset(&fake, 0, sizeof(fake));
	return 0;
}

static void mdev_test_register(struct kunit *test)
{
	struct fake_parent *p;
	char path[256], buf[64];

	p = fake_parent_register(test, "mdev-kunit-reg", &counted_driver);

	snprintf(path, sizeof(path), "class/mdev_bus/%s", dev_name(p->dev));
	KUNIT_EXPECT_TRUE(test, sysfs_exists(path));

	snprintf(path, sizeof(path), "%s/mdev_supported_types/%s-a/name",
		 p->path, dev_driver_string(p->dev));
	sysfs_read(test, path, buf, sizeof(buf));
	KUNIT_EXPECT_STREQ(test, buf, "Type A\n");

	/* Without a pretty name the sysfs name is shown */
	snprintf(path, sizeof(path), "%s/mdev_supported_types/%s-b/name",
		 p->path, dev_driver_string(p->dev));
	sysfs_read(test, path, buf, sizeof(buf));
	KUNIT_EXPECT_STREQ(test, buf, "b\n");

	snprintf(path, sizeof(path), "%s/mdev_supported_types/%s-a/device_api",
		 p->path, dev_driver_string(p->dev));
	sysfs_read(test, path, buf, sizeof(buf));
	KUNIT_EXPECT_STREQ(test, buf, "vfio-pci\n");

	snprintf(path, sizeof(path), "%s/mdev_supported_types/%s-a/devices",
		 p->path, dev_driver_string(p->dev));
	KUNIT_EXPECT_TRUE(test, sysfs_exists(path));

	/* The driver gave no description: no file */
	snprintf(path, sizeof(path), "%s/mdev_supported_types/%s-a/description",
		 p->path, dev_driver_string(p->dev));
	KUNIT_EXPECT_FALSE(test, sysfs_exists(path));

	KUNIT_EXPECT_EQ(test, read_available(test, p, &p->type_a), 2);
	KUNIT_EXPECT_PTR_EQ(test, p->type_a.parent, &p->parent);
}

static void mdev_test_unregister_removes_files(struct kunit *test)
{
	struct fake_parent *p;
	char path[256];

	p = fake_parent_register(test, "mdev-kunit-unreg", &counted_driver);
	/* Run the cleanup action now rather than at the end */
	kunit_release_action(test, unregister_parent_action, &p->parent);

	snprintf(path, sizeof(path), "%s/mdev_supported_types", p->path);
	KUNIT_EXPECT_FALSE(test, sysfs_exists(path));
	snprintf(path, sizeof(path), "class/mdev_bus/%s", dev_name(p->dev));
	KUNIT_EXPECT_FALSE(test, sysfs_exists(path));
}

static void mdev_test_description(struct kunit *test)
{
	struct fake_parent *p;
	char path[256], buf[64];

	p = fake_parent_register(test, "mdev-kunit-desc", &available_driver);
	snprintf(path, sizeof(path), "%s/mdev_supported_types/%s-b/description",
		 p->path, dev_driver_string(p->dev));
	sysfs_read(test, path, buf, sizeof(buf));
	KUNIT_EXPECT_STREQ(test, buf, "a b for tests\n");
}

static void mdev_test_create_remove(struct kunit *test)
{
	struct fake_parent *p;
	/* the parent's path, the type's directory and a UUID */
	char path[320], dir[64];

	releases_settle(test);
	p = fake_parent_register(test, "mdev-kunit-cr", &counted_driver);

	KUNIT_ASSERT_EQ(test, create_uuid(test, p, &p->type_a, TEST_UUID "\n"),
			(ssize_t)strlen(TEST_UUID "\n"));
	KUNIT_EXPECT_EQ(test, fake.nr_probe, 1);
	KUNIT_EXPECT_TRUE(test, device_exists(TEST_UUID));
	KUNIT_EXPECT_EQ(test, read_available(test, p, &p->type_a), 1);
	/* The count is the parent's, shared by its types */
	KUNIT_EXPECT_EQ(test, read_available(test, p, &p->type_b), 1);

	snprintf(path, sizeof(path), "bus/mdev/devices/%s/mdev_type/name",
		 TEST_UUID);
	KUNIT_EXPECT_TRUE(test, sysfs_exists(path));
	snprintf(path, sizeof(path), "%s/mdev_supported_types/%s/devices/%s",
		 p->path, type_dir(p, &p->type_a, dir, sizeof(dir)), TEST_UUID);
	KUNIT_EXPECT_TRUE(test, sysfs_exists(path));
	snprintf(path, sizeof(path), "%s/%s", p->path, TEST_UUID);
	KUNIT_EXPECT_TRUE(test, sysfs_exists(path));

	KUNIT_EXPECT_EQ(test, remove_uuid(test, TEST_UUID, "1"), 1);
	KUNIT_EXPECT_EQ(test, fake.nr_remove, 1);
	KUNIT_EXPECT_TRUE(test, released(1));
	KUNIT_EXPECT_FALSE(test, device_exists(TEST_UUID));
	snprintf(path, sizeof(path), "%s/mdev_supported_types/%s/devices/%s",
		 p->path, type_dir(p, &p->type_a, dir, sizeof(dir)), TEST_UUID);
	KUNIT_EXPECT_FALSE(test, sysfs_exists(path));
	KUNIT_EXPECT_EQ(test, read_available(test, p, &p->type_a), 2);

	/* Removed, so the UUID can be used again */
	KUNIT_EXPECT_GT(test, create_uuid(test, p, &p->type_b, TEST_UUID), 0);
	KUNIT_EXPECT_TRUE(test, device_exists(TEST_UUID));
}

static void mdev_test_uppercase_uuid(struct kunit *test)
{
	struct fake_parent *p;

	p = fake_parent_register(test, "mdev-kunit-upper", &counted_driver);
	KUNIT_EXPECT_GT(test, create_uuid(test, p, &p->type_a,
					  "8A1F39C8-4D3E-4B8E-9A2C-6F1E0D3C7B5A"),
			0);
	KUNIT_EXPECT_TRUE(test, device_exists(TEST_UUID));
	/* The same UUID in the other case is a duplicate */
	KUNIT_EXPECT_EQ(test, create_uuid(test, p, &p->type_a, TEST_UUID),
			-EEXIST);
}

static void mdev_test_remove_values(struct kunit *test)
{
	static const char * const bad[] = {
		"abc", "-1", "1x", "0x", "99999999999999999999999", " 1 ",
	};
	struct fake_parent *p;
	unsigned int i;

	p = fake_parent_register(test, "mdev-kunit-rmval", &counted_driver);
	KUNIT_ASSERT_GT(test, create_uuid(test, p, &p->type_a, TEST_UUID), 0);

	for (i = 0; i < ARRAY_SIZE(bad); i++)
		KUNIT_EXPECT_EQ_MSG(test, remove_uuid(test, TEST_UUID, bad[i]),
				    -EINVAL, "remove '%s'", bad[i]);
	/* sysfs completes an empty write without calling the store */
	KUNIT_EXPECT_EQ(test, remove_uuid(test, TEST_UUID, ""), 0);
	/* Zero is accepted and does nothing */
	KUNIT_EXPECT_EQ(test, remove_uuid(test, TEST_UUID, "0\n"), 2);
	KUNIT_EXPECT_TRUE(test, device_exists(TEST_UUID));
	KUNIT_EXPECT_EQ(test, fake.nr_remove, 0);

	/* Any other number removes; hex as kstrtoul() reads it */
	KUNIT_EXPECT_EQ(test, remove_uuid(test, TEST_UUID, "0x10\n"), 5);
	KUNIT_EXPECT_FALSE(test, device_exists(TEST_UUID));
}

struct uuid_case {
	const char *name;
	const char *buf;
	size_t len;
};

#define UUID_CASE(_name, _buf) { _name, _buf, sizeof(_buf) - 1 }

static const struct uuid_case bad_uuids[] = {
	UUID_CASE("newline only", "\n"),
	UUID_CASE("35 characters", "8a1f39c8-4d3e-4b8e-9a2c-6f1e0d3c7b5"),
	UUID_CASE("37 characters", "8a1f39c8-4d3e-4b8e-9a2c-6f1e0d3c7b5a0"),
	UUID_CASE("38 characters", "8a1f39c8-4d3e-4b8e-9a2c-6f1e0d3c7b5a\n\n"),
	UUID_CASE("no dashes", "8a1f39c84d3e4b8e9a2c6f1e0d3c7b5a"),
	UUID_CASE("no dashes padded", "8a1f39c84d3e4b8e9a2c6f1e0d3c7b5a0000"),
	UUID_CASE("misplaced dash", "8a1f39c-84d3e-4b8e-9a2c-6f1e0d3c7b5a"),
	UUID_CASE("dash for digit", "8a1f39c8-4d3e-4b8e-9a2c--f1e0d3c7b5a"),
	UUID_CASE("non-hex", "8a1f39c8-4d3e-4b8e-9a2c-6f1e0d3c7b5g"),
	UUID_CASE("braces", "{8a1f39c8-4d3e-4b8e-9a2c-6f1e0d3c7b5}"),
	UUID_CASE("leading space", " 8a1f39c8-4d3e-4b8e-9a2c-6f1e0d3c7b5a"),
	UUID_CASE("trailing space", "8a1f39c8-4d3e-4b8e-9a2c-6f1e0d3c7b5a "),
	UUID_CASE("leading newline", "\n8a1f39c8-4d3e-4b8e-9a2c-6f1e0d3c7b5a"),
	UUID_CASE("embedded NUL", "8a1f39c8-4d3e-4b8e\0009a2c-6f1e0d3c7b5a"),
	UUID_CASE("trailing NUL", "8a1f39c8-4d3e-4b8e-9a2c-6f1e0d3c7b5a\0"),
	UUID_CASE("tab", "8a1f39c8-4d3e-4b8e-9a2c-6f1e0d3c7b5a\t"),
	UUID_CASE("0x prefix", "0x8a1f39c8-4d3e-4b8e-9a2c-6f1e0d3c7b5"),
	UUID_CASE("underscores", "8a1f39c8_4d3e_4b8e_9a2c_6f1e0d3c7b5a"),
};

static void uuid_case_desc(const struct uuid_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(bad_uuid, bad_uuids, uuid_case_desc);

static void mdev_test_bad_uuid(struct kunit *test)
{
	const struct uuid_case *c = test->param_value;
	struct fake_parent *p;
	char name[48];

	/*
	 * A name of its own for each case: the previous case's KUnit driver
	 * leaves sysfs only when it is released, seconds later with
	 * CONFIG_DEBUG_KOBJECT_RELEASE.
	 */
	snprintf(name, sizeof(name), "mdev-kunit-baduuid%d",
		 (int)(c - bad_uuids));
	p = fake_parent_register(test, name, &counted_driver);
	KUNIT_EXPECT_EQ(test, write_create(test, p, &p->type_a, c->buf, c->len),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, fake.nr_probe, 0);
	KUNIT_EXPECT_EQ(test, read_available(test, p, &p->type_a), 2);
}

static void mdev_test_empty_write(struct kunit *test)
{
	struct fake_parent *p;

	p = fake_parent_register(test, "mdev-kunit-empty", &counted_driver);
	/* sysfs completes an empty write without calling the store */
	KUNIT_EXPECT_EQ(test, write_create(test, p, &p->type_a, "", 0), 0);
	KUNIT_EXPECT_EQ(test, fake.nr_probe, 0);
	KUNIT_EXPECT_EQ(test, read_available(test, p, &p->type_a), 2);
}

static void mdev_test_oversized_write(struct kunit *test)
{
	struct fake_parent *p;
	char *buf;

	p = fake_parent_register(test, "mdev-kunit-big", &counted_driver);
	buf = kunit_kmalloc(test, PAGE_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	memset(buf, 'a', PAGE_SIZE);
	memcpy(buf, TEST_UUID, strlen(TEST_UUID));
	KUNIT_EXPECT_EQ(test, write_create(test, p, &p->type_a, buf, PAGE_SIZE),
			-EINVAL);
	KUNIT_EXPECT_FALSE(test, device_exists(TEST_UUID));
}

static void mdev_test_duplicate(struct kunit *test)
{
	struct fake_parent *p, *q;

	p = fake_parent_register(test, "mdev-kunit-dup1", &counted_driver);
	q = fake_parent_register(test, "mdev-kunit-dup2", &counted_driver);

	KUNIT_ASSERT_GT(test, create_uuid(test, p, &p->type_a, TEST_UUID), 0);
	KUNIT_EXPECT_EQ(test, create_uuid(test, p, &p->type_a, TEST_UUID),
			-EEXIST);
	KUNIT_EXPECT_EQ(test, create_uuid(test, p, &p->type_b, TEST_UUID),
			-EEXIST);
	KUNIT_EXPECT_EQ(test, create_uuid(test, q, &q->type_a, TEST_UUID),
			-EEXIST);
	KUNIT_EXPECT_EQ(test, fake.nr_probe, 1);
	KUNIT_EXPECT_EQ(test, read_available(test, p, &p->type_a), 1);
	KUNIT_EXPECT_EQ(test, read_available(test, q, &q->type_a), 2);
}

static void mdev_test_no_instances(struct kunit *test)
{
	struct fake_parent *p;

	p = fake_parent_register(test, "mdev-kunit-full", &counted_driver);
	KUNIT_ASSERT_GT(test, create_uuid(test, p, &p->type_a, TEST_UUID), 0);
	KUNIT_ASSERT_GT(test, create_uuid(test, p, &p->type_b, TEST_UUID2), 0);
	KUNIT_EXPECT_EQ(test, read_available(test, p, &p->type_a), 0);
	KUNIT_EXPECT_EQ(test, create_uuid(test, p, &p->type_a,
					  "11111111-2222-3333-4444-555555555555"),
			-EUSERS);
	/* A duplicate is a duplicate even when the parent is full */
	KUNIT_EXPECT_EQ(test, create_uuid(test, p, &p->type_b, TEST_UUID),
			-EEXIST);
	KUNIT_EXPECT_EQ(test, fake.nr_probe, 2);
	KUNIT_EXPECT_EQ(test, read_available(test, p, &p->type_a), 0);

	KUNIT_EXPECT_EQ(test, remove_uuid(test, TEST_UUID2, "1"), 1);
	KUNIT_EXPECT_EQ(test, read_available(test, p, &p->type_a), 1);
}

static void mdev_test_get_available(struct kunit *test)
{
	struct fake_parent *p;

	p = fake_parent_register(test, "mdev-kunit-avail", &available_driver);
	fake.available = 7;
	KUNIT_EXPECT_EQ(test, read_available(test, p, &p->type_a), 7);

	/* The core keeps no count of its own for such a driver */
	KUNIT_ASSERT_GT(test, create_uuid(test, p, &p->type_a, TEST_UUID), 0);
	KUNIT_EXPECT_EQ(test, read_available(test, p, &p->type_a), 7);

	/* The driver refuses in probe, with its own errno */
	fake.probe_err = -ENOSPC;
	KUNIT_EXPECT_EQ(test, create_uuid(test, p, &p->type_a, TEST_UUID2),
			-ENOSPC);
	KUNIT_EXPECT_FALSE(test, device_exists(TEST_UUID2));
}

static void mdev_test_probe_fails(struct kunit *test)
{
	struct fake_parent *p;

	releases_settle(test);
	p = fake_parent_register(test, "mdev-kunit-probe", &counted_driver);
	fake.probe_err = -EIO;
	KUNIT_EXPECT_EQ(test, create_uuid(test, p, &p->type_a, TEST_UUID),
			-EIO);
	KUNIT_EXPECT_FALSE(test, device_exists(TEST_UUID));
	KUNIT_EXPECT_EQ(test, read_available(test, p, &p->type_a), 2);
	KUNIT_EXPECT_TRUE(test, released(1));

	/* A deferral must not leak the kernel-internal errno */
	fake.probe_err = -EPROBE_DEFER;
	KUNIT_EXPECT_EQ(test, create_uuid(test, p, &p->type_a, TEST_UUID),
			-EAGAIN);
	KUNIT_EXPECT_FALSE(test, device_exists(TEST_UUID));

	/* Nothing was left behind: the same UUID now succeeds */
	fake.probe_err = 0;
	KUNIT_EXPECT_GT(test, create_uuid(test, p, &p->type_a, TEST_UUID), 0);
	KUNIT_EXPECT_EQ(test, read_available(test, p, &p->type_a), 1);
}

static void mdev_test_create_while_unregistering(struct kunit *test)
{
	struct fake_parent *p;

	p = fake_parent_register(test, "mdev-kunit-unregc", &counted_driver);
	/* What mdev_unregister_parent() holds while it tears down */
	down_write(&mdev_parent_state(&p->parent)->unreg_sem);
	KUNIT_EXPECT_EQ(test, create_uuid(test, p, &p->type_a, TEST_UUID),
			-ENODEV);
	up_write(&mdev_parent_state(&p->parent)->unreg_sem);
	KUNIT_EXPECT_EQ(test, fake.nr_probe, 0);
	KUNIT_EXPECT_EQ(test, read_available(test, p, &p->type_a), 2);
}

static void mdev_test_unregister_with_devices(struct kunit *test)
{
	struct fake_parent *p;

	releases_settle(test);
	p = fake_parent_register(test, "mdev-kunit-unregd", &counted_driver);
	KUNIT_ASSERT_GT(test, create_uuid(test, p, &p->type_a, TEST_UUID), 0);
	KUNIT_ASSERT_GT(test, create_uuid(test, p, &p->type_b, TEST_UUID2), 0);

	kunit_release_action(test, unregister_parent_action, &p->parent);
	KUNIT_EXPECT_EQ(test, fake.nr_remove, 2);
	KUNIT_EXPECT_FALSE(test, device_exists(TEST_UUID));
	KUNIT_EXPECT_FALSE(test, device_exists(TEST_UUID2));
	KUNIT_EXPECT_TRUE(test, released(2));
}

struct unregister_work {
	struct mdev_parent *parent;
	struct completion done;
};

static int unregister_thread(void *data)
{
	struct unregister_work *w = data;

	mdev_unregister_parent(w->parent);
	complete(&w->done);
	return 0;
}

/*
 * A vendor may keep a reference on a device past the unregistration of its
 * parent, and free the parent and its types meanwhile: the unregistration
 * does not wait for the reference, and the release, when it comes, touches
 * none of the vendor's memory (KASAN watches the freed parent).
 */
static void mdev_test_unregister_while_referenced(struct kunit *test)
{
	struct fake_parent *p, *p2;
	struct unregister_work w;
	struct task_struct *task;
	struct mdev_device *held;
	bool done;

	releases_settle(test);
	p = fake_parent_register(test, "mdev-kunit-held", &counted_driver);
	fake.hold = true;
	KUNIT_ASSERT_GT(test, create_uuid(test, p, &p->type_a, TEST_UUID), 0);
	fake.hold = false;
	held = fake.held;
	KUNIT_ASSERT_NOT_NULL(test, held);

	/* Unregister from a thread, so that a wait for @held can be seen */
	kunit_remove_action(test, unregister_parent_action, &p->parent);
	w.parent = &p->parent;
	init_completion(&w.done);
	task = kthread_run(unregister_thread, &w, "mdev-kunit-unreg");
	KUNIT_ASSERT_FALSE(test, IS_ERR(task));
	done = wait_for_completion_timeout(&w.done, 10 * HZ);
	if (!done) {
		/* Let it finish, or it would use the parent freed below */
		put_device(mdev_dev(held));
		held = NULL;
		wait_for_completion(&w.done);
	}
	KUNIT_EXPECT_TRUE_MSG(test, done,
			      "mdev_unregister_parent() waited for a reference the vendor holds");
	KUNIT_EXPECT_EQ(test, fake.nr_remove, 1);
	KUNIT_EXPECT_FALSE(test, device_exists(TEST_UUID));

	/* Removed: the UUID is free though the device is still referenced */
	p2 = fake_parent_register(test, "mdev-kunit-held2", &counted_driver);
	KUNIT_EXPECT_GT(test, create_uuid(test, p2, &p2->type_a, TEST_UUID), 0);

	/* What a vendor does once unregistered; KASAN sees any later use */
	kunit_kfree(test, p);
	if (held) {
		KUNIT_EXPECT_EQ(test, nr_released(), 0);
		put_device(mdev_dev(held));
	}
	KUNIT_EXPECT_TRUE(test, released(1));
}

static struct kunit_case mdev_test_cases[] = {
	KUNIT_CASE(mdev_test_register),
	KUNIT_CASE(mdev_test_unregister_removes_files),
	KUNIT_CASE(mdev_test_description),
	KUNIT_CASE(mdev_test_create_remove),
	KUNIT_CASE(mdev_test_uppercase_uuid),
	KUNIT_CASE(mdev_test_remove_values),
	KUNIT_CASE_PARAM(mdev_test_bad_uuid, bad_uuid_gen_params),
	KUNIT_CASE(mdev_test_empty_write),
	KUNIT_CASE(mdev_test_oversized_write),
	KUNIT_CASE(mdev_test_duplicate),
	KUNIT_CASE(mdev_test_no_instances),
	KUNIT_CASE(mdev_test_get_available),
	KUNIT_CASE(mdev_test_probe_fails),
	KUNIT_CASE(mdev_test_create_while_unregistering),
	KUNIT_CASE(mdev_test_unregister_with_devices),
	KUNIT_CASE_SLOW(mdev_test_unregister_while_referenced),
	{}
};

static int mdev_test_suite_init(struct kunit_suite *suite)
{
	struct file_system_type *sysfs;
	int ret;

	sysfs = get_fs_type("sysfs");
	if (!sysfs)
		return -ENODEV;
	sysfs_mnt = vfs_kern_mount(sysfs, SB_KERNMOUNT, "sysfs", NULL);
	if (IS_ERR(sysfs_mnt))
		return PTR_ERR(sysfs_mnt);

	ret = register_trace_mdev_release(fake_release_probe, NULL);
	if (ret)
		goto err_mnt;
	ret = mdev_register_driver(&counted_driver);
	if (ret)
		goto err_trace;
	ret = mdev_register_driver(&available_driver);
	if (ret)
		goto err_counted;
	return 0;

err_counted:
	mdev_unregister_driver(&counted_driver);
err_trace:
	unregister_trace_mdev_release(fake_release_probe, NULL);
err_mnt:
	kern_unmount(sysfs_mnt);
	return ret;
}

static void mdev_test_suite_exit(struct kunit_suite *suite)
{
	mdev_unregister_driver(&available_driver);
	mdev_unregister_driver(&counted_driver);
	unregister_trace_mdev_release(fake_release_probe, NULL);
	tracepoint_synchronize_unregister();
	kern_unmount(sysfs_mnt);
}

static struct kunit_suite mdev_test_suite = {
	.name		= "mdev",
	.init		= mdev_test_init,
	.suite_init	= mdev_test_suite_init,
	.suite_exit	= mdev_test_suite_exit,
	.test_cases	= mdev_test_cases,
};

kunit_test_suite(mdev_test_suite);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit tests of the mediated device core");
