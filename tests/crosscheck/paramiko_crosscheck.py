#!/usr/bin/python3
"""Cross-checks sshterm's record layer against paramiko's Packetizer.

Debian 12's paramiko (2.12) implements aes*-ctr with hmac-sha2-256/512 in
both MAC-then-encrypt and encrypt-then-MAC forms (it has neither
chacha20-poly1305 nor AES-GCM; those are checked against the npm ssh2
package). For each suite:
  1. paramiko seals packets; st-record-tool opens them: payloads must match.
  2. paramiko's plaintext packets (its own padding) sealed by our backend
     (st-record-tool seal-framed) are byte-identical to paramiko's output.
  3. st-record-tool seals; paramiko opens: payloads must match.
Usage: paramiko_crosscheck.py PATH/TO/st-record-tool
Prints "paramiko-crosscheck: N passed, N failed".
"""
import os
import socket
import struct
import subprocess
import sys
import threading

from cryptography.hazmat.backends import default_backend
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from paramiko.packet import Packetizer
from paramiko.message import Message
import hashlib

TOOL = sys.argv[1]
SIZES = [1, 2, 15, 16, 17, 100, 255, 1000, 4096, 16384, 32768, 35000]
SUITES = [
    ("aes128-ctr", 16, "hmac-sha2-256", hashlib.sha256, 32, False),
    ("aes128-ctr", 16, "hmac-sha2-512", hashlib.sha512, 64, False),
    ("aes256-ctr", 32, "hmac-sha2-256-etm@openssh.com", hashlib.sha256, 32, True),
    ("aes256-ctr", 32, "hmac-sha2-512-etm@openssh.com", hashlib.sha512, 64, True),
]
passed = 0
failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("  FAIL " + what)


def engine(key, iv, encrypt):
    c = Cipher(algorithms.AES(key), modes.CTR(iv), backend=default_backend())
    return c.encryptor() if encrypt else c.decryptor()


def tool(mode, suite, key, iv, mackey, data):
    args = [TOOL, mode, suite[0], suite[2], key.hex(), iv.hex(), mackey.hex()]
    return subprocess.run(args, input=data, capture_output=True, check=False)


class Capture:
    """A fake socket that records what paramiko sends."""

    def __init__(self):
        self.data = bytearray()

    def send(self, b):
        self.data += b
        return len(b)

    def sendall(self, b):
        self.data += b

    def settimeout(self, _):
        pass


def packetizer_out(sock, suite, key, iv, mackey):
    p = Packetizer(sock)
    # paramiko starts at sequence number 0; the tool's first data packet is 1.
    p._Packetizer__sequence_number_out = 1
    p.set_outbound_cipher(engine(key, iv, True), 16, suite[3], suite[4], mackey,
                          sdctr=True, etm=suite[5])
    return p


def main():
    for suite in SUITES:
        name = suite[0] + "/" + suite[2]
        key, iv, mackey = os.urandom(suite[1]), os.urandom(16), os.urandom(suite[4])
        payloads = []
        for n in SIZES:
            b = bytearray(os.urandom(n))
            b[0] = 94  # CHANNEL_DATA
            payloads.append(bytes(b))

        # 1: paramiko seals, we open.
        cap = Capture()
        pk = packetizer_out(cap, suite, key, iv, mackey)
        for pl in payloads:
            m = Message(pl)
            pk.send_message(m)
        r = tool("open", suite, key, iv, mackey, bytes(cap.data))
        got = []
        off = 0
        while off + 4 <= len(r.stdout):
            (n,) = struct.unpack(">I", r.stdout[off:off + 4])
            got.append(r.stdout[off + 4:off + 4 + n])
            off += 4 + n
        check(r.returncode == 0 and got == payloads,
              "%s: sshterm opens paramiko's packets (%s)" % (name, r.stderr.decode().strip()))

        # 2: byte identity. Decrypt paramiko's stream to recover its plaintext
        # packets (with its padding), re-seal them with our backend.
        plain = bytearray()
        dec = engine(key, iv, False)
        off, data, maclen = 0, bytes(cap.data), suite[4]
        while off < len(data):
            if suite[5]:  # EtM: length in clear
                (plen,) = struct.unpack(">I", data[off:off + 4])
                body = dec.update(data[off + 4:off + 4 + plen])
                plain += data[off:off + 4] + body
            else:
                first = dec.update(data[off:off + 16])
                (plen,) = struct.unpack(">I", first[:4])
                plain += first + dec.update(data[off + 16:off + 4 + plen])
            off += 4 + plen + maclen
        r = tool("seal-framed", suite, key, iv, mackey, bytes(plain))
        check(r.returncode == 0 and r.stdout == data,
              "%s: byte-identical ciphertext and MACs (%d vs %d bytes)"
              % (name, len(r.stdout), len(data)))

        # 3: we seal, paramiko opens.
        lv = b"".join(struct.pack(">I", len(p)) + p for p in payloads)
        r = tool("seal", suite, key, iv, mackey, lv)
        a, b = socket.socketpair()
        pin = Packetizer(b)
        pin._Packetizer__sequence_number_in = 1
        pin.set_inbound_cipher(engine(key, iv, False), 16, suite[3], suite[4], mackey,
                               etm=suite[5])
        writer = threading.Thread(target=lambda: (a.sendall(r.stdout),
                                                  a.shutdown(socket.SHUT_WR)), daemon=True)
        writer.start()
        got = []
        try:
            for _ in payloads:
                ptype, m = pin.read_message()
                got.append(bytes([ptype]) + m.get_remainder())
        except Exception as e:  # paramiko raises on a bad MAC or EOF
            print("  paramiko: %r" % (e,))
        check(got == payloads, "%s: paramiko opens sshterm's packets (%d/%d)"
              % (name, len(got), len(payloads)))
        # Close only once the writer is done: closing under it is what printed
        # "Bad file descriptor" tracebacks from the thread. Reading b to the end
        # lets a writer blocked on a full socket finish.
        b.settimeout(5)
        try:
            while b.recv(65536):
                pass
        except OSError:
            pass
        writer.join(5)
        a.close()
        b.close()

    print("paramiko-crosscheck: %d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
