#!/usr/bin/env python3
"""Kernel-side TCP client/server helpers for the dataplane e2e tests.

Modes (all bounded in time by --timeout):
  send HOST PORT BYTES        connect, send the pattern, close; print tx sha
  recv HOST PORT              connect, read to EOF; print rx bytes + sha
  recvslow HOST PORT SECS     same with a small receive buffer and a SECS pause first
  echo HOST PORT BYTES        connect, send BYTES while reading the echo; check equal
  many HOST PORT N BYTES      N concurrent echo connections of BYTES each
  server PORT NCONNS SEND_BYTES   accept NCONNS connections: read each to EOF, send; print shas
  sha BYTES                   print the SHA-256 of BYTES of the pattern
"""
import hashlib, os, selectors, socket, sys, time

PAT_LEN = 1024
BLOCK = bytes(((i * 7 + (i >> 8) * 13 + 0x41) & 0xff) for i in range(PAT_LEN))


def pattern(n):
    """Generator of pattern chunks totalling n bytes (period 1024)."""
    big = BLOCK * 256  # 256 KiB, a multiple of the period
    while n > 0:
        k = min(n, len(big))
        yield big[:k]
        n -= k


def main():
    args = sys.argv[1:]
    timeout = 120.0
    if args and args[0] == "--timeout":
        timeout = float(args[1])
        args = args[2:]
    deadline = time.monotonic() + timeout
    mode = args[0]

    def left():
        t = deadline - time.monotonic()
        if t <= 0:
            raise TimeoutError("deadline")
        return t

    if mode == "send":
        host, port, n = args[1], int(args[2]), int(args[3])
        s = socket.create_connection((host, port), timeout=left())
        h = hashlib.sha256()
        for chunk in pattern(n):
            s.settimeout(left())
            s.sendall(chunk)
            h.update(chunk)
        s.shutdown(socket.SHUT_WR)
        s.settimeout(left())
        while s.recv(65536):
            pass
        s.close()
        print("tx=%d tx_sha256=%s" % (n, h.hexdigest()))
    elif mode in ("recv", "recvslow"):
        # recvslow HOST PORT SECONDS: small receive buffer, read nothing for SECONDS
        # (the sender sees a zero window and must probe), then read to EOF.
        host, port = args[1], int(args[2])
        s = socket.socket()
        if mode == "recvslow":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        s.settimeout(left())
        s.connect((host, port))
        if mode == "recvslow":
            time.sleep(float(args[3]))
        h = hashlib.sha256()
        total = 0
        while True:
            s.settimeout(left())
            b = s.recv(1 << 20)
            if not b:
                break
            h.update(b)
            total += len(b)
        s.close()
        print("rx=%d rx_sha256=%s" % (total, h.hexdigest()))
    elif mode == "echo":
        host, port, n = args[1], int(args[2]), int(args[3])
        s = socket.create_connection((host, port), timeout=left())
        s.setblocking(False)
        sel = selectors.DefaultSelector()
        sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
        gen = pattern(n)
        buf = b""
        sent = 0
        htx, hrx = hashlib.sha256(), hashlib.sha256()
        got = 0
        shut = False
        while got < n or not shut:
            for key, ev in sel.select(timeout=min(1.0, left())):
                if ev & selectors.EVENT_WRITE:
                    if not buf:
                        buf = next(gen, b"")
                        htx.update(buf)
                    if buf:
                        k = s.send(buf)
                        sent += k
                        buf = buf[k:]
                    elif not shut:
                        s.shutdown(socket.SHUT_WR)
                        shut = True
                        sel.modify(s, selectors.EVENT_READ)
                if ev & selectors.EVENT_READ:
                    b = s.recv(1 << 20)
                    if not b:
                        raise RuntimeError("early EOF after %d" % got)
                    hrx.update(b)
                    got += len(b)
            left()
        s.setblocking(True)
        s.settimeout(left())
        rest = s.recv(1)
        s.close()
        print("tx=%d rx=%d tx_sha256=%s rx_sha256=%s eof=%d" %
              (sent, got, htx.hexdigest(), hrx.hexdigest(), rest == b""))
        sys.exit(0 if htx.digest() == hrx.digest() and sent == n and got == n and rest == b"" else 1)
    elif mode == "many":
        host, port, count, n = args[1], int(args[2]), int(args[3]), int(args[4])
        sel = selectors.DefaultSelector()
        payload = b"".join(pattern(n))
        want = hashlib.sha256(payload).digest()
        conns = {}
        for i in range(count):
            s = socket.socket()
            s.setblocking(False)
            try:
                s.connect((host, port))
            except BlockingIOError:
                pass
            st = {"sent": 0, "got": bytearray(), "shut": False, "done": False}
            conns[s] = st
            sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE, st)
        done = 0
        bad = 0
        while done < count:
            for key, ev in sel.select(timeout=min(1.0, left())):
                s, st = key.fileobj, key.data
                if ev & selectors.EVENT_WRITE:
                    if st["sent"] < n:
                        try:
                            st["sent"] += s.send(payload[st["sent"]:st["sent"] + 65536])
                        except (BlockingIOError, InterruptedError):
                            pass
                    if st["sent"] >= n and not st["shut"]:
                        s.shutdown(socket.SHUT_WR)
                        st["shut"] = True
                        sel.modify(s, selectors.EVENT_READ, st)
                if ev & selectors.EVENT_READ:
                    try:
                        b = s.recv(1 << 16)
                    except (BlockingIOError, InterruptedError):
                        continue
                    if b:
                        st["got"] += b
                    else:
                        if hashlib.sha256(bytes(st["got"])).digest() != want:
                            bad += 1
                        sel.unregister(s)
                        s.close()
                        done += 1
            left()
        print("conns=%d ok=%d bad=%d" % (count, count - bad, bad))
        sys.exit(0 if bad == 0 else 1)
    elif mode == "server":
        # server PORT NCONNS SEND_BYTES: accept NCONNS connections; on each read to
        # EOF while sending SEND_BYTES of the pattern, then close. One line per conn.
        port, nconns, send_n = int(args[1]), int(args[2]), int(args[3])
        ls = socket.socket()
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("0.0.0.0", port))
        ls.listen(1024)
        ls.setblocking(False)
        print("listening", flush=True)
        sel = selectors.DefaultSelector()
        sel.register(ls, selectors.EVENT_READ, None)
        payload = b"".join(pattern(send_n)) if send_n <= (64 << 20) else None
        accepted = done = 0
        results = []
        while done < nconns:
            for key, ev in sel.select(timeout=min(1.0, left())):
                if key.data is None:
                    try:
                        s, peer = ls.accept()
                    except BlockingIOError:
                        continue
                    s.setblocking(False)
                    accepted += 1
                    st = {"h": hashlib.sha256(), "rx": 0, "sent": 0, "eof": False,
                          "shut": send_n == 0, "peer": peer}
                    if st["shut"]:
                        s.shutdown(socket.SHUT_WR)
                    sel.register(s, selectors.EVENT_READ | (0 if st["shut"] else selectors.EVENT_WRITE), st)
                    continue
                s, st = key.fileobj, key.data
                if ev & selectors.EVENT_READ and not st["eof"]:
                    try:
                        b = s.recv(1 << 20)
                    except (BlockingIOError, InterruptedError):
                        b = None
                    if b == b"":
                        st["eof"] = True
                    elif b:
                        st["h"].update(b)
                        st["rx"] += len(b)
                if ev & selectors.EVENT_WRITE and not st["shut"]:
                    try:
                        st["sent"] += s.send(payload[st["sent"]:st["sent"] + (1 << 20)])
                    except (BlockingIOError, InterruptedError):
                        pass
                    if st["sent"] >= send_n:
                        s.shutdown(socket.SHUT_WR)
                        st["shut"] = True
                if st["eof"] and st["shut"]:
                    sel.unregister(s)
                    s.close()
                    done += 1
                    results.append("rx=%d rx_sha256=%s tx=%d" % (st["rx"], st["h"].hexdigest(), st["sent"]))
                elif st["eof"]:
                    sel.modify(s, selectors.EVENT_WRITE, st)
                elif st["shut"]:
                    sel.modify(s, selectors.EVENT_READ, st)
            left()
        txsha = hashlib.sha256(payload).hexdigest() if payload is not None else "-"
        for r in results:
            print("%s tx_sha256=%s" % (r, txsha))
    elif mode == "sha":
        h = hashlib.sha256()
        for chunk in pattern(int(args[1])):
            h.update(chunk)
        print(h.hexdigest())
    else:
        print(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa
        print("error: %r" % (e,))
        sys.exit(1)
