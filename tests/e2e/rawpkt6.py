#!/usr/bin/env python3
"""Malformed IPv6 / ICMPv6 / Neighbor Discovery frames for the daemon's e2e test (run in its netns).

  junk6 IFACE DSTMAC SRC DST ROUNDS   sends every kind below ROUNDS times on IFACE (AF_PACKET)
                                      and prints "kind=N" lines; SRC / DST must be in fd00::/8
Kinds (each aimed at one drop reason of dataplane/drop_reasons.def):
  frag      a fragment header                               IP6_FRAG
  routing   a routing header with segments left 1           IP6_ROUTING
  badopt    a destination option whose type says discard    IP6_OPT
  trunc     payload length beyond the frame                 IP6_LEN
  nshop     an NS with hop limit 64                         ND_HOPLIMIT
  nszero    an NS with a zero-length option                 ND_OPT_ZERO
  nstrunc   an NS whose option runs past the end            ND_OPT_TRUNC
  icmpsum   an echo request with a bad checksum             ICMP6_CSUM
  mapped    an IPv4-mapped source address                   IP6_SRC
"""
import ipaddress, os, socket, struct, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rawpkt import csum  # the Internet checksum, shared with the IPv4 sender

NET = ipaddress.ip_network("fd00::/8")


def ip6(src, dst, nh, payload, hl=64, plen=None):
    return struct.pack("!IHBB16s16s", 0x60000000, len(payload) if plen is None else plen, nh, hl,
                       src.packed, dst.packed) + payload


def icmp6(src, dst, body):
    ph = src.packed + dst.packed + struct.pack("!IxxxB", len(body), 58)
    c = csum(ph + body)
    return body[:2] + struct.pack("!H", c) + body[4:]


def ns(target, opts=b""):
    return struct.pack("!BBHI16s", 135, 0, 0, 0, target.packed) + opts


def junk6(iface, dstmac, src, dst, rounds):
    src, dst = ipaddress.IPv6Address(src), ipaddress.IPv6Address(dst)
    if src not in NET or dst not in NET:
        raise SystemExit("addresses must be in fd00::/8")
    mac = bytes.fromhex(dstmac.replace(":", ""))
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    eth = mac + s.getsockname()[4][:6] + struct.pack("!H", 0x86dd)
    echo = icmp6(src, dst, struct.pack("!BBHHH", 128, 0, 0, 7, 1) + b"junk6")
    sn = ipaddress.IPv6Address("ff02::1:ff00:0") + (int(dst) & 0xffffff)
    mapped = ipaddress.IPv6Address("::ffff:198.18.0.1")
    frames = {
        "frag": ip6(src, dst, 44, struct.pack("!BBHI", 58, 0, 1, 99) + echo),
        "routing": ip6(src, dst, 43, struct.pack("!BBBB4x", 58, 0, 0, 1) + echo),
        "badopt": ip6(src, dst, 60, struct.pack("!BBBB4x", 58, 0, 0x85, 4) + echo),
        "trunc": ip6(src, dst, 58, echo, plen=len(echo) + 100),
        "nshop": ip6(src, sn, 58, icmp6(src, sn, ns(dst, b"\x01\x01" + s.getsockname()[4][:6])), hl=64),
        "nszero": ip6(src, sn, 58, icmp6(src, sn, ns(dst, b"\x01\x00" + b"\0" * 6)), hl=255),
        "nstrunc": ip6(src, sn, 58, icmp6(src, sn, ns(dst, b"\x01\x04" + b"\0" * 6)), hl=255),
        "icmpsum": ip6(src, dst, 58, echo[:2] + bytes([echo[2] ^ 0xff]) + echo[3:]),
        "mapped": ip6(mapped, dst, 58, echo),
    }
    for k, f in frames.items():
        n = 0
        for _ in range(rounds):
            try:
                s.send(eth + f)
                n += 1
            except OSError:
                pass
        print("%s=%d" % (k, n), flush=True)


if __name__ == "__main__":
    a = sys.argv[1:]
    if len(a) == 6 and a[0] == "junk6":
        junk6(a[1], a[2], a[3], a[4], int(a[5]))
    else:
        print(__doc__)
        sys.exit(2)
