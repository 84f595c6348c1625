/* Out-of-order reassembly queue. */
#include <string.h>

#include "dataplane/tcp/tcp_ooo.h"
#include "dataplane/tcp/tcp_seq.h"

static uint32_t cost_of(const struct tcp_ooo_ops *ops, const void *obj)
{
	return ops->cost ? ops->cost(obj) : 0;
}

static void remove_at(struct tcp_ooo *q, unsigned i)
{
	q->bytes -= q->e[i].end - q->e[i].start;
	q->cost -= q->e[i].cost;
	memmove(&q->e[i], &q->e[i + 1], (q->n - i - 1) * sizeof(q->e[0]));
	q->n--;
}

int tcp_ooo_insert(struct tcp_ooo *q, const struct tcp_ooo_ops *ops, uint32_t start,
		   uint32_t len, void *obj)
{
	uint32_t end = start + len;
	unsigned i = 0;

	/* First entry that ends after start. */
	while (i < q->n && seq_leq(q->e[i].end, start))
		i++;
	if (i < q->n && seq_leq(q->e[i].start, start)) {
		if (seq_geq(q->e[i].end, end)) {
			ops->free(obj);
			return TCP_OOO_DUP;
		}
		obj = ops->trim_front(obj, q->e[i].end - start);
		start = q->e[i].end;
		i++;
	}
	/* Entries entirely covered by the new segment are replaced by it. */
	while (i < q->n && seq_leq(q->e[i].end, end)) {
		ops->free(q->e[i].obj);
		remove_at(q, i);
	}
	if (i < q->n && seq_lt(q->e[i].start, end)) {
		obj = ops->trim_back(obj, end - q->e[i].start);
		end = q->e[i].start;
	}
	q->last_start = start;
	/* The segment extends the previous entry: copy it into that entry's last piece. */
	if (i > 0 && q->e[i - 1].end == start && ops->absorb &&
	    ops->absorb(q->e[i - 1].tail, obj, end - start)) {
		q->e[i - 1].end = end;
		q->bytes += end - start;
		i--;
		goto join_next;
	}
	if (q->n == TCP_OOO_MAX) {
		ops->free(obj);
		return TCP_OOO_FULL;
	}
	memmove(&q->e[i + 1], &q->e[i], (q->n - i) * sizeof(q->e[0]));
	q->e[i].start = start;
	q->e[i].end = end;
	q->e[i].obj = obj;
	q->e[i].tail = ops->tail(obj);
	q->e[i].cost = cost_of(ops, obj);
	q->n++;
	q->bytes += end - start;
	q->cost += q->e[i].cost;
	/* Join with touching neighbours so entries count holes, not segments. */
	if (i > 0 && q->e[i - 1].end == q->e[i].start) {
		ops->link(q->e[i - 1].tail, q->e[i].obj);
		q->e[i - 1].tail = q->e[i].tail;
		q->e[i - 1].end = q->e[i].end;
		q->e[i - 1].cost += q->e[i].cost;
		memmove(&q->e[i], &q->e[i + 1], (q->n - i - 1) * sizeof(q->e[0]));
		q->n--;
		i--;
	}
join_next:
	if (i + 1 < q->n && q->e[i].end == q->e[i + 1].start) {
		ops->link(q->e[i].tail, q->e[i + 1].obj);
		q->e[i].tail = q->e[i + 1].tail;
		q->e[i].end = q->e[i + 1].end;
		q->e[i].cost += q->e[i + 1].cost;
		memmove(&q->e[i + 1], &q->e[i + 2], (q->n - i - 2) * sizeof(q->e[0]));
		q->n--;
	}
	return TCP_OOO_QUEUED;
}

int tcp_ooo_pop(struct tcp_ooo *q, const struct tcp_ooo_ops *ops, uint32_t rcv_nxt, void **obj,
		uint32_t *len)
{
	while (q->n && seq_leq(q->e[0].start, rcv_nxt)) {
		struct tcp_ooo_ent e = q->e[0];

		remove_at(q, 0);
		if (seq_leq(e.end, rcv_nxt)) {
			ops->free(e.obj);
			continue;
		}
		if (e.start != rcv_nxt)
			e.obj = ops->trim_front(e.obj, rcv_nxt - e.start);
		*obj = e.obj;
		*len = e.end - rcv_nxt;
		return 1;
	}
	return 0;
}

void tcp_ooo_clear(struct tcp_ooo *q, const struct tcp_ooo_ops *ops)
{
	for (unsigned i = 0; i < q->n; i++)
		ops->free(q->e[i].obj);
	q->n = 0;
	q->bytes = 0;
	q->cost = 0;
}

unsigned tcp_ooo_sack_blocks(const struct tcp_ooo *q, uint32_t blocks[][2], unsigned max)
{
	uint32_t tmp[TCP_OOO_MAX][2];
	unsigned nb = 0, first = 0, out = 0;

	for (unsigned i = 0; i < q->n; i++) {
		if (nb && tmp[nb - 1][1] == q->e[i].start) {
			tmp[nb - 1][1] = q->e[i].end;
		} else {
			tmp[nb][0] = q->e[i].start;
			tmp[nb][1] = q->e[i].end;
			nb++;
		}
		if (seq_in(q->last_start, tmp[nb - 1][0], tmp[nb - 1][1]))
			first = nb - 1;
	}
	if (!nb || !max)
		return 0;
	blocks[out][0] = tmp[first][0];
	blocks[out][1] = tmp[first][1];
	out++;
	for (unsigned i = 0; i < nb && out < max; i++) {
		if (i == first)
			continue;
		blocks[out][0] = tmp[i][0];
		blocks[out][1] = tmp[i][1];
		out++;
	}
	return out;
}
