// SPDX-License-Identifier: GPL-2.0
/*
 * A guest of a few hundred bytes for an mbochs device: QEMU boots it with
 * -kernel through its PVH entry (32-bit protected mode, paging off).  It
 * finds the device (PCI 1234:1111) on bus 0, places its BARs, programs the
 * bochs dispi registers for an 800x600 XRGB8888 mode and draws four
 * horizontal bands into the framebuffer, red, green, blue and white from
 * the top; then it reports on COM1 and halts, leaving the picture for the
 * host to take a screendump of.
 *
 *   MBOCHS-GUEST start
 *   MBOCHS-GUEST pci=00:dd.0 id=b0c5       the device and its dispi ID
 *   MBOCHS-GUEST drawn mode=800x600 readback=<px>,<px>,<px>,<px>
 *                                          each band's first pixel, read
 *                                          back from the framebuffer
 *   MBOCHS-GUEST fail <why>
 *
 * A Linux guest with the bochs DRM driver would do the same in minutes
 * under TCG in TCG; this one is done before the host can look.
 *
 * Built by suites/52-mbochs-qemu-display.sh: gcc -m32 -ffreestanding
 * -nostdlib -static, linked at 1 MiB (-Wl,-Ttext-segment=0x100000).
 */

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;

#define WIDTH		800
#define HEIGHT		600

/* Where the BARs go: free addresses in the PCI hole of QEMU's pc machine */
#define FB_BASE		0xe0000000u
#define MMIO_BASE	0xf0000000u

#define COM1		0x3f8
#define PCI_ADDR	0xcf8
#define PCI_DATA	0xcfc

/* The bochs dispi registers in BAR2, 16 bits each from offset 0x500 */
#define DISPI(reg)	(MMIO_BASE + 0x500 + 2 * (reg))
enum { ID, XRES, YRES, BPP, ENABLE, BANK, VIRT_WIDTH, VIRT_HEIGHT,
	X_OFFSET, Y_OFFSET };

/*
 * The PVH entry: Xen's ELF note XEN_ELFNOTE_PHYS32_ENTRY (18) names it,
 * QEMU's x86 loader looks for that note in an ELF -kernel.  It sets up
 * a 4 KiB stack and calls main().
 */
asm(".pushsection .note.pvh, \"a\", @note\n"
	".balign 4\n"
	".long 4, 4, 18\n"
	".asciz \"Xen\"\n"
	".balign 4\n"
	".long _start\n"
	".popsection\n"
	".local stack\n"
	".comm stack, 4096, 16\n"
	".text\n"
	".globl _start\n"
	"_start:\n"
	"cli\n"
	"mov $stack + 4096, %esp\n"
	"call main\n"
	"1: hlt\n"
	"jmp 1b\n");

/* Port and memory-mapped I/O, one instruction each */
static inline void outb(u8 v, u16 port)
{
	asm volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline u8 inb(u16 port)
{
	u8 v;

	asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void outl(u32 v, u16 port)
{
	asm volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline u32 inl(u16 port)
{
	u32 v;

	asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void writew(u16 v, u32 addr)
{
	asm volatile("movw %0, (%1)" : : "r"(v), "r"(addr) : "memory");
}

static inline u16 readw(u32 addr)
{
	u16 v;

	asm volatile("movw (%1), %0" : "=r"(v) : "r"(addr) : "memory");
	return v;
}

static inline void writel(u32 v, u32 addr)
{
	asm volatile("movl %0, (%1)" : : "r"(v), "r"(addr) : "memory");
}

static inline u32 readl(u32 addr)
{
	u32 v;

	asm volatile("movl (%1), %0" : "=r"(v) : "r"(addr) : "memory");
	return v;
}

static void put(const char *s)
{
	for (; *s; s++) {
		while (!(inb(COM1 + 5) & 0x20))
			;
		outb(*s, COM1);
	}
}

static void put_hex(u32 v, int digits)
{
	char buf[9];
	int i;

	for (i = digits - 1; i >= 0; i--, v >>= 4)
		buf[i] = "0123456789abcdef"[v & 15];
	buf[digits] = 0;
	put(buf);
}

static void put_dec(u32 v)
{
	char buf[11];
	int i = 10;

	buf[i] = 0;
	do {
		buf[--i] = '0' + v % 10;
		v /= 10;
	} while (v);
	put(buf + i);
}

static u32 cfg_read(u32 dev, u32 reg)
{
	outl(0x80000000u | dev << 11 | reg, PCI_ADDR);
	return inl(PCI_DATA);
}

static void cfg_write(u32 dev, u32 reg, u32 v)
{
	outl(0x80000000u | dev << 11 | reg, PCI_ADDR);
	outl(v, PCI_DATA);
}

int main(void)
{
	static const u32 bands[4] = { 0xff0000, 0x00ff00, 0x0000ff, 0xffffff };
	u32 dev, x, y;

	put("MBOCHS-GUEST start\n");
	for (dev = 0; dev < 32; dev++)
		if (cfg_read(dev, 0) == 0x11111234)
			break;
	if (dev == 32) {
		put("MBOCHS-GUEST fail no 1234:1111 on bus 0\n");
		return 0;
	}
	/* BAR0 the framebuffer, BAR2 the registers; memory decoding on */
	cfg_write(dev, 0x10, FB_BASE);
	cfg_write(dev, 0x18, MMIO_BASE);
	cfg_write(dev, 0x04, cfg_read(dev, 0x04) | 0x2);
	put("MBOCHS-GUEST pci=00:");
	put_hex(dev, 2);
	put(".0 id=");
	put_hex(readw(DISPI(ID)), 4);
	put("\n");

	writew(0, DISPI(ENABLE));
	writew(WIDTH, DISPI(XRES));
	writew(HEIGHT, DISPI(YRES));
	writew(32, DISPI(BPP));
	writew(WIDTH, DISPI(VIRT_WIDTH));
	writew(HEIGHT, DISPI(VIRT_HEIGHT));
	writew(0, DISPI(X_OFFSET));
	writew(0, DISPI(Y_OFFSET));
	writew(1, DISPI(ENABLE));

	for (y = 0; y < HEIGHT; y++)
		for (x = 0; x < WIDTH; x++)
			writel(bands[y * 4 / HEIGHT], FB_BASE + 4 * (y * WIDTH + x));

	put("MBOCHS-GUEST drawn mode=");
	put_dec(WIDTH);
	put("x");
	put_dec(HEIGHT);
	put(" readback=");
	for (y = 0; y < 4; y++) {
		put_hex(readl(FB_BASE + 4 * (y * HEIGHT / 4 * WIDTH)), 8);
		put(y < 3 ? "," : "\n");
	}
	return 0;
}
