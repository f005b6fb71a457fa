#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
#
# A screenshot through QEMU's D-Bus display (-display dbus): a display
# client, as a viewer would be one.  QMP's screendump cannot show a dma-buf
# plane there (QEMU has no surface for it), but a client gets the dma-buf
# itself.
#
#   dbus-display-shot.py [--timeout S] [--console N] <bus address> <out.ppm>
#
# Registers a listener with org.qemu.Display1.Console.RegisterListener on
# /org/qemu/Display1/Console_<N> of the bus name org.qemu at <bus address>
# (a private dbus-daemon), serves org.qemu.Display1.Listener on the peer
# to peer connection QEMU opens on the socket it was given, waits for a
# ScanoutDMABUF call, maps the dma-buf, and writes its pixels as a PPM,
# row 0 first, as the call describes them (width, height, stride, fourcc:
# XRGB8888 only).  Prints one line "scanout <w>x<h> stride=<n>
# fourcc=<str> modifier=<n> y0_top=<b> updates=<n>".
#
# Uses GLib's GDBus (python3-gi), hence Debian's /usr/bin/python3.
# Exit status 1 with the reason on failure or timeout.

import argparse
import mmap
import os
import socket
import struct
import sys

from gi.repository import Gio, GLib

LISTENER_XML = """
<node>
  <interface name="org.qemu.Display1.Listener">
    <method name="Scanout">
      <arg type="u" direction="in"/><arg type="u" direction="in"/>
      <arg type="u" direction="in"/><arg type="u" direction="in"/>
      <arg type="ay" direction="in"/>
    </method>
    <method name="Update">
      <arg type="i" direction="in"/><arg type="i" direction="in"/>
      <arg type="i" direction="in"/><arg type="i" direction="in"/>
      <arg type="u" direction="in"/><arg type="u" direction="in"/>
      <arg type="ay" direction="in"/>
    </method>
    <method name="ScanoutDMABUF">
      <arg type="h" direction="in"/><arg type="u" direction="in"/>
      <arg type="u" direction="in"/><arg type="u" direction="in"/>
      <arg type="u" direction="in"/><arg type="t" direction="in"/>
      <arg type="b" direction="in"/>
    </method>
    <method name="UpdateDMABUF">
      <arg type="i" direction="in"/><arg type="i" direction="in"/>
      <arg type="i" direction="in"/><arg type="i" direction="in"/>
    </method>
    <method name="Disable"/>
    <method name="MouseSet">
      <arg type="i" direction="in"/><arg type="i" direction="in"/>
      <arg type="i" direction="in"/>
    </method>
    <method name="CursorDefine">
      <arg type="i" direction="in"/><arg type="i" direction="in"/>
      <arg type="i" direction="in"/><arg type="i" direction="in"/>
      <arg type="ay" direction="in"/>
    </method>
    <property name="Interfaces" type="as" access="read"/>
  </interface>
</node>
"""

DRM_FORMAT_XRGB8888 = 0x34325258	# "XR24"


def fourcc_str(v):
    return struct.pack("<I", v).decode("ascii", "replace")


class Listener:
    def __init__(self, out, loop):
        self.out = out
        self.loop = loop
        self.scanout = None
        self.updates = 0
        self.other = []
        self.error = None

    def save(self):
        fd, w, h, stride, fourcc, modifier, y0_top = self.scanout
        try:
            if fourcc != DRM_FORMAT_XRGB8888:
                raise ValueError("fourcc %s, not XR24" % fourcc_str(fourcc))
            if stride < w * 4:
                raise ValueError("stride %d < width %d * 4" % (stride, w))
            m = mmap.mmap(fd, stride * h, mmap.MAP_SHARED, mmap.PROT_READ)
            rows = []
            for y in range(h):
                row = m[y * stride:y * stride + w * 4]
                px = bytearray(w * 3)
                px[0::3] = row[2::4]
                px[1::3] = row[1::4]
                px[2::3] = row[0::4]
                rows.append(bytes(px))
            m.close()
            with open(self.out, "wb") as f:
                f.write(b"P6\n%d %d\n255\n" % (w, h))
                f.write(b"".join(rows))
        except (OSError, ValueError) as e:
            self.error = "cannot read the dma-buf: %s" % e
        print("scanout %dx%d stride=%d fourcc=%s modifier=%d y0_top=%s updates=%d"
              % (w, h, stride, fourcc_str(fourcc), modifier, y0_top, self.updates))
        self.loop.quit()
        return False

    def method(self, conn, sender, path, iface, name, params, inv):
        if name == "ScanoutDMABUF":
            fds = inv.get_message().get_unix_fd_list()
            h, w, ht, stride, fourcc, modifier, y0_top = params.unpack()
            fd = os.dup(fds.get(h))
            if self.scanout is None:
                # Let QEMU's UpdateDMABUF for it arrive first
                GLib.timeout_add(1000, self.save)
            else:
                os.close(self.scanout[0])
            self.scanout = (fd, w, ht, stride, fourcc, modifier, y0_top)
        elif name == "UpdateDMABUF":
            self.updates += 1
        else:
            self.other.append(name)
        inv.return_value(None)

    def get_property(self, conn, sender, path, iface, name):
        return GLib.Variant("as", [])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--console", type=int, default=0)
    ap.add_argument("address")
    ap.add_argument("out")
    args = ap.parse_args()

    loop = GLib.MainLoop()
    listener = Listener(args.out, loop)
    bus = Gio.DBusConnection.new_for_address_sync(
        args.address,
        Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT |
        Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)

    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    fds = Gio.UnixFDList.new()
    fds.append(theirs.fileno())
    # QEMU replies first, then opens the peer to peer connection as its
    # server: ours is the client end.
    bus.call_with_unix_fd_list_sync(
        "org.qemu", "/org/qemu/Display1/Console_%d" % args.console,
        "org.qemu.Display1.Console", "RegisterListener",
        GLib.Variant("(h)", (0,)), None, Gio.DBusCallFlags.NONE, 10000,
        fds, None)
    theirs.close()

    stream = Gio.Socket.new_from_fd(ours.detach()).connection_factory_create_connection()
    p2p = Gio.DBusConnection.new_sync(
        stream, None,
        Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT |
        Gio.DBusConnectionFlags.DELAY_MESSAGE_PROCESSING, None, None)
    info = Gio.DBusNodeInfo.new_for_xml(LISTENER_XML).interfaces[0]
    p2p.register_object("/org/qemu/Display1/Listener", info,
                        listener.method, listener.get_property, None)
    p2p.start_message_processing()

    def timeout():
        listener.error = "no ScanoutDMABUF within %g s (calls: %s)" % (
            args.timeout, ", ".join(listener.other) or "none")
        loop.quit()
        return False

    GLib.timeout_add(int(args.timeout * 1000), timeout)
    loop.run()
    if listener.error:
        sys.exit(listener.error)


if __name__ == "__main__":
    main()
