#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# Check a screendump (a binary PPM, as QEMU writes it) against the picture
# the display suites' guests draw.
#
#   ppm-check.py bands <ppm> <width> <height>
#   ppm-check.py ramp <ppm> <width> <height>
#
# bands: four horizontal bands, red, green, blue and white from the top,
#        checked at the left, middle and right of each band's top, middle
#        and bottom rows; prints each wrong point, then "N of 36 points as
#        drawn".
# ramp:  a grey ramp, row y of value y * 255 / height, checked on five rows.
# Exit status 1 when the picture is not of that size or a point is wrong,
# 2 on a usage error.

import sys

BANDS = [("red", (255, 0, 0)), ("green", (0, 255, 0)),
         ("blue", (0, 0, 255)), ("white", (255, 255, 255))]


def pixels(path, w, h):
    """The RGB bytes of a w x h PPM, or exit 1."""
    data = open(path, "rb").read()
    head = b"P6\n%d %d\n255\n" % (w, h)
    if not data.startswith(head):
        sys.exit("not a %dx%d picture: %r" % (w, h, data[:20]))
    px = data[len(head):]
    return lambda x, y: tuple(px[(y * w + x) * 3:(y * w + x) * 3 + 3])


def bands(at, w, h):
    rows = h // 4
    bad = 0
    for i, (name, want) in enumerate(BANDS):
        top, bottom = i * rows, (h if i == 3 else (i + 1) * rows) - 1
        for y in (top, (top + bottom) // 2, bottom):
            for x in (0, w // 2, w - 1):
                if at(x, y) != want:
                    bad += 1
                    print("pixel %d,%d is %s, want %s %s" %
                          (x, y, at(x, y), name, want))
    print("%d of 36 points as drawn" % (36 - bad))
    return 1 if bad else 0


def ramp(at, w, h):
    for y in (0, 1, h // 3, h // 2, h - 1):
        want = (y * 255 // h,) * 3
        for x in (0, w // 2, w - 1):
            if at(x, y) != want:
                sys.exit("pixel %d,%d is %s, want %d" % (x, y, at(x, y), want[0]))
    return 0


def main():
    checks = {"bands": bands, "ramp": ramp}
    if len(sys.argv) != 5 or sys.argv[1] not in checks:
        print("usage: ppm-check.py bands|ramp <ppm> <width> <height>",
              file=sys.stderr)
        sys.exit(2)
    w, h = int(sys.argv[3]), int(sys.argv[4])
    sys.exit(checks[sys.argv[1]](pixels(sys.argv[2], w, h), w, h))


if __name__ == "__main__":
    main()
