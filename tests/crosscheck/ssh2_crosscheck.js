// Cross-checks sshterm's record layer against the npm `ssh2` package's own
// JavaScript composition of chacha20-poly1305@openssh.com (with its own
// Poly1305) and aes{128,256}-gcm@openssh.com (forceNative: no C binding).
//   node ssh2_crosscheck.js PATH/TO/st-record-tool
// For each suite and a set of payload sizes:
//   1. ssh2 frames and encrypts packets; st-record-tool seal-framed encrypts
//      the same plaintext packets with the same keys: bytes must be identical.
//   2. st-record-tool open decrypts ssh2's packets: payloads must match.
//   3. st-record-tool seal encrypts; ssh2 decrypts: payloads must match.
// Prints "ssh2-crosscheck: N passed, N failed".
'use strict';

const { execFileSync } = require('child_process');
const { randomBytes } = require('crypto');
const path = require('path');

const modDir = process.env.SSH2_MODULES || path.join(__dirname, 'node_modules');
const crypto = require(path.join(modDir, 'ssh2/lib/protocol/crypto.js'));

const tool = process.argv[2];
// ssh2 caps a whole packet at 35000 bytes, so its largest payload is a bit less.
const SIZES = [1, 2, 3, 7, 8, 15, 16, 17, 31, 32, 33, 100, 255, 256, 1000, 4096,
  16384, 32768, 34900];
const SUITES = ['chacha20-poly1305@openssh.com', 'aes128-gcm@openssh.com',
  'aes256-gcm@openssh.com'];

let passed = 0;
let failed = 0;
function check(ok, what) {
  if (ok) {
    passed++;
  } else {
    failed++;
    console.log(`  FAIL ${what}`);
  }
}

function u32(n) {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
}

function frameLV(payloads) {
  return Buffer.concat(payloads.flatMap((p) => [u32(p.length), p]));
}

function parseLV(buf) {
  const out = [];
  for (let off = 0; off + 4 <= buf.length;) {
    const n = buf.readUInt32BE(off);
    out.push(buf.subarray(off + 4, off + 4 + n));
    off += 4 + n;
  }
  return out;
}

function runTool(mode, suite, key, iv, input) {
  return execFileSync(tool, [mode, suite, '-', key.toString('hex'),
    iv.length ? iv.toString('hex') : '-', '-'], { input, maxBuffer: 1 << 30 });
}

async function main() {
  await crypto.init;
  for (const suite of SUITES) {
    const info = crypto.CIPHER_INFO[suite];
    const key = randomBytes(info.keyLen);
    const iv = randomBytes(info.ivLen);
    const payloads = SIZES.map((n) => {
      const p = randomBytes(n);
      p[0] = 94; // CHANNEL_DATA: never a key-exchange message
      return p;
    });

    // 1 + 2: ssh2 seals (sequence numbers from 1, as the tool expects).
    const wire = [];
    const plaintexts = [];
    const cipher = crypto.createCipher({
      outbound: {
        onWrite: (b) => wire.push(Buffer.from(b)),
        // ssh2 advances the GCM IV in place: give it copies.
        cipherInfo: info, cipherKey: key, cipherIV: Buffer.from(iv), seqno: 1, forceNative: true,
      },
    });
    for (const p of payloads) {
      const pkt = cipher.allocPacket(p.length);
      p.copy(pkt, 5);
      plaintexts.push(Buffer.from(pkt)); // before encryption, padding included
      cipher.encrypt(pkt);
    }
    const theirs = Buffer.concat(wire);
    const ours = runTool('seal-framed', suite, key, iv, Buffer.concat(plaintexts));
    check(Buffer.compare(ours, theirs) === 0,
      `${suite}: byte-identical ciphertext (${ours.length} vs ${theirs.length} bytes)`);

    let opened = [];
    try {
      opened = parseLV(runTool('open', suite, key, iv, theirs));
    } catch (e) {
      check(false, `${suite}: open of ssh2 packets: ${e.stderr}`);
    }
    check(opened.length === payloads.length &&
      opened.every((p, i) => Buffer.compare(p, payloads[i]) === 0),
    `${suite}: sshterm opens ssh2's packets`);

    // 3: sshterm seals, ssh2 opens.
    const sealed = runTool('seal', suite, key, iv, frameLV(payloads));
    const got = [];
    const decipher = crypto.createDecipher({
      inbound: {
        onPayload: (p) => { got.push(Buffer.from(p)); },
        decipherInfo: info, decipherKey: key, decipherIV: Buffer.from(iv), seqno: 1,
        forceNative: true,
      },
    });
    try {
      decipher.decrypt(sealed, 0, sealed.length);
    } catch (e) {
      check(false, `${suite}: ssh2 decrypt threw ${e.message}`);
    }
    check(got.length === payloads.length &&
      got.every((p, i) => Buffer.compare(p, payloads[i]) === 0),
    `${suite}: ssh2 opens sshterm's packets (${got.length}/${payloads.length})`);

    // A flipped bit in sshterm's output is rejected by ssh2.
    const bad = Buffer.from(sealed);
    bad[bad.length - 1] ^= 1;
    let rejected = false;
    const d2 = crypto.createDecipher({
      inbound: {
        onPayload: () => {},
        decipherInfo: info, decipherKey: key, decipherIV: Buffer.from(iv), seqno: 1,
        forceNative: true,
      },
    });
    try {
      d2.decrypt(bad, 0, bad.length);
    } catch (e) {
      rejected = true;
    }
    check(rejected, `${suite}: ssh2 rejects a tampered sshterm packet`);
  }
  console.log(`ssh2-crosscheck: ${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}

main().catch((e) => {
  console.log(`ssh2-crosscheck: error ${e.stack}`);
  console.log(`ssh2-crosscheck: ${passed} passed, ${failed + 1} failed`);
  process.exit(1);
});
