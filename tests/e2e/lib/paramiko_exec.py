"""One paramiko (Debian's 2.12, /usr/bin/python3) exec channel against the daemon.

  paramiko_exec.py HOST USER KEY KNOWN_HOSTS read CMD
      opens the session with a 1 GiB window, so it never sends a window adjust,
      writes nothing, reads to EOF; prints "<bytes> <sha256> <seconds>"
  paramiko_exec.py HOST USER KEY KNOWN_HOSTS send CMD BYTES CHUNK
      sends BYTES of random data (os.urandom) as
      CHANNEL_DATA messages of CHUNK bytes, then EOF; waits for the channel to
      close; prints "<bytes> <sha256> <seconds>" of what it sent

Bounded: every socket operation times out after 60 s.
"""
import hashlib
import os
import sys
import time

import paramiko

host, user, keyfile, known, mode, cmd = sys.argv[1:7]
key = paramiko.PKey.from_path(keyfile) if hasattr(paramiko.PKey, "from_path") else \
    paramiko.Ed25519Key.from_private_key_file(keyfile)
client = paramiko.SSHClient()
client.load_host_keys(known)
client.set_missing_host_key_policy(paramiko.RejectPolicy())
client.connect(host, 22, username=user, pkey=key, timeout=30, allow_agent=False,
               look_for_keys=False, banner_timeout=30, auth_timeout=30)
chan = client.get_transport().open_session(window_size=1 << 30, max_packet_size=32768)
chan.settimeout(60)
chan.exec_command(cmd)
h, n, t0 = hashlib.sha256(), 0, time.monotonic()
if mode == "read":
    while True:
        d = chan.recv(1 << 20)
        if not d:
            break
        h.update(d)
        n += len(d)
else:
    total, chunk = int(sys.argv[7]), int(sys.argv[8])
    while n < total:
        d = os.urandom(min(chunk, total - n))
        chan.sendall(d)  # one CHANNEL_DATA of len(d) bytes while the window allows
        h.update(d)
        n += len(d)
    chan.shutdown_write()
    while chan.recv(65536):
        pass
print("%d %s %.2f" % (n, h.hexdigest(), time.monotonic() - t0), flush=True)
client.close()
