/* Sender-side SACK scoreboard. */
#include <string.h>

#include "dataplane/tcp/tcp_sack.h"
#include "dataplane/tcp/tcp_seq.h"

static void recount(struct tcp_sb *sb)
{
	uint32_t s = 0;

	for (unsigned i = 0; i < sb->n; i++)
		s += sb->r[i][1] - sb->r[i][0];
	sb->sacked = s;
}

uint32_t tcp_sb_add(struct tcp_sb *sb, uint32_t start, uint32_t end, uint32_t una, uint32_t max)
{
	uint32_t before = sb->sacked;
	unsigned i, j;

	if (!seq_lt(start, end) || seq_leq(end, una) || seq_gt(end, max) || seq_lt(start, una))
		return 0;
	/* Find insertion point: first range whose end >= start. */
	for (i = 0; i < sb->n && seq_lt(sb->r[i][1], start); i++)
		;
	/* Merge with every range that touches [start, end). */
	j = i;
	while (j < sb->n && seq_leq(sb->r[j][0], end)) {
		start = seq_min(start, sb->r[j][0]);
		end = seq_max(end, sb->r[j][1]);
		j++;
	}
	if (j == i) {
		if (sb->n == TCP_SB_MAX) {
			if (i == sb->n)
				return 0; /* highest and no room: ignore */
			sb->n--;         /* forget the highest range */
			before -= sb->r[sb->n][1] - sb->r[sb->n][0];
		}
		memmove(&sb->r[i + 1], &sb->r[i], (sb->n - i) * sizeof(sb->r[0]));
		sb->n++;
	} else if (j > i + 1) {
		memmove(&sb->r[i + 1], &sb->r[j], (sb->n - j) * sizeof(sb->r[0]));
		sb->n = (uint16_t)(sb->n - (j - i - 1));
	}
	sb->r[i][0] = start;
	sb->r[i][1] = end;
	recount(sb);
	return sb->sacked > before ? sb->sacked - before : 0;
}

void tcp_sb_ack(struct tcp_sb *sb, uint32_t una)
{
	unsigned k = 0;

	for (unsigned i = 0; i < sb->n; i++) {
		if (seq_leq(sb->r[i][1], una))
			continue;
		sb->r[k][0] = seq_max(sb->r[i][0], una);
		sb->r[k][1] = sb->r[i][1];
		k++;
	}
	sb->n = (uint16_t)k;
	recount(sb);
}

uint32_t tcp_sb_high(const struct tcp_sb *sb, uint32_t una)
{
	return sb->n ? sb->r[sb->n - 1][1] : una;
}

int tcp_sb_is_sacked(const struct tcp_sb *sb, uint32_t seq, uint32_t *end_out)
{
	for (unsigned i = 0; i < sb->n; i++) {
		if (seq_in(seq, sb->r[i][0], sb->r[i][1])) {
			*end_out = sb->r[i][1];
			return 1;
		}
		if (seq_lt(seq, sb->r[i][0]))
			break;
	}
	return 0;
}

int tcp_sb_next_hole(const struct tcp_sb *sb, uint32_t from, uint32_t *start, uint32_t *end)
{
	for (unsigned i = 0; i < sb->n; i++) {
		if (seq_leq(sb->r[i][1], from))
			continue;
		if (seq_lt(from, sb->r[i][0])) {
			*start = from;
			*end = sb->r[i][0];
			return 1;
		}
		from = sb->r[i][1]; /* from is inside this range: skip it */
	}
	return 0;
}
