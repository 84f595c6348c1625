/*
 * libFuzzer harness for the control plane (control/conn.c and the parsers
 * behind it): the input's first byte picks how far a well-behaved client
 * gets first (bits 0-1 - 0: version exchange only, 1: key exchange done,
 * 2: ssh-userauth accepted, 3: logged in with a session channel open) and
 * whether the real worker session sits in between (bit 2: dataplane/ssh/
 * wsess.h instead of the test's mini worker); the rest is a series
 * of payloads (2-byte big-endian length, then the bytes) that the client
 * seals and sends. Checks: no crash or leak, and the test worker never sees
 * an invalid down message.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "tests/unit/sshclient.h"

static struct sc_fixture fx;
static int ready;

static void cleanup(void)
{
	sc_fixture_free(&fx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sc_bed b;
	struct sc_opts o = {.strict = 1, .ext_info = 1};
	uint32_t sid;

	if (!ready) {
		if (sc_fixture_init(&fx) != 0)
			abort();
		atexit(cleanup);
		ready = 1;
	}
	if (size < 1)
		return 0;
	unsigned mode = data[0] % 4;
	o.wsess = (data[0] >> 2) & 1;
	data++, size--;
	if (mode == 0)
		o.strict = 0;
	if (sc_bed_init(&b, &fx.cfg, &o) != 0)
		abort();
	if (mode >= 1 && sc_handshake(&b) != 0)
		abort();
	if (mode >= 2 && sc_service_userauth(&b) != 6)
		abort();
	if (mode >= 3) {
		struct st_buf req;
		if (st_buf_alloc(&req, 1024, 65536) != 0 ||
		    sc_build_pubkey(&b, &req, "alice", fx.user_ed, "ssh-ed25519", SC_AUTH_SIGN) != 0 ||
		    sc_sendb(&b, &req) != 0 || sc_next_type(&b) != 52 ||
		    sc_open_session(&b, 0, &sid) != 91)
			abort();
		st_buf_free(&req);
	}
	while (size >= 2 && !b.closed && !b.closed_up) {
		size_t len = ((size_t)data[0] << 8) | data[1];
		data += 2, size -= 2;
		if (len > size)
			len = size;
		if (len == 0)
			continue;
		sc_send(&b, data, len);
		data += len, size -= len;
		const uint8_t *p;
		while (sc_recv(&b, &p) > 0)
			;
	}
	if (b.fatal && !b.closed && !b.closed_up)
		abort();
	sc_bed_free(&b);
	return 0;
}
