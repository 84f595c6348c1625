"""paramiko (2.12, /usr/bin/python3) against build/sshterm-harness on 127.0.0.1.

usage: paramiko_client.py PORT USER KEYFILE KNOWN_HOSTS SIZE

Each kex paramiko shares with us, each host key algorithm, each aes-ctr x
hmac-sha2(-etm) pair; exec sink / source / echo checked by SHA-256; three
channels at once on one connection. Prints "  ok NAME" / "  FAIL NAME: why"
and "paramiko: N passed, N failed".
"""
import hashlib
import socket
import sys
import threading

import paramiko
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

PORT, USER, KEYFILE, KNOWN, SIZE = (int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4],
                                    int(sys.argv[5]))
KEY = paramiko.Ed25519Key.from_private_key_file(KEYFILE)
HOSTKEYS = paramiko.HostKeys(KNOWN)
results = [0, 0]


def ok(name):
    results[0] += 1
    print("  ok   " + name, flush=True)


def bad(name, why):
    results[1] += 1
    print("  FAIL %s: %s" % (name, why), flush=True)


def source_stream(n):
    """The `source` service's stream, generated independently of OpenSSL's CLI."""
    enc = Cipher(algorithms.AES(bytes(16)), modes.CTR(bytes(16))).encryptor()
    return enc.update(bytes(n))


def connect(kex=None, hk=None, cipher=None, mac=None):
    sock = socket.create_connection(("127.0.0.1", PORT), timeout=30)
    t = paramiko.Transport(sock)
    so = t.get_security_options()
    if kex:
        so.kex = (kex,)
    if hk:
        so.key_types = (hk,)
    if cipher:
        so.ciphers = (cipher,)
    if mac:
        so.digests = (mac,)
    t.start_client(timeout=30)
    key = t.get_remote_server_key()
    known = HOSTKEYS.lookup("[127.0.0.1]:%d" % PORT)
    if known is None or key.get_name() not in known or known[key.get_name()] != key:
        t.close()
        raise Exception("host key not in known_hosts: " + key.get_name())
    t.auth_publickey(USER, KEY)
    return t


def run(t, command, data=b""):
    """exec command, send data (from a thread), collect stdout; returns (out, status)."""
    ch = t.open_session(timeout=30)
    ch.settimeout(120)
    ch.exec_command(command)
    err = []

    def sender():
        try:
            view = memoryview(data)
            for off in range(0, len(view), 65536):
                ch.sendall(view[off:off + 65536])
            ch.shutdown_write()
        except Exception as e:  # noqa: BLE001
            err.append(e)

    th = threading.Thread(target=sender)
    th.start()
    out = []
    while True:
        d = ch.recv(1 << 20)
        if not d:
            break
        out.append(d)
    th.join(120)
    status = ch.recv_exit_status()
    ch.close()
    if err:
        raise err[0]
    return b"".join(out), status


def sha(b):
    return hashlib.sha256(b).hexdigest()


def check_all(t, name, size):
    data = bytes(range(256)) * (size // 256)
    want = sha(data)
    out, st = run(t, "sink", data)
    if out.decode() != "%d %s\n" % (len(data), want) or st != 0:
        return bad(name + " sink", repr(out[:100]) + " status %s" % st)
    ok(name + " sink")
    out, st = run(t, "echo", data)
    if sha(out) != want or st != 0:
        return bad(name + " echo", "%d bytes, status %s" % (len(out), st))
    ok(name + " echo")
    out, st = run(t, "source %d" % size)
    if out != source_stream(size) or st != 0:
        return bad(name + " source", "%d bytes, status %s" % (len(out), st))
    ok(name + " source")


def main():
    # Main run: defaults, SIZE bytes each way.
    try:
        t = connect()
        check_all(t, "default %d MiB" % (SIZE >> 20), SIZE)
        # Three channels at once on the same connection.
        data = bytes(range(256)) * 4096
        res = {}

        def one(cmd, payload):
            try:
                res[cmd] = run(t, cmd, payload)
            except Exception as e:  # noqa: BLE001
                res[cmd] = (repr(e).encode(), -1)
        ths = [threading.Thread(target=one, args=a) for a in
               (("sink", data), ("echo", data), ("source 1048576", b""))]
        for th in ths:
            th.start()
        for th in ths:
            th.join(120)
        if (res.get("sink", (b"", 1))[0].decode() == "%d %s\n" % (len(data), sha(data)) and
                sha(res.get("echo", (b"", 1))[0]) == sha(data) and
                res.get("source 1048576", (b"", 1))[0] == source_stream(1048576)):
            ok("three channels on one connection")
        else:
            bad("three channels on one connection", repr({k: v[0][:60] for k, v in res.items()}))
        t.close()
    except Exception as e:  # noqa: BLE001
        bad("default", repr(e))

    # Algorithm coverage, small transfers.
    rows = [
        ("curve25519-sha256@libssh.org", "ssh-ed25519", "aes128-ctr", "hmac-sha2-256"),
        ("ecdh-sha2-nistp256", "ecdsa-sha2-nistp256", "aes256-ctr", "hmac-sha2-512"),
        ("diffie-hellman-group16-sha512", "rsa-sha2-512", "aes128-ctr",
         "hmac-sha2-256-etm@openssh.com"),
        ("diffie-hellman-group14-sha256", "rsa-sha2-256", "aes256-ctr",
         "hmac-sha2-512-etm@openssh.com"),
    ]
    for kex, hk, cipher, mac in rows:
        name = "%s %s %s %s" % (kex, hk, cipher, mac)
        try:
            t = connect(kex, hk, cipher, mac)
            if t.host_key_type != hk or t.local_cipher != cipher or t.local_mac != mac:
                bad(name, "negotiated %s %s %s" % (t.host_key_type, t.local_cipher, t.local_mac))
            else:
                data = bytes(range(256)) * 4096
                out, st = run(t, "echo", data)
                if sha(out) == sha(data) and st == 0:
                    ok(name)
                else:
                    bad(name, "echo mismatch")
            t.close()
        except Exception as e:  # noqa: BLE001
            bad(name, repr(e))

    # A key not in authorized_keys is refused.
    try:
        sock = socket.create_connection(("127.0.0.1", PORT), timeout=30)
        t = paramiko.Transport(sock)
        t.start_client(timeout=30)
        try:
            t.auth_publickey(USER, paramiko.Ed25519Key.from_private_key_file(KEYFILE + ".other"))
            bad("other key refused", "accepted")
        except paramiko.AuthenticationException:
            ok("other key refused")
        t.close()
    except Exception as e:  # noqa: BLE001
        bad("other key refused", repr(e))

    print("paramiko: %d passed, %d failed" % tuple(results))
    return 0 if results[1] == 0 else 1


sys.exit(main())
