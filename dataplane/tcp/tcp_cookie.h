/*
 * SYN cookies: when a listener's SYN backlog is full, the SYN-ACK carries an
 * ISS that encodes what we need to rebuild the connection from the peer's
 * ACK, and no state is kept. Layout of the 32-bit cookie:
 *   bits 31..27  time counter (64-second periods, mod 32)
 *   bits 26..24  MSS table index
 *   bits 23..0   keyed hash (SipHash-2-4) of the 4-tuple, peer ISN, counter, MSS index
 * A cookie is valid for the current and the previous period (64..128 s).
 * When the SYN carried timestamps, the window scale and SACK permission ride
 * in the low 5 bits of our TSval (ws 0..14, 15 = none; bit 4 = SACK).
 */
#ifndef ST_DATAPLANE_TCP_COOKIE_H
#define ST_DATAPLANE_TCP_COOKIE_H

#include <stdint.h>

#define TCP_COOKIE_PERIOD_S 64

struct tcp_cookie_key {
	uint64_t k0, k1;
};

/* SipHash-2-4 of len bytes. */
uint64_t st_siphash24(const struct tcp_cookie_key *key, const void *p, unsigned len);

/* MSS value for the table index 0..7, and the index for a peer MSS (largest <= mss). */
uint16_t tcp_cookie_mss(unsigned idx);
unsigned tcp_cookie_mss_idx(uint16_t mss);

/* Addresses and ports in host order; now_s is seconds. */
uint32_t tcp_cookie_make(const struct tcp_cookie_key *key, uint32_t saddr, uint32_t daddr,
			 uint16_t sport, uint16_t dport, uint32_t peer_isn, uint16_t mss,
			 uint64_t now_s);

/*
 * Checks a cookie (the ACK's ack number - 1, with peer_isn = its seq - 1).
 * Returns ST_OK and the MSS in *mss_out, or ST_ERR_MAC_INVALID (forged) or
 * ST_ERR_TIMEOUT-like ST_ERR_STATE (too old).
 */
int tcp_cookie_check(const struct tcp_cookie_key *key, uint32_t cookie, uint32_t saddr,
		     uint32_t daddr, uint16_t sport, uint16_t dport, uint32_t peer_isn,
		     uint64_t now_s, uint16_t *mss_out);

/*
 * The same over either family's addresses (dataplane/ipaddr.h): an IPv4
 * pair gives exactly the values above, an IPv6 pair hashes all 32 bytes.
 */
struct dp_ip;
uint32_t tcp_cookie_make_ip(const struct tcp_cookie_key *key, const struct dp_ip *saddr,
			    const struct dp_ip *daddr, uint16_t sport, uint16_t dport,
			    uint32_t peer_isn, uint16_t mss, uint64_t now_s);
int tcp_cookie_check_ip(const struct tcp_cookie_key *key, uint32_t cookie, const struct dp_ip *saddr,
			const struct dp_ip *daddr, uint16_t sport, uint16_t dport, uint32_t peer_isn,
			uint64_t now_s, uint16_t *mss_out);

/* Low 5 bits of TSval carrying ws/sack; and decoding them from the echoed TSecr. */
static inline uint32_t tcp_cookie_ts_bits(int ws_ok, unsigned ws, int sack_ok)
{
	return (ws_ok ? (ws & 0xf) : 0xf) | (sack_ok ? 0x10 : 0);
}

#endif
