// SPDX-License-Identifier: GPL-2.0-only
/*
 * VFIO migration (v2) of mtty devices, driven through the uAPI only: the
 * state of one dual-port device is saved (RUNNING -> STOP -> STOP_COPY,
 * reading the data fd to its end) and resumed into another (STOP ->
 * RESUMING, writing the data, -> STOP -> RUNNING); the receiving device's
 * UART registers and FIFO contents are then read back through its regions.
 * Also: PRE_COPY, the P2P states (mtty has no DMA, so they run like
 * RUNNING), DMA dirty logging (which never finds a dirty page), refused
 * transitions, bad streams, reset, and the argument checks of
 * VFIO_DEVICE_FEATURE.
 *
 * Needs root, vfio_iommu_type1 and the mtty module loaded; the tests create
 * and remove their own devices.  MTTY_TYPES overrides the directory of
 * mtty's types.  Only mtty missing skips: mtty always offers migration, so
 * a device without the migration feature (ENOTTY) is a failure, of
 * vfio_mdev or of the VFIO core that lost it on the way.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/serial_reg.h>
#include <linux/vfio.h>

#include "mdev_harness.h"
#include "mdev_util.h"

#define MTTY_TYPES_DEFAULT	"/sys/class/mdev_bus/mtty/mdev_supported_types"
#define FIFO_SIZE		16

/* What user space sees of the IIR with the FIFOs on */
#define IIR_FIFO		0xc0

struct mtty {
	char uuid[UUID_LEN + 1];
	int group;
	int fd;
	__u64 bar[2];	/* file offsets of the UARTs' BARs */
	__u64 cfg;
};

/* VFIO_DEVICE_FEATURE with room for the largest payload we send */
struct feature {
	struct vfio_device_feature hdr;
	union {
		struct vfio_device_feature_migration mig;
		struct vfio_device_feature_mig_state state;
		struct vfio_device_feature_mig_data_size size;
		struct vfio_device_feature_dma_logging_control log;
		struct vfio_device_feature_dma_logging_report report;
		__u64 pad[4];
	};
};

static const char *types_dir(void)
{
	return env_or("MTTY_TYPES", MTTY_TYPES_DEFAULT);
}

/* Create an mtty device with @ports UARTs; 0 or -errno */
static int mtty_create(struct mtty *m, int ports)
{
	char dir[PATH_MAX];
	int ret;

	ret = mdev_new_uuid(m->uuid);
	if (ret)
		return ret;
	snprintf(dir, sizeof(dir), "%s/mtty-%d", types_dir(), ports);
	return mdev_create(dir, m->uuid);
}

static void mtty_remove(struct mtty *m)
{
	if (m->fd >= 0)
		close(m->fd);
	if (m->group >= 0)
		close(m->group);
	m->fd = -1;
	m->group = -1;
	if (!m->uuid[0])
		return;
	mdev_remove(m->uuid);
	m->uuid[0] = '\0';
}

/* Open @m like QEMU does: its group into @container, then the device. */
static int mtty_open(struct mtty *m, int container, bool set_iommu)
{
	struct vfio_region_info info;
	int i, ret;

	ret = vfio_group_open_device(m->uuid, container, set_iommu, &m->group);
	if (ret < 0)
		return ret;
	m->fd = ret;

	for (i = 0; i < 2; i++) {
		ret = vfio_get_region_info(m->fd, VFIO_PCI_BAR0_REGION_INDEX + i,
					   &info);
		if (ret)
			return ret;
		m->bar[i] = info.offset;
	}
	ret = vfio_get_region_info(m->fd, VFIO_PCI_CONFIG_REGION_INDEX, &info);
	if (ret)
		return ret;
	m->cfg = info.offset;
	return 0;
}

static int reg_read(struct mtty *m, int port, int reg)
{
	__u8 val;

	if (pread(m->fd, &val, 1, m->bar[port] + reg) != 1)
		return -1;
	return val;
}

static int reg_write(struct mtty *m, int port, int reg, __u8 val)
{
	return pwrite(m->fd, &val, 1, m->bar[port] + reg) == 1 ? 0 : -1;
}

static int send_str(struct mtty *m, int port, const char *s)
{
	for (; *s; s++)
		if (reg_write(m, port, UART_TX, *s))
			return -1;
	return 0;
}

/* VFIO_DEVICE_FEATURE; returns 0 or -errno */
static int feature(int fd, __u32 flags, struct feature *f, size_t payload)
{
	f->hdr.argsz = sizeof(f->hdr) + payload;
	f->hdr.flags = flags;
	return ioctl(fd, VFIO_DEVICE_FEATURE, f) ? -errno : 0;
}

/* Move to @state; *data_fd gets the new session's fd or -1. 0 or -errno */
static int set_state(struct mtty *m, __u32 state, int *data_fd)
{
	struct feature f = { .state = { .device_state = state, .data_fd = -2 } };
	int ret;

	ret = feature(m->fd, VFIO_DEVICE_FEATURE_SET |
		      VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, &f, sizeof(f.state));
	if (data_fd)
		*data_fd = f.state.data_fd;
	else if (!ret && f.state.data_fd >= 0)
		close(f.state.data_fd);
	return ret;
}

static int get_state(struct mtty *m)
{
	struct feature f = { };

	if (feature(m->fd, VFIO_DEVICE_FEATURE_GET |
		    VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, &f, sizeof(f.state)))
		return -errno;
	return f.state.device_state;
}

/* Signal @efd on INTx of @m; 0 or -errno */
static int set_intx(struct mtty *m, int efd)
{
	struct {
		struct vfio_irq_set set;
		__s32 fd;
	} irq = {
		.set = {
			.argsz = sizeof(irq),
			.flags = VFIO_IRQ_SET_DATA_EVENTFD |
				 VFIO_IRQ_SET_ACTION_TRIGGER,
			.index = VFIO_PCI_INTX_IRQ_INDEX,
			.count = 1,
		},
		.fd = efd,
	};

	return ioctl(m->fd, VFIO_DEVICE_SET_IRQS, &irq) ? -errno : 0;
}

/* Read a data fd to its end; the length or -errno */
static ssize_t read_all(int fd, __u8 *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;

	while ((n = read(fd, buf + len, size - len)) > 0)
		len += n;
	return n < 0 ? -errno : (ssize_t)len;
}

static int precopy_info(int fd, struct vfio_precopy_info *info)
{
	memset(info, 0, sizeof(*info));
	info->argsz = sizeof(*info);
	return ioctl(fd, VFIO_MIG_GET_PRECOPY_INFO, info) ? -errno : 0;
}

static void mig_cleanup(struct mtty *src, struct mtty *dst, int *container)
{
	mtty_remove(src);
	mtty_remove(dst);
	if (*container >= 0)
		close(*container);
	*container = -1;
}

/*
 * Two dual-port devices in one container.  0, or -errno with @what set;
 * the teardown does not run when the setup fails, so this cleans up.
 */
static int mig_setup(struct mtty *src, struct mtty *dst, int *container,
		     size_t *data_size, const char **what)
{
	struct feature f = { };
	int ret;

	*what = "create the devices";
	ret = mtty_create(src, 2);
	if (!ret)
		ret = mtty_create(dst, 2);
	if (ret)
		goto err;

	*what = "open them";
	*container = open("/dev/vfio/vfio", O_RDWR);
	if (*container < 0) {
		ret = -errno;
		goto err;
	}
	ret = mtty_open(src, *container, true);
	if (!ret)
		ret = mtty_open(dst, *container, false);
	if (ret)
		goto err;

	*what = "get VFIO_DEVICE_FEATURE_MIGRATION";
	ret = feature(src->fd, VFIO_DEVICE_FEATURE_GET |
		      VFIO_DEVICE_FEATURE_MIGRATION, &f, sizeof(f.mig));
	if (ret)
		goto err;
	*what = "get VFIO_DEVICE_FEATURE_MIG_DATA_SIZE";
	ret = feature(src->fd, VFIO_DEVICE_FEATURE_GET |
		      VFIO_DEVICE_FEATURE_MIG_DATA_SIZE, &f, sizeof(f.size));
	if (ret)
		goto err;
	*data_size = f.size.stop_copy_length;
	return 0;

err:
	mig_cleanup(src, dst, container);
	return ret;
}

FIXTURE(mtty_mig) {
	struct mtty src;
	struct mtty dst;
	struct mtty extra;	/* a device of another kind, made by a test */
	int container;
	size_t data_size;
};

FIXTURE_SETUP(mtty_mig)
{
	const char *what;
	int ret;

	self->src = (struct mtty){ .group = -1, .fd = -1 };
	self->dst = (struct mtty){ .group = -1, .fd = -1 };
	self->extra = (struct mtty){ .group = -1, .fd = -1 };
	self->container = -1;

	if (access(types_dir(), F_OK))
		SKIP(return, "no mtty types at %s (load mtty.ko)", types_dir());

	ret = mig_setup(&self->src, &self->dst, &self->container,
			&self->data_size, &what);
	ASSERT_EQ(0, ret) TH_LOG("cannot %s: %s%s", what, strerror(-ret),
				 ret == -ENOTTY ?
				 " (mtty migrates: vfio_mdev lost its mig_ops?)" :
				 "");
	ASSERT_LT(16, self->data_size);
	ASSERT_GT(4096, self->data_size);
}

FIXTURE_TEARDOWN(mtty_mig)
{
	mtty_remove(&self->extra);
	mig_cleanup(&self->src, &self->dst, &self->container);
}

/* Program both UARTs of @m with state worth migrating. */
static int program_source(struct mtty *m)
{
	int ret = 0;

	/* Port 0: 9600 8N1, FIFO at trigger 4, three bytes below it */
	ret |= reg_write(m, 0, UART_LCR, UART_LCR_DLAB);
	ret |= reg_write(m, 0, UART_DLL, 12);
	ret |= reg_write(m, 0, UART_DLM, 0);
	ret |= reg_write(m, 0, UART_LCR, UART_LCR_WLEN8);
	ret |= reg_write(m, 0, UART_FCR, UART_FCR_ENABLE_FIFO |
			 UART_FCR_TRIGGER_4);
	ret |= reg_write(m, 0, UART_IER, UART_IER_RDI | UART_IER_RLSI);
	ret |= reg_write(m, 0, UART_MCR, UART_MCR_DTR | UART_MCR_RTS |
			 UART_MCR_OUT2);
	ret |= reg_write(m, 0, UART_SCR, 0x5a);
	ret |= send_str(m, 0, "MIG");

	/* Port 1: trigger 14, one byte more than the FIFO holds */
	ret |= reg_write(m, 1, UART_FCR, UART_FCR_ENABLE_FIFO |
			 UART_FCR_TRIGGER_14);
	ret |= reg_write(m, 1, UART_IER, UART_IER_RDI | UART_IER_RLSI);
	ret |= reg_write(m, 1, UART_SCR, 0xa5);
	ret |= send_str(m, 1, "port1-data-01234X");
	return ret;
}

TEST_F(mtty_mig, feature_args)
{
	struct feature f = { };

	ASSERT_EQ(0, feature(self->src.fd, VFIO_DEVICE_FEATURE_GET |
			     VFIO_DEVICE_FEATURE_MIGRATION, &f, sizeof(f.mig)));
	EXPECT_EQ(VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P |
		  VFIO_MIGRATION_PRE_COPY, f.mig.flags);

	/* PROBE answers for GET and SET of the state */
	EXPECT_EQ(0, feature(self->src.fd, VFIO_DEVICE_FEATURE_PROBE |
			     VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET |
			     VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, &f, 0));
	/* ... but MIGRATION cannot be SET */
	EXPECT_EQ(-EINVAL, feature(self->src.fd, VFIO_DEVICE_FEATURE_PROBE |
				   VFIO_DEVICE_FEATURE_SET |
				   VFIO_DEVICE_FEATURE_MIGRATION, &f, 0));
	/* GET and SET together without PROBE */
	EXPECT_EQ(-EINVAL, feature(self->src.fd, VFIO_DEVICE_FEATURE_GET |
				   VFIO_DEVICE_FEATURE_SET |
				   VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, &f,
				   sizeof(f.state)));
	/* Neither GET nor SET */
	EXPECT_EQ(-EINVAL, feature(self->src.fd,
				   VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, &f,
				   sizeof(f.state)));
	/* An unknown flag */
	EXPECT_EQ(-EINVAL, feature(self->src.fd, VFIO_DEVICE_FEATURE_GET |
				   (1u << 20) | VFIO_DEVICE_FEATURE_MIGRATION,
				   &f, sizeof(f.mig)));
	/* A payload one byte short */
	EXPECT_EQ(-EINVAL, feature(self->src.fd, VFIO_DEVICE_FEATURE_GET |
				   VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, &f,
				   sizeof(f.state) - 1));
	/* A header one byte short */
	f.hdr.argsz = sizeof(f.hdr) - 1;
	f.hdr.flags = VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIGRATION;
	EXPECT_EQ(-1, ioctl(self->src.fd, VFIO_DEVICE_FEATURE, &f));
	EXPECT_EQ(EINVAL, errno);
	/* A feature mtty does not have */
	EXPECT_EQ(-ENOTTY, feature(self->src.fd, VFIO_DEVICE_FEATURE_SET |
				   VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY, &f, 0));

	EXPECT_EQ(VFIO_DEVICE_STATE_RUNNING, get_state(&self->src));
}

TEST_F(mtty_mig, save_and_resume)
{
	__u8 data[4096];
	char rx[FIFO_SIZE + 1];
	__u64 count;
	ssize_t len, n;
	int fd, efd, i;

	ASSERT_EQ(0, program_source(&self->src));

	/* Save: RUNNING -> STOP -> STOP_COPY, read the fd to its end */
	ASSERT_EQ(0, set_state(&self->src, VFIO_DEVICE_STATE_STOP, &fd));
	EXPECT_EQ(-1, fd);
	ASSERT_EQ(0, set_state(&self->src, VFIO_DEVICE_STATE_STOP_COPY, &fd));
	ASSERT_LE(0, fd);
	EXPECT_EQ(VFIO_DEVICE_STATE_STOP_COPY, get_state(&self->src));
	len = read_all(fd, data, sizeof(data));
	ASSERT_EQ((ssize_t)self->data_size, len);
	/* A stream fd: no positioned reads */
	EXPECT_EQ(-1, pread(fd, data, 1, 0));
	EXPECT_EQ(ESPIPE, errno);
	ASSERT_EQ(0, set_state(&self->src, VFIO_DEVICE_STATE_STOP, NULL));
	/* The session ended with STOP_COPY */
	EXPECT_EQ(-1, read(fd, data, 1));
	EXPECT_EQ(ENODEV, errno);
	close(fd);

	/* The receiver's interrupt, to see what a stopped device held back */
	efd = eventfd(0, EFD_NONBLOCK);
	ASSERT_LE(0, efd);
	ASSERT_EQ(0, set_intx(&self->dst, efd));

	/* Resume: STOP -> RESUMING, write it in two pieces, -> STOP */
	ASSERT_EQ(0, set_state(&self->dst, VFIO_DEVICE_STATE_STOP, NULL));
	ASSERT_EQ(0, set_state(&self->dst, VFIO_DEVICE_STATE_RESUMING, &fd));
	ASSERT_LE(0, fd);
	n = write(fd, data, 5);
	ASSERT_EQ(5, n);
	n = write(fd, data + 5, len - 5);
	ASSERT_EQ(len - 5, n);
	/* Nothing fits beyond the stream of one device */
	EXPECT_EQ(-1, write(fd, data, 1));
	EXPECT_EQ(ENOSPC, errno);
	ASSERT_EQ(0, set_state(&self->dst, VFIO_DEVICE_STATE_STOP, NULL));
	close(fd);
	/* Stopped: no interrupt yet, though a cause is pending */
	EXPECT_EQ(-1, read(efd, &count, sizeof(count)));
	ASSERT_EQ(0, set_state(&self->dst, VFIO_DEVICE_STATE_RUNNING, NULL));
	EXPECT_EQ(sizeof(count), read(efd, &count, sizeof(count)));
	EXPECT_EQ(1, count);
	close(efd);

	/* Port 0 as programmed, three bytes below the trigger: timeout */
	EXPECT_EQ(UART_LCR_WLEN8, reg_read(&self->dst, 0, UART_LCR));
	EXPECT_EQ(UART_MCR_DTR | UART_MCR_RTS | UART_MCR_OUT2,
		  reg_read(&self->dst, 0, UART_MCR));
	EXPECT_EQ(0x5a, reg_read(&self->dst, 0, UART_SCR));
	EXPECT_EQ(UART_IER_RDI | UART_IER_RLSI,
		  reg_read(&self->dst, 0, UART_IER));
	EXPECT_EQ(IIR_FIFO | UART_IIR_RX_TIMEOUT,
		  reg_read(&self->dst, 0, UART_IIR));
	/* The loopback plug: RTS to CTS, DTR to DSR and DCD; deltas kept */
	EXPECT_EQ(UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DCD | UART_MSR_DCTS |
		  UART_MSR_DDSR | UART_MSR_DDCD,
		  reg_read(&self->dst, 0, UART_MSR));
	EXPECT_EQ(UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DCD,
		  reg_read(&self->dst, 0, UART_MSR));
	EXPECT_EQ(UART_LSR_DR | UART_LSR_THRE | UART_LSR_TEMT,
		  reg_read(&self->dst, 0, UART_LSR));
	for (i = 0; i < 3; i++)
		rx[i] = reg_read(&self->dst, 0, UART_RX);
	rx[i] = '\0';
	EXPECT_STREQ("MIG", rx);
	EXPECT_EQ(UART_LSR_THRE | UART_LSR_TEMT,
		  reg_read(&self->dst, 0, UART_LSR));
	EXPECT_EQ(IIR_FIFO | UART_IIR_NO_INT, reg_read(&self->dst, 0, UART_IIR));
	/* The divisor */
	ASSERT_EQ(0, reg_write(&self->dst, 0, UART_LCR,
			       UART_LCR_DLAB | UART_LCR_WLEN8));
	EXPECT_EQ(12, reg_read(&self->dst, 0, UART_DLL));
	EXPECT_EQ(0, reg_read(&self->dst, 0, UART_DLM));

	/* Port 1: full FIFO, overrun latched, above the trigger */
	EXPECT_EQ(0xa5, reg_read(&self->dst, 1, UART_SCR));
	EXPECT_EQ(IIR_FIFO | UART_IIR_RLSI, reg_read(&self->dst, 1, UART_IIR));
	EXPECT_EQ(UART_LSR_DR | UART_LSR_OE | UART_LSR_THRE | UART_LSR_TEMT,
		  reg_read(&self->dst, 1, UART_LSR));
	EXPECT_EQ(IIR_FIFO | UART_IIR_RDI, reg_read(&self->dst, 1, UART_IIR));
	for (i = 0; i < FIFO_SIZE; i++)
		rx[i] = reg_read(&self->dst, 1, UART_RX);
	rx[i] = '\0';
	EXPECT_STREQ("port1-data-01234", rx);
	EXPECT_EQ(UART_LSR_THRE | UART_LSR_TEMT,
		  reg_read(&self->dst, 1, UART_LSR));

	/* The source, back to RUNNING, kept its own state */
	ASSERT_EQ(0, set_state(&self->src, VFIO_DEVICE_STATE_RUNNING, NULL));
	EXPECT_EQ('M', reg_read(&self->src, 0, UART_RX));
}

TEST_F(mtty_mig, precopy)
{
	struct vfio_precopy_info info;
	__u8 data[4096];
	ssize_t head, rest;
	int fd, fd2;

	ASSERT_EQ(0, program_source(&self->src));
	ASSERT_EQ(0, set_state(&self->src, VFIO_DEVICE_STATE_PRE_COPY, &fd));
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, precopy_info(fd, &info));
	ASSERT_LT(0, info.initial_bytes);
	EXPECT_EQ(0, info.dirty_bytes);

	head = read(fd, data, sizeof(data));
	ASSERT_EQ((ssize_t)info.initial_bytes, head);
	/* A temporary end of the stream while running */
	EXPECT_EQ(-1, read(fd, data, sizeof(data)));
	EXPECT_EQ(ENOMSG, errno);
	ASSERT_EQ(0, precopy_info(fd, &info));
	EXPECT_EQ(0, info.initial_bytes);
	/* Still running: the UARTs work */
	EXPECT_EQ(0x5a, reg_read(&self->src, 0, UART_SCR));

	/* STOP_COPY continues the same session */
	ASSERT_EQ(0, set_state(&self->src, VFIO_DEVICE_STATE_STOP_COPY, &fd2));
	EXPECT_EQ(-1, fd2);
	rest = read_all(fd, data + head, sizeof(data) - head);
	ASSERT_EQ((ssize_t)self->data_size, head + rest);
	EXPECT_EQ(-EINVAL, precopy_info(fd, &info));

	/* The whole stream resumes on the other device */
	ASSERT_EQ(0, set_state(&self->dst, VFIO_DEVICE_STATE_RESUMING, &fd2));
	ASSERT_LE(0, fd2);
	ASSERT_EQ(head + rest, write(fd2, data, head + rest));
	ASSERT_EQ(0, set_state(&self->dst, VFIO_DEVICE_STATE_RUNNING, NULL));
	close(fd2);
	EXPECT_EQ(0x5a, reg_read(&self->dst, 0, UART_SCR));
	EXPECT_EQ('M', reg_read(&self->dst, 0, UART_RX));

	/* STOP_COPY -> RUNNING ends the session */
	ASSERT_EQ(0, set_state(&self->src, VFIO_DEVICE_STATE_RUNNING, NULL));
	EXPECT_EQ(-1, read(fd, data, 1));
	EXPECT_EQ(ENODEV, errno);
	close(fd);
}

/* Unmask INTx of @m: it fires again at once if a cause is pending. */
static int unmask_intx(struct mtty *m)
{
	struct vfio_irq_set set = {
		.argsz = sizeof(set),
		.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK,
		.index = VFIO_PCI_INTX_IRQ_INDEX,
		.count = 1,
	};

	return ioctl(m->fd, VFIO_DEVICE_SET_IRQS, &set) ? -errno : 0;
}

/* Count of an eventfd, 0 when it was not signalled */
static __u64 efd_count(int efd)
{
	__u64 count;

	return read(efd, &count, sizeof(count)) == sizeof(count) ? count : 0;
}

/*
 * The P2P states, on the paths QEMU takes: the source RUNNING ->
 * RUNNING_P2P -> PRE_COPY_P2P -> PRE_COPY (the stream's head) ->
 * PRE_COPY_P2P -> STOP_COPY, the destination RESUMING -> RUNNING_P2P ->
 * RUNNING.  mtty does no DMA, so a P2P state is a running one: the UARTs
 * work and interrupt; only STOP holds interrupts back.
 */
TEST_F(mtty_mig, p2p)
{
	__u8 data[4096];
	ssize_t head, rest;
	int fd, fd2, efd;

	/* Received bytes keep INTx asserted; it fires at once, and masks */
	ASSERT_EQ(0, program_source(&self->src));
	efd = eventfd(0, EFD_NONBLOCK);
	ASSERT_LE(0, efd);
	ASSERT_EQ(0, set_intx(&self->src, efd));
	EXPECT_EQ(1, efd_count(efd));

	ASSERT_EQ(0, set_state(&self->src, VFIO_DEVICE_STATE_RUNNING_P2P,
			       &fd));
	EXPECT_EQ(-1, fd);
	EXPECT_EQ(VFIO_DEVICE_STATE_RUNNING_P2P, get_state(&self->src));
	EXPECT_EQ(0x5a, reg_read(&self->src, 0, UART_SCR));
	/* Running: an unmasked pending interrupt is delivered at once */
	ASSERT_EQ(0, unmask_intx(&self->src));
	EXPECT_EQ(1, efd_count(efd));

	/* RUNNING_P2P -> STOP holds interrupts; -> RUNNING_P2P lets go */
	ASSERT_EQ(0, set_state(&self->src, VFIO_DEVICE_STATE_STOP, NULL));
	ASSERT_EQ(0, unmask_intx(&self->src));
	EXPECT_EQ(0, efd_count(efd));
	ASSERT_EQ(0, set_state(&self->src, VFIO_DEVICE_STATE_RUNNING_P2P,
			       NULL));
	EXPECT_EQ(1, efd_count(efd));

	/* RUNNING_P2P -> PRE_COPY_P2P begins the session */
	ASSERT_EQ(0, set_state(&self->src, VFIO_DEVICE_STATE_PRE_COPY_P2P,
			       &fd));
	ASSERT_LE(0, fd);
	EXPECT_EQ(VFIO_DEVICE_STATE_PRE_COPY_P2P, get_state(&self->src));
	/* PRE_COPY and back keep it */
	ASSERT_EQ(0, set_state(&self->src, VFIO_DEVICE_STATE_PRE_COPY, &fd2));
	EXPECT_EQ(-1, fd2);
	head = read(fd, data, sizeof(data));
	ASSERT_LT(0, head);
	EXPECT_EQ(-1, read(fd, data, sizeof(data)));
	EXPECT_EQ(ENOMSG, errno);
	ASSERT_EQ(0, set_state(&self->src, VFIO_DEVICE_STATE_PRE_COPY_P2P,
			       &fd2));
	EXPECT_EQ(-1, fd2);
	EXPECT_EQ(0x5a, reg_read(&self->src, 0, UART_SCR));
	/* ... and STOP_COPY continues it to its end */
	ASSERT_EQ(0, set_state(&self->src, VFIO_DEVICE_STATE_STOP_COPY, &fd2));
	EXPECT_EQ(-1, fd2);
	rest = read_all(fd, data + head, sizeof(data) - head);
	ASSERT_EQ((ssize_t)self->data_size, head + rest);
	/* STOP_COPY -> RUNNING_P2P passes STOP and ends the session */
	ASSERT_EQ(0, set_state(&self->src, VFIO_DEVICE_STATE_RUNNING_P2P,
			       NULL));
	EXPECT_EQ(-1, read(fd, data, 1));
	EXPECT_EQ(ENODEV, errno);
	close(fd);

	/* The destination: RUNNING -> RESUMING, -> RUNNING_P2P loads */
	ASSERT_EQ(0, set_state(&self->dst, VFIO_DEVICE_STATE_RESUMING, &fd));
	ASSERT_LE(0, fd);
	ASSERT_EQ(head + rest, write(fd, data, head + rest));
	ASSERT_EQ(0, set_state(&self->dst, VFIO_DEVICE_STATE_RUNNING_P2P,
			       NULL));
	close(fd);
	EXPECT_EQ(VFIO_DEVICE_STATE_RUNNING_P2P, get_state(&self->dst));
	EXPECT_EQ(0x5a, reg_read(&self->dst, 0, UART_SCR));
	EXPECT_EQ(0xa5, reg_read(&self->dst, 1, UART_SCR));
	ASSERT_EQ(0, set_state(&self->dst, VFIO_DEVICE_STATE_RUNNING, NULL));
	EXPECT_EQ('M', reg_read(&self->dst, 0, UART_RX));

	/* PRE_COPY_P2P -> RUNNING_P2P ends a session too */
	ASSERT_EQ(0, set_state(&self->src, VFIO_DEVICE_STATE_PRE_COPY_P2P,
			       &fd));
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_state(&self->src, VFIO_DEVICE_STATE_RUNNING_P2P,
			       &fd2));
	EXPECT_EQ(-1, fd2);
	EXPECT_EQ(-1, read(fd, data, 1));
	EXPECT_EQ(ENODEV, errno);
	close(fd);
	ASSERT_EQ(0, set_state(&self->src, VFIO_DEVICE_STATE_RUNNING, NULL));
	EXPECT_EQ(VFIO_DEVICE_STATE_RUNNING, get_state(&self->src));
	close(efd);
}

/* Pages of 4 KiB logged by the test, a multiple of 64 */
#define LOG_PAGES	256

/* Start DMA logging over [0, @len) in pages of @pgsize; 0 or -errno */
static int log_start(struct mtty *m, __u64 len, __u64 *pgsize)
{
	struct vfio_device_feature_dma_logging_range range = {
		.iova = 0,
		.length = len,
	};
	struct feature f = {
		.log = {
			.page_size = *pgsize,
			.num_ranges = 1,
			.ranges = (uintptr_t)&range,
		},
	};
	int ret;

	ret = feature(m->fd, VFIO_DEVICE_FEATURE_SET |
		      VFIO_DEVICE_FEATURE_DMA_LOGGING_START, &f, sizeof(f.log));
	*pgsize = f.log.page_size;
	return ret;
}

/* Report [0, @len) in pages of 4 KiB into @bitmap; 0 or -errno */
static int log_report(struct mtty *m, __u64 len, __u64 *bitmap)
{
	struct feature f = {
		.report = {
			.iova = 0,
			.length = len,
			.page_size = 4096,
			.bitmap = (uintptr_t)bitmap,
		},
	};

	return feature(m->fd, VFIO_DEVICE_FEATURE_GET |
		       VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, &f,
		       sizeof(f.report));
}

/*
 * Whether the VFIO core can report dirty pages: only with
 * CONFIG_IOMMUFD_DRIVER, whose iova_bitmap code is built in when it is on.
 * 1, 0, or -errno when /proc/kallsyms cannot be read.
 */
static int kernel_reports_dirty(void)
{
	char line[256];
	FILE *f;
	int found = 0;

	f = fopen("/proc/kallsyms", "r");
	if (!f)
		return -errno;
	while (!found && fgets(line, sizeof(line), f))
		found = !!strstr(line, " iova_bitmap_for_each");
	fclose(f);
	return found;
}

/*
 * DMA dirty logging, which QEMU needs to migrate without
 * enable-migration=on: offered where the kernel can report, and honest for
 * a device without DMA: a busy UART dirties no page.  A report outside
 * logging fails.  Where the kernel cannot report (Debian's 6.12 has no
 * IOMMUFD), the feature is not offered: every report would fail.
 */
TEST_F(mtty_mig, dirty_logging)
{
	const __u64 len = LOG_PAGES * 4096;
	__u64 bitmap[LOG_PAGES / 64], pgsize = 4096;
	struct feature f = { };
	unsigned int i;
	int ret;

	ret = kernel_reports_dirty();
	ASSERT_LE(0, ret) TH_LOG("cannot read /proc/kallsyms");
	if (!ret) {
		TH_LOG("no CONFIG_IOMMUFD_DRIVER: DMA logging must not be offered");
		EXPECT_EQ(-ENOTTY, feature(self->src.fd,
					   VFIO_DEVICE_FEATURE_PROBE |
					   VFIO_DEVICE_FEATURE_SET |
					   VFIO_DEVICE_FEATURE_DMA_LOGGING_START,
					   &f, 0));
		return;
	}

	EXPECT_EQ(0, feature(self->src.fd, VFIO_DEVICE_FEATURE_PROBE |
			     VFIO_DEVICE_FEATURE_SET |
			     VFIO_DEVICE_FEATURE_DMA_LOGGING_START, &f, 0));
	EXPECT_EQ(0, feature(self->src.fd, VFIO_DEVICE_FEATURE_PROBE |
			     VFIO_DEVICE_FEATURE_SET |
			     VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP, &f, 0));
	EXPECT_EQ(0, feature(self->src.fd, VFIO_DEVICE_FEATURE_PROBE |
			     VFIO_DEVICE_FEATURE_GET |
			     VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, &f, 0));

	EXPECT_EQ(-EINVAL, log_report(&self->src, len, bitmap));
	ASSERT_EQ(0, log_start(&self->src, len, &pgsize));
	EXPECT_EQ(4096, pgsize);

	/* Traffic and interrupts, then nothing is dirty */
	ASSERT_EQ(0, program_source(&self->src));
	for (i = 0; i < 3; i++)
		reg_read(&self->src, 0, UART_RX);
	memset(bitmap, 0, sizeof(bitmap));
	ASSERT_EQ(0, log_report(&self->src, len, bitmap));
	for (i = 0; i < ARRAY_SIZE(bitmap); i++)
		EXPECT_EQ(0, bitmap[i]) TH_LOG("dirty bits in word %u", i);

	/* Logging across a migration: the saved state dirties nothing */
	ASSERT_EQ(0, set_state(&self->src, VFIO_DEVICE_STATE_STOP_COPY, NULL));
	ASSERT_EQ(0, log_report(&self->src, len, bitmap));
	EXPECT_EQ(0, bitmap[0]);
	ASSERT_EQ(0, set_state(&self->src, VFIO_DEVICE_STATE_RUNNING, NULL));

	ASSERT_EQ(0, feature(self->src.fd, VFIO_DEVICE_FEATURE_SET |
			     VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP, &f, 0));
	EXPECT_EQ(-EINVAL, log_report(&self->src, len, bitmap));

	/* A close ends logging: the next user of the device starts its own */
	ASSERT_EQ(0, log_start(&self->src, len, &pgsize));
	close(self->src.fd);
	self->src.fd = ioctl(self->src.group, VFIO_GROUP_GET_DEVICE_FD,
			     self->src.uuid);
	ASSERT_LE(0, self->src.fd);
	ret = log_report(&self->src, len, bitmap);
	EXPECT_EQ(-EINVAL, ret);
}

TEST_F(mtty_mig, refused_transitions)
{
	int fd;

	ASSERT_EQ(0, set_state(&self->src, VFIO_DEVICE_STATE_STOP_COPY, &fd));
	ASSERT_LE(0, fd);
	/* The saving group cannot be re-entered from STOP_COPY */
	EXPECT_EQ(-EINVAL, set_state(&self->src, VFIO_DEVICE_STATE_PRE_COPY,
				     NULL));
	EXPECT_EQ(VFIO_DEVICE_STATE_STOP_COPY, get_state(&self->src));
	EXPECT_EQ(-EINVAL, set_state(&self->src,
				     VFIO_DEVICE_STATE_PRE_COPY_P2P, NULL));
	EXPECT_EQ(VFIO_DEVICE_STATE_STOP_COPY, get_state(&self->src));
	/* ERROR and unknown states cannot be asked for */
	EXPECT_EQ(-EINVAL, set_state(&self->src, VFIO_DEVICE_STATE_ERROR,
				     NULL));
	EXPECT_EQ(-EINVAL, set_state(&self->src, 1000, NULL));
	EXPECT_EQ(VFIO_DEVICE_STATE_STOP_COPY, get_state(&self->src));

	/* A reset returns to RUNNING and ends the session */
	ASSERT_EQ(0, ioctl(self->src.fd, VFIO_DEVICE_RESET));
	EXPECT_EQ(VFIO_DEVICE_STATE_RUNNING, get_state(&self->src));
	EXPECT_EQ(-1, read(fd, &fd, 1));
	EXPECT_EQ(ENODEV, errno);
	close(fd);
}

TEST_F(mtty_mig, bad_streams)
{
	__u8 data[4096], junk[64];
	ssize_t len;
	int fd;

	ASSERT_EQ(0, set_state(&self->src, VFIO_DEVICE_STATE_STOP_COPY, &fd));
	len = read_all(fd, data, sizeof(data));
	ASSERT_EQ((ssize_t)self->data_size, len);
	close(fd);

	/* A header that is not mtty's is refused as it arrives */
	memset(junk, 0xee, sizeof(junk));
	ASSERT_EQ(0, set_state(&self->dst, VFIO_DEVICE_STATE_RESUMING, &fd));
	EXPECT_EQ(-1, write(fd, junk, sizeof(junk)));
	EXPECT_EQ(EINVAL, errno);

	/* A truncated stream fails the load and stays RESUMING */
	ASSERT_EQ(len - 1, write(fd, data, len - 1));
	EXPECT_EQ(-EINVAL, set_state(&self->dst, VFIO_DEVICE_STATE_STOP,
				     NULL));
	EXPECT_EQ(VFIO_DEVICE_STATE_RESUMING, get_state(&self->dst));
	/* ... until the rest arrives */
	ASSERT_EQ(1, write(fd, data + len - 1, 1));
	EXPECT_EQ(0, set_state(&self->dst, VFIO_DEVICE_STATE_RUNNING, NULL));
	close(fd);

	/* A register value no UART can hold fails the load */
	data[16] = 0xff;	/* IER of the first UART record */
	ASSERT_EQ(0, set_state(&self->dst, VFIO_DEVICE_STATE_RESUMING, &fd));
	ASSERT_EQ(len, write(fd, data, len));
	EXPECT_EQ(-EINVAL, set_state(&self->dst, VFIO_DEVICE_STATE_RUNNING,
				     NULL));
	EXPECT_EQ(VFIO_DEVICE_STATE_RESUMING, get_state(&self->dst));
	ASSERT_EQ(0, ioctl(self->dst.fd, VFIO_DEVICE_RESET));
	EXPECT_EQ(VFIO_DEVICE_STATE_RUNNING, get_state(&self->dst));
	close(fd);
}

TEST_F(mtty_mig, wrong_device_kind)
{
	struct mtty *single = &self->extra;
	__u8 data[4096];
	ssize_t len;
	int fd;

	ASSERT_EQ(0, set_state(&self->src, VFIO_DEVICE_STATE_STOP_COPY, &fd));
	len = read_all(fd, data, sizeof(data));
	ASSERT_EQ((ssize_t)self->data_size, len);
	close(fd);

	/* A dual-port stream does not resume into a single-port device */
	ASSERT_EQ(0, mtty_create(single, 1));
	ASSERT_EQ(0, mtty_open(single, self->container, false));
	ASSERT_EQ(0, set_state(single, VFIO_DEVICE_STATE_RESUMING, &fd));
	EXPECT_EQ(-1, write(fd, data, len));
	EXPECT_TRUE(errno == EINVAL || errno == ENOSPC);
	close(fd);
}

TEST_HARNESS_MAIN
