// sntrup761 interop against liboqs (the npm package @oqs/liboqs-js, liboqs
// built to WebAssembly), driven by tests/unit/test_sntrup761.c:
//
//   node sntrup761_crosscheck.mjs gen DIR N
//     for i < N: encapsulates to DIR/our_pk.i (DIR/their_ct.i, their_ss.i)
//     and makes a key pair (DIR/their_pk.i, their_sk.i)
//   node sntrup761_crosscheck.mjs dec DIR N
//     for i < N: decapsulates DIR/our_ct.i and DIR/bad_ct.i with their_sk.i
//     (DIR/their_ss_dec.i, their_ss_bad.i)
//
// Exits 0 on success, 1 with a message on stderr otherwise.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSntrup761 } from '@oqs/liboqs-js';

const [mode, dir, nArg] = process.argv.slice(2);
const n = Number(nArg);
if (!['gen', 'dec'].includes(mode) || !dir || !(n > 0)) {
	process.stderr.write('usage: sntrup761_crosscheck.mjs gen|dec DIR N\n');
	process.exit(1);
}

const kem = await createSntrup761();
const rd = (name) => new Uint8Array(readFileSync(join(dir, name)));
const wr = (name, data) => writeFileSync(join(dir, name), data);

for (let i = 0; i < n; i++) {
	if (mode === 'gen') {
		const { ciphertext, sharedSecret } = kem.encapsulate(rd(`our_pk.${i}`));
		wr(`their_ct.${i}`, ciphertext);
		wr(`their_ss.${i}`, sharedSecret);
		const { publicKey, secretKey } = kem.generateKeyPair();
		wr(`their_pk.${i}`, publicKey);
		wr(`their_sk.${i}`, secretKey);
	} else {
		const sk = rd(`their_sk.${i}`);
		wr(`their_ss_dec.${i}`, kem.decapsulate(rd(`our_ct.${i}`), sk));
		wr(`their_ss_bad.${i}`, kem.decapsulate(rd(`bad_ct.${i}`), sk));
	}
}
