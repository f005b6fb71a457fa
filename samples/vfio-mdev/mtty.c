// SPDX-License-Identifier: GPL-2.0-only
/*
 * mtty: a mediated PCI serial card.
 *
 * Every mediated device is a PCI card with one or two 16550A UARTs, each
 * behind an 8-byte I/O BAR, with a loopback plug on every port: what the
 * user transmits, it receives.  The registers answer the way Linux's 8250
 * driver expects of real hardware, so a guest's 8250_pci driver binds the
 * card and can talk to itself through it:
 *
 * - the receive FIFO has the 16550A trigger levels; data below the level
 *   raises the character timeout interrupt instead;
 * - IIR reports the highest-priority cause only, and reading it clears a
 *   THRE interrupt it reported;
 * - LSR.DR follows the FIFO, overruns latch LSR.OE until LSR is read;
 * - the modem lines follow the plug (RTS to CTS, DTR to DSR and DCD) or, in
 *   MCR loopback mode, the 16550's internal wiring;
 * - INTx is level triggered and automasked: when it is unmasked while a
 *   cause is still pending, it fires again.
 *
 * This is a classic parent: it describes its devices with a struct
 * mdev_parent_ops and leaves the VFIO side to the generic vfio_mdev driver,
 * answering only the region accesses, the device ioctls and the migration
 * callbacks through which VFIO migration (v2) carries the UART state.
 *
 * The card never writes guest memory, which makes two migration features
 * free and honest: the P2P states (there is no peer-to-peer DMA to quiesce,
 * so RUNNING_P2P and PRE_COPY_P2P run like RUNNING and PRE_COPY) and DMA
 * dirty logging that never finds a dirty page.  QEMU migrates a VFIO device
 * only with dirty tracking, unless forced with enable-migration=on.
 *
 * To try it:
 *
 *   echo $(uuidgen) > /sys/class/mdev_bus/mtty/mdev_supported_types/mtty-2/create
 *   qemu-system-x86_64 ... -device vfio-pci,sysfsdev=/sys/bus/mdev/devices/<uuid>
 */

#include <linux/anon_inodes.h>
#include <linux/atomic.h>
#include <linux/bitops.h>
#include <linux/completion.h>
#include <linux/device.h>
#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mdev.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci_ids.h>
#include <linux/pci_regs.h>
#include <linux/serial_reg.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <linux/unaligned.h>
#include <linux/vfio.h>

#define MTTY_NAME		"mtty"
#define MTTY_POOL_PORTS		24	/* UARTs shared by all devices */
#define MTTY_MAX_PORTS		2	/* UARTs per device */

#define MTTY_VENDOR_ID		0x4348
#define MTTY_DEVICE_ID		0x3253
#define MTTY_REVISION		0x10
#define MTTY_PROG_IF_16550	0x02
#define MTTY_CFG_SIZE		256
#define MTTY_MSI_CAP		0x40
#define MTTY_BAR_SIZE		8	/* the registers of one UART */
#define MTTY_FIFO_SIZE		16

/* Where each region lives in the offsets of the device file */
#define MTTY_REGION_SHIFT	40
#define MTTY_REGION_OFFSET(index)	((u64)(index) << MTTY_REGION_SHIFT)

/* No interrupt type is enabled */
#define MTTY_IRQ_NONE		(-1)

/**
 * struct mtty_uart - the state of one emulated 16550A
 * @rx: the receive FIFO, a ring of @rx_count bytes starting at @rx_head
 * @rx_head: index in @rx of the oldest byte
 * @rx_count: bytes waiting in @rx
 * @ier: interrupt enable register, low four bits
 * @lcr: line control register
 * @mcr: modem control register, low five bits
 * @fcr: FIFO enable and receive trigger bits as last written
 * @scr: scratch register
 * @lsr_err: latched error bits of the LSR (overrun); reading LSR clears them
 * @msr_delta: change bits of the MSR; reading MSR clears them
 * @thre_irq: a THRE interrupt is latched: set when the holding register
 *            empties or THRI gets enabled, cleared by reading IIR while it
 *            is the reported cause, by writing THR or by disabling THRI
 * @divisor: the baud rate divisor (DLL, DLM)
 */
struct mtty_uart {
	u8 rx[MTTY_FIFO_SIZE];
	u8 rx_head;
	u8 rx_count;
	u8 ier;
	u8 lcr;
	u8 mcr;
	u8 fcr;
	u8 scr;
	u8 lsr_err;
	u8 msr_delta;
	bool thre_irq;
	u16 divisor;
};

/*
 * The migration stream: a header, then one record per UART.  All of it is
 * little endian and independent of the kernel's structure layout.
 */
#define MTTY_MIG_MAGIC		0x5954544d	/* "MTTY" */
#define MTTY_MIG_VERSION	1
#define MTTY_MIG_THRE_IRQ	BIT(0)

struct mtty_mig_header {
	__le32 magic;
	__le16 version;
	__le16 nr_ports;
	__le32 uart_size;
	__le32 flags;
};

struct mtty_mig_uart {
	u8 ier;
	u8 lcr;
	u8 mcr;
	u8 fcr;
	u8 scr;
	u8 lsr_err;
	u8 msr_delta;
	u8 flags;
	__le16 divisor;
	u8 rx_count;
	u8 reserved[5];
	u8 rx[MTTY_FIFO_SIZE];	/* oldest first */
};

static_assert(sizeof(struct mtty_mig_header) == 16);
static_assert(sizeof(struct mtty_mig_uart) == 32);

#define MTTY_MIG_SIZE(ports)	(sizeof(struct mtty_mig_header) + \
				 (ports) * sizeof(struct mtty_mig_uart))

/**
 * struct mtty_migf - one migration data transfer session
 * @filp: the file user space reads the saved state from or writes it into
 * @lock: protects the members below
 * @disabled: the session has ended; reads and writes fail with %-ENODEV
 * @precopy: saving and still in PRE_COPY: only the header is available
 * @hdr_ok: resuming and the header was received and accepted
 * @nr_ports: the UARTs of the device the session belongs to
 * @len: bytes of @buf filled
 * @buf: the stream
 *
 * A session never looks at its device: the device pushes into it and ends
 * it, so it may outlive the device.
 */
struct mtty_migf {
	struct file *filp;
	struct mutex lock; /* protects the session's state and @buf */
	bool disabled;
	bool precopy;
	bool hdr_ok;
	unsigned int nr_ports;
	size_t len;
	u8 buf[MTTY_MIG_SIZE(MTTY_MAX_PORTS)];
};

/**
 * struct mtty_dev - the state of one mediated device
 * @mdev: the mediated device
 * @nr_ports: its UARTs, one per I/O BAR
 * @lock: protects the members below, up to @irq_lock
 * @cfg: PCI configuration space
 * @uart: the UARTs
 * @irq_mode: %VFIO_PCI_INTX_IRQ_INDEX, %VFIO_PCI_MSI_IRQ_INDEX or
 *            %MTTY_IRQ_NONE
 * @intx_masked: INTx is masked, by user space or automatically
 * @line: some UART requests an interrupt
 * @mig_state: the migration state
 * @saving: the saving session, while in PRE_COPY, PRE_COPY_P2P or STOP_COPY
 * @resuming: the resuming session, while in RESUMING
 * @logging: DMA dirty logging is on (started and neither stopped nor ended
 *           by the close of the device)
 * @irq_lock: protects @trigger, so that they are signalled without @lock
 * @trigger: the eventfd of each VFIO interrupt index, or %NULL
 */
struct mtty_dev {
	struct mdev_device *mdev;
	unsigned int nr_ports;

	struct mutex lock; /* protects the device state */
	u8 cfg[MTTY_CFG_SIZE];
	struct mtty_uart uart[MTTY_MAX_PORTS];
	int irq_mode;
	bool intx_masked;
	bool line;
	enum vfio_device_mig_state mig_state;
	struct mtty_migf *saving;
	struct mtty_migf *resuming;
	bool logging;

	spinlock_t irq_lock; /* protects @trigger */
	struct eventfd_ctx *trigger[VFIO_PCI_NUM_IRQS];
};

struct mtty_type {
	struct mdev_type type;
	unsigned int nr_ports;
};

/* The parent: a device in class "mtty", so the types are "mtty-<n>" */
struct mtty_card {
	struct mdev_parent parent;
	struct device *dev;
	struct mtty_type types[MTTY_MAX_PORTS];
	struct mdev_type *type_list[MTTY_MAX_PORTS];
};

/*
 * The class is released after class_unregister() returns, seconds later
 * with CONFIG_DEBUG_KOBJECT_RELEASE, through mtty_class_release(): the
 * module waits for it before it goes.
 */
static DECLARE_COMPLETION(mtty_class_released);

static void mtty_class_release(const struct class *class)
{
	complete(&mtty_class_released);
}

static const struct class mtty_class = {
	.name = MTTY_NAME,
	.class_release = mtty_class_release,
};

static struct mtty_card *mtty_card;
static atomic_t mtty_free_ports = ATOMIC_INIT(MTTY_POOL_PORTS);

/* UART emulation */

static unsigned int mtty_rx_trigger(const struct mtty_uart *u)
{
	static const u8 level[] = { 1, 4, 8, 14 };

	if (!(u->fcr & UART_FCR_ENABLE_FIFO))
		return 1;
	return level[(u->fcr & UART_FCR_TRIGGER_MASK) >> 6];
}

static unsigned int mtty_rx_room(const struct mtty_uart *u)
{
	return u->fcr & UART_FCR_ENABLE_FIFO ? MTTY_FIFO_SIZE : 1;
}

static void mtty_rx_clear(struct mtty_uart *u)
{
	u->rx_head = 0;
	u->rx_count = 0;
}

static u8 mtty_rx_pop(struct mtty_uart *u)
{
	u8 c;

	if (!u->rx_count)
		return 0;
	c = u->rx[u->rx_head];
	u->rx_head = (u->rx_head + 1) % MTTY_FIFO_SIZE;
	u->rx_count--;
	return c;
}

/* The loopback plug: the character sent arrives at the receiver at once. */
static void mtty_transmit(struct mtty_uart *u, u8 c)
{
	if (u->rx_count < mtty_rx_room(u)) {
		u->rx[(u->rx_head + u->rx_count) % MTTY_FIFO_SIZE] = c;
		u->rx_count++;
	} else {
		u->lsr_err |= UART_LSR_OE;
	}
	/* The holding register is empty again: a new THRE event. */
	u->thre_irq = true;
}

/* The modem status inputs, as the outputs in MCR drive them */
static u8 mtty_msr_lines(const struct mtty_uart *u)
{
	u8 msr = 0;

	if (u->mcr & UART_MCR_RTS)
		msr |= UART_MSR_CTS;
	if (u->mcr & UART_MCR_DTR)
		msr |= UART_MSR_DSR;
	if (u->mcr & UART_MCR_LOOP) {
		/* The 16550's internal loop: OUT1 to RI, OUT2 to DCD */
		if (u->mcr & UART_MCR_OUT1)
			msr |= UART_MSR_RI;
		if (u->mcr & UART_MCR_OUT2)
			msr |= UART_MSR_DCD;
	} else if (u->mcr & UART_MCR_DTR) {
		/* The plug also wires DTR to DCD */
		msr |= UART_MSR_DCD;
	}
	return msr;
}

static void mtty_set_mcr(struct mtty_uart *u, u8 mcr)
{
	u8 old = mtty_msr_lines(u);
	u8 new, changed;

	u->mcr = mcr & 0x1f;
	new = mtty_msr_lines(u);
	changed = old ^ new;
	if (changed & UART_MSR_CTS)
		u->msr_delta |= UART_MSR_DCTS;
	if (changed & UART_MSR_DSR)
		u->msr_delta |= UART_MSR_DDSR;
	if (changed & UART_MSR_DCD)
		u->msr_delta |= UART_MSR_DDCD;
	if ((old & UART_MSR_RI) && !(new & UART_MSR_RI))
		u->msr_delta |= UART_MSR_TERI;
}

static void mtty_set_ier(struct mtty_uart *u, u8 ier)
{
	ier &= 0x0f;
	/* Enabling THRI while the holding register is empty raises THRE. */
	if ((ier & UART_IER_THRI) && !(u->ier & UART_IER_THRI))
		u->thre_irq = true;
	else if (!(ier & UART_IER_THRI))
		u->thre_irq = false;
	u->ier = ier;
}

static void mtty_set_fcr(struct mtty_uart *u, u8 fcr)
{
	/* Switching the FIFOs on or off empties them. */
	if ((fcr ^ u->fcr) & UART_FCR_ENABLE_FIFO || fcr & UART_FCR_CLEAR_RCVR)
		mtty_rx_clear(u);
	u->fcr = fcr & (UART_FCR_ENABLE_FIFO | UART_FCR_TRIGGER_MASK);
}

/* The one cause IIR reports, by priority, or UART_IIR_NO_INT */
static u8 mtty_iir_cause(const struct mtty_uart *u)
{
	if ((u->ier & UART_IER_RLSI) && u->lsr_err)
		return UART_IIR_RLSI;
	if ((u->ier & UART_IER_RDI) && u->rx_count) {
		/*
		 * Data below the trigger level times out; the line is
		 * infinitely fast, so it does at once.
		 */
		if (u->rx_count >= mtty_rx_trigger(u))
			return UART_IIR_RDI;
		return UART_IIR_RX_TIMEOUT;
	}
	if ((u->ier & UART_IER_THRI) && u->thre_irq)
		return UART_IIR_THRI;
	if ((u->ier & UART_IER_MSI) && u->msr_delta)
		return UART_IIR_MSI;
	return UART_IIR_NO_INT;
}

static u8 mtty_uart_read(struct mtty_uart *u, unsigned int reg)
{
	bool dlab = u->lcr & UART_LCR_DLAB;
	u8 val;

	switch (reg) {
	case UART_RX:
		return dlab ? u->divisor & 0xff : mtty_rx_pop(u);
	case UART_IER:
		return dlab ? u->divisor >> 8 : u->ier;
	case UART_IIR:
		val = mtty_iir_cause(u);
		if (val == UART_IIR_THRI)
			u->thre_irq = false;
		if (u->fcr & UART_FCR_ENABLE_FIFO)
			val |= UART_IIR_FIFO_ENABLED_16550A;
		return val;
	case UART_LCR:
		return u->lcr;
	case UART_MCR:
		return u->mcr;
	case UART_LSR:
		/* The transmitter is always idle: it sends at once. */
		val = UART_LSR_TEMT | UART_LSR_THRE | u->lsr_err;
		if (u->rx_count)
			val |= UART_LSR_DR;
		u->lsr_err = 0;
		return val;
	case UART_MSR:
		val = mtty_msr_lines(u) | u->msr_delta;
		u->msr_delta = 0;
		return val;
	default:
		return u->scr;
	}
}

static void mtty_uart_write(struct mtty_uart *u, unsigned int reg, u8 val)
{
	bool dlab = u->lcr & UART_LCR_DLAB;

	switch (reg) {
	case UART_TX:
		if (dlab)
			u->divisor = (u->divisor & 0xff00) | val;
		else
			mtty_transmit(u, val);
		break;
	case UART_IER:
		if (dlab)
			u->divisor = (u->divisor & 0x00ff) | val << 8;
		else
			mtty_set_ier(u, val);
		break;
	case UART_FCR:
		mtty_set_fcr(u, val);
		break;
	case UART_LCR:
		u->lcr = val;
		break;
	case UART_MCR:
		mtty_set_mcr(u, val);
		break;
	case UART_SCR:
		u->scr = val;
		break;
	default:
		/* LSR and MSR are read-only */
		break;
	}
}

/* PCI configuration space */

static void mtty_cfg_reset(struct mtty_dev *mt)
{
	u8 *cfg = mt->cfg;
	unsigned int i;

	memset(cfg, 0, MTTY_CFG_SIZE);
	put_unaligned_le16(MTTY_VENDOR_ID, cfg + PCI_VENDOR_ID);
	put_unaligned_le16(MTTY_DEVICE_ID, cfg + PCI_DEVICE_ID);
	put_unaligned_le16(PCI_STATUS_CAP_LIST | PCI_STATUS_DEVSEL_MEDIUM,
			   cfg + PCI_STATUS);
	cfg[PCI_REVISION_ID] = MTTY_REVISION;
	cfg[PCI_CLASS_PROG] = MTTY_PROG_IF_16550;
	put_unaligned_le16(PCI_CLASS_COMMUNICATION_SERIAL,
			   cfg + PCI_CLASS_DEVICE);
	cfg[PCI_HEADER_TYPE] = PCI_HEADER_TYPE_NORMAL;
	for (i = 0; i < mt->nr_ports; i++)
		put_unaligned_le32(PCI_BASE_ADDRESS_SPACE_IO,
				   cfg + PCI_BASE_ADDRESS_0 + 4 * i);
	put_unaligned_le16(MTTY_VENDOR_ID, cfg + PCI_SUBSYSTEM_VENDOR_ID);
	put_unaligned_le16(MTTY_DEVICE_ID, cfg + PCI_SUBSYSTEM_ID);
	cfg[PCI_CAPABILITY_LIST] = MTTY_MSI_CAP;
	cfg[PCI_INTERRUPT_PIN] = 1;	/* INTA# */
	/* MSI: one vector, 32-bit address, no per-vector masking */
	cfg[MTTY_MSI_CAP + PCI_CAP_LIST_ID] = PCI_CAP_ID_MSI;
}

/* The bits of a configuration byte that software may change */
static u8 mtty_cfg_wmask(const struct mtty_dev *mt, unsigned int off)
{
	unsigned int bar;

	switch (off) {
	case PCI_COMMAND:
		return PCI_COMMAND_IO | PCI_COMMAND_MASTER | PCI_COMMAND_PARITY;
	case PCI_COMMAND + 1:
		return (PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE) >> 8;
	case PCI_CACHE_LINE_SIZE:
	case PCI_INTERRUPT_LINE:
		return 0xff;
	case PCI_BASE_ADDRESS_0 ... PCI_BASE_ADDRESS_1 + 3:
		bar = (off - PCI_BASE_ADDRESS_0) / 4;
		if (bar >= mt->nr_ports)
			return 0;
		/* Sizing reads back ~(size - 1); bit 0 says I/O. */
		return off % 4 ? 0xff : (u8)~(MTTY_BAR_SIZE - 1);
	case MTTY_MSI_CAP + PCI_MSI_FLAGS:
		return PCI_MSI_FLAGS_ENABLE;
	case MTTY_MSI_CAP + PCI_MSI_ADDRESS_LO:
		return 0xfc;
	case MTTY_MSI_CAP + PCI_MSI_ADDRESS_LO + 1 ...
	     MTTY_MSI_CAP + PCI_MSI_ADDRESS_LO + 3:
	case MTTY_MSI_CAP + PCI_MSI_DATA_32 ... MTTY_MSI_CAP + PCI_MSI_DATA_32 + 1:
		return 0xff;
	default:
		return 0;
	}
}

static void mtty_cfg_read(struct mtty_dev *mt, unsigned int off, u8 *buf,
			  size_t count)
{
	memcpy(buf, mt->cfg + off, count);
	/* The interrupt status bit follows the UARTs' request. */
	if (off <= PCI_STATUS && PCI_STATUS < off + count && mt->line)
		buf[PCI_STATUS - off] |= PCI_STATUS_INTERRUPT;
}

static void mtty_cfg_write(struct mtty_dev *mt, unsigned int off,
			   const u8 *buf, size_t count)
{
	size_t i;
	u8 mask;

	for (i = 0; i < count; i++) {
		mask = mtty_cfg_wmask(mt, off + i);
		mt->cfg[off + i] = (mt->cfg[off + i] & ~mask) | (buf[i] & mask);
	}
}

static bool mtty_intx_disabled(const struct mtty_dev *mt)
{
	return get_unaligned_le16(mt->cfg + PCI_COMMAND) &
	       PCI_COMMAND_INTX_DISABLE;
}

/* Interrupts */

/* The P2P states only forbid peer-to-peer DMA, which mtty never does. */
static bool mtty_running(const struct mtty_dev *mt)
{
	switch (mt->mig_state) {
	case VFIO_DEVICE_STATE_RUNNING:
	case VFIO_DEVICE_STATE_RUNNING_P2P:
	case VFIO_DEVICE_STATE_PRE_COPY:
	case VFIO_DEVICE_STATE_PRE_COPY_P2P:
		return true;
	default:
		return false;
	}
}

/*
 * Recompute the interrupt request after the state changed and decide which
 * eventfds to signal; the caller signals them with mtty_fire() once it has
 * dropped @mt->lock.  INTx is a level: it fires whenever it is asserted and
 * unmasked, and masks itself.  MSI is an edge: it fires when the request
 * rises, or when @resample asks to resend a request that is still up.
 */
static unsigned long mtty_update_irq(struct mtty_dev *mt, bool resample)
{
	bool was = mt->line;
	unsigned int i;

	lockdep_assert_held(&mt->lock);

	mt->line = false;
	for (i = 0; i < mt->nr_ports; i++)
		if (mtty_iir_cause(&mt->uart[i]) != UART_IIR_NO_INT)
			mt->line = true;

	if (!mt->line || !mtty_running(mt))
		return 0;

	switch (mt->irq_mode) {
	case VFIO_PCI_INTX_IRQ_INDEX:
		if (mt->intx_masked || mtty_intx_disabled(mt))
			return 0;
		mt->intx_masked = true;
		return BIT(VFIO_PCI_INTX_IRQ_INDEX);
	case VFIO_PCI_MSI_IRQ_INDEX:
		if (was && !resample)
			return 0;
		return BIT(VFIO_PCI_MSI_IRQ_INDEX);
	default:
		return 0;
	}
}

static void mtty_fire(struct mtty_dev *mt, unsigned long which)
{
	unsigned int index;

	if (!which)
		return;
	spin_lock(&mt->irq_lock);
	for_each_set_bit(index, &which, VFIO_PCI_NUM_IRQS)
		if (mt->trigger[index])
			eventfd_signal(mt->trigger[index]);
	spin_unlock(&mt->irq_lock);
}

/* Install @ctx (or %NULL) as the eventfd of @index; drops the old one. */
static void mtty_set_trigger(struct mtty_dev *mt, unsigned int index,
			     struct eventfd_ctx *ctx)
{
	struct eventfd_ctx *old;

	spin_lock(&mt->irq_lock);
	old = mt->trigger[index];
	mt->trigger[index] = ctx;
	spin_unlock(&mt->irq_lock);
	if (old)
		eventfd_ctx_put(old);
}

static void mtty_irqs_off(struct mtty_dev *mt)
{
	unsigned int index;

	mt->irq_mode = MTTY_IRQ_NONE;
	mt->intx_masked = false;
	for (index = 0; index < VFIO_PCI_NUM_IRQS; index++)
		mtty_set_trigger(mt, index, NULL);
}

/* Region access */

static u64 mtty_region_size(const struct mtty_dev *mt, unsigned int index)
{
	switch (index) {
	case VFIO_PCI_CONFIG_REGION_INDEX:
		return MTTY_CFG_SIZE;
	case VFIO_PCI_BAR0_REGION_INDEX:
	case VFIO_PCI_BAR1_REGION_INDEX:
		if (index - VFIO_PCI_BAR0_REGION_INDEX < mt->nr_ports)
			return MTTY_BAR_SIZE;
		return 0;
	default:
		return 0;
	}
}

/* Split a file offset into region and offset, and bound the access. */
static int mtty_locate(const struct mtty_dev *mt, loff_t pos, size_t count,
		       unsigned int *index, unsigned int *off)
{
	u64 region = (u64)pos >> MTTY_REGION_SHIFT;
	u64 offset = (u64)pos & (MTTY_REGION_OFFSET(1) - 1);
	u64 size;

	if (pos < 0 || region >= VFIO_PCI_NUM_REGIONS)
		return -EINVAL;
	size = mtty_region_size(mt, region);
	if (offset >= size || count > size - offset)
		return -EINVAL;
	*index = region;
	*off = offset;
	return 0;
}

static ssize_t mtty_read(struct mdev_device *mdev, char __user *ubuf,
			 size_t count, loff_t *ppos)
{
	struct mtty_dev *mt = mdev_get_drvdata(mdev);
	u8 buf[MTTY_CFG_SIZE];
	struct mtty_uart *u;
	unsigned int index, off;
	unsigned long fire;
	size_t i;
	int ret;

	if (!count)
		return 0;
	ret = mtty_locate(mt, *ppos, count, &index, &off);
	if (ret)
		return ret;

	mutex_lock(&mt->lock);
	if (index == VFIO_PCI_CONFIG_REGION_INDEX) {
		mtty_cfg_read(mt, off, buf, count);
	} else {
		u = &mt->uart[index - VFIO_PCI_BAR0_REGION_INDEX];
		for (i = 0; i < count; i++)
			buf[i] = mtty_uart_read(u, off + i);
	}
	fire = mtty_update_irq(mt, false);
	mutex_unlock(&mt->lock);
	mtty_fire(mt, fire);

	if (copy_to_user(ubuf, buf, count))
		return -EFAULT;
	*ppos += count;
	return count;
}

static ssize_t mtty_write(struct mdev_device *mdev, const char __user *ubuf,
			  size_t count, loff_t *ppos)
{
	struct mtty_dev *mt = mdev_get_drvdata(mdev);
	u8 buf[MTTY_CFG_SIZE];
	struct mtty_uart *u;
	unsigned int index, off;
	unsigned long fire;
	size_t i;
	int ret;

	if (!count)
		return 0;
	ret = mtty_locate(mt, *ppos, count, &index, &off);
	if (ret)
		return ret;
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;

	mutex_lock(&mt->lock);
	if (index == VFIO_PCI_CONFIG_REGION_INDEX) {
		mtty_cfg_write(mt, off, buf, count);
	} else {
		u = &mt->uart[index - VFIO_PCI_BAR0_REGION_INDEX];
		for (i = 0; i < count; i++)
			mtty_uart_write(u, off + i, buf[i]);
	}
	/* Enabling INTx in the command register may deliver a request. */
	fire = mtty_update_irq(mt, false);
	mutex_unlock(&mt->lock);
	mtty_fire(mt, fire);

	*ppos += count;
	return count;
}

/* Migration data transfer sessions */

static int mtty_migf_release(struct inode *inode, struct file *filp)
{
	struct mtty_migf *migf = filp->private_data;

	mutex_destroy(&migf->lock);
	kfree(migf);
	return 0;
}

static ssize_t mtty_save_read(struct file *filp, char __user *ubuf,
			      size_t len, loff_t *pos)
{
	struct mtty_migf *migf = filp->private_data;
	ssize_t ret;

	if (pos)
		return -ESPIPE;

	mutex_lock(&migf->lock);
	if (migf->disabled) {
		ret = -ENODEV;
	} else if (filp->f_pos == migf->len) {
		/* In PRE_COPY this is a temporary end of the stream. */
		ret = migf->precopy ? -ENOMSG : 0;
	} else {
		len = min_t(size_t, len, migf->len - filp->f_pos);
		if (copy_to_user(ubuf, migf->buf + filp->f_pos, len)) {
			ret = -EFAULT;
		} else {
			filp->f_pos += len;
			ret = len;
		}
	}
	mutex_unlock(&migf->lock);
	return ret;
}

static long mtty_save_ioctl(struct file *filp, unsigned int cmd,
			    unsigned long arg)
{
	size_t minsz = offsetofend(struct vfio_precopy_info, dirty_bytes);
	struct mtty_migf *migf = filp->private_data;
	struct vfio_precopy_info info;
	int ret = 0;

	if (cmd != VFIO_MIG_GET_PRECOPY_INFO)
		return -ENOTTY;
	if (copy_from_user(&info, (void __user *)arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz || info.flags)
		return -EINVAL;

	mutex_lock(&migf->lock);
	if (migf->disabled) {
		ret = -ENODEV;
	} else if (!migf->precopy) {
		ret = -EINVAL;
	} else {
		info.initial_bytes = migf->len - filp->f_pos;
		info.dirty_bytes = 0;
	}
	mutex_unlock(&migf->lock);
	if (ret)
		return ret;

	return copy_to_user((void __user *)arg, &info, minsz) ? -EFAULT : 0;
}

static bool mtty_mig_header_ok(const struct mtty_migf *migf)
{
	struct mtty_mig_header hdr;

	memcpy(&hdr, migf->buf, sizeof(hdr));
	return le32_to_cpu(hdr.magic) == MTTY_MIG_MAGIC &&
	       le16_to_cpu(hdr.version) == MTTY_MIG_VERSION &&
	       le16_to_cpu(hdr.nr_ports) == migf->nr_ports &&
	       le32_to_cpu(hdr.uart_size) == sizeof(struct mtty_mig_uart) &&
	       !hdr.flags;
}

static ssize_t mtty_resume_write(struct file *filp, const char __user *ubuf,
				 size_t len, loff_t *pos)
{
	struct mtty_migf *migf = filp->private_data;
	size_t total = MTTY_MIG_SIZE(migf->nr_ports);
	ssize_t ret = len;

	if (pos)
		return -ESPIPE;

	mutex_lock(&migf->lock);
	if (migf->disabled) {
		ret = -ENODEV;
		goto out_unlock;
	}
	if (len > total - migf->len) {
		ret = -ENOSPC;
		goto out_unlock;
	}
	if (copy_from_user(migf->buf + migf->len, ubuf, len)) {
		ret = -EFAULT;
		goto out_unlock;
	}
	migf->len += len;

	if (!migf->hdr_ok && migf->len >= sizeof(struct mtty_mig_header)) {
		if (!mtty_mig_header_ok(migf)) {
			/* Not a stream of a device like this one: drop it. */
			migf->len -= len;
			ret = -EINVAL;
			goto out_unlock;
		}
		migf->hdr_ok = true;
	}
out_unlock:
	mutex_unlock(&migf->lock);
	return ret;
}

static const struct file_operations mtty_save_fops = {
	.owner = THIS_MODULE,
	.read = mtty_save_read,
	.unlocked_ioctl = mtty_save_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.release = mtty_migf_release,
};

static const struct file_operations mtty_resume_fops = {
	.owner = THIS_MODULE,
	.write = mtty_resume_write,
	.release = mtty_migf_release,
};

static struct mtty_migf *mtty_migf_new(struct mtty_dev *mt,
				       const struct file_operations *fops,
				       int flags)
{
	struct mtty_migf *migf;

	migf = kzalloc(sizeof(*migf), GFP_KERNEL_ACCOUNT);
	if (!migf)
		return ERR_PTR(-ENOMEM);

	migf->filp = anon_inode_getfile("mtty_mig", fops, migf, flags);
	if (IS_ERR(migf->filp)) {
		int ret = PTR_ERR(migf->filp);

		kfree(migf);
		return ERR_PTR(ret);
	}
	stream_open(migf->filp->f_inode, migf->filp);
	mutex_init(&migf->lock);
	migf->nr_ports = mt->nr_ports;
	return migf;
}

/* End a session: its file fails from now on; drop the device's reference. */
static void mtty_migf_end(struct mtty_migf **slot)
{
	struct mtty_migf *migf = *slot;

	if (!migf)
		return;
	mutex_lock(&migf->lock);
	migf->disabled = true;
	mutex_unlock(&migf->lock);
	fput(migf->filp);
	*slot = NULL;
}

static void mtty_uart_save(const struct mtty_uart *u, u8 *out)
{
	struct mtty_mig_uart rec = {
		.ier = u->ier,
		.lcr = u->lcr,
		.mcr = u->mcr,
		.fcr = u->fcr,
		.scr = u->scr,
		.lsr_err = u->lsr_err,
		.msr_delta = u->msr_delta,
		.flags = u->thre_irq ? MTTY_MIG_THRE_IRQ : 0,
		.divisor = cpu_to_le16(u->divisor),
		.rx_count = u->rx_count,
	};
	unsigned int i;

	for (i = 0; i < u->rx_count; i++)
		rec.rx[i] = u->rx[(u->rx_head + i) % MTTY_FIFO_SIZE];
	memcpy(out, &rec, sizeof(rec));
}

static int mtty_uart_load(struct mtty_uart *u, const u8 *in)
{
	struct mtty_mig_uart rec;

	memcpy(&rec, in, sizeof(rec));
	if (rec.ier & ~0x0f || rec.mcr & ~0x1f ||
	    rec.fcr & ~(UART_FCR_ENABLE_FIFO | UART_FCR_TRIGGER_MASK) ||
	    rec.lsr_err & ~UART_LSR_OE || rec.msr_delta & ~UART_MSR_ANY_DELTA ||
	    rec.flags & ~MTTY_MIG_THRE_IRQ || memchr_inv(rec.reserved, 0,
							 sizeof(rec.reserved)))
		return -EINVAL;

	memset(u, 0, sizeof(*u));
	u->ier = rec.ier;
	u->lcr = rec.lcr;
	u->mcr = rec.mcr;
	u->fcr = rec.fcr;
	u->scr = rec.scr;
	u->lsr_err = rec.lsr_err;
	u->msr_delta = rec.msr_delta;
	u->thre_irq = rec.flags & MTTY_MIG_THRE_IRQ;
	u->divisor = le16_to_cpu(rec.divisor);
	if (rec.rx_count > mtty_rx_room(u))
		return -EINVAL;
	u->rx_count = rec.rx_count;
	memcpy(u->rx, rec.rx, rec.rx_count);
	return 0;
}

static void mtty_save_header(struct mtty_dev *mt, struct mtty_migf *migf)
{
	struct mtty_mig_header hdr = {
		.magic = cpu_to_le32(MTTY_MIG_MAGIC),
		.version = cpu_to_le16(MTTY_MIG_VERSION),
		.nr_ports = cpu_to_le16(mt->nr_ports),
		.uart_size = cpu_to_le32(sizeof(struct mtty_mig_uart)),
	};

	memcpy(migf->buf, &hdr, sizeof(hdr));
	migf->len = sizeof(hdr);
}

/* Append the UARTs: the device is stopped, so this is the final state. */
static void mtty_save_uarts(struct mtty_dev *mt, struct mtty_migf *migf)
{
	unsigned int i;

	mutex_lock(&migf->lock);
	for (i = 0; i < mt->nr_ports; i++) {
		mtty_uart_save(&mt->uart[i], migf->buf + migf->len);
		migf->len += sizeof(struct mtty_mig_uart);
	}
	migf->precopy = false;
	mutex_unlock(&migf->lock);
}

static struct file *mtty_save_begin(struct mtty_dev *mt, bool stopped)
{
	struct mtty_migf *migf;

	migf = mtty_migf_new(mt, &mtty_save_fops, O_RDONLY);
	if (IS_ERR(migf))
		return ERR_CAST(migf);

	mtty_save_header(mt, migf);
	if (stopped)
		mtty_save_uarts(mt, migf);
	else
		migf->precopy = true;
	mt->saving = migf;
	return get_file(migf->filp);
}

static struct file *mtty_resume_begin(struct mtty_dev *mt)
{
	struct mtty_migf *migf;

	migf = mtty_migf_new(mt, &mtty_resume_fops, O_WRONLY);
	if (IS_ERR(migf))
		return ERR_CAST(migf);

	mt->resuming = migf;
	return get_file(migf->filp);
}

/* Load what the resuming session received, all of it or nothing. */
static int mtty_resume_end(struct mtty_dev *mt)
{
	struct mtty_migf *migf = mt->resuming;
	struct mtty_uart uart[MTTY_MAX_PORTS];
	const u8 *rec;
	unsigned int i;
	int ret = 0;

	mutex_lock(&migf->lock);
	if (!migf->hdr_ok || migf->len != MTTY_MIG_SIZE(mt->nr_ports))
		ret = -EINVAL;
	rec = migf->buf + sizeof(struct mtty_mig_header);
	for (i = 0; !ret && i < mt->nr_ports; i++)
		ret = mtty_uart_load(&uart[i], rec + i * sizeof(struct mtty_mig_uart));
	mutex_unlock(&migf->lock);
	if (ret)
		return ret;

	memcpy(mt->uart, uart, mt->nr_ports * sizeof(uart[0]));
	mtty_migf_end(&mt->resuming);
	return 0;
}

/* Migration state machine */

#define MIG(s)	VFIO_DEVICE_STATE_##s

/*
 * The next state on the way from [current] to [target] through the arcs
 * mtty implements: STOP_COPY, PRE_COPY and P2P, so the running and the
 * stopped states meet only through RUNNING_P2P, and the saving group is
 * entered from RUNNING or RUNNING_P2P and left from PRE_COPY_P2P towards
 * STOP_COPY, as the VFIO uAPI orders the arcs.  The saving states are never
 * passed through.  ERROR (0) marks a target that cannot be reached.
 */
static const u8 mtty_mig_next[MIG(NR)][MIG(NR)] = {
	[MIG(STOP)] = {
		[MIG(STOP)] = MIG(STOP),
		[MIG(RUNNING)] = MIG(RUNNING_P2P),
		[MIG(STOP_COPY)] = MIG(STOP_COPY),
		[MIG(RESUMING)] = MIG(RESUMING),
		[MIG(RUNNING_P2P)] = MIG(RUNNING_P2P),
		[MIG(PRE_COPY)] = MIG(RUNNING_P2P),
		[MIG(PRE_COPY_P2P)] = MIG(RUNNING_P2P),
	},
	[MIG(RUNNING)] = {
		[MIG(STOP)] = MIG(RUNNING_P2P),
		[MIG(RUNNING)] = MIG(RUNNING),
		[MIG(STOP_COPY)] = MIG(RUNNING_P2P),
		[MIG(RESUMING)] = MIG(RUNNING_P2P),
		[MIG(RUNNING_P2P)] = MIG(RUNNING_P2P),
		[MIG(PRE_COPY)] = MIG(PRE_COPY),
		[MIG(PRE_COPY_P2P)] = MIG(RUNNING_P2P),
	},
	[MIG(STOP_COPY)] = {
		[MIG(STOP)] = MIG(STOP),
		[MIG(RUNNING)] = MIG(STOP),
		[MIG(STOP_COPY)] = MIG(STOP_COPY),
		[MIG(RESUMING)] = MIG(STOP),
		[MIG(RUNNING_P2P)] = MIG(STOP),
	},
	[MIG(RESUMING)] = {
		[MIG(STOP)] = MIG(STOP),
		[MIG(RUNNING)] = MIG(STOP),
		[MIG(STOP_COPY)] = MIG(STOP),
		[MIG(RESUMING)] = MIG(RESUMING),
		[MIG(RUNNING_P2P)] = MIG(STOP),
		[MIG(PRE_COPY)] = MIG(STOP),
		[MIG(PRE_COPY_P2P)] = MIG(STOP),
	},
	[MIG(RUNNING_P2P)] = {
		[MIG(STOP)] = MIG(STOP),
		[MIG(RUNNING)] = MIG(RUNNING),
		[MIG(STOP_COPY)] = MIG(STOP),
		[MIG(RESUMING)] = MIG(STOP),
		[MIG(RUNNING_P2P)] = MIG(RUNNING_P2P),
		[MIG(PRE_COPY)] = MIG(RUNNING),
		[MIG(PRE_COPY_P2P)] = MIG(PRE_COPY_P2P),
	},
	[MIG(PRE_COPY)] = {
		[MIG(STOP)] = MIG(RUNNING),
		[MIG(RUNNING)] = MIG(RUNNING),
		[MIG(STOP_COPY)] = MIG(PRE_COPY_P2P),
		[MIG(RESUMING)] = MIG(RUNNING),
		[MIG(RUNNING_P2P)] = MIG(RUNNING),
		[MIG(PRE_COPY)] = MIG(PRE_COPY),
		[MIG(PRE_COPY_P2P)] = MIG(PRE_COPY_P2P),
	},
	[MIG(PRE_COPY_P2P)] = {
		[MIG(STOP)] = MIG(RUNNING_P2P),
		[MIG(RUNNING)] = MIG(RUNNING_P2P),
		[MIG(STOP_COPY)] = MIG(STOP_COPY),
		[MIG(RESUMING)] = MIG(RUNNING_P2P),
		[MIG(RUNNING_P2P)] = MIG(RUNNING_P2P),
		[MIG(PRE_COPY)] = MIG(PRE_COPY),
		[MIG(PRE_COPY_P2P)] = MIG(PRE_COPY_P2P),
	},
};

/* Take one arc; a new session's file is returned with a reference. */
static struct file *mtty_mig_arc(struct mtty_dev *mt,
				 enum vfio_device_mig_state next)
{
	enum vfio_device_mig_state cur = mt->mig_state;
	int ret;

	if (cur == MIG(STOP) && next == MIG(STOP_COPY))
		return mtty_save_begin(mt, true);
	if ((cur == MIG(RUNNING) && next == MIG(PRE_COPY)) ||
	    (cur == MIG(RUNNING_P2P) && next == MIG(PRE_COPY_P2P)))
		return mtty_save_begin(mt, false);
	if (cur == MIG(PRE_COPY_P2P) && next == MIG(STOP_COPY)) {
		/* The session goes on; now the state follows the header. */
		mtty_save_uarts(mt, mt->saving);
		return NULL;
	}
	if ((cur == MIG(STOP_COPY) && next == MIG(STOP)) ||
	    (cur == MIG(PRE_COPY) && next == MIG(RUNNING)) ||
	    (cur == MIG(PRE_COPY_P2P) && next == MIG(RUNNING_P2P))) {
		mtty_migf_end(&mt->saving);
		return NULL;
	}
	if (cur == MIG(STOP) && next == MIG(RESUMING))
		return mtty_resume_begin(mt);
	if (cur == MIG(RESUMING) && next == MIG(STOP)) {
		ret = mtty_resume_end(mt);
		return ret ? ERR_PTR(ret) : NULL;
	}
	/*
	 * RUNNING_P2P <-> STOP: a stopped device only holds back interrupts.
	 * Into and out of the P2P states: nothing to quiesce without DMA.
	 */
	return NULL;
}

static struct file *mtty_mig_set_state(struct mtty_dev *mt,
				       enum vfio_device_mig_state target)
{
	struct file *filp = NULL;
	unsigned long fire;
	bool was_running;
	u8 next;

	if (target >= MIG(NR))
		return ERR_PTR(-EINVAL);

	mutex_lock(&mt->lock);
	was_running = mtty_running(mt);
	while (mt->mig_state != target) {
		next = mtty_mig_next[mt->mig_state][target];
		if (next == MIG(ERROR)) {
			filp = ERR_PTR(-EINVAL);
			break;
		}
		/* Only the last arc of a path can begin a session. */
		filp = mtty_mig_arc(mt, next);
		if (IS_ERR(filp))
			break;
		mt->mig_state = next;
	}
	/* Deliver what a stopped device held back. */
	fire = mtty_update_irq(mt, !was_running);
	mutex_unlock(&mt->lock);
	mtty_fire(mt, fire);
	return filp;
}

#undef MIG

static void mtty_reset(struct mtty_dev *mt)
{
	lockdep_assert_held(&mt->lock);

	mtty_cfg_reset(mt);
	memset(mt->uart, 0, sizeof(mt->uart));
	mtty_migf_end(&mt->saving);
	mtty_migf_end(&mt->resuming);
	mt->mig_state = VFIO_DEVICE_STATE_RUNNING;
	mt->intx_masked = false;
	mt->line = false;
}

/* VFIO migration, called by the VFIO core through vfio_mdev */

static struct file *mtty_migration_set_state(struct mdev_device *mdev,
					     enum vfio_device_mig_state new_state)
{
	return mtty_mig_set_state(mdev_get_drvdata(mdev), new_state);
}

static int mtty_migration_get_state(struct mdev_device *mdev,
				    enum vfio_device_mig_state *curr_state)
{
	struct mtty_dev *mt = mdev_get_drvdata(mdev);

	mutex_lock(&mt->lock);
	*curr_state = mt->mig_state;
	mutex_unlock(&mt->lock);
	return 0;
}

static int mtty_migration_get_data_size(struct mdev_device *mdev,
					unsigned long *stop_copy_length)
{
	struct mtty_dev *mt = mdev_get_drvdata(mdev);

	*stop_copy_length = MTTY_MIG_SIZE(mt->nr_ports);
	return 0;
}

/*
 * DMA dirty logging, called by the VFIO core through vfio_mdev.  The card
 * writes no guest memory, so no page is ever dirty; the state is kept only
 * so that a report outside logging fails as it would on a device that
 * tracks.
 */

static int mtty_log_start(struct mdev_device *mdev,
			  struct rb_root_cached *ranges, u32 nnodes,
			  u64 *page_size)
{
	struct mtty_dev *mt = mdev_get_drvdata(mdev);

	/* Any page size will do: it never has a bit to set. */
	mutex_lock(&mt->lock);
	mt->logging = true;
	mutex_unlock(&mt->lock);
	return 0;
}

static int mtty_log_stop(struct mdev_device *mdev)
{
	struct mtty_dev *mt = mdev_get_drvdata(mdev);

	mutex_lock(&mt->lock);
	mt->logging = false;
	mutex_unlock(&mt->lock);
	return 0;
}

static int mtty_log_read_and_clear(struct mdev_device *mdev,
				   unsigned long iova, unsigned long length,
				   struct iova_bitmap *dirty)
{
	struct mtty_dev *mt = mdev_get_drvdata(mdev);
	int ret;

	mutex_lock(&mt->lock);
	ret = mt->logging ? 0 : -EINVAL;
	mutex_unlock(&mt->lock);
	return ret;
}

/* The other ioctls */

static long mtty_ioctl_get_info(struct mtty_dev *mt, void __user *uarg)
{
	size_t minsz = offsetofend(struct vfio_device_info, num_irqs);
	struct vfio_device_info info;

	if (copy_from_user(&info, uarg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;

	info.flags = VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET;
	info.num_regions = VFIO_PCI_NUM_REGIONS;
	info.num_irqs = VFIO_PCI_NUM_IRQS;
	return copy_to_user(uarg, &info, minsz) ? -EFAULT : 0;
}

static long mtty_ioctl_region_info(struct mtty_dev *mt, void __user *uarg)
{
	size_t minsz = offsetofend(struct vfio_region_info, offset);
	struct vfio_region_info info;

	if (copy_from_user(&info, uarg, minsz))
		return -EFAULT;
	if (info.argsz < minsz || info.index >= VFIO_PCI_NUM_REGIONS)
		return -EINVAL;

	info.cap_offset = 0;
	info.offset = MTTY_REGION_OFFSET(info.index);
	info.size = mtty_region_size(mt, info.index);
	info.flags = 0;
	if (info.size)
		info.flags = VFIO_REGION_INFO_FLAG_READ |
			     VFIO_REGION_INFO_FLAG_WRITE;
	return copy_to_user(uarg, &info, minsz) ? -EFAULT : 0;
}

/* How many interrupts of each VFIO index the device has */
static unsigned int mtty_irq_count(unsigned int index)
{
	switch (index) {
	case VFIO_PCI_INTX_IRQ_INDEX:
	case VFIO_PCI_MSI_IRQ_INDEX:
	case VFIO_PCI_REQ_IRQ_INDEX:
		return 1;
	default:
		return 0;
	}
}

static long mtty_ioctl_irq_info(struct mtty_dev *mt, void __user *uarg)
{
	size_t minsz = offsetofend(struct vfio_irq_info, count);
	struct vfio_irq_info info;

	if (copy_from_user(&info, uarg, minsz))
		return -EFAULT;
	/* Like a conventional PCI function, no error reporting. */
	if (info.argsz < minsz || info.index >= VFIO_PCI_NUM_IRQS ||
	    info.index == VFIO_PCI_ERR_IRQ_INDEX)
		return -EINVAL;

	info.flags = VFIO_IRQ_INFO_EVENTFD;
	if (info.index == VFIO_PCI_INTX_IRQ_INDEX)
		info.flags |= VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED;
	else if (info.index != VFIO_PCI_REQ_IRQ_INDEX)
		info.flags |= VFIO_IRQ_INFO_NORESIZE;
	info.count = mtty_irq_count(info.index);
	return copy_to_user(uarg, &info, minsz) ? -EFAULT : 0;
}

/*
 * Enable or disable (@ctx %NULL) the trigger of INTx or MSI; they exclude
 * each other.  Takes over the reference on @ctx.
 */
static int mtty_set_irq_trigger(struct mtty_dev *mt, unsigned int index,
				struct eventfd_ctx *ctx, unsigned long *fire)
{
	if (mt->irq_mode != MTTY_IRQ_NONE && mt->irq_mode != index) {
		if (ctx)
			eventfd_ctx_put(ctx);
		return -EINVAL;
	}
	mtty_set_trigger(mt, index, ctx);
	mt->irq_mode = ctx ? index : MTTY_IRQ_NONE;
	mt->intx_masked = false;
	/* A level that is already up fires at once. */
	if (ctx)
		*fire = mtty_update_irq(mt, true);
	return 0;
}

static int mtty_set_irqs(struct mtty_dev *mt, u32 flags, unsigned int index,
			 unsigned int count, u32 data, unsigned long *fire)
{
	u32 action = flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;
	u32 type = flags & VFIO_IRQ_SET_DATA_TYPE_MASK;
	/* A DATA_NONE or true DATA_BOOL: do it; a false DATA_BOOL: don't */
	bool act = type == VFIO_IRQ_SET_DATA_NONE || data;
	struct eventfd_ctx *ctx = NULL;
	s32 fd = data;

	lockdep_assert_held(&mt->lock);

	if (action != VFIO_IRQ_SET_ACTION_TRIGGER) {
		/* Only INTx masks, and not through an eventfd */
		if (index != VFIO_PCI_INTX_IRQ_INDEX ||
		    type == VFIO_IRQ_SET_DATA_EVENTFD)
			return -ENOTTY;
		if (mt->irq_mode != VFIO_PCI_INTX_IRQ_INDEX || count != 1)
			return -EINVAL;
		if (act && action == VFIO_IRQ_SET_ACTION_MASK) {
			mt->intx_masked = true;
		} else if (act) {
			mt->intx_masked = false;
			*fire = mtty_update_irq(mt, true);
		}
		return 0;
	}

	/* TRIGGER with no data and no count: disable */
	if (!count) {
		if (type != VFIO_IRQ_SET_DATA_NONE)
			return -EINVAL;
		if (index == VFIO_PCI_REQ_IRQ_INDEX) {
			mtty_set_trigger(mt, index, NULL);
			return 0;
		}
		if (mt->irq_mode != index)
			return -EINVAL;
		return mtty_set_irq_trigger(mt, index, NULL, fire);
	}

	if (type == VFIO_IRQ_SET_DATA_EVENTFD) {
		if (fd >= 0) {
			ctx = eventfd_ctx_fdget(fd);
			if (IS_ERR(ctx))
				return PTR_ERR(ctx);
		} else if (fd != -1) {
			return -EINVAL;
		}
		if (index == VFIO_PCI_REQ_IRQ_INDEX) {
			mtty_set_trigger(mt, index, ctx);
			return 0;
		}
		return mtty_set_irq_trigger(mt, index, ctx, fire);
	}

	/* Loopback: signal the eventfd as the device would */
	if (index != VFIO_PCI_REQ_IRQ_INDEX && mt->irq_mode != index)
		return -EINVAL;
	if (act)
		*fire = BIT(index);
	return 0;
}

static long mtty_ioctl_set_irqs(struct mtty_dev *mt, void __user *uarg)
{
	size_t minsz = offsetofend(struct vfio_irq_set, count);
	struct vfio_irq_set hdr;
	unsigned long fire = 0;
	size_t size;
	u32 data = 0;
	u8 bool_data;
	int ret;

	if (copy_from_user(&hdr, uarg, minsz))
		return -EFAULT;
	if (hdr.argsz < minsz || hdr.index >= VFIO_PCI_NUM_IRQS ||
	    hdr.flags & ~(VFIO_IRQ_SET_DATA_TYPE_MASK |
			  VFIO_IRQ_SET_ACTION_TYPE_MASK) ||
	    hweight32(hdr.flags & VFIO_IRQ_SET_DATA_TYPE_MASK) != 1 ||
	    hweight32(hdr.flags & VFIO_IRQ_SET_ACTION_TYPE_MASK) != 1)
		return -EINVAL;
	/* Every index has at most one interrupt. */
	if (hdr.start >= mtty_irq_count(hdr.index) ||
	    hdr.count > mtty_irq_count(hdr.index) - hdr.start)
		return -EINVAL;

	switch (hdr.flags & VFIO_IRQ_SET_DATA_TYPE_MASK) {
	case VFIO_IRQ_SET_DATA_BOOL:
		size = sizeof(bool_data);
		break;
	case VFIO_IRQ_SET_DATA_EVENTFD:
		size = sizeof(s32);
		break;
	default:
		size = 0;
		break;
	}
	if (hdr.count && size) {
		if (hdr.argsz - minsz < size)
			return -EINVAL;
		if (size == sizeof(bool_data)) {
			if (copy_from_user(&bool_data, uarg + minsz, size))
				return -EFAULT;
			data = bool_data;
		} else if (copy_from_user(&data, uarg + minsz, size)) {
			return -EFAULT;
		}
	}

	mutex_lock(&mt->lock);
	ret = mtty_set_irqs(mt, hdr.flags, hdr.index, hdr.count, data, &fire);
	mutex_unlock(&mt->lock);
	mtty_fire(mt, fire);
	return ret;
}

static long mtty_ioctl(struct mdev_device *mdev, unsigned int cmd,
		       unsigned long arg)
{
	struct mtty_dev *mt = mdev_get_drvdata(mdev);
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case VFIO_DEVICE_GET_INFO:
		return mtty_ioctl_get_info(mt, uarg);
	case VFIO_DEVICE_GET_REGION_INFO:
		return mtty_ioctl_region_info(mt, uarg);
	case VFIO_DEVICE_GET_IRQ_INFO:
		return mtty_ioctl_irq_info(mt, uarg);
	case VFIO_DEVICE_SET_IRQS:
		return mtty_ioctl_set_irqs(mt, uarg);
	case VFIO_DEVICE_RESET:
		mutex_lock(&mt->lock);
		mtty_reset(mt);
		mutex_unlock(&mt->lock);
		return 0;
	default:
		return -ENOTTY;
	}
}

/* Device lifetime */

static int mtty_open_device(struct mdev_device *mdev)
{
	struct mtty_dev *mt = mdev_get_drvdata(mdev);

	/* Every user gets a device fresh from power-on. */
	mutex_lock(&mt->lock);
	mtty_reset(mt);
	mutex_unlock(&mt->lock);
	return 0;
}

static void mtty_close_device(struct mdev_device *mdev)
{
	struct mtty_dev *mt = mdev_get_drvdata(mdev);

	mutex_lock(&mt->lock);
	mtty_irqs_off(mt);
	mtty_migf_end(&mt->saving);
	mtty_migf_end(&mt->resuming);
	mt->mig_state = VFIO_DEVICE_STATE_RUNNING;
	/* The next user starts its own logging. */
	mt->logging = false;
	mutex_unlock(&mt->lock);
}

static void mtty_request(struct mdev_device *mdev, unsigned int count)
{
	struct mtty_dev *mt = mdev_get_drvdata(mdev);
	bool asked = false;

	spin_lock(&mt->irq_lock);
	if (mt->trigger[VFIO_PCI_REQ_IRQ_INDEX]) {
		eventfd_signal(mt->trigger[VFIO_PCI_REQ_IRQ_INDEX]);
		asked = true;
	}
	spin_unlock(&mt->irq_lock);

	if (!asked && !count)
		dev_notice(mdev_dev(mdev),
			   "no request eventfd: waiting for user space to close the device\n");
}

static struct mtty_type *to_mtty_type(struct mdev_type *mtype)
{
	return container_of(mtype, struct mtty_type, type);
}

static int mtty_create(struct mdev_device *mdev)
{
	int nr_ports = to_mtty_type(mdev->type)->nr_ports;
	int free = atomic_read(&mtty_free_ports);
	struct mtty_dev *mt;

	do {
		if (free < nr_ports)
			return -ENOSPC;
	} while (!atomic_try_cmpxchg(&mtty_free_ports, &free,
				     free - nr_ports));

	mt = kzalloc(sizeof(*mt), GFP_KERNEL_ACCOUNT);
	if (!mt) {
		atomic_add(nr_ports, &mtty_free_ports);
		return -ENOMEM;
	}
	mt->mdev = mdev;
	mt->nr_ports = nr_ports;
	mt->irq_mode = MTTY_IRQ_NONE;
	mutex_init(&mt->lock);
	spin_lock_init(&mt->irq_lock);
	mutex_lock(&mt->lock);
	mtty_reset(mt);
	mutex_unlock(&mt->lock);
	mdev_set_drvdata(mdev, mt);
	return 0;
}

static void mtty_remove(struct mdev_device *mdev)
{
	struct mtty_dev *mt = mdev_get_drvdata(mdev);

	/* Closed already; this only guards against a broken caller. */
	mutex_lock(&mt->lock);
	mtty_irqs_off(mt);
	mtty_migf_end(&mt->saving);
	mtty_migf_end(&mt->resuming);
	mutex_unlock(&mt->lock);

	mdev_set_drvdata(mdev, NULL);
	atomic_add(mt->nr_ports, &mtty_free_ports);
	mutex_destroy(&mt->lock);
	kfree(mt);
}

static unsigned int mtty_get_available(struct mdev_type *mtype)
{
	return atomic_read(&mtty_free_ports) / to_mtty_type(mtype)->nr_ports;
}

static ssize_t mtty_show_description(struct mdev_type *mtype, char *buf)
{
	unsigned int nr_ports = to_mtty_type(mtype)->nr_ports;

	return sysfs_emit(buf, "%u 16550A UART%s with a loopback plug\n",
			  nr_ports, nr_ports > 1 ? "s" : "");
}

static const struct mdev_parent_ops mtty_ops = {
	.owner = THIS_MODULE,
	.device_api = VFIO_DEVICE_API_PCI_STRING,
	.get_available = mtty_get_available,
	.show_description = mtty_show_description,
	.create = mtty_create,
	.remove = mtty_remove,
	.open_device = mtty_open_device,
	.close_device = mtty_close_device,
	.read = mtty_read,
	.write = mtty_write,
	.ioctl = mtty_ioctl,
	.request = mtty_request,
	.migration_flags = VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P |
			   VFIO_MIGRATION_PRE_COPY,
	.migration_set_state = mtty_migration_set_state,
	.migration_get_state = mtty_migration_get_state,
	.migration_get_data_size = mtty_migration_get_data_size,
	.log_start = mtty_log_start,
	.log_stop = mtty_log_stop,
	.log_read_and_clear = mtty_log_read_and_clear,
};

static const char * const mtty_type_names[MTTY_MAX_PORTS] = {
	"Single port serial",
	"Dual port serial",
};

static const char * const mtty_type_sysfs[MTTY_MAX_PORTS] = { "1", "2" };

static int __init mtty_init(void)
{
	struct mtty_card *card;
	unsigned int i;
	int ret;

	card = kzalloc(sizeof(*card), GFP_KERNEL);
	if (!card)
		return -ENOMEM;
	for (i = 0; i < MTTY_MAX_PORTS; i++) {
		card->types[i].nr_ports = i + 1;
		card->types[i].type.sysfs_name = mtty_type_sysfs[i];
		card->types[i].type.pretty_name = mtty_type_names[i];
		card->type_list[i] = &card->types[i].type;
	}

	ret = class_register(&mtty_class);
	if (ret)
		goto err_free_card;

	card->dev = device_create(&mtty_class, NULL, MKDEV(0, 0), NULL,
				  MTTY_NAME);
	if (IS_ERR(card->dev)) {
		ret = PTR_ERR(card->dev);
		goto err_unregister_class;
	}

	ret = vfio_mdev_register_parent(&card->parent, card->dev, &mtty_ops,
					card->type_list, MTTY_MAX_PORTS);
	if (ret)
		goto err_destroy_device;

	mtty_card = card;
	return 0;

err_destroy_device:
	device_unregister(card->dev);
err_unregister_class:
	class_unregister(&mtty_class);
	wait_for_completion(&mtty_class_released);
err_free_card:
	kfree(card);
	return ret;
}

static void __exit mtty_exit(void)
{
	struct mtty_card *card = mtty_card;

	/* Removes every device, waiting for their users to let go. */
	vfio_mdev_unregister_parent(&card->parent);
	device_unregister(card->dev);
	class_unregister(&mtty_class);
	kfree(card);
	wait_for_completion(&mtty_class_released);
}

module_init(mtty_init);
module_exit(mtty_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Mediated PCI serial card with loopback 16550A UARTs");
