/*
 * libFuzzer harness for the client engine (control/client/sshc.h): what a
 * hostile server can send it. The first input byte picks the mode:
 *   bit 0 = 0: the rest is the server's byte stream from the first byte
 *              (identification, then plaintext packets: KEXINIT, kex reply,
 *              the key exchange's own parsers), fed in chunks whose sizes
 *              come from bits 1-3;
 *   bit 0 = 1: the engine first logs in for real against the real worker
 *              session and control plane (tests/unit/sshclient.h) and has its
 *              channel open; the rest is a series of payloads (2-byte length,
 *              then the bytes) that the server's record seals with the live
 *              keys and sends, so the engine's post-kex parsers (channel data,
 *              window, requests, EXT_INFO, KEXINIT for a rekey, DISCONNECT)
 *              see them decrypted.
 * Checks: no crash, no leak, no hang; the engine ends in a defined state.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/client/sshc.h"
#include "crypto/buf.h"
#include "dataplane/ssh/record.h"
#include "dataplane/ssh/wsess.h"
#include "tests/unit/sshclient.h"

static struct sc_fixture fx;
static int ready;

static void cleanup(void)
{
	sc_fixture_free(&fx);
}

static void ev_data(void *ctx, const uint8_t *p, size_t n, int ext)
{
	(void)ctx;
	(void)p;
	(void)n;
	(void)ext;
}

/* Moves bytes both ways until nothing changes (bounded). */
static void pump(struct sc_bed *b, struct st_sshc *c)
{
	for (int i = 0; i < 2000; i++) {
		const uint8_t *p;
		size_t n, used;
		int progress = 0;

		st_sshc_tx_peek(c, &p, &n);
		if (n > 0) {
			st_buf_put_bytes(&b->c2s, p, n);
			st_sshc_tx_consume(c, n);
			progress = 1;
		}
		progress |= sc_server_pump(b);
		if ((n = st_buf_avail(&b->s2c)) > 0) {
			(void)st_sshc_input(c, st_buf_ptr(&b->s2c), n, &used);
			st_buf_skip(&b->s2c, used);
			if (st_buf_avail(&b->s2c) == 0)
				st_buf_reset(&b->s2c);
			progress |= used > 0;
		}
		if (!progress || st_sshc_state(c) == SSHC_FAILED)
			return;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct st_sshc_config cfg;
	struct st_sshc *c;
	size_t used;

	if (!ready) {
		if (sc_fixture_init(&fx) != 0)
			abort();
		atexit(cleanup);
		ready = 1;
	}
	if (size < 1)
		return 0;
	memset(&cfg, 0, sizeof(cfg));
	cfg.user = "alice";
	cfg.key = fx.user_ed;
	cfg.hostkey.insecure = 1;
	cfg.command = "sink";
	cfg.ev.data = ev_data;
	if (st_sshc_new(&cfg, &c) != 0)
		abort();

	if (!(data[0] & 1)) {
		size_t chunk = (size_t)1 << ((data[0] >> 1) & 7);
		for (size_t off = 1; off < size && st_sshc_state(c) != SSHC_FAILED;) {
			size_t n = size - off < chunk ? size - off : chunk;
			(void)st_sshc_input(c, data + off, n, &used);
			if (used == 0)
				break;
			off += used;
		}
		st_sshc_input_eof(c);
		if (st_sshc_state(c) != SSHC_FAILED && st_sshc_state(c) != SSHC_DONE)
			abort(); /* EOF must end it one way or the other */
		st_sshc_free(c);
		return 0;
	}

	struct sc_bed b;
	if (sc_server_init(&b, &fx.cfg) != 0)
		abort();
	pump(&b, c);
	if (st_sshc_state(c) != SSHC_OPEN)
		abort(); /* the real login must work */
	for (size_t off = 1; off + 2 <= size && st_sshc_state(c) != SSHC_FAILED;) {
		size_t n = (size_t)data[off] << 8 | data[off + 1];
		off += 2;
		if (n > size - off)
			n = size - off;
		if (n == 0)
			continue;
		if (st_record_send(&b.ws->rec, data + off, n, &b.s2c) != 0)
			break;
		off += n;
		/* only the engine reads: the server stays where it was */
		if (st_buf_avail(&b.s2c) > 0) {
			(void)st_sshc_input(c, st_buf_ptr(&b.s2c), st_buf_avail(&b.s2c), &used);
			st_buf_reset(&b.s2c);
		}
	}
	st_sshc_input_eof(c);
	st_sshc_free(c);
	sc_bed_free(&b);
	return 0;
}
