/*
 * st-record-tool: drives the record layer from stdin/stdout so that other SSH
 * implementations (paramiko, the npm ssh2 package) can check it byte for byte.
 * Test-only; not installed.
 *
 *   st-record-tool MODE CIPHER MAC KEYHEX IVHEX MACKEYHEX
 *     MODE seal:        stdin: payloads, each as uint32 length + bytes;
 *                       stdout: wire bytes from the record layer (seqno from 1)
 *     MODE seal-framed: stdin: plaintext packets (uint32 packet_length, padding
 *                       length, payload, padding) framed by another
 *                       implementation; stdout: the backend's ciphertext+MAC
 *                       for each (seqno from 1), for a byte comparison
 *     MODE open:        stdin: wire bytes (seqno from 1); stdout: payloads as
 *                       uint32 length + bytes; exit 1 with a message on error
 *   MAC is "-" for AEAD ciphers; IVHEX may be "-" when the cipher has no IV.
 * The record is keyed through a real NEWKEYS (sequence number 0), so the
 * first packet on the wire has sequence number 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/backend.h"
#include "crypto/buf.h"
#include "crypto/err.h"
#include "crypto/secmem.h"
#include "dataplane/ssh/msg.h"
#include "dataplane/ssh/record.h"

static int unhex(const char *s, uint8_t *out, size_t max)
{
	size_t n = strlen(s);
	if (strcmp(s, "-") == 0)
		return 0;
	if (n % 2 != 0 || n / 2 > max)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return (int)(n / 2);
}

static uint8_t *read_all(size_t *len)
{
	size_t cap = 1 << 20, n = 0;
	uint8_t *p = malloc(cap);
	size_t r;
	while (p != NULL && (r = fread(p + n, 1, cap - n, stdin)) > 0) {
		n += r;
		if (n == cap) {
			uint8_t *q = realloc(p, cap * 2);
			if (q == NULL) {
				free(p);
				return NULL;
			}
			p = q;
			cap *= 2;
		}
	}
	*len = n;
	return p;
}

static void put_u32(uint32_t v)
{
	uint8_t b[4];
	st_poke_u32(b, v);
	fwrite(b, 1, 4, stdout);
}

int main(int argc, char **argv)
{
	struct st_dir_keys k;
	struct st_record rec;
	size_t inlen;
	int r;

	if (argc != 7) {
		fprintf(stderr, "usage: st-record-tool seal|seal-framed|open CIPHER MAC|- KEYHEX "
				"IVHEX|- MACKEYHEX|-\n");
		return 2;
	}
	memset(&k, 0, sizeof(k));
	k.cipher = st_cipher_by_name(argv[2], strlen(argv[2]));
	k.mac = strcmp(argv[3], "-") == 0 ? NULL : st_mac_by_name(argv[3], strlen(argv[3]));
	if (k.cipher == NULL || (!st_cipher_is_aead(k.cipher) && k.mac == NULL) ||
	    unhex(argv[4], k.key, sizeof(k.key)) != k.cipher->key_len ||
	    unhex(argv[5], k.iv, sizeof(k.iv)) != k.cipher->iv_len ||
	    (k.mac != NULL && unhex(argv[6], k.mac_key, sizeof(k.mac_key)) != k.mac->key_len)) {
		fprintf(stderr, "st-record-tool: bad algorithm name or key length\n");
		return 2;
	}
	uint8_t *in = read_all(&inlen);
	if (in == NULL)
		return 2;

	if (strcmp(argv[1], "seal-framed") == 0) {
		struct st_crypto_dir d;
		memset(&d, 0, sizeof(d));
		if ((r = st_crypto_dir_init(&d, &st_crypto_backend_evp, &k, 1)) != ST_OK)
			goto fail;
		uint8_t *buf = malloc(ST_RECORD_DEFAULT_MAX_PACKET + 4 + ST_MAC_MAX_LEN);
		uint32_t seq = 1;
		for (size_t off = 0; off + 4 <= inlen; seq++) {
			uint32_t plen = st_peek_u32(in + off);
			if (plen > ST_RECORD_DEFAULT_MAX_PACKET || inlen - off - 4 < plen) {
				r = ST_ERR_FORMAT;
				goto fail;
			}
			memcpy(buf, in + off, 4 + plen);
			struct st_pkt p = {.buf = buf, .len = 4 + plen, .seq = seq, .status = ST_OK};
			if (d.be->seal_burst(&d, &p, 1) != 1) {
				r = ST_ERR_CRYPTO;
				goto fail;
			}
			fwrite(buf, 1, 4 + plen + d.tag_len, stdout);
			off += 4 + plen;
		}
		free(buf);
		st_crypto_dir_fini(&d);
		free(in);
		return 0;
	}

	/* Key the record through NEWKEYS at sequence number 0. */
	uint8_t nkbuf[256];
	struct st_buf nkw;
	uint8_t nk = SSH_MSG_NEWKEYS;
	st_buf_wrap(&nkw, nkbuf, sizeof(nkbuf));
	if ((r = st_record_init(&rec, &st_crypto_backend_evp, 0)) != ST_OK)
		goto fail;
	if (strcmp(argv[1], "seal") == 0) {
		struct st_buf out;
		if ((r = st_record_set_next_keys(&rec, &k, NULL)) != ST_OK ||
		    (r = st_record_send(&rec, &nk, 1, &nkw)) != ST_OK ||
		    (r = st_buf_alloc(&out, 0, 1u << 30)) != ST_OK)
			goto fail;
		for (size_t off = 0; off + 4 <= inlen;) {
			uint32_t len = st_peek_u32(in + off);
			if (inlen - off - 4 < len) {
				r = ST_ERR_FORMAT;
				goto fail;
			}
			if ((r = st_record_send(&rec, in + off + 4, len, &out)) != ST_OK)
				goto fail;
			off += 4 + len;
		}
		fwrite(st_buf_ptr(&out), 1, st_buf_avail(&out), stdout);
		st_buf_free(&out);
	} else if (strcmp(argv[1], "open") == 0) {
		/* A plain NEWKEYS from a notional peer switches the receive keys. */
		struct st_record plain;
		size_t used, off = 0;
		if ((r = st_record_init(&plain, &st_crypto_backend_evp, 0)) != ST_OK ||
		    (r = st_record_set_next_keys(&plain, &k, NULL)) != ST_OK ||
		    (r = st_record_send(&plain, &nk, 1, &nkw)) != ST_OK ||
		    (r = st_record_set_next_keys(&rec, NULL, &k)) != ST_OK)
			goto fail;
		st_record_free(&plain);
		st_record_feed(&rec, nkbuf, nkw.len, &used);
		for (;;) {
			struct st_record_msg m[ST_RECORD_BURST];
			unsigned n;
			if ((r = st_record_read(&rec, m, ST_RECORD_BURST, &n)) != ST_OK)
				goto fail;
			for (unsigned i = 0; i < n; i++) {
				if (m[i].payload[0] == SSH_MSG_NEWKEYS && m[i].seq == 0)
					continue;
				put_u32(m[i].len);
				fwrite(m[i].payload, 1, m[i].len, stdout);
			}
			if (n > 0)
				continue;
			if (off == inlen)
				break;
			st_record_feed(&rec, in + off, inlen - off, &used);
			off += used;
		}
		if (rec.rx_end != rec.rx_start) {
			r = ST_ERR_INCOMPLETE;
			goto fail;
		}
	} else {
		fprintf(stderr, "st-record-tool: unknown mode %s\n", argv[1]);
		return 2;
	}
	st_record_free(&rec);
	st_wipe(&k, sizeof(k));
	free(in);
	return 0;
fail:
	fprintf(stderr, "st-record-tool %s: %s\n", argv[1], st_err_str(r));
	return 1;
}
