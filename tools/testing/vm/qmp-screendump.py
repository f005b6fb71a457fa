#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# Take a screendump of a running QEMU through its QMP socket.
#
#   qmp-screendump.py [--wait SECONDS] [--quit] <qmp socket> <out.ppm>
#
# Waits up to --wait seconds (default 60) for the socket to accept, writes
# QEMU's current screen as a PPM, and with --quit then asks QEMU to exit.
# Exit status 1 with QEMU's error text on failure.

import argparse
import json
import socket
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wait", type=float, default=60)
    ap.add_argument("--quit", action="store_true")
    ap.add_argument("sock")
    ap.add_argument("out")
    args = ap.parse_args()

    qmp = socket.socket(socket.AF_UNIX)
    deadline = time.monotonic() + args.wait
    while True:
        try:
            qmp.connect(args.sock)
            break
        except OSError as e:
            if time.monotonic() > deadline:
                sys.exit("cannot connect to %s: %s" % (args.sock, e))
            time.sleep(0.2)
    qmp.settimeout(120)
    f = qmp.makefile("rw")

    def cmd(name, **arguments):
        f.write(json.dumps({"execute": name, "arguments": arguments}) + "\n")
        f.flush()
        while True:
            line = f.readline()
            if not line:
                sys.exit("%s: QEMU closed the connection" % name)
            r = json.loads(line)
            if "error" in r:
                sys.exit("%s: %s" % (name, r["error"]))
            if "return" in r:
                return r["return"]

    f.readline()  # the greeting
    cmd("qmp_capabilities")
    cmd("screendump", filename=args.out)
    if args.quit:
        cmd("quit")


if __name__ == "__main__":
    main()
