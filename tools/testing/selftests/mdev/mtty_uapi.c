// SPDX-License-Identifier: GPL-2.0-only
/*
 * The VFIO uAPI of mtty devices, as QEMU sees it through vfio_mdev: device,
 * region and interrupt info, the PCI configuration space, bounds checks,
 * the 16550A registers behind the BARs with their loopback plug, INTx as an
 * automasked level, MSI as an edge, reset, and the request interrupt that
 * a removal signals.  Every ioctl is also tried with bad arguments.
 *
 * Needs root, vfio_iommu_type1 and the mtty module loaded; each test makes
 * its own device (single- and dual-port variants).  MTTY_TYPES overrides
 * the directory of mtty's types.
 */

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
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/pci_regs.h>
#include <linux/serial_reg.h>
#include <linux/vfio.h>

#include "kselftest_harness.h"
#include "mdev_util.h"

#define MTTY_TYPES_DEFAULT	"/sys/class/mdev_bus/mtty/mdev_supported_types"
#define CFG_SIZE		256
#define BAR_SIZE		8
#define IIR_FIFO		0xc0
#define LSR_IDLE		(UART_LSR_THRE | UART_LSR_TEMT)

static const char *types_dir(void)
{
	return env_or("MTTY_TYPES", MTTY_TYPES_DEFAULT);
}

FIXTURE(mtty) {
	char uuid[UUID_LEN + 1];
	int container;
	int group;
	int fd;
	__u64 off[VFIO_PCI_NUM_REGIONS];
};

FIXTURE_VARIANT(mtty) {
	int ports;
};

FIXTURE_VARIANT_ADD(mtty, single) {
	.ports = 1,
};

FIXTURE_VARIANT_ADD(mtty, dual) {
	.ports = 2,
};

static void mtty_close(struct _test_data_mtty *self)
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

static void mtty_destroy(struct _test_data_mtty *self)
{
	mtty_close(self);
	if (!self->uuid[0])
		return;
	mdev_remove(self->uuid);
	self->uuid[0] = '\0';
}

/* Create and open the device; 0 or -errno.  Cleans up after itself. */
static int mtty_open_new(struct _test_data_mtty *self, int ports)
{
	struct vfio_region_info info;
	char dir[PATH_MAX];
	unsigned int i;
	int ret;

	ret = mdev_new_uuid(self->uuid);
	if (ret)
		return ret;
	snprintf(dir, sizeof(dir), "%s/mtty-%d", types_dir(), ports);
	ret = mdev_create(dir, self->uuid);
	if (ret) {
		self->uuid[0] = '\0';
		return ret;
	}

	self->container = open("/dev/vfio/vfio", O_RDWR);
	if (self->container < 0) {
		ret = -errno;
		goto err;
	}
	ret = vfio_group_open_device(self->uuid, self->container, true,
				     &self->group);
	if (ret < 0)
		goto err;
	self->fd = ret;
	for (i = 0; i < VFIO_PCI_NUM_REGIONS; i++) {
		ret = vfio_get_region_info(self->fd, i, &info);
		if (ret)
			goto err;
		self->off[i] = info.offset;
	}
	return 0;

err:
	mtty_destroy(self);
	return ret;
}

FIXTURE_SETUP(mtty)
{
	int ret;

	self->uuid[0] = '\0';
	self->container = -1;
	self->group = -1;
	self->fd = -1;
	if (access(types_dir(), F_OK))
		SKIP(return, "no mtty types at %s (load mtty.ko)", types_dir());
	ret = mtty_open_new(self, variant->ports);
	ASSERT_EQ(0, ret) TH_LOG("cannot create and open an mtty device: %s",
				 strerror(-ret));
}

FIXTURE_TEARDOWN(mtty)
{
	mtty_destroy(self);
}

/* Region access: the count transferred, or -errno */
static ssize_t rd(struct _test_data_mtty *self, int index, __u64 off,
		  void *buf, size_t len)
{
	ssize_t n = pread(self->fd, buf, len, self->off[index] + off);

	return n < 0 ? -errno : n;
}

static ssize_t wr(struct _test_data_mtty *self, int index, __u64 off,
		  const void *buf, size_t len)
{
	ssize_t n = pwrite(self->fd, buf, len, self->off[index] + off);

	return n < 0 ? -errno : n;
}

static int reg(struct _test_data_mtty *self, int port, int r)
{
	__u8 val;

	if (rd(self, VFIO_PCI_BAR0_REGION_INDEX + port, r, &val, 1) != 1)
		return -1;
	return val;
}

static int set_reg(struct _test_data_mtty *self, int port, int r, __u8 val)
{
	return wr(self, VFIO_PCI_BAR0_REGION_INDEX + port, r, &val, 1) == 1 ?
	       0 : -1;
}

static __u32 cfg32(struct _test_data_mtty *self, int off)
{
	__u32 val = 0;

	rd(self, VFIO_PCI_CONFIG_REGION_INDEX, off, &val, 4);
	return val;
}

static void set_cfg32(struct _test_data_mtty *self, int off, __u32 val)
{
	wr(self, VFIO_PCI_CONFIG_REGION_INDEX, off, &val, 4);
}

/* VFIO_DEVICE_SET_IRQS with at most one element of data; 0 or -errno */
static int set_irqs(struct _test_data_mtty *self, __u32 flags,
		    __u32 index, __u32 start, __u32 count,
		    __s32 data, __u32 argsz)
{
	struct {
		struct vfio_irq_set set;
		__s32 data;
	} irq = {
		.set = {
			.argsz = argsz ? argsz : sizeof(irq),
			.flags = flags,
			.index = index,
			.start = start,
			.count = count,
		},
		.data = data,
	};

	return ioctl(self->fd, VFIO_DEVICE_SET_IRQS, &irq) ? -errno : 0;
}

static int set_trigger(struct _test_data_mtty *self, __u32 index, int fd)
{
	return set_irqs(self, VFIO_IRQ_SET_DATA_EVENTFD |
			VFIO_IRQ_SET_ACTION_TRIGGER, index, 0, 1, fd, 0);
}

static int unmask_intx(struct _test_data_mtty *self)
{
	return set_irqs(self, VFIO_IRQ_SET_DATA_NONE |
			VFIO_IRQ_SET_ACTION_UNMASK, VFIO_PCI_INTX_IRQ_INDEX,
			0, 1, 0, 0);
}

/* How often @efd was signalled since the last call */
static __u64 signals(int efd)
{
	__u64 n = 0;

	if (read(efd, &n, sizeof(n)) != sizeof(n))
		return 0;
	return n;
}

TEST_F(mtty, device_info)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };

	ASSERT_EQ(0, ioctl(self->fd, VFIO_DEVICE_GET_INFO, &info));
	EXPECT_EQ(VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET, info.flags);
	EXPECT_EQ(VFIO_PCI_NUM_REGIONS, info.num_regions);
	EXPECT_EQ(VFIO_PCI_NUM_IRQS, info.num_irqs);

	info.argsz = offsetof(struct vfio_device_info, num_irqs);
	EXPECT_EQ(-1, ioctl(self->fd, VFIO_DEVICE_GET_INFO, &info));
	EXPECT_EQ(EINVAL, errno);
	/* An ioctl no VFIO device has */
	EXPECT_EQ(-1, ioctl(self->fd, _IO(VFIO_TYPE, VFIO_BASE + 99)));
	EXPECT_EQ(ENOTTY, errno);
}

TEST_F(mtty, region_info)
{
	struct vfio_region_info info = { .argsz = sizeof(info) };
	__u32 rw = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
	unsigned int i;

	for (i = 0; i < VFIO_PCI_NUM_REGIONS; i++) {
		__u64 size = 0;

		if (i == VFIO_PCI_CONFIG_REGION_INDEX)
			size = CFG_SIZE;
		else if (i < (unsigned int)variant->ports)
			size = BAR_SIZE;
		info.index = i;
		ASSERT_EQ(0, ioctl(self->fd, VFIO_DEVICE_GET_REGION_INFO,
				   &info));
		EXPECT_EQ(size, info.size) TH_LOG("region %u", i);
		EXPECT_EQ(size ? rw : 0, info.flags) TH_LOG("region %u", i);
	}
	/* Regions do not overlap */
	EXPECT_NE(self->off[0], self->off[1]);

	info.index = VFIO_PCI_NUM_REGIONS;
	EXPECT_EQ(-1, ioctl(self->fd, VFIO_DEVICE_GET_REGION_INFO, &info));
	EXPECT_EQ(EINVAL, errno);
	info.index = 0;
	info.argsz = offsetof(struct vfio_region_info, offset);
	EXPECT_EQ(-1, ioctl(self->fd, VFIO_DEVICE_GET_REGION_INFO, &info));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(mtty, config_space)
{
	__u8 cfg[CFG_SIZE];
	__u16 cmd;

	ASSERT_EQ(CFG_SIZE, rd(self, VFIO_PCI_CONFIG_REGION_INDEX, 0, cfg,
			       sizeof(cfg)));
	EXPECT_EQ(0x32534348, cfg32(self, PCI_VENDOR_ID));
	/* Serial controller, 16550 compatible */
	EXPECT_EQ(0x070002, cfg32(self, PCI_CLASS_REVISION) >> 8);
	EXPECT_EQ(PCI_HEADER_TYPE_NORMAL, cfg[PCI_HEADER_TYPE]);
	EXPECT_EQ(0x32534348, cfg32(self, PCI_SUBSYSTEM_VENDOR_ID));
	EXPECT_EQ(1, cfg[PCI_INTERRUPT_PIN]);
	EXPECT_TRUE(cfg[PCI_STATUS] & PCI_STATUS_CAP_LIST);
	EXPECT_EQ(PCI_CAP_ID_MSI, cfg[cfg[PCI_CAPABILITY_LIST]]);

	/* The I/O BARs size to 8 bytes; the others are not there */
	EXPECT_EQ(PCI_BASE_ADDRESS_SPACE_IO, cfg32(self, PCI_BASE_ADDRESS_0));
	set_cfg32(self, PCI_BASE_ADDRESS_0, 0xffffffff);
	EXPECT_EQ(0xfffffff9, cfg32(self, PCI_BASE_ADDRESS_0));
	set_cfg32(self, PCI_BASE_ADDRESS_1, 0xffffffff);
	EXPECT_EQ(variant->ports == 2 ? 0xfffffff9 : 0,
		  cfg32(self, PCI_BASE_ADDRESS_1));
	set_cfg32(self, PCI_BASE_ADDRESS_2, 0xffffffff);
	EXPECT_EQ(0, cfg32(self, PCI_BASE_ADDRESS_2));
	set_cfg32(self, PCI_ROM_ADDRESS, 0xffffffff);
	EXPECT_EQ(0, cfg32(self, PCI_ROM_ADDRESS));
	set_cfg32(self, PCI_BASE_ADDRESS_0, 0xc010);
	EXPECT_EQ(0xc011, cfg32(self, PCI_BASE_ADDRESS_0));

	/* Read-only fields stay; the command register keeps what it has */
	set_cfg32(self, PCI_VENDOR_ID, 0);
	EXPECT_EQ(0x32534348, cfg32(self, PCI_VENDOR_ID));
	cmd = 0xffff;
	ASSERT_EQ(2, wr(self, VFIO_PCI_CONFIG_REGION_INDEX, PCI_COMMAND, &cmd,
			2));
	ASSERT_EQ(2, rd(self, VFIO_PCI_CONFIG_REGION_INDEX, PCI_COMMAND, &cmd,
			2));
	EXPECT_EQ(PCI_COMMAND_IO | PCI_COMMAND_MASTER | PCI_COMMAND_PARITY |
		  PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE, cmd);
}

TEST_F(mtty, bounds)
{
	__u8 buf[CFG_SIZE + 1];

	EXPECT_EQ(-EINVAL, rd(self, VFIO_PCI_CONFIG_REGION_INDEX, 0, buf,
			      CFG_SIZE + 1));
	EXPECT_EQ(-EINVAL, rd(self, VFIO_PCI_CONFIG_REGION_INDEX, CFG_SIZE,
			      buf, 1));
	EXPECT_EQ(-EINVAL, wr(self, VFIO_PCI_CONFIG_REGION_INDEX, 255, buf,
			      2));
	EXPECT_EQ(-EINVAL, rd(self, VFIO_PCI_BAR0_REGION_INDEX, BAR_SIZE, buf,
			      1));
	EXPECT_EQ(-EINVAL, rd(self, VFIO_PCI_BAR0_REGION_INDEX, 7, buf, 2));
	EXPECT_EQ(-EINVAL, wr(self, VFIO_PCI_BAR2_REGION_INDEX, 0, buf, 1));
	EXPECT_EQ(-EINVAL, rd(self, VFIO_PCI_ROM_REGION_INDEX, 0, buf, 1));
	if (variant->ports == 1)
		EXPECT_EQ(-EINVAL, rd(self, VFIO_PCI_BAR1_REGION_INDEX, 0,
				      buf, 1));
	/* Beyond the last region, and a negative offset */
	EXPECT_EQ(-1, pread(self->fd, buf, 1,
			    self->off[VFIO_PCI_NUM_REGIONS - 1] * 2));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, rd(self, VFIO_PCI_BAR0_REGION_INDEX, 0, buf, 0));
	/* A whole BAR at once */
	EXPECT_EQ(BAR_SIZE, rd(self, VFIO_PCI_BAR0_REGION_INDEX, 0, buf,
			       BAR_SIZE));
}

TEST_F(mtty, irq_info)
{
	struct vfio_irq_info info = { .argsz = sizeof(info) };
	struct { __u32 flags, count; } want[VFIO_PCI_NUM_IRQS] = {
		[VFIO_PCI_INTX_IRQ_INDEX] = { VFIO_IRQ_INFO_EVENTFD |
			VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED, 1 },
		[VFIO_PCI_MSI_IRQ_INDEX] = { VFIO_IRQ_INFO_EVENTFD |
			VFIO_IRQ_INFO_NORESIZE, 1 },
		[VFIO_PCI_MSIX_IRQ_INDEX] = { VFIO_IRQ_INFO_EVENTFD |
			VFIO_IRQ_INFO_NORESIZE, 0 },
		[VFIO_PCI_REQ_IRQ_INDEX] = { VFIO_IRQ_INFO_EVENTFD, 1 },
	};
	unsigned int i;

	for (i = 0; i < VFIO_PCI_NUM_IRQS; i++) {
		info.index = i;
		if (i == VFIO_PCI_ERR_IRQ_INDEX) {
			/* Conventional PCI: no error reporting */
			EXPECT_EQ(-1, ioctl(self->fd, VFIO_DEVICE_GET_IRQ_INFO,
					    &info));
			EXPECT_EQ(EINVAL, errno);
			continue;
		}
		ASSERT_EQ(0, ioctl(self->fd, VFIO_DEVICE_GET_IRQ_INFO, &info));
		EXPECT_EQ(want[i].flags, info.flags) TH_LOG("index %u", i);
		EXPECT_EQ(want[i].count, info.count) TH_LOG("index %u", i);
	}
	info.index = VFIO_PCI_NUM_IRQS;
	EXPECT_EQ(-1, ioctl(self->fd, VFIO_DEVICE_GET_IRQ_INFO, &info));
	EXPECT_EQ(EINVAL, errno);
	info.index = 0;
	info.argsz = offsetof(struct vfio_irq_info, count);
	EXPECT_EQ(-1, ioctl(self->fd, VFIO_DEVICE_GET_IRQ_INFO, &info));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(mtty, set_irqs_args)
{
	__u32 trig = VFIO_IRQ_SET_ACTION_TRIGGER;
	__u32 efd_trig = VFIO_IRQ_SET_DATA_EVENTFD | trig;
	int efd = eventfd(0, EFD_NONBLOCK);

	ASSERT_LE(0, efd);
	/* Two data types, two actions, unknown flags, no type at all */
	EXPECT_EQ(-EINVAL, set_irqs(self, VFIO_IRQ_SET_DATA_NONE |
				    VFIO_IRQ_SET_DATA_BOOL | trig, 0, 0, 1, 0,
				    0));
	EXPECT_EQ(-EINVAL, set_irqs(self, VFIO_IRQ_SET_DATA_NONE | trig |
				    VFIO_IRQ_SET_ACTION_MASK, 0, 0, 1, 0, 0));
	EXPECT_EQ(-EINVAL, set_irqs(self, VFIO_IRQ_SET_DATA_NONE | trig |
				    (1u << 12), 0, 0, 1, 0, 0));
	EXPECT_EQ(-EINVAL, set_irqs(self, trig, 0, 0, 1, 0, 0));
	/* Index, start and count out of range */
	EXPECT_EQ(-EINVAL, set_irqs(self, efd_trig, VFIO_PCI_NUM_IRQS, 0, 1,
				    efd, 0));
	EXPECT_EQ(-EINVAL, set_irqs(self, efd_trig, VFIO_PCI_ERR_IRQ_INDEX, 0,
				    1, efd, 0));
	EXPECT_EQ(-EINVAL, set_irqs(self, efd_trig, VFIO_PCI_MSIX_IRQ_INDEX,
				    0, 1, efd, 0));
	EXPECT_EQ(-EINVAL, set_irqs(self, efd_trig, VFIO_PCI_INTX_IRQ_INDEX,
				    1, 1, efd, 0));
	EXPECT_EQ(-EINVAL, set_irqs(self, efd_trig, VFIO_PCI_INTX_IRQ_INDEX,
				    0, 2, efd, 0));
	EXPECT_EQ(-EINVAL, set_irqs(self, efd_trig, VFIO_PCI_INTX_IRQ_INDEX,
				    0xffffffff, 2, efd, 0));
	/* The data does not fit in argsz */
	EXPECT_EQ(-EINVAL, set_irqs(self, efd_trig, VFIO_PCI_INTX_IRQ_INDEX,
				    0, 1, efd, sizeof(struct vfio_irq_set) + 3));
	EXPECT_EQ(-EINVAL, set_irqs(self, efd_trig, VFIO_PCI_INTX_IRQ_INDEX,
				    0, 1, efd, sizeof(struct vfio_irq_set) - 1));
	/* Not an eventfd, a bad fd */
	EXPECT_EQ(-EINVAL, set_irqs(self, efd_trig, VFIO_PCI_INTX_IRQ_INDEX,
				    0, 1, -5, 0));
	EXPECT_NE(0, set_irqs(self, efd_trig, VFIO_PCI_INTX_IRQ_INDEX, 0, 1,
			      self->fd, 0));
	/* Masking needs INTx on; MSI and the request cannot be masked */
	EXPECT_EQ(-EINVAL, unmask_intx(self));
	EXPECT_EQ(-ENOTTY, set_irqs(self, VFIO_IRQ_SET_DATA_NONE |
				    VFIO_IRQ_SET_ACTION_MASK,
				    VFIO_PCI_MSI_IRQ_INDEX, 0, 1, 0, 0));
	EXPECT_EQ(-ENOTTY, set_irqs(self, VFIO_IRQ_SET_DATA_NONE |
				    VFIO_IRQ_SET_ACTION_MASK,
				    VFIO_PCI_REQ_IRQ_INDEX, 0, 1, 0, 0));
	/* Disabling what is not enabled */
	EXPECT_EQ(-EINVAL, set_irqs(self, VFIO_IRQ_SET_DATA_NONE | trig,
				    VFIO_PCI_INTX_IRQ_INDEX, 0, 0, 0, 0));

	/* INTx and MSI exclude each other */
	ASSERT_EQ(0, set_trigger(self, VFIO_PCI_INTX_IRQ_INDEX, efd));
	EXPECT_EQ(-EINVAL, set_trigger(self, VFIO_PCI_MSI_IRQ_INDEX, efd));
	EXPECT_EQ(-ENOTTY, set_irqs(self, VFIO_IRQ_SET_DATA_EVENTFD |
				    VFIO_IRQ_SET_ACTION_UNMASK,
				    VFIO_PCI_INTX_IRQ_INDEX, 0, 1, efd, 0));
	EXPECT_EQ(0, set_irqs(self, VFIO_IRQ_SET_DATA_NONE | trig,
			      VFIO_PCI_INTX_IRQ_INDEX, 0, 0, 0, 0));
	ASSERT_EQ(0, set_trigger(self, VFIO_PCI_MSI_IRQ_INDEX, efd));
	EXPECT_EQ(0, set_trigger(self, VFIO_PCI_MSI_IRQ_INDEX, -1));
	/* A loopback trigger signals the eventfd */
	ASSERT_EQ(0, set_trigger(self, VFIO_PCI_REQ_IRQ_INDEX, efd));
	signals(efd);
	EXPECT_EQ(0, set_irqs(self, VFIO_IRQ_SET_DATA_NONE | trig,
			      VFIO_PCI_REQ_IRQ_INDEX, 0, 1, 0, 0));
	EXPECT_EQ(1, signals(efd));
	close(efd);
}

TEST_F(mtty, uart_fifo)
{
	char msg[] = "0123456789abcdefX";
	int i, port = variant->ports - 1;

	/* Power-on state */
	EXPECT_EQ(UART_IIR_NO_INT, reg(self, port, UART_IIR));
	EXPECT_EQ(LSR_IDLE, reg(self, port, UART_LSR));
	EXPECT_EQ(0, reg(self, port, UART_LCR));

	/* Scratch and divisor latch */
	ASSERT_EQ(0, set_reg(self, port, UART_SCR, 0x3c));
	EXPECT_EQ(0x3c, reg(self, port, UART_SCR));
	ASSERT_EQ(0, set_reg(self, port, UART_LCR, UART_LCR_DLAB));
	ASSERT_EQ(0, set_reg(self, port, UART_DLL, 0x01));
	ASSERT_EQ(0, set_reg(self, port, UART_DLM, 0x02));
	EXPECT_EQ(0x01, reg(self, port, UART_DLL));
	EXPECT_EQ(0x02, reg(self, port, UART_DLM));
	ASSERT_EQ(0, set_reg(self, port, UART_LCR, UART_LCR_WLEN8));
	EXPECT_EQ(0, reg(self, port, UART_IER));

	/* FIFO at trigger 8: below it times out, at it is data ready */
	ASSERT_EQ(0, set_reg(self, port, UART_FCR, UART_FCR_ENABLE_FIFO |
			     UART_FCR_TRIGGER_8));
	ASSERT_EQ(0, set_reg(self, port, UART_IER, UART_IER_RDI |
			     UART_IER_RLSI));
	EXPECT_EQ(IIR_FIFO | UART_IIR_NO_INT, reg(self, port, UART_IIR));
	for (i = 0; i < 7; i++)
		ASSERT_EQ(0, set_reg(self, port, UART_TX, msg[i]));
	EXPECT_EQ(IIR_FIFO | UART_IIR_RX_TIMEOUT, reg(self, port, UART_IIR));
	ASSERT_EQ(0, set_reg(self, port, UART_TX, msg[7]));
	EXPECT_EQ(IIR_FIFO | UART_IIR_RDI, reg(self, port, UART_IIR));
	EXPECT_EQ(LSR_IDLE | UART_LSR_DR, reg(self, port, UART_LSR));
	for (i = 0; i < 8; i++)
		EXPECT_EQ(msg[i], reg(self, port, UART_RX));
	EXPECT_EQ(LSR_IDLE, reg(self, port, UART_LSR));
	EXPECT_EQ(IIR_FIFO | UART_IIR_NO_INT, reg(self, port, UART_IIR));

	/* 17 bytes into 16: overrun, reported first, cleared by LSR */
	for (i = 0; i < 17; i++)
		ASSERT_EQ(0, set_reg(self, port, UART_TX, msg[i]));
	EXPECT_EQ(IIR_FIFO | UART_IIR_RLSI, reg(self, port, UART_IIR));
	EXPECT_EQ(LSR_IDLE | UART_LSR_DR | UART_LSR_OE,
		  reg(self, port, UART_LSR));
	EXPECT_EQ(IIR_FIFO | UART_IIR_RDI, reg(self, port, UART_IIR));
	EXPECT_EQ('0', reg(self, port, UART_RX));
	/* Clearing the receive FIFO */
	ASSERT_EQ(0, set_reg(self, port, UART_FCR, UART_FCR_ENABLE_FIFO |
			     UART_FCR_CLEAR_RCVR));
	EXPECT_EQ(LSR_IDLE, reg(self, port, UART_LSR));

	/* Without FIFO: one holding register, no FIFO bits in IIR */
	ASSERT_EQ(0, set_reg(self, port, UART_FCR, 0));
	ASSERT_EQ(0, set_reg(self, port, UART_TX, 'a'));
	EXPECT_EQ(UART_IIR_RDI, reg(self, port, UART_IIR));
	ASSERT_EQ(0, set_reg(self, port, UART_TX, 'b'));
	EXPECT_EQ(LSR_IDLE | UART_LSR_DR | UART_LSR_OE,
		  reg(self, port, UART_LSR));
	EXPECT_EQ('a', reg(self, port, UART_RX));
	EXPECT_EQ(LSR_IDLE, reg(self, port, UART_LSR));
}

TEST_F(mtty, uart_thre_and_modem)
{
	int port = 0;

	/* Enabling THRI raises THRE; reading it from IIR clears it */
	ASSERT_EQ(0, set_reg(self, port, UART_IER, UART_IER_THRI));
	EXPECT_EQ(UART_IIR_THRI, reg(self, port, UART_IIR));
	EXPECT_EQ(UART_IIR_NO_INT, reg(self, port, UART_IIR));
	/* ... and so does the holding register emptying again */
	ASSERT_EQ(0, set_reg(self, port, UART_TX, 'x'));
	EXPECT_EQ(UART_IIR_THRI, reg(self, port, UART_IIR));
	EXPECT_EQ(UART_IIR_NO_INT, reg(self, port, UART_IIR));
	/* Received data outranks THRE */
	ASSERT_EQ(0, set_reg(self, port, UART_IER, UART_IER_THRI |
			     UART_IER_RDI));
	EXPECT_EQ(UART_IIR_RDI, reg(self, port, UART_IIR));
	EXPECT_EQ('x', reg(self, port, UART_RX));
	/* THRI was on already: no new THRE without a new event */
	EXPECT_EQ(UART_IIR_NO_INT, reg(self, port, UART_IIR));

	/* The plug: RTS to CTS, DTR to DSR and DCD; changes latch */
	ASSERT_EQ(0, set_reg(self, port, UART_IER, UART_IER_MSI));
	EXPECT_EQ(0, reg(self, port, UART_MSR));
	ASSERT_EQ(0, set_reg(self, port, UART_MCR, UART_MCR_RTS));
	EXPECT_EQ(UART_IIR_MSI, reg(self, port, UART_IIR));
	EXPECT_EQ(UART_MSR_CTS | UART_MSR_DCTS, reg(self, port, UART_MSR));
	EXPECT_EQ(UART_IIR_NO_INT, reg(self, port, UART_IIR));
	ASSERT_EQ(0, set_reg(self, port, UART_MCR, UART_MCR_RTS |
			     UART_MCR_DTR));
	EXPECT_EQ(UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DCD |
		  UART_MSR_DDSR | UART_MSR_DDCD, reg(self, port, UART_MSR));
	/* Internal loopback: OUT1 to RI, OUT2 to DCD */
	ASSERT_EQ(0, set_reg(self, port, UART_MCR, UART_MCR_LOOP |
			     UART_MCR_OUT1));
	EXPECT_EQ(UART_MSR_RI | UART_MSR_DCTS | UART_MSR_DDSR | UART_MSR_DDCD,
		  reg(self, port, UART_MSR));
	ASSERT_EQ(0, set_reg(self, port, UART_MCR, UART_MCR_LOOP));
	EXPECT_EQ(UART_MSR_TERI, reg(self, port, UART_MSR));
	/* MCR keeps five bits */
	ASSERT_EQ(0, set_reg(self, port, UART_MCR, 0xff));
	EXPECT_EQ(0x1f, reg(self, port, UART_MCR));
}

TEST_F(mtty, intx_level)
{
	int efd = eventfd(0, EFD_NONBLOCK);
	__u16 cmd;

	ASSERT_LE(0, efd);
	ASSERT_EQ(0, set_trigger(self, VFIO_PCI_INTX_IRQ_INDEX, efd));
	EXPECT_EQ(0, signals(efd));

	/* A cause fires once, then INTx is masked */
	ASSERT_EQ(0, set_reg(self, 0, UART_FCR, UART_FCR_ENABLE_FIFO));
	ASSERT_EQ(0, set_reg(self, 0, UART_IER, UART_IER_RDI));
	ASSERT_EQ(0, set_reg(self, 0, UART_TX, 'a'));
	EXPECT_EQ(1, signals(efd));
	ASSERT_EQ(0, set_reg(self, 0, UART_TX, 'b'));
	EXPECT_EQ(0, signals(efd));
	/* Unmasked while still pending: fires again */
	ASSERT_EQ(0, unmask_intx(self));
	EXPECT_EQ(1, signals(efd));
	/* Served, then unmasked: quiet; a new cause fires */
	EXPECT_EQ('a', reg(self, 0, UART_RX));
	EXPECT_EQ('b', reg(self, 0, UART_RX));
	ASSERT_EQ(0, unmask_intx(self));
	EXPECT_EQ(0, signals(efd));
	ASSERT_EQ(0, set_reg(self, 0, UART_TX, 'c'));
	EXPECT_EQ(1, signals(efd));
	EXPECT_EQ('c', reg(self, 0, UART_RX));

	/* Masked by the user: nothing until unmasked */
	ASSERT_EQ(0, unmask_intx(self));
	ASSERT_EQ(0, set_irqs(self, VFIO_IRQ_SET_DATA_NONE |
			      VFIO_IRQ_SET_ACTION_MASK,
			      VFIO_PCI_INTX_IRQ_INDEX, 0, 1, 0, 0));
	ASSERT_EQ(0, set_reg(self, 0, UART_TX, 'd'));
	EXPECT_EQ(0, signals(efd));
	ASSERT_EQ(0, unmask_intx(self));
	EXPECT_EQ(1, signals(efd));
	EXPECT_EQ('d', reg(self, 0, UART_RX));
	ASSERT_EQ(0, unmask_intx(self));

	/* The command register's INTx disable holds the line back */
	cmd = PCI_COMMAND_INTX_DISABLE;
	ASSERT_EQ(2, wr(self, VFIO_PCI_CONFIG_REGION_INDEX, PCI_COMMAND, &cmd,
			2));
	ASSERT_EQ(0, set_reg(self, 0, UART_TX, 'e'));
	EXPECT_EQ(0, signals(efd));
	cmd = 0;
	ASSERT_EQ(2, rd(self, VFIO_PCI_CONFIG_REGION_INDEX, PCI_STATUS, &cmd,
			2));
	EXPECT_TRUE(cmd & PCI_STATUS_INTERRUPT);
	cmd = 0;
	ASSERT_EQ(2, wr(self, VFIO_PCI_CONFIG_REGION_INDEX, PCI_COMMAND, &cmd,
			2));
	EXPECT_EQ(1, signals(efd));

	/* The other port shares the line */
	if (variant->ports == 2) {
		EXPECT_EQ('e', reg(self, 0, UART_RX));
		ASSERT_EQ(0, unmask_intx(self));
		ASSERT_EQ(0, set_reg(self, 1, UART_IER, UART_IER_THRI));
		EXPECT_EQ(1, signals(efd));
	}

	EXPECT_EQ(0, set_trigger(self, VFIO_PCI_INTX_IRQ_INDEX, -1));
	close(efd);
}

TEST_F(mtty, msi_edge)
{
	int efd = eventfd(0, EFD_NONBLOCK);

	ASSERT_LE(0, efd);
	ASSERT_EQ(0, set_trigger(self, VFIO_PCI_MSI_IRQ_INDEX, efd));
	ASSERT_EQ(0, set_reg(self, 0, UART_FCR, UART_FCR_ENABLE_FIFO));
	ASSERT_EQ(0, set_reg(self, 0, UART_IER, UART_IER_RDI));
	ASSERT_EQ(0, set_reg(self, 0, UART_TX, 'a'));
	EXPECT_EQ(1, signals(efd));
	/* Still up: no new edge */
	ASSERT_EQ(0, set_reg(self, 0, UART_TX, 'b'));
	EXPECT_EQ(0, signals(efd));
	EXPECT_EQ('a', reg(self, 0, UART_RX));
	EXPECT_EQ('b', reg(self, 0, UART_RX));
	/* Down and up again: a new message */
	ASSERT_EQ(0, set_reg(self, 0, UART_TX, 'c'));
	EXPECT_EQ(1, signals(efd));
	EXPECT_EQ(0, set_irqs(self, VFIO_IRQ_SET_DATA_NONE |
			      VFIO_IRQ_SET_ACTION_TRIGGER,
			      VFIO_PCI_MSI_IRQ_INDEX, 0, 0, 0, 0));
	close(efd);
}

TEST_F(mtty, reset)
{
	ASSERT_EQ(0, set_reg(self, 0, UART_LCR, UART_LCR_WLEN8));
	ASSERT_EQ(0, set_reg(self, 0, UART_SCR, 0x77));
	ASSERT_EQ(0, set_reg(self, 0, UART_IER, UART_IER_RDI));
	ASSERT_EQ(0, set_reg(self, 0, UART_TX, 'z'));
	set_cfg32(self, PCI_BASE_ADDRESS_0, 0xc010);

	ASSERT_EQ(0, ioctl(self->fd, VFIO_DEVICE_RESET));
	EXPECT_EQ(0, reg(self, 0, UART_LCR));
	EXPECT_EQ(0, reg(self, 0, UART_SCR));
	EXPECT_EQ(0, reg(self, 0, UART_IER));
	EXPECT_EQ(LSR_IDLE, reg(self, 0, UART_LSR));
	EXPECT_EQ(UART_IIR_NO_INT, reg(self, 0, UART_IIR));
	EXPECT_EQ(PCI_BASE_ADDRESS_SPACE_IO, cfg32(self, PCI_BASE_ADDRESS_0));
	EXPECT_EQ(0x32534348, cfg32(self, PCI_VENDOR_ID));
}

struct remover {
	const char *uuid;
	int ret;
};

static void *remove_device(void *arg)
{
	struct remover *r = arg;

	r->ret = mdev_remove(r->uuid);
	return NULL;
}

TEST_F(mtty, request_on_remove)
{
	struct remover r = { .uuid = self->uuid, .ret = 1 };
	struct pollfd pfd;
	pthread_t thread;
	int efd = eventfd(0, EFD_NONBLOCK);

	ASSERT_LE(0, efd);
	ASSERT_EQ(0, set_trigger(self, VFIO_PCI_REQ_IRQ_INDEX, efd));

	/* The removal blocks while we hold the device, and asks us to let go */
	ASSERT_EQ(0, pthread_create(&thread, NULL, remove_device, &r));
	pfd = (struct pollfd){ .fd = efd, .events = POLLIN };
	EXPECT_EQ(1, poll(&pfd, 1, 20000));
	EXPECT_LE(1, signals(efd));
	EXPECT_EQ(1, r.ret);	/* still blocked */

	mtty_close(self);
	pthread_join(thread, NULL);
	EXPECT_EQ(0, r.ret);
	if (!r.ret)
		self->uuid[0] = '\0';
	close(efd);
}

TEST_HARNESS_MAIN
