/*
 * TCP output: segment construction (headers in a fresh mbuf, payload as
 * indirect mbufs attached to the send queue's bytes), the send policy
 * (congestion / receive window, loss recovery, FIN), ACKs and RSTs.
 */
#define ALLOW_EXPERIMENTAL_API 1
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include "dataplane/csum.h"
#include "dataplane/proto.h"
#include "dataplane/proto6.h"
#include "dataplane/tcp/tcp_internal.h"

uint32_t tcp_rcv_space(const struct tcp_worker *tw, const struct tcp_conn *c)
{
	uint32_t used = c->rq_bytes + c->ooo.bytes;

	if (c->flags & TF_APP_CLOSED)
		used = 0; /* we discard what arrives after close */
	(void)tw;
	return used >= c->rcv_wnd ? 0 : c->rcv_wnd - used;
}

/* Receive window to advertise (unscaled bytes), never moving the right edge left. */
static uint32_t rcv_window(const struct tcp_worker *tw, struct tcp_conn *c)
{
	uint32_t space = tcp_rcv_space(tw, c);
	uint32_t right = c->rcv_nxt + space;
	uint32_t sws = c->rcv_wnd / 2 < c->mss ? c->rcv_wnd / 2 : c->mss;

	/* Receiver SWS avoidance: move the edge only by a useful amount. */
	if (seq_lt(right, c->rcv_adv) || (seq_gt(right, c->rcv_adv) && right - c->rcv_adv < sws &&
					  seq_gt(c->rcv_adv, c->rcv_nxt)))
		right = c->rcv_adv;
	if (seq_lt(right, c->rcv_nxt))
		right = c->rcv_nxt;
	return right - c->rcv_nxt;
}

/* The send-queue mbuf holding seq, and its first sequence number in *mseq (moves the cursor). */
static struct rte_mbuf *sq_locate(struct tcp_conn *c, uint32_t seq, uint32_t *mseq)
{
	struct rte_mbuf *m;
	uint32_t ms;

	/* Start from the cursor when it is at or before seq, else from the head. */
	if (c->sq_cur && seq_geq(seq, c->sq_cur_seq) && seq_geq(c->sq_cur_seq, c->snd_una)) {
		m = c->sq_cur;
		ms = c->sq_cur_seq;
	} else {
		m = c->sq_head;
		ms = c->snd_una;
	}
	while (m && seq_geq(seq, ms + m->data_len)) {
		ms += m->data_len;
		m = m->next;
	}
	c->sq_cur = m;
	c->sq_cur_seq = ms;
	*mseq = ms;
	return m;
}

/*
 * Lengths of the pieces that [seq, seq+len) of the send queue makes, from m
 * (whose first byte is mseq), at most max of them. Returns their count.
 */
static unsigned plan_pieces(const struct rte_mbuf *m, uint32_t mseq, uint32_t seq, uint32_t len,
			    uint16_t *plen, unsigned max)
{
	uint32_t done = 0;
	unsigned n = 0;

	for (; m && done < len && n < max; mseq += m->data_len, m = m->next) {
		uint32_t off = seq + done - mseq, k = m->data_len - off;

		if (k > len - done)
			k = len - done;
		if (k) {
			plen[n++] = (uint16_t)k;
			done += k;
		}
	}
	return n;
}

uint32_t tcp_tso_fit(const uint16_t *plen, unsigned n, uint32_t segsz, unsigned seg_pieces)
{
	uint32_t total = 0, first_start = 0;
	unsigned first = 0;

	if (segsz == 0 || seg_pieces == 0)
		return 0;
	/* An odd-length piece ends the packet (csum.h: ports may mis-sum what follows one). */
	for (unsigned i = 0; i < n; i++) {
		total += plen[i];
		if (plen[i] & 1) {
			n = i + 1;
			break;
		}
	}
	for (uint32_t ws = 0; ws < total; ws += segsz) {
		uint32_t we = total - ws > segsz ? ws + segsz : total, ps;
		unsigned cnt = 0, i;

		while (first_start + plen[first] <= ws)
			first_start += plen[first++];
		for (i = first, ps = first_start; i < n && ps < we; ps += plen[i++])
			cnt++;
		if (cnt > seg_pieces)
			return ws;
	}
	return total;
}

/*
 * Decides whether [seq, seq+*len) goes out as one TSO packet: returns the
 * tso_segsz to use and sets *len to what the packet carries, or returns 0
 * (then a plain segment of at most seg_pay bytes goes).
 */
static uint32_t tso_plan(const struct dp_worker *w, const struct rte_mbuf *m, uint32_t mseq,
			 uint32_t seq, uint32_t seg_pay, uint32_t l4_len, uint32_t *len_io)
{
	uint16_t plen[TCP_TSO_PIECES];
	uint32_t len = *len_io, max_pay = 65535u - DP_IP_HLEN - l4_len, segsz, fit;
	unsigned max = w->tso_pieces && w->tso_pieces < TCP_TSO_PIECES ? w->tso_pieces
								     : TCP_TSO_PIECES;
	unsigned per_seg = w->tso_seg_pieces ? w->tso_seg_pieces : TCP_TSO_PIECES;

	segsz = seg_pay > w->tso_mtu_slack ? seg_pay - w->tso_mtu_slack : 0;
	segsz &= ~1u; /* even: every piece the port cuts starts at an even offset */
	if (segsz < 64 || len <= seg_pay)
		return 0;
	if (len > max_pay)
		len = max_pay;
	if (w->tso_max_segs && len > (uint32_t)w->tso_max_segs * segsz)
		len = (uint32_t)w->tso_max_segs * segsz;
	fit = tcp_tso_fit(plen, plan_pieces(m, mseq, seq, len, plen, max), segsz, per_seg);
	/* Cut short (pieces, size): whole segments only, the rest goes with the next packet. */
	if (fit < *len_io && fit > segsz)
		fit -= fit % segsz;
	if (fit <= seg_pay)
		return 0;
	*len_io = fit;
	return segsz;
}

/* Appends indirect mbufs covering [seq, seq+*len_io) of the send queue, from m (at mseq), to h. */
static int attach_payload(struct tcp_worker *tw, struct tcp_conn *c, struct rte_mbuf *h,
			  struct rte_mbuf *m, uint32_t mseq, uint32_t seq, uint32_t *len_io,
			  unsigned max_pieces)
{
	struct rte_mbuf *tail = h;
	uint32_t len = *len_io, done = 0;
	unsigned pieces = 0;

	while (m && done < len && pieces < max_pieces) {
		uint32_t off = seq + done - mseq, n = m->data_len - off;
		struct rte_mbuf *mi;

		if (n > len - done)
			n = len - done;
		if (n) {
			mi = rte_pktmbuf_alloc(tw->w->pool);
			if (!mi)
				return -1;
			rte_pktmbuf_attach(mi, m);
			mi->data_off = (uint16_t)(mi->data_off + off);
			mi->data_len = (uint16_t)n;
			mi->pkt_len = n;
			tail->next = mi;
			tail = mi;
			h->nb_segs++;
			h->pkt_len += n;
			done += n;
			pieces++;
		}
		if (off + n == m->data_len) {
			mseq += m->data_len;
			m = m->next;
			if (m) {
				c->sq_cur = m;
				c->sq_cur_seq = mseq;
			}
		}
	}
	*len_io = done;
	return 0;
}

static void fill_sack(struct tcp_conn *c, struct tcp_opts *o)
{
	uint32_t blocks[TCP_MAX_SACK][2];
	unsigned n;

	if (!(c->flags & TF_SACK) || c->ooo.n == 0)
		return;
	n = tcp_ooo_sack_blocks(&c->ooo, blocks, (c->flags & TF_TS) ? 3 : 4);
	for (unsigned i = 0; i < n; i++) {
		o->sack[i][0] = blocks[i][0];
		o->sack[i][1] = blocks[i][1];
	}
	o->nsack = (uint8_t)n;
	if (n)
		o->flags |= TCP_OF_SACK;
}

/* May this connection's segments go as TSO packets? IPv6 needs the port's IPv6 TSO (dp.h tso6). */
static inline int conn_tso(const struct tcp_worker *tw, const struct tcp_conn *c)
{
	return (c->flags & TF_V6) ? tw->w->tso6 : tw->w->tso;
}

/* Builds the Ethernet + IP (either family) + TCP headers of a segment in a fresh mbuf. */
static struct rte_mbuf *build_hdr(struct tcp_worker *tw, const struct dp_ip *laddr,
				  const struct dp_ip *raddr, uint16_t lport, uint16_t rport,
				  uint32_t seq, uint32_t ack, uint8_t flags, uint16_t wnd,
				  const struct tcp_opts *o, int syn, struct rte_tcp_hdr **th_out,
				  uint8_t **ip_out)
{
	struct dp_worker *w = tw->w;
	struct rte_mbuf *h = rte_pktmbuf_alloc(w->pool);
	uint8_t optbuf[40];
	size_t olen = o ? tcp_opts_write(optbuf, syn, o) : 0;
	int v6 = !dp_ip_is_v4(laddr);
	uint16_t l3 = v6 ? DP_IP6_HLEN : DP_IP_HLEN;
	uint16_t hl = (uint16_t)(DP_ETH_HLEN + l3 + 20 + olen);
	uint8_t *p;
	struct rte_ether_hdr *eh;
	struct rte_tcp_hdr *th;

	if (!h) {
		w->st->drop[DP_DROP_NO_MBUF]++;
		return NULL;
	}
	p = (uint8_t *)rte_pktmbuf_append(h, hl);
	eh = (struct rte_ether_hdr *)p;
	memset(&eh->dst_addr, 0, sizeof(eh->dst_addr));
	eh->src_addr = w->mac;
	/* IP header: lengths (and IPv4's checksum) are finished in finish(). */
	if (v6) {
		eh->ether_type = rte_cpu_to_be_16(DP_ETHERTYPE_IPV6);
		dp_ipv6_build(p + DP_ETH_HLEN, laddr, raddr, DP_IPPROTO_TCP, 0, 64);
	} else {
		eh->ether_type = rte_cpu_to_be_16(DP_ETHERTYPE_IPV4);
		dp_ipv4_build(p + DP_ETH_HLEN, dp_ip_v4_of(laddr), dp_ip_v4_of(raddr),
			      DP_IPPROTO_TCP, 0, w->ip_id++, 1);
	}
	th = (struct rte_tcp_hdr *)(p + DP_ETH_HLEN + l3);
	th->src_port = rte_cpu_to_be_16(lport);
	th->dst_port = rte_cpu_to_be_16(rport);
	th->sent_seq = rte_cpu_to_be_32(seq);
	th->recv_ack = rte_cpu_to_be_32((flags & TH_ACK) ? ack : 0);
	th->data_off = (uint8_t)(((20 + olen) / 4) << 4);
	th->tcp_flags = flags;
	th->rx_win = rte_cpu_to_be_16(wnd);
	th->cksum = 0;
	th->tcp_urp = 0;
	memcpy(th + 1, optbuf, olen);
	h->l2_len = DP_ETH_HLEN;
	h->l3_len = l3;
	h->l4_len = (uint64_t)(20 + olen);
	*th_out = th;
	*ip_out = p + DP_ETH_HLEN;
	return h;
}

/* finish() for IPv6: no header checksum; the pseudo-header from the addresses. */
static void finish6(struct tcp_worker *tw, struct rte_mbuf *h, struct rte_tcp_hdr *th,
		    struct rte_ipv6_hdr *ip, uint32_t segsz)
{
	struct dp_worker *w = tw->w;
	struct dp_ip src, dst;

	ip->payload_len = rte_cpu_to_be_16((uint16_t)(h->pkt_len - DP_ETH_HLEN - DP_IP6_HLEN));
	if (segsz) {
		uint32_t pay = h->pkt_len - DP_ETH_HLEN - DP_IP6_HLEN - (uint32_t)h->l4_len;

		h->ol_flags = RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_TCP_CKSUM;
		h->tso_segsz = (uint16_t)segsz;
		th->cksum = rte_ipv6_phdr_cksum(ip, h->ol_flags);
		w->st->ctr[DP_CTR_TCP_TSO_OUT]++;
		w->st->ctr[DP_CTR_TCP_TSO_SEGS] += (pay + segsz - 1) / segsz;
	} else if (w->tx_csum_offload && dp_chain_even_pieces(h)) {
		h->ol_flags = RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_TCP_CKSUM;
		th->cksum = rte_ipv6_phdr_cksum(ip, h->ol_flags);
	} else {
		if (w->tx_csum_offload)
			w->st->ctr[DP_CTR_TCP_CSUM_SW]++;
		memcpy(src.b, ip->src_addr, 16);
		memcpy(dst.b, ip->dst_addr, 16);
		th->cksum = 0;
		th->cksum = dp_l4_cksum_ipv6(h, &src, &dst, DP_ETH_HLEN + DP_IP6_HLEN);
	}
}

/*
 * Lengths and checksums (offloaded when the port can), then out. segsz != 0:
 * a TSO packet, the port cuts it into segments of segsz payload bytes.
 */
static void finish(struct tcp_worker *tw, struct rte_mbuf *h, struct rte_tcp_hdr *th,
		   uint8_t *l3, const struct rte_ether_addr *dmac, const struct dp_ip *raddr,
		   uint32_t segsz)
{
	struct dp_worker *w = tw->w;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)l3;

	if ((l3[0] >> 4) == 6) {
		finish6(tw, h, th, (struct rte_ipv6_hdr *)l3, segsz);
		goto out;
	}
	ip->total_length = rte_cpu_to_be_16((uint16_t)(h->pkt_len - DP_ETH_HLEN));
	if (segsz) {
		uint32_t pay = h->pkt_len - DP_ETH_HLEN - DP_IP_HLEN - (uint32_t)h->l4_len;

		/* The pseudo-header sum without the length, as TSO wants it (rte_ip.h). */
		h->ol_flags = RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM |
			      RTE_MBUF_F_TX_TCP_CKSUM;
		h->tso_segsz = (uint16_t)segsz;
		ip->hdr_checksum = 0;
		th->cksum = rte_ipv4_phdr_cksum(ip, h->ol_flags);
		w->st->ctr[DP_CTR_TCP_TSO_OUT]++;
		w->st->ctr[DP_CTR_TCP_TSO_SEGS] += (pay + segsz - 1) / segsz;
	} else if (w->tx_csum_offload && dp_chain_even_pieces(h)) {
		/* Offload only chains whose pieces all sum right on every PMD (csum.h). */
		h->ol_flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_CKSUM;
		ip->hdr_checksum = 0;
		th->cksum = rte_ipv4_phdr_cksum(ip, h->ol_flags);
	} else {
		if (w->tx_csum_offload)
			w->st->ctr[DP_CTR_TCP_CSUM_SW]++;
		ip->hdr_checksum = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		th->cksum = 0;
		th->cksum = dp_l4_cksum_ipv4(h, ip, DP_ETH_HLEN + DP_IP_HLEN);
	}
out:
	w->st->ctr[DP_CTR_TCP_SEGS_OUT]++;
	if (dmac) {
		rte_pktmbuf_mtod(h, struct rte_ether_hdr *)->dst_addr = *dmac;
		dp_tx(w, h);
	} else {
		struct dp_ip hop = dp_next_hop_ip(w, raddr);

		dp_neigh_output(w, h, &hop);
	}
}

/*
 * The next hop's MAC: a passive connection keeps the one its SYN came from
 * (following the peer's frames, conn_input); one that got it from the ARP
 * cache (active opens) asks the cache again for every segment, so the entry
 * counts as in use (refreshed before it expires) and a changed or expired
 * entry is followed, never a stale MAC kept for ever (dataplane/arp.c).
 */
static const struct rte_ether_addr *conn_mac(struct tcp_worker *tw, struct tcp_conn *c)
{
	const struct rte_ether_addr *m;

	if ((c->flags & (TF_RMAC | TF_ARP_MAC)) == TF_RMAC)
		return &c->rmac;
	{
		struct dp_ip hop = dp_next_hop_ip(tw->w, &c->raddr);

		m = dp_ip_is_any(&hop) ? NULL : dp_neigh_lookup(tw->w, &hop);
	}
	if (m) {
		c->rmac = *m;
		c->flags |= TF_RMAC | TF_ARP_MAC;
		return &c->rmac;
	}
	c->flags &= ~(uint32_t)(TF_RMAC | TF_ARP_MAC);
	return NULL;
}

int tcp_xmit(struct tcp_worker *tw, struct tcp_conn *c, uint32_t seq, uint32_t len,
	     uint8_t flags)
{
	struct tcp_opts o;
	struct rte_mbuf *h;
	struct rte_tcp_hdr *th;
	uint8_t *ip;
	int syn = (flags & TH_SYN) != 0;
	uint32_t wnd = rcv_window(tw, c), segsz = 0;
	uint16_t wfield;

	memset(&o, 0, sizeof(o));
	if (syn) {
		o.flags = TCP_OF_MSS;
		o.mss = tcp_our_mss(tw, !!(c->flags & TF_V6));
		if (c->state == TCP_SYN_SENT || (c->flags & TF_TS))
			o.flags |= TCP_OF_TS;
		if (c->state == TCP_SYN_SENT || (c->flags & TF_SACK))
			o.flags |= TCP_OF_SACK_OK;
		if (c->state == TCP_SYN_SENT || c->rcv_ws) {
			o.flags |= TCP_OF_WS;
			o.ws = c->rcv_ws;
		}
		if (o.flags & TCP_OF_TS) {
			o.tsval = tcp_ts_now(tw);
			o.tsecr = c->state == TCP_SYN_SENT ? 0 : c->ts_recent;
		}
		wfield = (uint16_t)(wnd > 65535 ? 65535 : wnd);
	} else {
		if (c->flags & TF_TS) {
			o.flags |= TCP_OF_TS;
			o.tsval = tcp_ts_now(tw);
			o.tsecr = c->ts_recent;
		}
		fill_sack(c, &o);
		{
			/* Scaling rounds down; round up instead where rounding down would
			 * move the right edge left of what we advertised before. */
			uint32_t cur = seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
			uint32_t sc = wnd >> c->rcv_ws;

			if ((uint64_t)sc << c->rcv_ws < cur)
				sc = (uint32_t)(((uint64_t)cur + (1u << c->rcv_ws) - 1) >> c->rcv_ws);
			wfield = (uint16_t)(sc > 65535 ? 65535 : sc);
		}
	}
	h = build_hdr(tw, &c->laddr, &c->raddr, c->lport, c->rport, seq, c->rcv_nxt, flags, wfield,
		      &o, syn, &th, &ip);
	if (!h)
		return -1;
	if (len) {
		/* Effective MSS (RFC 9293 3.7.1): options come out of the peer's MSS. */
		uint32_t want = len, mseq, seg_pay = (uint32_t)c->mss - h->l4_len + 20u;
		struct rte_mbuf *m = sq_locate(c, seq, &mseq);
		unsigned max = tw->w->tx_pieces && tw->w->tx_pieces < TCP_TX_PIECES ? tw->w->tx_pieces
										  : TCP_TX_PIECES;

		/* More than a segment, and the port segments: one TSO packet (no SYN, no RST). */
		if (len > seg_pay && conn_tso(tw, c) && !(flags & (TH_SYN | TH_RST)))
			segsz = tso_plan(tw->w, m, mseq, seq, seg_pay, h->l4_len, &len);
		if (segsz)
			max = TCP_TSO_PIECES;
		else if (len > seg_pay)
			len = seg_pay;
		if (attach_payload(tw, c, h, m, mseq, seq, &len, max) != 0 || len == 0) {
			rte_pktmbuf_free(h);
			tw->w->st->drop[DP_DROP_NO_MBUF]++;
			return -1;
		}
		if (len < want)
			flags &= (uint8_t)~TH_FIN; /* FIN rides only on the segment that ends the data */
		th->tcp_flags = flags;
		if (seq_lt(seq, c->snd_max)) {
			c->retrans++;
			tw->w->st->ctr[DP_CTR_TCP_RETRANS]++;
		}
		tw->w->st->ctr[DP_CTR_TCP_DATA_SEGS_OUT]++;
		c->bytes_out += len;
	}
	if (flags & TH_ACK) {
		c->last_ack_sent = c->rcv_nxt;
		c->acks_pending = 0;
		c->flags &= ~TF_ACK_NOW;
		if (c->t_delack)
			c->t_delack = 0;
		/* The edge the peer was told: the field as sent (a SYN's is never scaled). */
		uint32_t adv = syn ? wfield : (uint32_t)wfield << c->rcv_ws;

		if (seq_gt(c->rcv_nxt + adv, c->rcv_adv))
			c->rcv_adv = c->rcv_nxt + adv;
	}
	finish(tw, h, th, ip, conn_mac(tw, c), &c->raddr, segsz);
	return (int)len;
}

void tcp_send_syn(struct tcp_worker *tw, struct tcp_conn *c)
{
	uint8_t flags = c->state == TCP_SYN_SENT ? TH_SYN : TH_SYN | TH_ACK;

	tcp_xmit(tw, c, c->iss, 0, flags);
	c->snd_nxt = c->iss + 1;
	if (seq_gt(c->snd_nxt, c->snd_max))
		c->snd_max = c->snd_nxt;
	c->t_rexmit = tw->w->now_ms + tcp_rto_current(&c->rtt);
	tcp_timer_update(tw, c);
}

void tcp_send_ack(struct tcp_worker *tw, struct tcp_conn *c)
{
	tcp_xmit(tw, c, c->snd_nxt, 0, TH_ACK);
	tcp_timer_update(tw, c);
}

void tcp_send_challenge_ack(struct tcp_worker *tw, struct tcp_conn *c)
{
	uint64_t sec = tw->w->now_ms / 1000;

	if (sec != tw->chal_sec) {
		tw->chal_sec = sec;
		tw->chal_count = 0;
	}
	if (tw->chal_count++ >= tw->cfg.challenge_ack_per_s)
		return;
	tw->w->st->ctr[DP_CTR_TCP_CHALLENGE_ACKS]++;
	tcp_xmit(tw, c, c->snd_nxt, 0, TH_ACK);
}

void tcp_send_rst(struct tcp_worker *tw, struct tcp_conn *c)
{
	tw->w->st->ctr[DP_CTR_TCP_RST_SENT]++;
	tcp_xmit(tw, c, c->snd_nxt, 0, TH_RST | TH_ACK);
}

static void reply_raw(struct tcp_worker *tw, const struct tcp_seg *s, uint32_t seq, uint32_t ack,
		      uint8_t flags, uint16_t wnd, const struct tcp_opts *o)
{
	struct rte_mbuf *h;
	struct rte_tcp_hdr *th;
	uint8_t *ip;
	struct rte_ether_addr mac;

	h = build_hdr(tw, &s->daddr, &s->saddr, s->dport, s->sport, seq, ack, flags, wnd, o,
		      (flags & TH_SYN) != 0, &th, &ip);
	if (!h)
		return;
	memcpy(mac.addr_bytes, s->smac, 6);
	finish(tw, h, th, ip, &mac, &s->saddr, 0);
}

void tcp_send_rst_reply(struct tcp_worker *tw, const struct tcp_seg *s)
{
	if (s->flags & TH_RST)
		return;
	tw->w->st->ctr[DP_CTR_TCP_RST_SENT]++;
	if (s->flags & TH_ACK)
		reply_raw(tw, s, s->ack, 0, TH_RST, 0, NULL);
	else
		reply_raw(tw, s, 0,
			  s->seq + s->len + ((s->flags & TH_SYN) ? 1 : 0) + ((s->flags & TH_FIN) ? 1 : 0),
			  TH_RST | TH_ACK, 0, NULL);
}

void tcp_send_cookie_synack(struct tcp_worker *tw, const struct tcp_seg *s)
{
	struct tcp_opts o;
	uint16_t peer_mss = (s->o.flags & TCP_OF_MSS) ? s->o.mss : 536;
	uint16_t ours = tcp_our_mss(tw, !dp_ip_is_v4(&s->saddr));
	uint32_t cookie;

	if (peer_mss > ours)
		peer_mss = ours;
	cookie = tcp_cookie_make_ip(&tw->ckey, &s->saddr, &s->daddr, s->sport, s->dport, s->seq,
				    peer_mss, tw->w->now_ms / 1000);
	memset(&o, 0, sizeof(o));
	o.flags = TCP_OF_MSS;
	o.mss = ours;
	if (s->o.flags & TCP_OF_TS) {
		/* ws and SACK ride in the low bits of TSval (see tcp_cookie.h). */
		o.flags |= TCP_OF_TS;
		o.tsval = ((uint32_t)tw->w->now_ms & ~0x1fu) |
			  tcp_cookie_ts_bits(!!(s->o.flags & TCP_OF_WS), s->o.ws,
					     !!(s->o.flags & TCP_OF_SACK_OK));
		o.tsecr = s->o.tsval;
		if (s->o.flags & TCP_OF_SACK_OK)
			o.flags |= TCP_OF_SACK_OK;
		if (s->o.flags & TCP_OF_WS) {
			o.flags |= TCP_OF_WS;
			o.ws = tw->rcv_ws;
		}
	}
	tw->w->st->ctr[DP_CTR_TCP_COOKIES_SENT]++;
	tw->cookie_ms = tw->w->now_ms ? tw->w->now_ms : 1;
	reply_raw(tw, s, cookie, s->seq + 1, TH_SYN | TH_ACK,
		  (uint16_t)(tw->cfg.rcvbuf > 65535 ? 65535 : tw->cfg.rcvbuf), &o);
}

/* Sends new data / retransmissions / FIN / ACK as the windows allow. */
void tcp_output(struct tcp_worker *tw, struct tcp_conn *c)
{
	unsigned budget = TCP_OUT_BUDGET;
	int sent_any = 0;
	uint32_t data_end, end, seg_max = conn_tso(tw, c) ? UINT16_MAX : c->mss;

	switch (c->state) {
	case TCP_SYN_SENT:
		return;
	case TCP_SYN_RCVD:
		if (c->flags & TF_ACK_NOW)
			tcp_xmit(tw, c, c->iss, 0, TH_SYN | TH_ACK);
		return;
	case TCP_TIME_WAIT:
	case TCP_CLOSED:
		if (c->flags & TF_ACK_NOW)
			tcp_send_ack(tw, c);
		return;
	default:
		break;
	}
	if (c->flags & TF_FIN_ACKED) {
		if ((c->flags & TF_ACK_NOW) || c->acks_pending)
			tcp_send_ack(tw, c);
		c->t_rexmit = c->t_persist = 0;
		tcp_timer_update(tw, c);
		return;
	}
	data_end = c->snd_una + c->sq_bytes;
	if (seq_lt(c->snd_nxt, c->snd_una))
		c->snd_nxt = c->snd_una;

	/* Loss recovery: holes first, as the proportional credit allows. */
	if (c->cc.in_recovery) {
		while (budget && c->cc.prr_credit > 0) {
			uint32_t from = seq_max(c->rxt_next, c->snd_una), hs, he, n;

			if (c->sb.n) {
				if (!tcp_sb_next_hole(&c->sb, from, &hs, &he))
					break;
			} else {
				/* No SACK: NewReno retransmits the first unacked segment once. */
				if (from != c->snd_una)
					break;
				hs = c->snd_una;
				he = seq_min(c->snd_max, data_end);
			}
			if (!seq_lt(hs, data_end))
				break;
			he = seq_min(he, data_end);
			n = seq_min(he - hs, c->mss);
			/* With TSO a retransmission spans what the credit allows, in whole segments. */
			if (conn_tso(tw, c) && c->cc.prr_credit > n)
				n = seq_min(he - hs, c->cc.prr_credit - c->cc.prr_credit % c->mss);
			{
				int k = tcp_xmit(tw, c, hs, n, TH_ACK);

				if (k <= 0)
					break;
				n = (uint32_t)k;
			}
			c->rxt_next = hs + n;
			c->cc.prr_credit = c->cc.prr_credit > n ? c->cc.prr_credit - n : 0;
			budget--;
			sent_any = 1;
		}
	}

	while (budget) {
		uint32_t flight = c->snd_nxt - c->snd_una, win, len, sacked_end;
		int32_t room;

		if (!seq_lt(c->snd_nxt, data_end))
			break;
		/* After a timeout, skip what the peer already holds. */
		if (seq_lt(c->snd_nxt, c->snd_max) &&
		    tcp_sb_is_sacked(&c->sb, c->snd_nxt, &sacked_end)) {
			c->snd_nxt = seq_min(sacked_end, data_end);
			continue;
		}
		if (flight > c->sb.sacked)
			flight -= c->sb.sacked;
		win = c->cc.in_recovery ? flight + c->cc.prr_credit : c->cc.cwnd;
		/* Limited transmit (RFC 3042): a new segment for each of the first two dupacks. */
		if (!c->cc.in_recovery && c->dupacks)
			win += (c->dupacks < 2 ? c->dupacks : 2u) * c->mss;
		if (win > c->snd_wnd)
			win = c->snd_wnd;
		room = (int32_t)(win - flight);
		if (c->snd_una + c->snd_wnd - c->snd_nxt < (uint32_t)room || room < 0)
			room = (int32_t)(c->snd_una + c->snd_wnd - c->snd_nxt);
		/* One segment, or with TSO one packet of many (tcp_xmit caps it). */
		len = data_end - c->snd_nxt;
		if (len > seg_max)
			len = seg_max;
		if (room <= 0)
			break;
		if ((uint32_t)room < len) {
			/* Sender SWS avoidance: wait for a full segment while data is in flight. */
			if ((uint32_t)room >= c->mss)
				len = (uint32_t)room - (uint32_t)room % c->mss;
			else if (c->snd_nxt != c->snd_una)
				break;
			else
				len = (uint32_t)room;
		}
		end = c->snd_nxt + len;
		{
			uint8_t fl = TH_ACK;
			int n;

			if ((c->flags & TF_FIN_QUEUED) && end == data_end)
				fl |= TH_FIN;
			if (end == data_end)
				fl |= TH_PSH;
			n = tcp_xmit(tw, c, c->snd_nxt, len, fl);
			if (n <= 0)
				break;
			c->snd_nxt += (uint32_t)n;
			if (c->cc.in_recovery)
				c->cc.prr_credit = c->cc.prr_credit > (uint32_t)n
							   ? c->cc.prr_credit - (uint32_t)n
							   : 0;
			if ((fl & TH_FIN) && c->snd_nxt == data_end) {
				c->snd_fin = data_end;
				c->snd_nxt++;
				c->flags |= TF_FIN_SENT;
			}
		}
		if (seq_gt(c->snd_nxt, c->snd_max))
			c->snd_max = c->snd_nxt;
		sent_any = 1;
		budget--;
	}
	/* A FIN with no data left to carry it (or its retransmission after a timeout). */
	if ((c->flags & TF_FIN_QUEUED) && c->snd_nxt == data_end && budget &&
	    !(c->flags & TF_FIN_ACKED)) {
		tcp_xmit(tw, c, data_end, 0, TH_FIN | TH_ACK);
		c->snd_fin = data_end;
		c->snd_nxt = data_end + 1;
		c->flags |= TF_FIN_SENT;
		if (seq_gt(c->snd_nxt, c->snd_max))
			c->snd_max = c->snd_nxt;
		sent_any = 1;
	}
	if (!sent_any) {
		if ((c->flags & TF_ACK_NOW) || c->acks_pending >= 2)
			tcp_send_ack(tw, c);
		else if (c->acks_pending && !c->t_delack)
			c->t_delack = tw->w->now_ms + tw->cfg.delack_ms;
	}
	if (budget == 0)
		tcp_sched_out(tw, c); /* more next pass */
	if (c->snd_max != c->snd_una) {
		if (!c->t_rexmit)
			tcp_arm_rexmit(tw, c);
		c->t_persist = 0;
	} else {
		c->t_rexmit = 0;
		if (c->snd_wnd == 0 && seq_lt(c->snd_nxt, data_end) && !c->t_persist)
			c->t_persist = tw->w->now_ms + tcp_rto_current(&c->rtt);
	}
	tcp_timer_update(tw, c);
}
