/*
 * Send buffer autotuning: the bytes a connection may queue (unacknowledged
 * and unsent) follow what the path takes, as Linux's tcp_sndbuf_expand does.
 * A fixed 256 KiB buffer caps a download at 256 KiB per RTT (1.7 MB/s at
 * 150 ms) whatever the client's windows allow. So when a writer found the
 * buffer full (TF_WANT_WRITABLE) and an ACK of new data arrives, the buffer
 * becomes twice the smaller of the congestion window and the peer's window:
 * one window in flight and one queued behind it, so the sender never waits
 * on the application for the next window. It never shrinks (a buffer costs
 * memory only for the bytes queued in it), and never passes cfg.sndbuf_max.
 *
 * Owned by the connection's worker, like everything in struct tcp_conn.
 */
#include "dataplane/tcp/tcp_internal.h"

uint32_t tcp_sndbuf_want(uint32_t cur, uint32_t max, uint32_t cwnd, uint32_t snd_wnd)
{
	uint64_t want = 2 * (uint64_t)(cwnd < snd_wnd ? cwnd : snd_wnd);

	if (cur >= max || want <= cur)
		return cur;
	return want > max ? max : (uint32_t)want;
}

void tcp_sndbuf_expand(struct tcp_worker *tw, struct tcp_conn *c)
{
	uint32_t want;

	if (!(c->flags & TF_WANT_WRITABLE) || c->snd_buf >= tw->cfg.sndbuf_max)
		return;
	want = tcp_sndbuf_want(c->snd_buf, tw->cfg.sndbuf_max, c->cc.cwnd, c->snd_wnd);
	if (want <= c->snd_buf)
		return;
	c->snd_buf = want;
	tw->w->st->ctr[DP_CTR_TCP_SNDBUF_GROWN]++;
}
