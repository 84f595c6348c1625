/*
 * HAProxy PROXY protocol headers, versions 1 and 2 (haproxy's
 * doc/proxy-protocol.txt): framing, strict parsing and building of v2.
 *
 * No state and no dependencies beyond libc: the worker calls
 * st_proxyhdr_frame() on the connection's first bytes (dataplane/ssh/wsess.c)
 * to know how many of them are the header, the control plane calls
 * st_proxyhdr_parse() on those bytes (control/conn.c) and
 * st_proxyhdr_v2_build() for backends that asked for a header
 * (control/channels.c). Every function is reentrant; callers own all buffers.
 *
 * Accepted:
 *   v1  "PROXY TCP4 SRC DST SPORT DPORT\r\n", "PROXY TCP6 ...\r\n",
 *       "PROXY UNKNOWN[ anything printable]\r\n"; at most 107 bytes with CR LF;
 *       addresses in their family's canonical text form, ports 0..65535
 *       without leading zeros, single spaces.
 *   v2  the 12-byte signature, version 2, command LOCAL (addresses ignored,
 *       the whole block skipped) or PROXY with family UNSPEC (treated as
 *       LOCAL), TCP over IPv4 or TCP over IPv6; the address block and TLVs
 *       at most ST_PROXYHDR_V2_BODY_MAX bytes; TLVs (type, 16-bit length,
 *       value) must tile the rest exactly and are otherwise skipped.
 */
#ifndef ST_CONTROL_PROXYHDR_H
#define ST_CONTROL_PROXYHDR_H

#include <stddef.h>
#include <stdint.h>

#define ST_PROXYHDR_V1_MAX 107        /* whole v1 line, CR LF included */
#define ST_PROXYHDR_V2_FIXED 16       /* signature, ver/cmd, family, length */
#define ST_PROXYHDR_V2_BODY_MAX 1024  /* address block + TLVs we accept / build */
#define ST_PROXYHDR_MAX (ST_PROXYHDR_V2_FIXED + ST_PROXYHDR_V2_BODY_MAX)

/* Application TLV types sshterm sends to backends (range 0xE0..0xEF of the spec). */
#define ST_PP2_TYPE_USER 0xE0        /* authenticated user name */
#define ST_PP2_TYPE_KEY_FP 0xE1      /* "SHA256:..." of the user key or certificate key */
#define ST_PP2_TYPE_COMMAND 0xE2     /* the exec command / subsystem line */
#define ST_PP2_TYPE_CERT_FP 0xE3     /* "SHA256:..." of the user certificate blob, when one was used */
#define ST_PP2_TYPE_CERT_ID 0xE4     /* that certificate's key id (printable, cut to 256 bytes) */

/* Results: 0 or one of these (negative). */
enum st_proxyhdr_err {
	ST_PROXYHDR_OK = 0,
	ST_PROXYHDR_E_TRUNCATED = -1,  /* a valid prefix: more bytes are needed */
	ST_PROXYHDR_E_SIGNATURE = -2,  /* neither "PROXY " nor the v2 signature */
	ST_PROXYHDR_E_OVERSIZE = -3,   /* v1 without CR LF in 107 bytes, v2 body over the cap */
	ST_PROXYHDR_E_SYNTAX = -4,     /* v1: bad protocol word, spacing, bytes, bare LF */
	ST_PROXYHDR_E_ADDRESS = -5,    /* an address that is not of the stated family */
	ST_PROXYHDR_E_PORT = -6,       /* v1 port not 0..65535 in canonical decimal */
	ST_PROXYHDR_E_VERSION = -7,    /* v2 version nibble not 2 */
	ST_PROXYHDR_E_COMMAND = -8,    /* v2 command not LOCAL or PROXY */
	ST_PROXYHDR_E_FAMILY = -9,     /* v2 PROXY for UNIX sockets or datagrams */
	ST_PROXYHDR_E_LENGTH = -10,    /* v2 body shorter than its address block */
	ST_PROXYHDR_E_TLV = -11,       /* v2 TLV running past the body */
	ST_PROXYHDR_E_ARG = -12,       /* NULL pointer, or build output too small / input too big */
};

/* A short text for a result ("truncated header"); "unknown" for others. */
const char *st_proxyhdr_err_str(int err);

enum st_proxyhdr_family {
	ST_PROXYHDR_NONE = 0,  /* LOCAL / UNKNOWN / UNSPEC: use the connection's own addresses */
	ST_PROXYHDR_INET = 4,
	ST_PROXYHDR_INET6 = 6,
};

struct st_proxyhdr {
	int version;                  /* 1 or 2 */
	enum st_proxyhdr_family family;
	uint8_t src[16], dst[16];     /* network order; 4 bytes used for INET */
	uint16_t src_port, dst_port;  /* host order */
	size_t len;                   /* header bytes, as st_proxyhdr_frame() said */
	size_t tlv_off, tlv_len;      /* v2: the TLV area inside the input (0, 0 if none) */
};

/*
 * How long the header at p[0..n) is. ST_OK with *total set (<= n, <=
 * ST_PROXYHDR_MAX) once the whole header is there; ST_PROXYHDR_E_TRUNCATED
 * while p is a prefix of one (n == 0 included); E_SIGNATURE, E_OVERSIZE,
 * E_SYNTAX (v1 bare LF or a byte that cannot appear) or E_VERSION (v2) when
 * it can never become one. Never reads past p[n-1]; *total untouched on error.
 */
int st_proxyhdr_frame(const uint8_t *p, size_t n, size_t *total);

/*
 * Parses exactly one header in p[0..n): the header must be all of it
 * (trailing bytes: E_SYNTAX for v1, E_LENGTH for v2). ST_OK and *out filled,
 * or a result above with *out untouched.
 */
int st_proxyhdr_parse(const uint8_t *p, size_t n, struct st_proxyhdr *out);

/*
 * Walks the TLVs of a parsed v2 header: *off starts at 0 and advances.
 * Returns 1 with *type, *val, *vlen set, 0 at the end. The area was checked
 * by st_proxyhdr_parse(), so p and h must be the same as there.
 */
int st_proxyhdr_tlv_next(const uint8_t *p, const struct st_proxyhdr *h, size_t *off,
			 uint8_t *type, const uint8_t **val, uint16_t *vlen);

/* One TLV to build. */
struct st_proxyhdr_tlv {
	uint8_t type;
	const uint8_t *val;
	uint16_t len;
};

/*
 * Writes a v2 PROXY header (TCP over h->family; ST_PROXYHDR_NONE gives a
 * LOCAL header) with the TLVs into out[outsz]; *len gets its size. ST_OK, or
 * ST_PROXYHDR_E_ARG when the body would exceed ST_PROXYHDR_V2_BODY_MAX or
 * outsz (nothing useful written then).
 */
int st_proxyhdr_v2_build(const struct st_proxyhdr *h, const struct st_proxyhdr_tlv *tlv,
			 size_t ntlv, uint8_t *out, size_t outsz, size_t *len);

#endif
