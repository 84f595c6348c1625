#!/usr/bin/env python3
"""A stand-in for systemd's notification socket (sd_notify(3)) in tests.

    notify_listener.py SOCKET_PATH OUT_FILE SECONDS

Binds an AF_UNIX datagram socket at SOCKET_PATH and appends every datagram it
receives to OUT_FILE, one per line with its newlines written as '|', until
SECONDS have passed. Bounded: it stops by itself.
"""
import os
import socket
import sys
import time


def main():
    path, out, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    end = time.monotonic() + secs
    with open(out, "a", buffering=1) as f:
        while True:
            left = end - time.monotonic()
            if left <= 0:
                break
            s.settimeout(left)
            try:
                d = s.recv(4096)
            except socket.timeout:
                break
            f.write(d.decode("utf-8", "replace").replace("\n", "|") + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
