"""A backend for tests/e2e/daemon_proxy.sh that expects a PROXY v2 header (run in the namespace).

  pp_backend.py ADDR PORT OUTFILE

Each connection: reads the 16-byte v2 header and its body (bounded), appends
one line to OUTFILE: "ok SRC SPORT DST DPORT TYPE=VALUE..." (TLV values as
text), or "bad WHY" for anything else, then echoes what follows until EOF.
The listener gives up after 300 s idle.
"""
import ipaddress
import socket
import struct
import sys
import threading

SIG = b"\r\n\r\n\x00\r\nQUIT\n"
lock = threading.Lock()


def read_n(c, n):
    b = b""
    while len(b) < n:
        d = c.recv(n - len(b))
        if not d:
            raise EOFError("short header (%d of %d bytes)" % (len(b), n))
        b += d
    return b


def parse(c):
    h = read_n(c, 16)
    if h[:12] != SIG:
        return "bad signature %r" % h
    if h[12] != 0x21:
        return "bad version/command 0x%02x" % h[12]
    ln = struct.unpack("!H", h[14:16])[0]
    if ln > 1024:
        return "bad length %d" % ln
    body = read_n(c, ln)
    if h[13] == 0x11:
        a, n = 4, 12
    elif h[13] == 0x21:
        a, n = 16, 36
    else:
        return "bad family 0x%02x" % h[13]
    src = ipaddress.ip_address(body[:a])
    dst = ipaddress.ip_address(body[a:2 * a])
    sp, dp = struct.unpack("!HH", body[2 * a:2 * a + 4])
    out = ["ok", str(src), str(sp), str(dst), str(dp)]
    i = n
    while i < ln:
        if ln - i < 3:
            return "bad TLV header"
        t, vl = body[i], struct.unpack("!H", body[i + 1:i + 3])[0]
        if i + 3 + vl > ln:
            return "bad TLV length"
        out.append("%02x=%s" % (t, body[i + 3:i + 3 + vl].decode("ascii", "replace").replace(" ", "_")))
        i += 3 + vl
    return " ".join(out)


def serve(c, path):
    c.settimeout(60)
    try:
        line = parse(c)
    except (EOFError, OSError) as e:
        line = "bad %s" % e
    with lock:
        with open(path, "a") as f:
            f.write(line + "\n")
    try:
        while True:
            d = c.recv(65536)
            if not d:
                break
            c.sendall(d)
    except OSError:
        pass
    c.close()


s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(16)
s.settimeout(300)
while True:
    try:
        c, _ = s.accept()
    except OSError:
        break
    threading.Thread(target=serve, args=(c, sys.argv[3]), daemon=True).start()
