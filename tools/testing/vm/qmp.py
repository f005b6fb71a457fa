#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# One or more QMP commands to a running QEMU, for the shell suites (a
# screendump, a migration, query-status ...).
#
#   qmp.py [--wait SECONDS] <qmp socket> <command> [<json arguments>] ...
#
# Waits up to --wait seconds (default 30) for the socket to accept, runs
# each command (a name, optionally followed by its arguments as one JSON
# object) in turn and prints each one's "return" as one line of JSON.
# Events are skipped.  Exit status 1 with QEMU's error text when a command
# fails (the commands after it are not run), 2 on a usage error.

import json
import socket
import sys
import time


def main():
    args = sys.argv[1:]
    wait = 30.0
    if args[:1] == ["--wait"]:
        wait = float(args[1])
        args = args[2:]
    if len(args) < 2:
        sys.exit(2)
    sock, words = args[0], args[1:]

    cmds = []
    for w in words:
        if w.startswith("{"):
            if not cmds:
                sys.exit(2)
            cmds[-1][1] = json.loads(w)
        else:
            cmds.append([w, {}])

    qmp = socket.socket(socket.AF_UNIX)
    deadline = time.monotonic() + wait
    while True:
        try:
            qmp.connect(sock)
            break
        except OSError as e:
            if time.monotonic() > deadline:
                sys.exit("cannot connect to %s: %s" % (sock, e))
            time.sleep(0.2)
    qmp.settimeout(120)
    f = qmp.makefile("rw")

    def run(name, arguments):
        f.write(json.dumps({"execute": name, "arguments": arguments}) + "\n")
        f.flush()
        while True:
            line = f.readline()
            if not line:
                sys.exit("%s: QEMU closed the connection" % name)
            r = json.loads(line)
            if "error" in r:
                sys.exit("%s: %s" % (name, r["error"].get("desc", r["error"])))
            if "return" in r:
                return r["return"]

    f.readline()                    # the greeting
    run("qmp_capabilities", {})
    for name, arguments in cmds:
        print(json.dumps(run(name, arguments)), flush=True)


if __name__ == "__main__":
    main()
