/*
 * Record layer and EVP backend: known-answer vectors for the primitives the
 * backend is built from, then round trips, fragmentation, tampering,
 * truncation, sequence binding and key changes for every cipher suite.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "crypto/backend.h"
#include "crypto/buf.h"
#include "crypto/evp_prims.h"
#include "crypto/secmem.h"
#include "dataplane/ssh/msg.h"
#include "dataplane/ssh/record.h"
#include "tests/unit/test.h"

/* ---------------- known answers ---------------- */

/* The GCM specification's test cases 2, 3, 4 (AES-128) and 13, 14 (AES-256). */
static void test_kat_aes_gcm(void)
{
	static const struct {
		const char *cipher, *key, *iv, *aad, *pt, *ct, *tag;
	} v[] = {
		{"AES-128-GCM", "00000000000000000000000000000000", "000000000000000000000000", "",
		 "00000000000000000000000000000000", "0388dace60b6a392f328c2b971b2fe78",
		 "ab6e47d42cec13bdf53a67b21257bddf"},
		{"AES-128-GCM", "feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888", "",
		 "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
		 "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
		 "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
		 "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
		 "4d5c2af327cd64a62cf35abd2ba6fab4"},
		{"AES-128-GCM", "feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
		 "feedfacedeadbeeffeedfacedeadbeefabaddad2",
		 "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
		 "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
		 "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
		 "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
		 "5bc94fbc3221a5db94fae95ae7121a47"},
		{"AES-256-GCM", "0000000000000000000000000000000000000000000000000000000000000000",
		 "000000000000000000000000", "", "", "", "530f8afbc74536b9a963b4f1c4cb738b"},
		{"AES-256-GCM", "0000000000000000000000000000000000000000000000000000000000000000",
		 "000000000000000000000000", "", "00000000000000000000000000000000",
		 "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919"},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint8_t key[32], iv[12], aad[32], pt[64], ct[64], tag[16], buf[80], t[16];
		size_t kl = st_test_unhex(v[i].key, key, sizeof(key));
		st_test_unhex(v[i].iv, iv, sizeof(iv));
		size_t al = st_test_unhex(v[i].aad, aad, sizeof(aad));
		size_t pl = st_test_unhex(v[i].pt, pt, sizeof(pt));
		st_test_unhex(v[i].ct, ct, sizeof(ct));
		st_test_unhex(v[i].tag, tag, sizeof(tag));
		(void)kl;
		EVP_CIPHER_CTX *enc = NULL, *dec = NULL;
		CHECK_OK(st_evp_cipher_key(&enc, v[i].cipher, key, NULL, 1));
		CHECK_OK(st_evp_cipher_key(&dec, v[i].cipher, key, NULL, 0));
		memcpy(buf, pt, pl);
		CHECK_OK(st_evp_gcm_seal(enc, iv, aad, al, buf, pl, t));
		CHECK_MEM(buf, ct, pl);
		CHECK_MEM(t, tag, 16);
		CHECK_OK(st_evp_gcm_open(dec, iv, aad, al, buf, pl, t));
		CHECK_MEM(buf, pt, pl);
		t[15] ^= 1;
		memcpy(buf, ct, pl);
		CHECK_ERR(st_evp_gcm_open(dec, iv, aad, al, buf, pl, t), ST_ERR_MAC_INVALID);
		EVP_CIPHER_CTX_free(enc);
		EVP_CIPHER_CTX_free(dec);
	}
}

/* RFC 8439 §2.4.2 (ChaCha20 encryption). */
static void test_kat_chacha20(void)
{
	static const char pt[] = "Ladies and Gentlemen of the class of '99: If I could offer you "
				 "only one tip for the future, sunscreen would be it.";
	static const char ct_hex[] =
		"6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0b"
		"f91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d8"
		"07ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab7793736"
		"5af90bbf74a35be6b40b8eedf2785e42874d";
	uint8_t key[32], ct[sizeof(pt)], out[sizeof(pt)];
	/* The RFC's 96-bit nonce starts with 32 zero bits, i.e. counter-high = 0 in
	 * the 64/64 layout; the remaining 8 bytes are the 64-bit nonce. */
	static const uint8_t nonce_enc[8] = {0, 0, 0, 0x4a, 0, 0, 0, 0};
	EVP_CIPHER_CTX *ctx = NULL;
	size_t n = sizeof(pt) - 1;

	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
	st_test_unhex(ct_hex, ct, sizeof(ct));
	CHECK_OK(st_evp_cipher_key(&ctx, "ChaCha20", key, NULL, 1));
	CHECK_OK(st_evp_chacha20(ctx, nonce_enc, 1, (const uint8_t *)pt, out, n));
	CHECK_MEM(out, ct, n);
	/* Decrypting is the same operation. */
	CHECK_OK(st_evp_chacha20(ctx, nonce_enc, 1, ct, out, n));
	CHECK_MEM(out, pt, n);
	EVP_CIPHER_CTX_free(ctx);
}

/* RFC 8439 §2.5.2 and §2.6.2 (Poly1305 key generation with ChaCha20). */
static void test_kat_poly1305(void)
{
	uint8_t key[32], tag[16], want[16];
	EVP_MAC_CTX *mac = NULL;
	static const char msg[] = "Cryptographic Forum Research Group";

	st_test_unhex("85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b", key,
		      sizeof(key));
	st_test_unhex("a8061dc1305136c6c22b8baf0c0127a9", want, sizeof(want));
	CHECK_OK(st_evp_mac_setup(&mac, "POLY1305", NULL, NULL, 0));
	CHECK_OK(st_evp_poly1305(mac, key, (const uint8_t *)msg, sizeof(msg) - 1, tag));
	CHECK_MEM(tag, want, 16);
	/* Reusing the context with another key must not carry state over. */
	CHECK_OK(st_evp_poly1305(mac, key, (const uint8_t *)msg, sizeof(msg) - 1, tag));
	CHECK_MEM(tag, want, 16);
	EVP_MAC_CTX_free(mac);

	/* §2.6.2: one-time key = first 32 bytes of block 0. */
	uint8_t ckey[32], polykey[64], zero[64] = {0}, wantkey[32];
	for (int i = 0; i < 32; i++)
		ckey[i] = (uint8_t)(0x80 + i);
	/* nonce 00000000 0001020304050607: counter-high word 0, then 8 bytes */
	st_test_unhex("8ad5a08b905f81cc815040274ab29471a833b637e3fd0da508dbb8e2fdd1a646", wantkey,
		      sizeof(wantkey));
	EVP_CIPHER_CTX *ctx = NULL;
	CHECK_OK(st_evp_cipher_key(&ctx, "ChaCha20", ckey, NULL, 1));
	uint8_t n8[8] = {0, 1, 2, 3, 4, 5, 6, 7};
	CHECK_OK(st_evp_chacha20(ctx, n8, 0, zero, polykey, 64));
	CHECK_MEM(polykey, wantkey, 32);
	EVP_CIPHER_CTX_free(ctx);
}

/* RFC 4231 test cases 1, 2 and 6 for HMAC-SHA-256 and HMAC-SHA-512. */
static void test_kat_hmac(void)
{
	static const struct {
		const char *key, *data, *s256, *s512;
	} v[] = {
		{"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "4869205468657265",
		 "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
		 "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
		 "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"},
		{"4a656665", "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
		 "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
		 "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
		 "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		 "aaaaaa",
		 "54657374205573696e67204c6172676572205468616e20426c6f636b2d53697a"
		 "65204b6579202d2048617368204b6579204669727374",
		 "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
		 "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352"
		 "6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598"},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint8_t key[160], data[128], want[64], out[64];
		size_t kl = st_test_unhex(v[i].key, key, sizeof(key));
		size_t dl = st_test_unhex(v[i].data, data, sizeof(data));
		for (int sha512 = 0; sha512 <= 1; sha512++) {
			EVP_MAC_CTX *mac = NULL;
			size_t ml = sha512 ? 64 : 32;
			st_test_unhex(sha512 ? v[i].s512 : v[i].s256, want, sizeof(want));
			CHECK_OK(st_evp_mac_setup(&mac, "HMAC", sha512 ? "SHA2-512" : "SHA2-256",
						  key, kl));
			/* The first 4 bytes go through the sequence-number prefix path. */
			CHECK_OK(st_evp_hmac(mac, data, 4, data + 4, dl - 4, out, ml));
			CHECK_MEM(out, want, ml);
			/* Restarting with the stored key gives the same answer. */
			CHECK_OK(st_evp_hmac(mac, NULL, 0, data, dl, out, ml));
			CHECK_MEM(out, want, ml);
			EVP_MAC_CTX_free(mac);
		}
	}
}

/* ---------------- record layer ---------------- */


/* A sender and a receiver keyed with the same suite through a real NEWKEYS. */
struct pair {
	struct st_record tx, rx;
	struct st_buf wire;
};

static void pair_send(struct pair *p, const uint8_t *payload, size_t len)
{
	CHECK_OK(st_record_send(&p->tx, payload, len, &p->wire));
}

static void pair_init(struct pair *p, const struct st_test_suite *s, uint64_t seed)
{
	struct st_dir_keys k;
	uint8_t nk = SSH_MSG_NEWKEYS;
	unsigned n;
	struct st_record_msg m[1];
	size_t used;

	CHECK_OK(st_record_init(&p->tx, &st_crypto_backend_evp, 0));
	CHECK_OK(st_record_init(&p->rx, &st_crypto_backend_evp, 0));
	CHECK_OK(st_buf_alloc(&p->wire, 0, 64u << 20));
	if (s == NULL)
		return;
	st_test_suite_keys(s, seed, &k);
	CHECK_OK(st_record_set_next_keys(&p->tx, &k, NULL));
	CHECK_OK(st_record_set_next_keys(&p->rx, NULL, &k));
	st_wipe(&k, sizeof(k));
	pair_send(p, &nk, 1);
	st_record_feed(&p->rx, st_buf_ptr(&p->wire), st_buf_avail(&p->wire), &used);
	CHECK_INT(used, st_buf_avail(&p->wire));
	st_buf_reset(&p->wire);
	CHECK_OK(st_record_read(&p->rx, m, 1, &n));
	CHECK_INT(n, 1);
	CHECK(p->tx.tx.keyed && p->rx.rx.keyed);
}

static void pair_free(struct pair *p)
{
	st_record_free(&p->tx);
	st_record_free(&p->rx);
	st_buf_free(&p->wire);
}

/*
 * Feeds all of the wire buffer to the receiver in fragments of at most `frag`
 * bytes (pseudo-random sizes when frag > 1) and checks that the payloads come
 * out as `expect` (concatenated, `count` packets of lengths lens[]).
 * Returns the number of packets read, or -1 on a record error.
 */
static int drain(struct pair *p, size_t frag, uint64_t seed, const uint8_t *expect,
		 const uint32_t *lens, int count)
{
	const uint8_t *w = st_buf_ptr(&p->wire);
	size_t left = st_buf_avail(&p->wire), off = 0;
	int got = 0;
	uint64_t x = seed | 1;

	while (left > 0 || got < count) {
		size_t chunk = frag;
		if (frag > 1) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			chunk = 1 + x % frag;
		}
		if (chunk > left)
			chunk = left;
		size_t used = 0;
		st_record_feed(&p->rx, w, chunk, &used);
		w += used;
		left -= used;
		struct st_record_msg m[ST_RECORD_BURST];
		unsigned n;
		int r = st_record_read(&p->rx, m, ST_RECORD_BURST, &n);
		if (r != ST_OK)
			return -1;
		for (unsigned i = 0; i < n; i++, got++) {
			if (got >= count || m[i].len != lens[got] ||
			    memcmp(m[i].payload, expect + off, lens[got]) != 0) {
				st_test_fail(__FILE__, __LINE__, "packet %d differs (len %u)", got,
					     m[i].len);
				return got;
			}
			off += lens[got];
		}
		if (n == 0 && used == 0 && left == 0)
			break;
	}
	st_buf_reset(&p->wire);
	return got;
}

/* Payload sizes 1..35000: every size up to 600, then a stride, plus the top. */
static uint32_t next_len(uint32_t len)
{
	if (len < 600)
		return len + 1;
	if (len == 35000)
		return 35001; /* done */
	return len + 331 > 35000 ? 35000 : len + 331;
}

static void test_roundtrip_sizes(void)
{
	uint8_t *data = malloc(35000);
	st_test_fill(data, 35000, 7);
	for (size_t si = 0; si <= ST_TEST_NSUITES; si++) {
		struct pair p;
		pair_init(&p, si < ST_TEST_NSUITES ? &st_test_suites[si] : NULL, 100 + si);
		int sent = 0, ok = 1;
		for (uint32_t len = 1; len <= 35000 && ok;) {
			data[0] = 94; /* CHANNEL_DATA: never a kex message */
			pair_send(&p, data, len);
			int got = drain(&p, 1 << 20, 1, data, &len, 1);
			if (got != 1) {
				st_test_fail(__FILE__, __LINE__, "%s/%s len %u: got %d",
					     si < ST_TEST_NSUITES ? st_test_suites[si].cipher : "none",
					     si < ST_TEST_NSUITES && st_test_suites[si].mac ? st_test_suites[si].mac : "-",
					     len, got);
				ok = 0;
			}
			sent++;
			len = next_len(len);
		}
		CHECK(sent > 600);
		pair_free(&p);
	}
	free(data);
}

/* Many packets, fed in fragments down to one byte, come out whole and in order. */
static void test_fragmented(void)
{
	enum { N = 60 };
	uint32_t lens[N];
	uint8_t *data = malloc(N * 3000);
	size_t total = 0;
	for (int i = 0; i < N; i++) {
		lens[i] = 1 + (uint32_t)((i * 977) % 2999);
		total += lens[i];
	}
	st_test_fill(data, total, 3);
	for (size_t si = 0; si < ST_TEST_NSUITES; si++) {
		static const size_t frags[] = {1, 7, 100, 5000};
		for (size_t fi = 0; fi < 4; fi++) {
			struct pair p;
			pair_init(&p, &st_test_suites[si], 200 + si);
			size_t off = 0;
			for (int i = 0; i < N; i++) {
				data[off] = 94;
				pair_send(&p, data + off, lens[i]);
				off += lens[i];
			}
			CHECK_INT(drain(&p, frags[fi], 9 + fi, data, lens, N), N);
			pair_free(&p);
		}
	}
	free(data);
}

/* Every single-bit flip of a sealed packet is rejected; nothing leaks out. */
static void test_bitflips(void)
{
	uint8_t payload[40], filler[70000];
	st_test_fill(payload, sizeof(payload), 11);
	payload[0] = 94;
	memset(filler, 0x5a, sizeof(filler));
	for (size_t si = 0; si < ST_TEST_NSUITES; si++) {
		struct pair p;
		pair_init(&p, &st_test_suites[si], 300 + si);
		pair_send(&p, payload, sizeof(payload));
		size_t wl = st_buf_avail(&p.wire);
		uint8_t *wire = malloc(wl);
		memcpy(wire, st_buf_ptr(&p.wire), wl);
		int accepted = 0;
		for (size_t bit = 0; bit < wl * 8; bit++) {
			struct pair q;
			pair_init(&q, &st_test_suites[si], 300 + si);
			uint8_t *w = malloc(wl);
			memcpy(w, wire, wl);
			w[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			size_t used;
			st_record_feed(&q.rx, w, wl, &used);
			struct st_record_msg m[4];
			unsigned n = 0;
			int r = st_record_read(&q.rx, m, 4, &n);
			/* A longer length waits for bytes: give it plenty. */
			for (int k = 0; r == ST_OK && n == 0 && k < 4; k++) {
				st_record_feed(&q.rx, filler, sizeof(filler), &used);
				r = st_record_read(&q.rx, m, 4, &n);
			}
			if (r == ST_OK && n > 0)
				accepted++;
			free(w);
			pair_free(&q);
		}
		if (accepted != 0)
			st_test_fail(__FILE__, __LINE__, "%s/%s: %d of %zu bit flips accepted",
				     st_test_suites[si].cipher, st_test_suites[si].mac ? st_test_suites[si].mac : "-",
				     accepted, wl * 8);
		free(wire);
		pair_free(&p);
	}
}

/* A truncated packet never comes out; the record waits for the rest. */
static void test_truncation(void)
{
	uint8_t payload[100];
	st_test_fill(payload, sizeof(payload), 12);
	payload[0] = 94;
	for (size_t si = 0; si < ST_TEST_NSUITES; si++) {
		struct pair p;
		pair_init(&p, &st_test_suites[si], 400 + si);
		pair_send(&p, payload, sizeof(payload));
		size_t wl = st_buf_avail(&p.wire);
		for (size_t cut = 0; cut < wl; cut++) {
			struct pair q;
			pair_init(&q, &st_test_suites[si], 400 + si);
			size_t used;
			st_record_feed(&q.rx, st_buf_ptr(&p.wire), cut, &used);
			struct st_record_msg m[1];
			unsigned n = 99;
			CHECK_OK(st_record_read(&q.rx, m, 1, &n));
			CHECK_INT(n, 0);
			/* The rest completes it. */
			st_record_feed(&q.rx, st_buf_ptr(&p.wire) + cut, wl - cut, &used);
			CHECK_OK(st_record_read(&q.rx, m, 1, &n));
			CHECK_INT(n, 1);
			pair_free(&q);
		}
		pair_free(&p);
	}
}

/* Packets replayed, dropped or reordered fail: the seqno is in the MAC/nonce. */
static void test_sequence_binding(void)
{
	uint8_t a[64], b[64];
	st_test_fill(a, sizeof(a), 21);
	st_test_fill(b, sizeof(b), 22);
	a[0] = b[0] = 94;
	for (size_t si = 0; si < ST_TEST_NSUITES; si++) {
		/* Swap the order of two packets. */
		struct pair p;
		pair_init(&p, &st_test_suites[si], 500 + si);
		pair_send(&p, a, sizeof(a));
		size_t l1 = st_buf_avail(&p.wire);
		pair_send(&p, b, sizeof(b));
		size_t l2 = st_buf_avail(&p.wire) - l1;
		uint8_t *w = malloc(l1 + l2);
		memcpy(w, st_buf_ptr(&p.wire) + l1, l2);
		memcpy(w + l2, st_buf_ptr(&p.wire), l1);
		size_t used;
		st_record_feed(&p.rx, w, l1 + l2, &used);
		struct st_record_msg m[2];
		unsigned n;
		int r = st_record_read(&p.rx, m, 2, &n);
		CHECK(r == ST_ERR_MAC_INVALID || r == ST_ERR_BAD_LENGTH || r == ST_ERR_PADDING ||
		      r == ST_ERR_PACKET_TOO_LARGE);
		/* The error is sticky. */
		CHECK_ERR(st_record_read(&p.rx, m, 2, &n), r);
		free(w);
		pair_free(&p);

		/* Drop the first packet: the second arrives with the wrong seqno. */
		pair_init(&p, &st_test_suites[si], 500 + si);
		pair_send(&p, a, sizeof(a));
		l1 = st_buf_avail(&p.wire);
		pair_send(&p, b, sizeof(b));
		st_record_feed(&p.rx, st_buf_ptr(&p.wire) + l1, st_buf_avail(&p.wire) - l1,
			       &used);
		r = st_record_read(&p.rx, m, 2, &n);
		CHECK(r != ST_OK);
		pair_free(&p);
	}
}

/* Lengths over the cap are refused from the header alone. */
static void test_length_caps(void)
{
	for (size_t si = 0; si <= ST_TEST_NSUITES; si++) {
		if (si < ST_TEST_NSUITES && st_test_suites[si].mac != NULL && strstr(st_test_suites[si].mac, "etm") == NULL)
			continue; /* MtE: the length is encrypted, covered by the bit flips */
		if (si < ST_TEST_NSUITES && strncmp(st_test_suites[si].cipher, "chacha", 6) == 0)
			continue; /* encrypted length, covered by the bit flips */
		struct pair p;
		pair_init(&p, si < ST_TEST_NSUITES ? &st_test_suites[si] : NULL, 600 + si);
		static const uint8_t hdrs[][4] = {
			{0x7f, 0xff, 0xff, 0xff}, {0x00, 0x01, 0x00, 0x10}, {0, 0, 0, 0},
			{0, 0, 0, 3}, {0, 0, 0, 17}};
		static const int want[] = {ST_ERR_PACKET_TOO_LARGE, ST_ERR_PACKET_TOO_LARGE,
					   ST_ERR_BAD_LENGTH, ST_ERR_BAD_LENGTH, ST_ERR_BAD_LENGTH};
		for (size_t h = 0; h < 5; h++) {
			struct pair q;
			pair_init(&q, si < ST_TEST_NSUITES ? &st_test_suites[si] : NULL, 600 + si);
			size_t used;
			st_record_feed(&q.rx, hdrs[h], 4, &used);
			struct st_record_msg m[1];
			unsigned n;
			CHECK_ERR(st_record_read(&q.rx, m, 1, &n), want[h]);
			pair_free(&q);
		}
		pair_free(&p);
	}
	/* Sending more than the cap is refused, not sent. */
	struct pair p;
	pair_init(&p, &st_test_suites[0], 1);
	uint8_t *big = calloc(1, ST_RECORD_DEFAULT_MAX_PACKET + 1);
	big[0] = 94;
	CHECK_ERR(st_record_send(&p.tx, big, ST_RECORD_DEFAULT_MAX_PACKET + 1, &p.wire),
		  ST_ERR_NO_SPACE);
	CHECK_INT(st_buf_avail(&p.wire), 0);
	free(big);
	pair_free(&p);
}

/*
 * Rekey in the middle of a stream: KEXINIT, NEWKEYS to new keys of another
 * suite, data before and after, with and without strict kex.
 */
static void test_rekey(void)
{
	for (int strict = 0; strict <= 1; strict++) {
		for (size_t si = 0; si < ST_TEST_NSUITES; si++) {
			const struct st_test_suite *s2 = &st_test_suites[(si + 3) % ST_TEST_NSUITES];
			struct pair p;
			struct st_dir_keys k;
			pair_init(&p, &st_test_suites[si], 700 + si);
			if (strict) {
				st_record_set_strict(&p.tx);
				st_record_set_strict(&p.rx);
			}
			uint8_t data[1000];
			st_test_fill(data, sizeof(data), 31);
			uint32_t lens[5] = {1000, 1, 1000, 1, 1000};
			uint8_t expect[3002];
			data[0] = 94;
			pair_send(&p, data, 1000);
			uint8_t kexinit = SSH_MSG_KEXINIT, nk = SSH_MSG_NEWKEYS;
			pair_send(&p, &kexinit, 1);
			pair_send(&p, data, 1000);
			st_test_suite_keys(s2, 800 + si, &k);
			CHECK_OK(st_record_set_next_keys(&p.tx, &k, NULL));
			pair_send(&p, &nk, 1);
			CHECK(strict ? p.tx.tx.seq == 0 : p.tx.tx.seq == 5);
			pair_send(&p, data, 1000);
			memcpy(expect, data, 1000);
			expect[1000] = kexinit;
			memcpy(expect + 1001, data, 1000);
			expect[2001] = nk;
			memcpy(expect + 2002, data, 1000);
			/* The receiver learns the keys only after it has read NEWKEYS. */
			int got = drain(&p, 333, 5, expect, lens, 5);
			CHECK_INT(got, 4);
			CHECK(p.rx.rx_wait_keys);
			CHECK_OK(st_record_set_next_keys(&p.rx, NULL, &k));
			CHECK(!p.rx.rx_wait_keys);
			struct st_record_msg m[2];
			unsigned n;
			CHECK_OK(st_record_read(&p.rx, m, 2, &n));
			CHECK_INT(n, 1);
			CHECK(n == 1 && m[0].len == 1000 && memcmp(m[0].payload, data, 1000) == 0);
			CHECK_INT(m[0].seq, strict ? 0 : 5);
			st_wipe(&k, sizeof(k));
			pair_free(&p);
		}
	}
}

/* NEWKEYS without next keys cannot be sent; data after a peer NEWKEYS in one
 * burst (not possible for a correct peer) kills the session. */
static void test_newkeys_rules(void)
{
	struct pair p;
	pair_init(&p, &st_test_suites[0], 900);
	uint8_t nk = SSH_MSG_NEWKEYS;
	CHECK_ERR(st_record_send(&p.tx, &nk, 1, &p.wire), ST_ERR_STATE);
	CHECK_INT(st_buf_avail(&p.wire), 0);
	pair_free(&p);

	/* Plain (unkeyed) peer sends NEWKEYS and data in one burst. */
	pair_init(&p, NULL, 0);
	struct st_dir_keys k;
	st_test_suite_keys(&st_test_suites[0], 1, &k);
	CHECK_OK(st_record_set_next_keys(&p.rx, NULL, &k));
	CHECK_OK(st_record_set_next_keys(&p.tx, &k, NULL));
	/* Handcrafted plain packets: NEWKEYS, then data the peer did not encrypt
	 * with the new keys (padding_length 6: 4 + 1 + 1 + 6 = 12, not a multiple
	 * of 8, so 10 bytes: 4 + 1 + 1 + 10 = 16). */
	static const uint8_t two[] = {0, 0, 0, 12, 10, SSH_MSG_NEWKEYS, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
				      0, 0, 0, 12, 10, 94, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
	CHECK_OK(st_buf_put_bytes(&p.wire, two, sizeof(two)));
	size_t used;
	st_record_feed(&p.rx, st_buf_ptr(&p.wire), st_buf_avail(&p.wire), &used);
	struct st_record_msg m[4];
	unsigned n;
	CHECK_ERR(st_record_read(&p.rx, m, 4, &n), ST_ERR_STATE);
	st_wipe(&k, sizeof(k));
	pair_free(&p);
}

/* Padding: every sealed packet is a block multiple with 4..255 padding bytes. */
static void test_padding_rules(void)
{
	for (size_t si = 0; si <= ST_TEST_NSUITES; si++) {
		struct pair p;
		pair_init(&p, si < ST_TEST_NSUITES ? &st_test_suites[si] : NULL, 950 + si);
		const struct st_cipher_info *c =
			si < ST_TEST_NSUITES ? st_cipher_by_name(st_test_suites[si].cipher, strlen(st_test_suites[si].cipher))
				     : NULL;
		const struct st_mac_info *mi =
			si < ST_TEST_NSUITES && st_test_suites[si].mac
				? st_mac_by_name(st_test_suites[si].mac, strlen(st_test_suites[si].mac))
				: NULL;
		uint32_t block = c ? c->block_size : 8;
		int aad = c && (st_cipher_is_aead(c) || (mi && mi->etm));
		uint32_t tag = c ? (st_cipher_is_aead(c) ? c->tag_len : mi->mac_len) : 0;
		for (uint32_t len = 1; len < 80; len++) {
			uint8_t data[80] = {94};
			pair_send(&p, data, len);
			size_t wl = st_buf_avail(&p.wire);
			uint32_t span = (uint32_t)(wl - tag - (aad ? 4 : 0));
			CHECK_INT(span % block, 0);
			uint32_t padlen = (uint32_t)wl - tag - 4 - 1 - len;
			CHECK(padlen >= 4 && padlen < 4 + block);
			st_buf_reset(&p.wire);
		}
		pair_free(&p);
	}
}

/*
 * Burst sealing (st_record_frame each packet, then one st_record_seal_framed
 * call for the lot, as the worker sessions do) gives the same bytes as
 * sealing one packet at a time, for every suite and before the keys: both
 * records get the same keys and the same padding bytes.
 */
static void test_burst_equals_single(void)
{
	for (unsigned si = 0; si <= ST_TEST_NSUITES; si++) {
		const struct st_test_suite *suite = si < ST_TEST_NSUITES ? &st_test_suites[si] : NULL;
		struct pair a, b;
		static uint8_t burst[64 * 1024 + 64];
		int mismatch = 0;

		pair_init(&a, suite, 1500 + si);
		pair_init(&b, suite, 1500 + si);
		for (unsigned round = 0; round < 20; round++) {
			struct st_record_out o[12];
			struct st_pkt pk[12];
			unsigned n = 1 + round % 12;
			size_t off = ST_CRYPTO_HEADROOM;
			uint8_t payload[1200];

			/* The same padding bytes for both (12 packets pad < 256 bytes). */
			for (unsigned i = 0; i < sizeof(a.tx.pad_pool); i++)
				a.tx.pad_pool[i] = b.tx.pad_pool[i] = (uint8_t)(i * 7 + round);
			a.tx.pad_used = b.tx.pad_used = 0;
			st_buf_reset(&a.wire);
			for (unsigned i = 0; i < n; i++) {
				uint32_t len = 1 + (uint32_t)((round * 131 + i * 977) % sizeof(payload));
				st_test_fill(payload, len, round * 100 + i);
				payload[0] = 94;
				pair_send(&a, payload, len);
				o[i].buf = burst + off;
				o[i].cap = st_record_seal_size(&b.tx, len);
				o[i].payload_len = len;
				memcpy(o[i].buf + ST_RECORD_PAYLOAD_OFFSET, payload, len);
				CHECK_OK(st_record_frame(&b.tx, &o[i], &pk[i]));
				CHECK(pk[i].mbuf == NULL && pk[i].seq == b.tx.tx.seq - 1);
				off += o[i].wire_len; /* back to back: the next headroom is this tag */
			}
			CHECK_OK(st_record_seal_framed(&b.tx, pk, n));
			CHECK_INT(off - ST_CRYPTO_HEADROOM, st_buf_avail(&a.wire));
			if (off - ST_CRYPTO_HEADROOM != st_buf_avail(&a.wire) ||
			    memcmp(burst + ST_CRYPTO_HEADROOM, st_buf_ptr(&a.wire), off - ST_CRYPTO_HEADROOM) != 0)
				mismatch++;
			CHECK_INT(a.tx.tx.seq, b.tx.tx.seq);
		}
		if (mismatch)
			fprintf(stderr, "  burst != single for %s/%s\n", suite ? suite->cipher : "none",
				suite && suite->mac ? suite->mac : "-");
		CHECK_INT(mismatch, 0);
		/* A NEWKEYS among framed packets: frame refuses more until the switch. */
		if (suite != NULL) {
			struct st_dir_keys k;
			struct st_record_out o[2];
			struct st_pkt pk[2];
			st_test_suite_keys(suite, 77, &k);
			CHECK_OK(st_record_set_next_keys(&b.tx, &k, NULL));
			st_wipe(&k, sizeof(k));
			o[0].buf = burst + ST_CRYPTO_HEADROOM;
			o[0].cap = st_record_seal_size(&b.tx, 1);
			o[0].payload_len = 1;
			o[0].buf[ST_RECORD_PAYLOAD_OFFSET] = SSH_MSG_NEWKEYS;
			CHECK_OK(st_record_frame(&b.tx, &o[0], &pk[0]));
			o[1].buf = o[0].buf + o[0].wire_len;
			o[1].cap = st_record_seal_size(&b.tx, 1);
			o[1].payload_len = 1;
			o[1].buf[ST_RECORD_PAYLOAD_OFFSET] = 94;
			CHECK_ERR(st_record_frame(&b.tx, &o[1], &pk[1]), ST_ERR_INTERNAL);
			CHECK_OK(st_record_seal_framed(&b.tx, pk, 1));
			CHECK_OK(st_record_tx_switch(&b.tx));
			CHECK_OK(st_record_frame(&b.tx, &o[1], &pk[1]));
			CHECK_OK(st_record_seal_framed(&b.tx, pk + 1, 1));
		}
		pair_free(&a);
		pair_free(&b);
	}
}

int main(void)
{
	RUN(test_kat_aes_gcm);
	RUN(test_kat_chacha20);
	RUN(test_kat_poly1305);
	RUN(test_kat_hmac);
	RUN(test_roundtrip_sizes);
	RUN(test_fragmented);
	RUN(test_bitflips);
	RUN(test_truncation);
	RUN(test_sequence_binding);
	RUN(test_length_caps);
	RUN(test_rekey);
	RUN(test_newkeys_rules);
	RUN(test_padding_rules);
	RUN(test_burst_equals_single);
	return st_test_done("record");
}
