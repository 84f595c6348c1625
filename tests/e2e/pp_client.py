"""A PROXY protocol client for tests/e2e/daemon_proxy.sh (run inside the test namespace).

  pp_client.py MODE SRC HOST PORT [CLIENT_IP CLIENT_PORT]

Connects from address SRC to HOST:PORT and sends a header that claims the
connection comes from CLIENT_IP:CLIENT_PORT (default 198.18.7.7:4242), then:
  relay modes (for ssh's ProxyCommand): v1, v2 (with a few TLVs to skip),
      local (v2 LOCAL), none (no header): copy stdin to the socket and the
      socket to stdout until either side closes.
  probe modes: trunc (half a v2 header, then silence), oversize1 (a v1 line
      with no CR LF in 200 bytes), oversize2 (a v2 header announcing 2000
      bytes), garbage (a v1 line with a bad address), v1probe (a good v1
      header and an identification line): read what the server sends until
      it closes (at most 30 s) and print "closed N" (bytes received).
Every wait is bounded.
"""
import ipaddress
import os
import select
import socket
import struct
import sys
import time

SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def v1(cip, cport, dip, dport):
    fam = "TCP6" if ":" in cip else "TCP4"
    return ("PROXY %s %s %s %d %d\r\n" % (fam, cip, dip, cport, dport)).encode()


def v2(cip, cport, dip, dport, local=False):
    if local:
        return SIG + bytes([0x20, 0x00]) + struct.pack("!H", 0)
    c = ipaddress.ip_address(cip)
    d = ipaddress.ip_address(dip)
    if c.version != d.version:  # an IPv6 client behind an IPv4 front: both as IPv6
        c = ipaddress.ip_address(cip if c.version == 6 else "::ffff:" + cip)
        d = ipaddress.ip_address(dip if d.version == 6 else "::ffff:" + dip)
    fam = 0x11 if c.version == 4 else 0x21
    body = c.packed + d.packed + struct.pack("!HH", cport, dport)
    body += bytes([0x04]) + struct.pack("!H", 0)                     # PP2_TYPE_NOOP
    body += bytes([0x02]) + struct.pack("!H", 11) + b"lb.internal"   # PP2_TYPE_AUTHORITY
    body += bytes([0xEA]) + struct.pack("!H", 3) + b"xyz"            # someone's own
    return SIG + bytes([0x21, fam]) + struct.pack("!H", len(body)) + body


def relay(s):
    deadline = time.time() + 120
    inp = sys.stdin.buffer.raw if hasattr(sys.stdin.buffer, "raw") else sys.stdin.buffer
    fds = [inp, s]
    while fds and time.time() < deadline:
        r, _, _ = select.select(fds, [], [], 1.0)
        for f in r:
            if f is s:
                d = s.recv(65536)
                if not d:
                    return
                os.write(1, d)
            else:
                d = os.read(inp.fileno(), 65536)
                if not d:
                    s.shutdown(socket.SHUT_WR)
                    fds.remove(inp)
                else:
                    s.sendall(d)


def probe(s, data):
    s.sendall(data)
    got = 0
    s.settimeout(30)
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            got += len(d)
    except OSError:
        pass
    print("closed %d" % got)


def main():
    mode, src, host, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    cip = sys.argv[5] if len(sys.argv) > 5 else "198.18.7.7"
    cport = int(sys.argv[6]) if len(sys.argv) > 6 else 4242
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(15)
    s.bind((src, 0))
    s.connect((host, port))
    s.settimeout(None)
    if mode == "v1":
        s.sendall(v1(cip, cport, host, port))
    elif mode == "v2":
        s.sendall(v2(cip, cport, host, port))
    elif mode == "local":
        s.sendall(v2(cip, cport, host, port, local=True))
    elif mode == "none":
        pass
    elif mode == "trunc":
        return probe(s, v2(cip, cport, host, port)[:20])
    elif mode == "oversize1":
        return probe(s, b"PROXY UNKNOWN " + b"x" * 186)
    elif mode == "oversize2":
        return probe(s, SIG + bytes([0x21, 0x11]) + struct.pack("!H", 2000) + b"\0" * 2000)
    elif mode == "garbage":
        return probe(s, b"PROXY TCP4 198.18.7 198.18.0.2 4242 22\r\nSSH-2.0-probe\r\n")
    elif mode == "v1probe":
        return probe(s, v1(cip, cport, host, port) + b"SSH-2.0-probe\r\n")
    else:
        sys.exit("unknown mode " + mode)
    relay(s)


main()
