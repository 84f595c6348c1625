/*
 * TCP option parsing and writing (RFC 9293 3.2, RFC 7323, RFC 2018).
 * tcp_opts_parse() reads the option bytes of one segment. A length byte below
 * 2 or running past the header is malformed (ST_ERR_FORMAT: the caller drops
 * the segment). A known option with the wrong length is ignored, as is any
 * unknown option; SACK blocks beyond TCP_MAX_SACK are ignored.
 */
#ifndef ST_DATAPLANE_TCP_OPT_H
#define ST_DATAPLANE_TCP_OPT_H

#include <stddef.h>
#include <stdint.h>

#define TCP_OPT_EOL 0
#define TCP_OPT_NOP 1
#define TCP_OPT_MSS 2
#define TCP_OPT_WS 3
#define TCP_OPT_SACK_OK 4
#define TCP_OPT_SACK 5
#define TCP_OPT_TS 8

#define TCP_MAX_SACK 4
#define TCP_MAX_WSCALE 14

#define TCP_OF_MSS 0x01
#define TCP_OF_WS 0x02
#define TCP_OF_SACK_OK 0x04
#define TCP_OF_TS 0x08
#define TCP_OF_SACK 0x10

struct tcp_opts {
	uint8_t flags; /* TCP_OF_* present */
	uint8_t ws;    /* clamped to TCP_MAX_WSCALE */
	uint8_t nsack;
	uint16_t mss;
	uint32_t tsval, tsecr;
	uint32_t sack[TCP_MAX_SACK][2]; /* [start, end) host order */
};

/* Parses len option bytes (0..40). On success *out is filled (flags may be 0). */
int tcp_opts_parse(const uint8_t *p, size_t len, struct tcp_opts *out);

/*
 * Writes options for a segment: SYN/SYN-ACK options when syn (MSS, WS, SACK_OK,
 * TS as flagged in o->flags), else TS and up to 3 SACK blocks. Output is padded
 * to a multiple of 4 with NOPs; returns the length (<= 40). cap must be >= 40.
 */
size_t tcp_opts_write(uint8_t *p, int syn, const struct tcp_opts *o);

#endif
