#!/usr/bin/env python3
"""Pre-authentication load that costs the client (almost) nothing, for the flood tests.

  kexflood.py kex DST PORT SOURCES CONC SECONDS MAXCONN
      Key-exchange flood: CONC connections at a time, each from the next of
      SOURCES (comma-separated local addresses), send an identification line
      and a KEXINIT offering only diffie-hellman-group16-sha512, then a
      KEXDH_INIT with a random 4096-bit e (no exponentiation on our side: the
      server does a 4096-bit one and signs), wait for the reply and close.
      Stops after SECONDS or MAXCONN connections. Prints
      "connections N replies N refused N" (refused: closed before a reply).
  kexflood.py slowloris DST PORT SOURCE COUNT SECONDS
      COUNT connections from SOURCE that send their identification line one
      byte a second and never finish; all closed after SECONDS. Prints
      "opened N cut N" (cut: the server closed it first).
  kexflood.py ignore DST PORT SOURCE COUNT SIZE SECONDS
      One connection from SOURCE that sends its identification line and
      KEXINIT, then COUNT SSH_MSG_IGNORE packets of SIZE bytes as fast as
      the server takes them (each goes to the control plane), for at most
      SECONDS. Prints "sent N seconds S open 0|1" (open: the server had not
      closed the connection).
Only addresses inside 198.18.0.0/15 are used (checked).
"""
import ipaddress, os, select, socket, struct, sys, time

NET = ipaddress.ip_network("198.18.0.0/15")


def check(a):
    if ipaddress.ip_address(a) not in NET:
        sys.exit("address %s outside 198.18.0.0/15" % a)


def sshstr(b):
    return struct.pack("!I", len(b)) + b


def packet(payload):
    pad = 8 - (len(payload) + 5) % 8
    if pad < 4:
        pad += 8
    return struct.pack("!IB", len(payload) + pad + 1, pad) + payload + os.urandom(pad)


def kexinit():
    names = [b"diffie-hellman-group16-sha512", b"ssh-ed25519,rsa-sha2-256,ecdsa-sha2-nistp256",
             b"aes128-ctr", b"aes128-ctr", b"hmac-sha2-256", b"hmac-sha2-256", b"none", b"none",
             b"", b""]
    return bytes([20]) + os.urandom(16) + b"".join(sshstr(n) for n in names) + b"\0" + b"\0\0\0\0"


def mpint(v):
    b = v.to_bytes((v.bit_length() + 8) // 8, "big")
    return sshstr(b)


def one_kex(dst, port, src, timeout=10.0):
    """1: got bytes after KEXDH_INIT (the reply), 0: closed/refused first."""
    s = socket.socket()
    s.settimeout(timeout)
    try:
        s.bind((src, 0))
        s.connect((dst, port))
        s.sendall(b"SSH-2.0-kexflood\r\n")
        s.sendall(packet(kexinit()))
        e = int.from_bytes(os.urandom(512), "big") | (1 << 4095) | 1
        s.sendall(packet(bytes([30]) + mpint(e)))
        got = b""
        deadline = time.time() + timeout
        # The server's line and KEXINIT come first; the reply is what follows them.
        while time.time() < deadline:
            d = s.recv(65536)
            if not d:
                return 0
            got += d
            if len(got) > 1200:  # version + KEXINIT are under 1 KiB; the reply carries 512-byte f
                return 1
        return 0
    except OSError:
        return 0
    finally:
        s.close()


def kex(dst, port, sources, conc, seconds, maxconn):
    import threading
    srcs = sources.split(",")
    for a in srcs + [dst]:
        check(a)
    stats = {"connections": 0, "replies": 0, "refused": 0}
    lock = threading.Lock()
    end = time.time() + seconds

    def run(i):
        k = i
        while time.time() < end:
            with lock:
                if stats["connections"] >= maxconn:
                    return
                stats["connections"] += 1
            r = one_kex(dst, port, srcs[k % len(srcs)])
            k += conc
            with lock:
                stats["replies" if r else "refused"] += 1

    th = [threading.Thread(target=run, args=(i,)) for i in range(conc)]
    for t in th:
        t.start()
    for t in th:
        t.join(seconds + 15)
    print("connections %d replies %d refused %d" % (stats["connections"], stats["replies"], stats["refused"]))


def slowloris(dst, port, src, count, seconds):
    check(dst)
    check(src)
    socks = []
    for _ in range(count):
        s = socket.socket()
        s.settimeout(5)
        try:
            s.bind((src, 0))
            s.connect((dst, port))
            s.setblocking(False)
            socks.append(s)
        except OSError:
            s.close()
    line = b"SSH-2.0-" + b"x" * 200
    cut = set()
    end = time.time() + seconds
    i = 0
    while time.time() < end and len(cut) < len(socks):
        for s in socks:
            if s in cut:
                continue
            try:
                s.send(line[i % len(line):i % len(line) + 1])
            except OSError:
                cut.add(s)
        r, _, _ = select.select([s for s in socks if s not in cut], [], [], 1.0)
        for s in r:
            try:
                if s.recv(4096) == b"":
                    cut.add(s)
            except OSError:
                cut.add(s)
        i += 1
    for s in socks:
        s.close()
    print("opened %d cut %d" % (len(socks), len(cut)))


def ignore(dst, port, src, count, size, seconds):
    check(dst)
    check(src)
    s = socket.socket()
    s.settimeout(5)
    s.bind((src, 0))
    s.connect((dst, port))
    s.sendall(b"SSH-2.0-ignoreflood\r\n")
    s.sendall(packet(kexinit()))
    pkt = packet(bytes([2]) + sshstr(os.urandom(size)))
    t0 = time.time()
    sent, is_open = 0, 1
    s.settimeout(1)
    while sent < count and time.time() - t0 < seconds:
        try:
            s.sendall(pkt)
            sent += 1
        except socket.timeout:
            continue  # the server holds our input: its window is closed
        except OSError:
            is_open = 0
            break
    if is_open:
        try:
            s.setblocking(False)
            if s.recv(65536) == b"":
                is_open = 0
        except BlockingIOError:
            pass
        except OSError:
            is_open = 0
    s.close()
    print("sent %d seconds %.1f open %d" % (sent, time.time() - t0, is_open))


if __name__ == "__main__":
    a = sys.argv[1:]
    if len(a) == 7 and a[0] == "kex":
        kex(a[1], int(a[2]), a[3], int(a[4]), float(a[5]), int(a[6]))
    elif len(a) == 7 and a[0] == "ignore":
        ignore(a[1], int(a[2]), a[3], int(a[4]), int(a[5]), float(a[6]))
    elif len(a) == 6 and a[0] == "slowloris":
        slowloris(a[1], int(a[2]), a[3], int(a[4]), float(a[5]))
    else:
        sys.exit(__doc__)
