/*
 * Multi-queue ports: which worker owns a flow, and how workers hand each
 * other what arrived on the wrong queue.
 *
 * The owner rule. A TCP flow (IPv4) is owned by the worker whose queue the
 * port's RSS would pick for it: the symmetric Toeplitz hash of the received
 * direction's (src, dst, sport, dport) with the key the port was configured
 * with (dataplane/port.c), then entry hash % reta_size of the port's real
 * redirection table (programmed at start-up, read back where the port
 * cannot be programmed, or the documented default i % nb_queues over 128
 * entries for ports without one: net_tap, memif, the kernel TAP port). The
 * rule is a pure function of the 4-tuple and the read-only table, so every
 * worker computes the same owner for every segment without asking anyone:
 *   - active opens (tcp_connect) pick a source port whose flow the rule
 *     maps back to the opening worker;
 *   - a listener's connection (SYN, SYN-cookie ACK, everything after) lives
 *     on the rule's owner too: a SYN that lands on another queue is handed
 *     over before any state is made, so SYN state, cookies (per-worker
 *     keys) and the connection all sit on one worker;
 *   - a segment for no connection reaches the owner like any other, and
 *     only the owner answers it with a RST.
 * Where the port's placement agrees with the rule (a NIC with the table
 * programmed), no segment is ever handed over; where it does not (queues
 * chosen by the kernel for TAP ports, memif peers, a NIC hashing only IPs)
 * the segment costs one ring hop, never a RST.
 *
 * Handoff. Each worker has one inbox ring of mbufs (multi-producer, single
 * consumer, lock-free): a TCP segment owned by another worker is buffered
 * per destination during the RX burst and enqueued in bulk at its end
 * (dp_mq_flush); the owner dequeues a burst each pass (dp_mq_poll) and runs
 * it through TCP input as if it had received it. The mbuf starts at the TCP
 * header with l2_len / l3_len giving the Ethernet and IP headers still in
 * front of it (checked already by the receiving worker; l3_len covers
 * IPv6's extension headers, the version nibble tells the family). A full ring drops
 * the segment (counted; TCP recovers as from any loss).
 *
 * ARP sharing. Each worker has one inbox ring of ARP updates (ip, MAC, time
 * confirmed). The worker that learns or refreshes an entry from an ARP
 * packet posts it to every other worker's inbox (at most once per entry per
 * ARP_RETRY_MS unless the MAC changed); each worker applies its inbox every
 * pass. Nothing is shared writable: each worker still has its own cache.
 *
 * A sleeping worker (WorkerIdle) is kicked after a handoff to it, and does
 * not go to sleep while either of its inboxes holds something.
 */
#ifndef ST_DATAPLANE_MQ_H
#define ST_DATAPLANE_MQ_H

#include <stdint.h>

#include <rte_ring.h>

#include "dataplane/dp.h"

#define DP_RETA_MAX 2048      /* largest redirection table kept */
#define DP_RETA_DEFAULT 128   /* entries of the default table of ports without one */
#define DP_RSS_KEY_MAX 64
#define DP_HANDOFF_RING 2048  /* mbufs per worker inbox */
#define DP_ARP_RING 512       /* ARP updates per worker inbox */

/* Where a port's redirection table came from. */
enum dp_reta_source {
	DP_RETA_DEFAULT_TABLE = 0, /* no table on the port (or nothing readable): i % nb_queues */
	DP_RETA_PROGRAMMED,        /* we programmed it: i % nb_queues over reta_size */
	DP_RETA_QUERIED,           /* the port would not take ours: read back from it */
};

/*
 * The software model of a port's RSS, read-only once set up and shared by
 * its workers. lut[i][b]: the Toeplitz contribution of input byte i having
 * value b, so a hash is 12 table loads and XORs for IPv4 (same result as
 * rte_softrss over the same key), 36 for IPv6: the input is src, dst (16
 * bytes each), sport, dport, as RSS hashes TCP/IPv6 (the 40-byte key covers
 * it; the symmetric key's 16-bit period keeps it symmetric).
 */
#define DP_RSS_INPUT_MAX 36
struct dp_rss {
	uint32_t lut[DP_RSS_INPUT_MAX][256];
	uint16_t reta_size;
	uint16_t nb_queues;
	uint8_t source; /* enum dp_reta_source */
	uint8_t reta[DP_RETA_MAX];
};

/* The per-port multi-queue state in the dataplane context (one per port). */
struct dp_mq {
	struct dp_rss rss;
	unsigned nb_workers;
	uint32_t arp_reachable_ms;
	struct rte_ring *handoff[DP_MAX_WORKERS]; /* mbufs for worker i */
	struct rte_ring *arp[DP_MAX_WORKERS];     /* struct dp_arp_update for worker i */
	struct dp_worker *w[DP_MAX_WORKERS];      /* for dp_idle_kick only */
};

/* A neighbor cache update (ARP or ND) posted between workers. */
struct dp_arp_update {
	struct dp_ip ip;
	uint8_t mac[6];
	uint16_t pad;
	uint32_t pad2;
	uint64_t confirmed_ms;
};

/*
 * The model of a port with nb_queues (1..DP_MAX_WORKERS) queues and Toeplitz
 * key (key_len >= 16 bytes used, the rest ignored), with the default table.
 */
void dp_rss_init(struct dp_rss *r, const uint8_t *key, unsigned key_len, uint16_t nb_queues);
/*
 * Installs a table of size entries (1..DP_RETA_MAX) naming queues; ST_OK or
 * ST_ERR_INVALID_ARGUMENT (a size out of range or an entry >= nb_queues:
 * the table is left as it was).
 */
int dp_rss_set_reta(struct dp_rss *r, const uint16_t *reta, unsigned size, enum dp_reta_source src);

/* Toeplitz hash of a received segment's tuple (host order), as the port computes it. */
static inline uint32_t dp_rss_hash(const struct dp_rss *r, uint32_t src, uint32_t dst,
				   uint16_t sport, uint16_t dport)
{
	return r->lut[0][src >> 24] ^ r->lut[1][(src >> 16) & 0xff] ^ r->lut[2][(src >> 8) & 0xff] ^
	       r->lut[3][src & 0xff] ^ r->lut[4][dst >> 24] ^ r->lut[5][(dst >> 16) & 0xff] ^
	       r->lut[6][(dst >> 8) & 0xff] ^ r->lut[7][dst & 0xff] ^ r->lut[8][sport >> 8] ^
	       r->lut[9][sport & 0xff] ^ r->lut[10][dport >> 8] ^ r->lut[11][dport & 0xff];
}

/* The same over either family (IPv4-mapped addresses hash as IPv4). */
static inline uint32_t dp_rss_hash_ip(const struct dp_rss *r, const struct dp_ip *src,
				      const struct dp_ip *dst, uint16_t sport, uint16_t dport)
{
	uint32_t h;

	if (dp_ip_is_v4(src))
		return dp_rss_hash(r, dp_ip_v4_of(src), dp_ip_v4_of(dst), sport, dport);
	h = r->lut[32][sport >> 8] ^ r->lut[33][sport & 0xff] ^ r->lut[34][dport >> 8] ^
	    r->lut[35][dport & 0xff];
	for (unsigned i = 0; i < 16; i++)
		h ^= r->lut[i][src->b[i]] ^ r->lut[16 + i][dst->b[i]];
	return h;
}

/* The queue (= worker index) the table gives a received segment's tuple. */
static inline unsigned dp_rss_queue(const struct dp_rss *r, uint32_t src, uint32_t dst,
				    uint16_t sport, uint16_t dport)
{
	return r->reta[dp_rss_hash(r, src, dst, sport, dport) % r->reta_size];
}

/*
 * The owner of the flow laddr:lport <-> raddr:rport on w's port (the worker
 * index). w's own id when it is the only worker or has no model (unit
 * tests that build a worker by hand).
 */
static inline unsigned dp_flow_owner(const struct dp_worker *w, uint32_t laddr, uint16_t lport,
				     uint32_t raddr, uint16_t rport)
{
	if (w->nb_workers <= 1 || !w->mq)
		return w->id;
	return dp_rss_queue(&w->mq->rss, raddr, laddr, rport, lport);
}

/* dp_flow_owner for either family. */
static inline unsigned dp_flow_owner_ip(const struct dp_worker *w, const struct dp_ip *laddr,
					uint16_t lport, const struct dp_ip *raddr, uint16_t rport)
{
	if (w->nb_workers <= 1 || !w->mq)
		return w->id;
	return w->mq->rss.reta[dp_rss_hash_ip(&w->mq->rss, raddr, laddr, rport, lport) %
			       w->mq->rss.reta_size];
}

/*
 * Setup: the rings of nb_workers workers (ST_OK, ST_ERR_ALLOC); rss must be
 * set up by then. fini frees what is still queued, after the workers stopped.
 */
int dp_mq_create(struct dp_mq *mq, unsigned nb_workers, uint32_t arp_reachable_ms, int socket);
void dp_mq_destroy(struct dp_mq *mq);

/*
 * On the worker, for a TCP segment (m at the TCP header, l2_len / l3_len set)
 * owned by worker owner != w->id: buffers it for the owner (takes m).
 */
void dp_mq_handoff(struct dp_worker *w, struct rte_mbuf *m, unsigned owner);
/* End of an RX burst: enqueues what dp_mq_handoff buffered, kicks sleeping owners. */
void dp_mq_flush(struct dp_worker *w);
/*
 * Every pass: applies the ARP inbox and runs a burst of handed-over segments
 * through TCP input. Returns the number of segments taken.
 */
unsigned dp_mq_poll(struct dp_worker *w);
/* 1 when either inbox of w holds something (the worker must not sleep). */
int dp_mq_pending(const struct dp_worker *w);
/* Posts a neighbor entry (either family) w learned to every other worker. */
void dp_mq_post_neigh(struct dp_worker *w, const struct dp_ip *ip, const struct rte_ether_addr *mac,
		      uint64_t confirmed_ms);

#endif
