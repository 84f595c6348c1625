"""Kernel TCP backends for the daemon's end-to-end tests (run inside the test's netns).

  rd HOST PORT LOG        reads every connection to its end and discards; appends
                          "<bytes> <sha256>" to LOG when the peer has closed its side
  wr HOST PORT BYTES      writes BYTES of the `source` stream (AES-128-CTR keystream under
                          the zero key) to every connection, then closes it

Listens at most 600 s; every connection is handled in its own thread with a 60 s idle bound.
"""
import hashlib
import socket
import sys
import threading

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def serve(host, port, handler):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, int(port)))
    s.listen(128)
    s.settimeout(600)
    while True:
        try:
            c, _ = s.accept()
        except OSError:
            return
        c.settimeout(60)
        threading.Thread(target=handler, args=(c,), daemon=True).start()


def rd(log):
    lock = threading.Lock()

    def handle(c):
        h, n = hashlib.sha256(), 0
        try:
            while True:
                d = c.recv(1 << 20)
                if not d:
                    break
                h.update(d)
                n += len(d)
        except OSError:
            n = -n  # cut short: never matches
        c.close()
        with lock, open(log, "a") as f:
            f.write("%d %s\n" % (n, h.hexdigest()))
    return handle


def wr(nbytes):
    def handle(c):
        enc = Cipher(algorithms.AES(bytes(16)), modes.CTR(bytes(16))).encryptor()
        left = nbytes
        try:
            while left > 0:
                k = min(left, 1 << 20)
                c.sendall(enc.update(bytes(k)))
                left -= k
        except OSError:
            pass
        c.close()
    return handle


if __name__ == "__main__":
    mode, host, port, arg = sys.argv[1:5]
    serve(host, port, rd(arg) if mode == "rd" else wr(int(arg)))
