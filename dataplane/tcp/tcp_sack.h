/*
 * Sender-side SACK scoreboard (RFC 2018, loss detection after RFC 6675).
 * Holds the ranges above snd_una that the peer reported as received, sorted
 * and merged, bounded to TCP_SB_MAX ranges (when full, the highest range is
 * forgotten: SACK information is advisory, the peer may renege anyway).
 */
#ifndef ST_DATAPLANE_TCP_SACK_H
#define ST_DATAPLANE_TCP_SACK_H

#include <stdint.h>

#define TCP_SB_MAX 32

struct tcp_sb {
	uint16_t n;
	uint32_t sacked;     /* bytes covered */
	uint32_t r[TCP_SB_MAX][2];
};

static inline void tcp_sb_init(struct tcp_sb *sb)
{
	sb->n = 0;
	sb->sacked = 0;
}

/*
 * Adds one reported block [start, end). Blocks not inside (una, max] or empty
 * are ignored (returns 0); returns the number of newly covered bytes.
 */
uint32_t tcp_sb_add(struct tcp_sb *sb, uint32_t start, uint32_t end, uint32_t una, uint32_t max);

/* Forgets everything below una (after a cumulative ACK). */
void tcp_sb_ack(struct tcp_sb *sb, uint32_t una);

/* Highest SACKed sequence (end of the last range), or una when empty. */
uint32_t tcp_sb_high(const struct tcp_sb *sb, uint32_t una);

/* 1 if seq is covered by a SACKed range; *end_out gets that range's end. */
int tcp_sb_is_sacked(const struct tcp_sb *sb, uint32_t seq, uint32_t *end_out);

/*
 * Next hole at or after from that lies below the highest SACKed byte (a
 * presumed loss): stores [start, end) of the hole and returns 1, else 0.
 */
int tcp_sb_next_hole(const struct tcp_sb *sb, uint32_t from, uint32_t *start, uint32_t *end);

#endif
