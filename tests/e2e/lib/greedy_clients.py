"""Paramiko (Debian's 2.12, /usr/bin/python3) clients that hold on to the daemon's buffers.

  greedy_clients.py HOST USER KEY KNOWN_HOSTS greedy SESSIONS BYTES SHA256 [RCVBUF]
      opens SESSIONS connections, each with a kernel receive buffer of RCVBUF
      bytes (default 128 KiB, set before connect: the TCP window stays small, so
      the daemon's send buffer fills as soon as this process stops reading), and
      on each one exec channel with a 1 GiB window (no window adjust is ever
      needed) running `source BYTES`. Prints "ready <pid>" once every channel
      has delivered its first bytes: the caller may SIGSTOP <pid> then and
      SIGCONT it later. Reads every channel to its end and prints one summary
      line: "<n> ok" when all SESSIONS sessions got BYTES bytes whose SHA-256
      is SHA256, else "<ok> ok, <k> bad: <i>=<bytes>/<sha256 prefix>|<error> ...".
  greedy_clients.py HOST USER KEY KNOWN_HOSTS flood BYTES
      one exec channel with paramiko's default window running `echo`; writes up
      to BYTES and never reads what comes back, so the daemon's echo output is
      held back by the SSH window. Prints "stalled <sent>" once no byte could be
      written for 2 s ("sent <sent>" if all BYTES went through), then holds the
      session open until SIGTERM (or 120 s), closes it and prints "closed".

Bounded: connects and channel requests time out after 30 s, "ready" comes within
60 s of the last exec, the greedy readers give up 240 s after they started (wall clock, a stopped time included), the
flood writes for at most 30 s.
"""
import hashlib
import os
import signal
import socket
import sys
import threading
import time

import paramiko


def connect(host, user, keyfile, known, rcvbuf=0):
    key = paramiko.PKey.from_path(keyfile) if hasattr(paramiko.PKey, "from_path") else \
        paramiko.Ed25519Key.from_private_key_file(keyfile)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(30)
    sock.connect((host, 22))
    client = paramiko.SSHClient()
    client.load_host_keys(known)
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(host, 22, username=user, pkey=key, sock=sock, timeout=30,
                   allow_agent=False, look_for_keys=False, banner_timeout=30,
                   auth_timeout=30)
    return client


def greedy(host, user, keyfile, known, sessions, nbytes, want, rcvbuf):
    clients, chans = [], []
    for _ in range(sessions):
        c = connect(host, user, keyfile, known, rcvbuf)
        clients.append(c)
        ch = c.get_transport().open_session(window_size=1 << 30, max_packet_size=32768,
                                            timeout=30)
        ch.settimeout(300)  # longer than any stop the caller imposes
        chans.append(ch)
    # Every channel is open before any starts: they all send at once.
    for ch in chans:
        ch.exec_command("source %d" % nbytes)
    deadline = time.time() + 240
    started = [threading.Event() for _ in chans]
    result = [None] * len(chans)

    def reader(i):
        h, n = hashlib.sha256(), 0
        try:
            while time.time() < deadline:
                d = chans[i].recv(1 << 20)
                if not d:
                    break
                h.update(d)
                n += len(d)
                started[i].set()
            result[i] = (n, h.hexdigest())
        except Exception as e:  # noqa: BLE001 - reported in the summary
            result[i] = (n, "%s" % type(e).__name__)
        started[i].set()

    threads = [threading.Thread(target=reader, args=(i,), daemon=True)
               for i in range(len(chans))]
    for t in threads:
        t.start()
    first = time.time() + 60
    for e in started:
        e.wait(max(0.0, first - time.time()))
    print("ready %d" % os.getpid(), flush=True)
    for t in threads:
        t.join(max(0.0, deadline - time.time()))
    good, bad = 0, []
    for i, r in enumerate(result):
        if r is not None and r == (nbytes, want):
            good += 1
        else:
            bad.append("%d=%s" % (i, "unfinished" if r is None else
                                  "%d/%s" % (r[0], r[1][:12])))
    if bad:
        print("%d ok, %d bad: %s" % (good, len(bad), " ".join(bad)), flush=True)
    else:
        print("%d ok" % good, flush=True)
    for c in clients:
        c.close()
    return 0 if not bad else 1


def flood(host, user, keyfile, known, nbytes):
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    client = connect(host, user, keyfile, known)
    ch = client.get_transport().open_session(timeout=30)  # paramiko's default window
    ch.exec_command("echo")
    ch.settimeout(0.2)
    buf = os.urandom(32768)
    sent, t0, last = 0, time.monotonic(), time.monotonic()
    while sent < nbytes and time.monotonic() - t0 < 30 and not stop.is_set():
        try:
            k = ch.send(buf[:min(len(buf), nbytes - sent)])
        except socket.timeout:
            k = 0
        if k > 0:
            sent += k
            last = time.monotonic()
        elif ch.closed or time.monotonic() - last >= 2:
            break
    print("%s %d" % ("sent" if sent >= nbytes else "stalled", sent), flush=True)
    hold = time.monotonic() + 120
    while not stop.is_set() and time.monotonic() < hold:
        stop.wait(0.2)
    client.close()
    print("closed", flush=True)
    return 0


def main():
    host, user, keyfile, known, mode = sys.argv[1:6]
    if mode == "greedy":
        sessions, nbytes, want = int(sys.argv[6]), int(sys.argv[7]), sys.argv[8]
        rcvbuf = int(sys.argv[9]) if len(sys.argv) > 9 else 128 * 1024
        return greedy(host, user, keyfile, known, sessions, nbytes, want, rcvbuf)
    if mode == "flood":
        return flood(host, user, keyfile, known, int(sys.argv[6]))
    print("unknown mode %s" % mode, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
