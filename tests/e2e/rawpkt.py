#!/usr/bin/env python3
"""Raw packet generators for the dataplane e2e tests (run inside the test's netns).

  synflood DST PORT COUNT SECONDS   spoofed SYNs from 198.18.0.100-.250 (bounded in count and time)
  junk IFACE DSTMAC COUNT           malformed frames on IFACE (AF_PACKET): short, bad IPv4,
                                    fragments, bad TCP headers/options, bad ARP/ICMP
  synchal DST DPORT SPORT           one SYN on an existing 4-tuple (expects a challenge ACK)
Only addresses inside 198.18.0.0/15 are ever used.
"""
import ipaddress, os, random, socket, struct, sys, time

NET = ipaddress.ip_network("198.18.0.0/15")


def csum(b):
    if len(b) & 1:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def ip_hdr(src, dst, proto, payload_len, ident=0, frag=0x4000, ihl=5, opts=b""):
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, 20 + len(opts) + payload_len, ident, frag, 64,
                    proto, 0, socket.inet_aton(src), socket.inet_aton(dst)) + opts
    return h[:10] + struct.pack("!H", csum(h)) + h[12:]


def tcp_seg(src, dst, sport, dport, seq, ack, flags, opts=b"", payload=b"", doff=None, win=65535):
    if doff is None:
        doff = (20 + len(opts)) // 4
    h = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, doff << 4, flags, win, 0, 0) + opts
    ph = struct.pack("!4s4sBBH", socket.inet_aton(src), socket.inet_aton(dst), 0, 6, len(h) + len(payload))
    c = csum(ph + h + payload)
    return h[:16] + struct.pack("!H", c) + h[18:] + payload


def check_dst(d):
    if ipaddress.ip_address(d) not in NET:
        raise SystemExit("refusing to send outside 198.18.0.0/15")


def synflood(dst, port, count, seconds):
    check_dst(dst)
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    rnd = random.Random(1234)
    end = time.monotonic() + seconds
    sent = 0
    mss = struct.pack("!BBH", 2, 4, 1460)
    while sent < count and time.monotonic() < end:
        src = "198.18.0.%d" % rnd.randint(100, 250)
        seg = tcp_seg(src, dst, rnd.randint(1024, 65535), port, rnd.getrandbits(32), 0, 0x02, mss)
        pkt = ip_hdr(src, dst, 6, len(seg), rnd.getrandbits(16)) + seg
        try:
            s.sendto(pkt, (dst, 0))
            sent += 1
            if sent == 1000:
                print("synflood started", flush=True)
        except (BlockingIOError, OSError):
            time.sleep(0.001)
    print("synflood sent=%d" % sent, flush=True)


def junk(iface, dstmac, count):
    mac = bytes.fromhex(dstmac.replace(":", ""))
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    src_mac = s.getsockname()[4][:6]
    eth = lambda t: mac + src_mac + struct.pack("!H", t)
    me, it = "198.18.0.1", "198.18.0.2"
    rnd = random.Random(99)
    frames = []
    # short frames and odd ethertypes
    frames += [mac[:3], eth(0x0800)[:13], eth(0x86dd) + b"\x60" + b"\0" * 39, eth(0x0806) + b"\0" * 10]
    # IPv4: truncated headers, bad version, bad IHL, bad total length, bad checksum, fragments, options
    good = ip_hdr(me, it, 6, 20) + tcp_seg(me, it, 1111, 9, 1, 0, 0x02)
    frames += [eth(0x0800) + good[:n] for n in (1, 10, 19, 20, 30)]
    frames.append(eth(0x0800) + bytes([0x65]) + good[1:])
    frames.append(eth(0x0800) + bytes([0x43]) + good[1:])
    frames.append(eth(0x0800) + bytes([0x4f]) + good[1:])
    frames.append(eth(0x0800) + good[:2] + b"\xff\xff" + good[4:])
    frames.append(eth(0x0800) + good[:10] + b"\x12\x34" + good[12:])
    frames.append(eth(0x0800) + ip_hdr(me, it, 6, 40, frag=0x2000) + tcp_seg(me, it, 1, 9, 1, 0, 2) + b"x" * 20)
    frames.append(eth(0x0800) + ip_hdr(me, it, 6, 40, frag=0x0010) + tcp_seg(me, it, 1, 9, 1, 0, 2) + b"x" * 20)
    frames.append(eth(0x0800) + ip_hdr("0.0.0.0", it, 6, 20) + tcp_seg("0.0.0.0", it, 1, 9, 1, 0, 2))
    frames.append(eth(0x0800) + ip_hdr("224.0.0.1", it, 6, 20) + tcp_seg("224.0.0.1", it, 1, 9, 1, 0, 2))
    frames.append(eth(0x0800) + ip_hdr(me, it, 17, 8) + b"\0" * 8)  # UDP: unsupported
    # TCP: short, bad data offset, bad checksum, malicious options, bad flag combos, port 0
    frames.append(eth(0x0800) + ip_hdr(me, it, 6, 10) + b"\0" * 10)
    for doff in (0, 4, 15):
        seg = tcp_seg(me, it, 2222, 9, 5, 0, 0x02, doff=doff)
        frames.append(eth(0x0800) + ip_hdr(me, it, 6, len(seg)) + seg)
    seg = bytearray(tcp_seg(me, it, 2222, 9, 5, 0, 0x02))
    seg[16] ^= 0xff
    frames.append(eth(0x0800) + ip_hdr(me, it, 6, len(seg)) + bytes(seg))
    for opts in (b"\x08\x00\x01\x01", b"\x02\x01\x01\x01", b"\x05\x28\x01\x01", b"\x03\xff" + b"\x01" * 2,
                 b"\x02\x04", b"\x08\x0a" + b"\0" * 6, b"\x05\x0a" + b"\0" * 10):
        if len(opts) % 4:
            opts += b"\0" * (4 - len(opts) % 4)
        seg = tcp_seg(me, it, 3333, 9, 7, 0, 0x02, opts)
        frames.append(eth(0x0800) + ip_hdr(me, it, 6, len(seg)) + seg)
    for flags in (0x03, 0x06, 0x00, 0x3f, 0x29):
        seg = tcp_seg(me, it, 4444, 9, 7, 0, flags)
        frames.append(eth(0x0800) + ip_hdr(me, it, 6, len(seg)) + seg)
    seg = tcp_seg(me, it, 0, 9, 7, 0, 0x02)
    frames.append(eth(0x0800) + ip_hdr(me, it, 6, len(seg)) + seg)
    seg = tcp_seg(me, it, 5555, 12345, 7, 0, 0x02)  # closed port: RST expected
    frames.append(eth(0x0800) + ip_hdr(me, it, 6, len(seg)) + seg)
    seg = tcp_seg(me, it, 5556, 9, 7, 99, 0x10)  # stray ACK to a listener
    frames.append(eth(0x0800) + ip_hdr(me, it, 6, len(seg)) + seg)
    # ICMP: short, bad checksum, not an echo request
    frames.append(eth(0x0800) + ip_hdr(me, it, 1, 4) + b"\x08\0\0\0")
    frames.append(eth(0x0800) + ip_hdr(me, it, 1, 8) + b"\x08\0\x12\x34\0\0\0\0")
    icmp = b"\x0d\0\0\0\0\0\0\0"
    icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
    frames.append(eth(0x0800) + ip_hdr(me, it, 1, 8) + icmp)
    # ARP: short, wrong hardware type, not for us, unknown op
    arp = lambda op, tpa, htype=1: struct.pack("!HHBBH6s4s6s4s", htype, 0x0800, 6, 4, op, src_mac,
                                               socket.inet_aton(me), b"\0" * 6, socket.inet_aton(tpa))
    frames += [eth(0x0806) + arp(1, it)[:20], eth(0x0806) + arp(1, it, 6), eth(0x0806) + arp(1, "198.18.0.77"),
               eth(0x0806) + arp(9, it)]
    sent = 0
    while sent < count:
        f = frames[sent % len(frames)] if sent < len(frames) * 4 else bytes(
            rnd.getrandbits(8) for _ in range(rnd.randint(1, 200)))
        if sent >= len(frames) * 4:
            f = mac + src_mac + (b"\x08\x00" if rnd.random() < 0.7 else b"\x08\x06") + f[14:]
        if len(f) < 14:
            f = f + b""  # kernel pads/rejects; still fine
        try:
            s.send(f)
        except OSError:
            pass
        sent += 1
    print("junk sent=%d kinds=%d" % (sent, len(frames)))


def synchal(dst, dport, sport):
    check_dst(dst)
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    src = "198.18.0.1"
    seg = tcp_seg(src, dst, sport, dport, 12345, 0, 0x02)
    s.sendto(ip_hdr(src, dst, 6, len(seg)) + seg, (dst, 0))
    print("synchal sent")


if __name__ == "__main__":
    a = sys.argv[1:]
    if a[0] == "synflood":
        synflood(a[1], int(a[2]), int(a[3]), float(a[4]))
    elif a[0] == "junk":
        junk(a[1], a[2], int(a[3]))
    elif a[0] == "synchal":
        synchal(a[1], int(a[2]), int(a[3]))
    else:
        print(__doc__)
        sys.exit(2)
