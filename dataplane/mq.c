/*
 * Multi-queue ports (dataplane/mq.h): the software model of the port's RSS,
 * and the inboxes through which workers hand each other TCP segments and
 * ARP updates.
 */
#include <string.h>

#include <rte_byteorder.h>
#include <rte_errno.h>
#include <rte_prefetch.h>
#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "crypto/err.h"
#include "dataplane/mq.h"
#include "dataplane/proto.h"
#include "dataplane/proto6.h"

/* 32 key bits starting at bit off (MSB first), as Toeplitz slides its window. */
static uint32_t key_window(const uint8_t *key, unsigned key_len, unsigned off)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < 32; i++) {
		unsigned bit = off + i, byte = bit / 8;
		unsigned b = byte < key_len ? (key[byte] >> (7 - bit % 8)) & 1u : 0u;

		v = v << 1 | b;
	}
	return v;
}

void dp_rss_init(struct dp_rss *r, const uint8_t *key, unsigned key_len, uint16_t nb_queues)
{
	memset(r, 0, sizeof(*r));
	for (unsigned i = 0; i < DP_RSS_INPUT_MAX; i++) {
		uint32_t win[8];

		for (unsigned b = 0; b < 8; b++)
			win[b] = key_window(key, key_len, i * 8 + b);
		for (unsigned v = 0; v < 256; v++) {
			uint32_t h = 0;

			for (unsigned b = 0; b < 8; b++)
				if (v & (0x80u >> b))
					h ^= win[b];
			r->lut[i][v] = h;
		}
	}
	r->nb_queues = nb_queues ? nb_queues : 1;
	r->reta_size = DP_RETA_DEFAULT;
	r->source = DP_RETA_DEFAULT_TABLE;
	for (unsigned i = 0; i < DP_RETA_DEFAULT; i++)
		r->reta[i] = (uint8_t)(i % r->nb_queues);
}

int dp_rss_set_reta(struct dp_rss *r, const uint16_t *reta, unsigned size, enum dp_reta_source src)
{
	if (size == 0 || size > DP_RETA_MAX)
		return ST_ERR_INVALID_ARGUMENT;
	for (unsigned i = 0; i < size; i++)
		if (reta[i] >= r->nb_queues)
			return ST_ERR_INVALID_ARGUMENT;
	for (unsigned i = 0; i < size; i++)
		r->reta[i] = (uint8_t)reta[i];
	r->reta_size = (uint16_t)size;
	r->source = (uint8_t)src;
	return ST_OK;
}

int dp_mq_create(struct dp_mq *mq, unsigned nb_workers, uint32_t arp_reachable_ms, int socket)
{
	char name[RTE_RING_NAMESIZE];
	static unsigned seq; /* ring names must be unique in the process */

	mq->nb_workers = nb_workers;
	mq->arp_reachable_ms = arp_reachable_ms;
	if (nb_workers <= 1)
		return ST_OK;
	seq++;
	for (unsigned i = 0; i < nb_workers; i++) {
		snprintf(name, sizeof(name), "st_ho%u_%u", seq, i);
		mq->handoff[i] = rte_ring_create(name, DP_HANDOFF_RING, socket, RING_F_SC_DEQ);
		snprintf(name, sizeof(name), "st_arp%u_%u", seq, i);
		mq->arp[i] = rte_ring_create_elem(name, sizeof(struct dp_arp_update), DP_ARP_RING,
						  socket, RING_F_SC_DEQ);
		if (!mq->handoff[i] || !mq->arp[i]) {
			fprintf(stderr, "dataplane: worker inbox rings: %s\n", rte_strerror(rte_errno));
			return ST_ERR_ALLOC;
		}
	}
	return ST_OK;
}

void dp_mq_destroy(struct dp_mq *mq)
{
	for (unsigned i = 0; i < DP_MAX_WORKERS; i++) {
		struct rte_mbuf *m;

		if (mq->handoff[i]) {
			while (rte_ring_sc_dequeue(mq->handoff[i], (void **)&m) == 0)
				rte_pktmbuf_free(m);
			rte_ring_free(mq->handoff[i]);
		}
		rte_ring_free(mq->arp[i]);
		mq->handoff[i] = NULL;
		mq->arp[i] = NULL;
	}
}

void dp_mq_handoff(struct dp_worker *w, struct rte_mbuf *m, unsigned owner)
{
	if (owner >= w->nb_workers || !w->mq || !w->mq->handoff[owner]) {
		dp_drop(w, m, DP_DROP_HANDOFF_FULL); /* cannot happen with a sound table */
		return;
	}
	if (w->ho_n[owner] == DP_HANDOFF_BURST)
		dp_mq_flush(w);
	w->ho[owner][w->ho_n[owner]++] = m;
	w->st->ctr[DP_CTR_TCP_HANDOFF_OUT]++;
}

void dp_mq_flush(struct dp_worker *w)
{
	const struct dp_mq *mq = w->mq;

	if (!mq)
		return;
	for (unsigned o = 0; o < w->nb_workers; o++) {
		unsigned n = w->ho_n[o], k;

		if (n == 0)
			continue;
		w->ho_n[o] = 0;
		k = rte_ring_mp_enqueue_burst(mq->handoff[o], (void **)w->ho[o], n, NULL);
		for (unsigned i = k; i < n; i++)
			dp_drop(w, w->ho[o][i], DP_DROP_HANDOFF_FULL);
		if (k)
			dp_idle_kick(mq->w[o]);
	}
}

/* A handed-over segment: the headers in front of m were checked by the worker that got it. */
static void handoff_input(struct dp_worker *w, struct rte_mbuf *m)
{
	const uint8_t *iph = rte_pktmbuf_mtod(m, const uint8_t *) - m->l3_len;
	const struct rte_ether_hdr *eh = (const struct rte_ether_hdr *)(iph - m->l2_len);
	struct dp_ipv4_info ip;

	if ((iph[0] >> 4) == 6) {
		struct dp_ip src, dst;
		uint32_t plen = (uint32_t)(iph[4] << 8 | iph[5]);

		memcpy(src.b, iph + 8, 16);
		memcpy(dst.b, iph + 24, 16);
		w->st->ctr[DP_CTR_TCP_HANDOFF_IN]++;
		tcp_input_ip(w->tcp, m, &src, &dst, DP_IP6_HLEN + plen - m->l3_len,
			     eh->src_addr.addr_bytes);
		return;
	}

	ip.src = (uint32_t)iph[12] << 24 | (uint32_t)iph[13] << 16 | (uint32_t)iph[14] << 8 | iph[15];
	ip.dst = (uint32_t)iph[16] << 24 | (uint32_t)iph[17] << 16 | (uint32_t)iph[18] << 8 | iph[19];
	ip.proto = iph[9];
	ip.ttl = iph[8];
	ip.hlen = (uint16_t)m->l3_len;
	ip.total_len = (uint16_t)(iph[2] << 8 | iph[3]);
	w->st->ctr[DP_CTR_TCP_HANDOFF_IN]++;
	tcp_input(w->tcp, m, &ip, eh->src_addr.addr_bytes, 1);
}

unsigned dp_mq_poll(struct dp_worker *w)
{
	const struct dp_mq *mq = w->mq;
	struct rte_mbuf *pkts[DP_RX_BURST];
	struct dp_arp_update up[DP_RX_BURST];
	unsigned n;

	if (!mq || !mq->handoff[w->id])
		return 0;
	n = rte_ring_sc_dequeue_burst_elem(mq->arp[w->id], up, sizeof(up[0]), DP_RX_BURST, NULL);
	for (unsigned i = 0; i < n; i++) {
		struct rte_ether_addr mac;

		memcpy(mac.addr_bytes, up[i].mac, 6);
		dp_neigh_apply(w, &up[i].ip, &mac, up[i].confirmed_ms);
	}
	n = rte_ring_sc_dequeue_burst(mq->handoff[w->id], (void **)pkts, DP_RX_BURST, NULL);
	for (unsigned i = 0; i < n; i++) {
		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		handoff_input(w, pkts[i]);
	}
	return n;
}

int dp_mq_pending(const struct dp_worker *w)
{
	const struct dp_mq *mq = w->mq;

	if (!mq || !mq->handoff[w->id])
		return 0;
	return !rte_ring_empty(mq->handoff[w->id]) || !rte_ring_empty(mq->arp[w->id]);
}

void dp_mq_post_neigh(struct dp_worker *w, const struct dp_ip *ip, const struct rte_ether_addr *mac,
		      uint64_t confirmed_ms)
{
	const struct dp_mq *mq = w->mq;
	struct dp_arp_update u;

	if (!mq || !mq->arp[w->id])
		return;
	memset(&u, 0, sizeof(u));
	u.ip = *ip;
	memcpy(u.mac, mac->addr_bytes, 6);
	u.confirmed_ms = confirmed_ms;
	for (unsigned o = 0; o < w->nb_workers; o++) {
		if (o == w->id)
			continue;
		if (rte_ring_mp_enqueue_elem(mq->arp[o], &u, sizeof(u)) == 0) {
			w->st->ctr[DP_CTR_ARP_SHARED_OUT]++;
			dp_idle_kick(mq->w[o]);
		} else {
			w->st->ctr[DP_CTR_ARP_SHARE_LOST]++;
		}
	}
}
