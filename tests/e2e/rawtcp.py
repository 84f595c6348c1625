#!/usr/bin/env python3
"""Raw TCP clients on AF_PACKET for the daemon's liveness tests (run inside the test's netns).

The clients use an address the namespace's kernel does not own (198.18.0.100 by default) and
a made-up MAC, so the kernel never answers (no RST) for them; the script answers ARP for it.

  zerowin IFACE DST PORT N SECONDS   N connections that advertise a zero window, then stay
                                     silent for SECONDS (no ACK, no probe answer); prints
                                     "zerowin: established=N"
  ooo IFACE DST PORT N SEGS SECONDS  N connections, each sending SEGS one-byte segments
                                     beyond a one-byte hole (never filled), for at most
                                     SECONDS; then holds them open for 2 s; prints
                                     "ooo: established=N segments=M"
  reuse IFACE DST PORT               one connection that the server closes first (a bad
                                     identification line), so that it ends in TIME_WAIT
                                     there; then, from another MAC, a SYN for the same
                                     4-tuple with a lower sequence number: the server must
                                     answer it with an ACK (to that MAC), take the RST for
                                     it, and accept the SYN after; prints
                                     "reuse: closed=0|1 tw_ack=0|1 synack=0|1"

Only addresses inside 198.18.0.0/15 are used; every loop is bounded in count and time.
"""
import os
import random
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rawpkt import check_dst, ip_hdr, tcp_seg  # noqa: E402

ETH_P_ALL = 0x0003
SRC_IP = "198.18.0.100"
SRC_MAC = bytes.fromhex("020000000064")
SYN, RST, ACK = 0x02, 0x04, 0x10


class Link:
    def __init__(self, iface, dst):
        check_dst(dst)
        self.mac = SRC_MAC
        self.dst = dst
        self.s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.s.bind((iface, 0))
        self.s.settimeout(0.05)
        self.dst_mac = None
        deadline = time.monotonic() + 5
        while self.dst_mac is None and time.monotonic() < deadline:
            self._arp(1, b"\xff" * 6, b"\0" * 6, dst)
            self.poll(0.2)
        if self.dst_mac is None:
            raise SystemExit("no ARP reply from %s" % dst)

    def _arp(self, op, eth_dst, tha, tpa):
        arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, op, self.mac, socket.inet_aton(SRC_IP),
                          tha, socket.inet_aton(tpa))
        self.s.send(eth_dst + self.mac + b"\x08\x06" + arp)

    def send_tcp(self, sport, dport, seq, ack, flags, win, payload=b"", opts=b""):
        seg = tcp_seg(SRC_IP, self.dst, sport, dport, seq & 0xffffffff, ack & 0xffffffff, flags,
                      opts, payload, win=win)
        frame = self.dst_mac + self.mac + b"\x08\x00" + ip_hdr(SRC_IP, self.dst, 6, len(seg)) + seg
        while True:
            try:
                self.s.send(frame)
                return
            except BlockingIOError:
                time.sleep(0.0005)

    def poll(self, seconds, full=False):
        """Frames for seconds: ARP answered; TCP segments to SRC_IP returned as
        (dport, seq, ack, flags, win), with (payload length, destination MAC) too if full."""
        out = []
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                f = self.s.recv(65535)
            except (socket.timeout, BlockingIOError):
                continue
            if len(f) < 14:
                continue
            et = struct.unpack("!H", f[12:14])[0]
            if et == 0x0806 and len(f) >= 42:
                op, sha, spa, tpa = struct.unpack("!6xH6s4s6x4s", f[14:42])
                if tpa == socket.inet_aton(SRC_IP) and op == 1:
                    self._arp(2, sha, sha, socket.inet_ntoa(spa))
                if op == 2 and spa == socket.inet_aton(self.dst):
                    self.dst_mac = sha
                continue
            if et != 0x0800 or len(f) < 54 or f[14 + 9] != 6 or f[14 + 16:14 + 20] != socket.inet_aton(SRC_IP):
                continue
            ihl = (f[14] & 0xf) * 4
            t = f[14 + ihl:]
            sport, dport, seq, ack, off, flags, win = struct.unpack("!HHIIBBH", t[:16])
            if full:
                tot = struct.unpack("!H", f[16:18])[0]
                out.append((dport, seq, ack, flags, win, tot - ihl - (off >> 4) * 4, f[0:6]))
            else:
                out.append((dport, seq, ack, flags, win))
        return out


def handshake(link, port, n, win, seconds=8):
    """Opens n connections from SRC_IP; returns {sport: [snd_nxt, rcv_nxt]} of the established."""
    rnd = random.Random(4321)
    sports = rnd.sample(range(20000, 60000), n)
    conns = {p: [rnd.getrandbits(32), None] for p in sports}
    mss = struct.pack("!BBH", 2, 4, 1460)
    for p in sports:
        link.send_tcp(p, port, conns[p][0], 0, SYN, win, opts=mss)
    done = {}
    end = time.monotonic() + seconds
    while len(done) < n and time.monotonic() < end:
        for dport, seq, ack, flags, w in link.poll(0.1):
            c = conns.get(dport)
            if c is None or dport in done or (flags & (SYN | ACK)) != (SYN | ACK):
                continue
            if ack != (c[0] + 1) & 0xffffffff:
                continue
            c[0] += 1
            c[1] = seq + 1
            link.send_tcp(dport, port, c[0], c[1], ACK, win)
            done[dport] = c
        # SYNs lost in a full queue: send the missing ones again
        for p in sports:
            if p not in done:
                link.send_tcp(p, port, conns[p][0], 0, SYN, win, opts=mss)
    return done


def zerowin(iface, dst, port, n, seconds):
    link = Link(iface, dst)
    conns = handshake(link, int(port), int(n), 0)
    print("zerowin: established=%d" % len(conns), flush=True)
    end = time.monotonic() + float(seconds)
    while time.monotonic() < end:  # silent: frames are read (and ARP answered) but not acked
        link.poll(0.5)


def ooo(iface, dst, port, n, segs, seconds):
    link = Link(iface, dst)
    conns = handshake(link, int(port), int(n), 65535)
    print("ooo: established=%d" % len(conns), flush=True)
    sent = 0
    end = time.monotonic() + float(seconds)
    for k in range(int(segs)):
        if time.monotonic() >= end:
            break
        for p, c in conns.items():
            # byte c[0] (the next in order) is never sent: everything else waits behind it
            link.send_tcp(p, int(port), c[0] + 1 + k, c[1], ACK, 65535, payload=b"x")
            sent += 1
        if k % 64 == 0:
            link.poll(0)
    link.poll(2)
    print("ooo: established=%d segments=%d" % (len(conns), sent), flush=True)
    for p, c in conns.items():
        link.send_tcp(p, int(port), c[0], c[1], RST | ACK, 0)


FIN = 0x01


def reuse(iface, dst, port):
    port = int(port)
    link = Link(iface, dst)
    conns = handshake(link, port, 1, 65535)
    if not conns:
        print("reuse: closed=0 tw_ack=0 synack=0", flush=True)
        return
    (sport, c), = conns.items()
    isn = c[0] - 1
    # A line that is no SSH identification: the server says so and closes first.
    link.send_tcp(sport, port, c[0], c[1], ACK, 65535, payload=b"GET / HTTP/1.0\r\n\r\n")
    c[0] += 18
    closed = 0
    end = time.monotonic() + 10
    while not closed and time.monotonic() < end:
        for dp, seq, ack, flags, w, n, _ in link.poll(0.1, full=True):
            if dp != sport:
                continue
            if n > 0 and seq == c[1]:
                c[1] = (c[1] + n) & 0xffffffff
            if flags & FIN and (seq + n) & 0xffffffff == c[1]:
                c[1] = (c[1] + 1) & 0xffffffff
                link.send_tcp(sport, port, c[0], c[1], FIN | ACK, 65535)  # ours: it enters TIME_WAIT
                closed = 1
            elif n > 0:
                link.send_tcp(sport, port, c[0], c[1], ACK, 65535)
    link.poll(0.5)
    # The same 4-tuple from another MAC, sequence number below the old connection's.
    link.mac = bytes.fromhex("020000000065")
    low = (isn - 100000) & 0xffffffff
    mss = struct.pack("!BBH", 2, 4, 1460)
    link.send_tcp(sport, port, low, 0, SYN, 65535, opts=mss)
    tw_ack = synack = 0
    end = time.monotonic() + 5
    while not synack and time.monotonic() < end:
        for dp, seq, ack, flags, w, n, dmac in link.poll(0.1, full=True):
            if dp != sport:
                continue
            if (flags & (SYN | ACK | RST)) == ACK and dmac == link.mac and not tw_ack:
                tw_ack = 1
                link.send_tcp(sport, port, ack, 0, RST, 0)  # as a client in SYN_SENT answers it
                link.send_tcp(sport, port, low, 0, SYN, 65535, opts=mss)
            elif (flags & (SYN | ACK)) == (SYN | ACK) and ack == (low + 1) & 0xffffffff:
                synack = 1
                link.send_tcp(sport, port, low + 1, seq + 1, RST | ACK, 0)
    print("reuse: closed=%d tw_ack=%d synack=%d" % (closed, tw_ack, synack), flush=True)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"zerowin": zerowin, "ooo": ooo, "reuse": reuse}[cmd](*args)
