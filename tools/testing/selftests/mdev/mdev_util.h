/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the mdev kselftests that drive devices through VFIO share: the sysfs
 * files that create and remove a mediated device, and opening it through
 * its VFIO group and a type1 container the way QEMU does.  Every helper
 * returns 0 (or an fd) on success and -errno on failure, so that a test
 * can print or compare what the kernel said.
 *
 * Including it also brings the harness with its guarded SKIP()
 * (mdev_harness.h), whatever the test included first.
 */

#ifndef __MDEV_UTIL_H
#define __MDEV_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <linux/types.h>
#include <linux/vfio.h>

#include "mdev_harness.h"

#define MDEV_DEVICES		"/sys/bus/mdev/devices"
#define UUID_LEN		36

/* The environment variable @name, or @def when it is unset or empty */
static inline const char *env_or(const char *name, const char *def)
{
	const char *val = getenv(name);

	return val && *val ? val : def;
}

static inline long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* "ENOMEM" for ENOMEM */
static inline const char *errname(int err)
{
	const char *name = strerrorname_np(err);

	return name ? name : "E?";
}

/* snprintf() into a PATH_MAX buffer, returning it */
static inline __printf(2, 3) char *pathf(char *buf, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, PATH_MAX, fmt, ap);
	va_end(ap);
	return buf;
}

static inline bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* One write(2) of the string @val to the sysfs file @path: 0 or -errno */
static inline int sysfs_write(const char *path, const char *val)
{
	int fd, ret = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/*
 * A new random UUID from the kernel into @uuid (UUID_LEN + 1 bytes); on
 * failure @uuid is the empty string, which no create file accepts.
 */
static inline int mdev_new_uuid(char *uuid)
{
	ssize_t len;
	int fd;

	uuid[0] = '\0';
	fd = open("/proc/sys/kernel/random/uuid", O_RDONLY);
	if (fd < 0)
		return -errno;
	len = read(fd, uuid, UUID_LEN);
	close(fd);
	if (len != UUID_LEN) {
		uuid[0] = '\0';
		return -EIO;
	}
	uuid[UUID_LEN] = '\0';
	return 0;
}

/* Create the device @uuid of the type whose directory is @type_dir */
static inline int mdev_create(const char *type_dir, const char *uuid)
{
	char path[PATH_MAX + sizeof("/create")];

	snprintf(path, sizeof(path), "%s/create", type_dir);
	return sysfs_write(path, uuid);
}

static inline int mdev_remove(const char *uuid)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), MDEV_DEVICES "/%s/remove", uuid);
	return sysfs_write(path, "1");
}

/* The file descriptors of one VFIO device opened through a group or a cdev */
struct vfio_fds {
	int container;
	int group;
	int iommufd;
	__u32 ioas;
	int device;
};

static inline void vfio_fds_init(struct vfio_fds *v)
{
	v->container = -1;
	v->group = -1;
	v->iommufd = -1;
	v->ioas = 0;
	v->device = -1;
}

/* Close whatever is open, device first, and start over */
static inline void vfio_fds_close(struct vfio_fds *v)
{
	if (v->device >= 0)
		close(v->device);
	if (v->group >= 0)
		close(v->group);
	if (v->container >= 0)
		close(v->container);
	if (v->iommufd >= 0)
		close(v->iommufd);
	vfio_fds_init(v);
}

/* /dev/vfio/<group> of the device @uuid, from its iommu_group link */
static inline int vfio_group_path(const char *uuid, char *path, size_t size)
{
	char link[PATH_MAX], target[PATH_MAX / 2];
	const char *group;
	ssize_t len;

	snprintf(link, sizeof(link), MDEV_DEVICES "/%s/iommu_group", uuid);
	len = readlink(link, target, sizeof(target) - 1);
	if (len < 0)
		return -errno;
	target[len] = '\0';
	group = strrchr(target, '/');
	snprintf(path, size, "/dev/vfio/%s", group ? group + 1 : target);
	return 0;
}

/*
 * Open the VFIO group of the device @uuid, add it to @container and get
 * the device from it, as QEMU does.  The first group of a container also
 * sets the container's IOMMU (@set_iommu): type1v2, else type1.  Returns
 * the device's fd or -errno; *@group is the group's fd to close, or -1.
 */
static inline int vfio_group_open_device(const char *uuid, int container,
					 bool set_iommu, int *group)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	char path[PATH_MAX];
	int ret;

	*group = -1;
	ret = vfio_group_path(uuid, path, sizeof(path));
	if (ret)
		return ret;
	*group = open(path, O_RDWR);
	if (*group < 0)
		return -errno;
	if (ioctl(*group, VFIO_GROUP_GET_STATUS, &status))
		return -errno;
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE))
		return -EBUSY;
	if (ioctl(*group, VFIO_GROUP_SET_CONTAINER, &container))
		return -errno;
	if (set_iommu &&
	    ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) &&
	    ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU))
		return -errno;
	ret = ioctl(*group, VFIO_GROUP_GET_DEVICE_FD, uuid);
	return ret < 0 ? -errno : ret;
}

/* VFIO_DEVICE_GET_REGION_INFO of region @index, without capabilities */
static inline int vfio_get_region_info(int device, __u32 index,
				       struct vfio_region_info *info)
{
	memset(info, 0, sizeof(*info));
	info->argsz = sizeof(*info);
	info->index = index;
	return ioctl(device, VFIO_DEVICE_GET_REGION_INFO, info) ? -errno : 0;
}

/* The offset of region @index in the device's file, or -1 */
static inline off_t vfio_region_offset(int device, __u32 index)
{
	struct vfio_region_info info;

	if (vfio_get_region_info(device, index, &info))
		return -1;
	return info.offset;
}

#endif /* __MDEV_UTIL_H */
