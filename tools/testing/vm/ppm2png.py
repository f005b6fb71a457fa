#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# Convert a binary PPM (P6, 8 bits per channel), such as a QEMU screendump,
# to PNG.  Python's standard library only (zlib, struct).
#
# Usage: ppm2png.py <in.ppm> <out.png>
#
# The PNG is 8-bit RGB, not interlaced; every row is filtered with the
# "Up" filter (the difference to the row above), which makes the flat
# areas of a test picture compress to almost nothing.

import struct
import sys
import zlib


def read_ppm(path):
    """Return (width, height, pixels) of a P6 file with maxval 255."""
    with open(path, "rb") as f:
        data = f.read()

    # The header: magic, width, height, maxval, separated by whitespace,
    # with comments from '#' to the end of a line; one whitespace byte
    # ends it.
    fields = []
    pos = 0
    while len(fields) < 4:
        while pos < len(data) and data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b"#":
            while pos < len(data) and data[pos:pos + 1] not in b"\r\n":
                pos += 1
            continue
        start = pos
        while pos < len(data) and not data[pos:pos + 1].isspace():
            pos += 1
        if start == pos:
            sys.exit("%s: truncated header" % path)
        fields.append(data[start:pos])
    pos += 1

    if fields[0] != b"P6":
        sys.exit("%s: not a binary PPM (P6)" % path)
    width, height, maxval = (int(x) for x in fields[1:])
    if maxval != 255:
        sys.exit("%s: maxval %d, only 255 is supported" % (path, maxval))
    pixels = data[pos:pos + width * height * 3]
    if len(pixels) != width * height * 3:
        sys.exit("%s: %d bytes of pixels, want %d"
                 % (path, len(pixels), width * height * 3))
    return width, height, pixels


def chunk(kind, body):
    crc = zlib.crc32(kind + body) & 0xffffffff
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def write_png(path, width, height, pixels):
    stride = width * 3
    rows = []
    prev = bytes(stride)
    for y in range(height):
        row = pixels[y * stride:(y + 1) * stride]
        up = bytes((a - b) & 0xff for a, b in zip(row, prev))
        rows.append(b"\x02" + up)
        prev = row

    # 8 bits, colour type 2 (RGB), deflate, adaptive filtering, no interlace
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", ihdr))
        f.write(chunk(b"IDAT", zlib.compress(b"".join(rows), 9)))
        f.write(chunk(b"IEND", b""))


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: %s <in.ppm> <out.png>" % sys.argv[0])
    write_png(sys.argv[2], *read_ppm(sys.argv[1]))


if __name__ == "__main__":
    main()
