/*
 * libFuzzer harness for the dataplane's packet input path: whole Ethernet
 * frames go into dp_worker_input (Ethernet -> ARP / IPv4 -> ICMP / TCP, and
 * IPv6 -> extension headers -> ICMPv6 echo / Neighbor Discovery / TCP), then
 * the rest of a worker loop pass runs (events to the application, timers, TCP
 * output, TX flush) on a clock the input drives.
 *
 * All state here belongs to the fuzzing thread, which is the EAL main lcore
 * and the worker's lcore at once (worker 0 of 1).
 *
 * The world each input meets: worker 0 at 198.18.0.2/24 (gateway .1), an
 * ARP entry for the peer 198.18.0.1, listeners on ports 22 (echo: what
 * arrives is sent back; a segment starting with 'Q' aborts, 'R' releases, 'S'
 * shuts down) and 80 (sink: reads and drops; small cap and backlog, so the
 * SYN-cookie path is reachable; every third accept is refused), two
 * ESTABLISHED connections on 22 (one with window scaling, SACK and
 * timestamps, one without), one on 80, and one active open to
 * 198.18.0.1:5432 that is ESTABLISHED too. Over IPv6 the worker is
 * fd00:18::2/64 (DAD done), the peer fd00:18::1 is in the neighbor cache, 22
 * listens on :: too and one IPv6 connection on 22 (with options) is
 * ESTABLISHED. All of them are made through the
 * real input path (SYN / SYN-ACK / ACK frames) when the world is built. The
 * world is torn down and rebuilt every FUZZ_DPINPUT_RESET inputs (default 1,
 * so an input reproduces on its own), and every mbuf must be back in the pool
 * then: a leak aborts the run and lists the mbufs. The pool is a checked one
 * (checked_pool.h): a double free aborts where it happens, and a free mbuf is
 * poisoned, so AddressSanitizer reports a use after free. The seeds for the
 * random parts (ISN and cookie keys, ephemeral ports) are fixed by rte_srand.
 *
 * Transmission: the worker's port is a net_ring vdev looped back onto
 * itself; after each pass the harness reads back what the worker sent and
 * frees it. Nothing in the product's path knows about the harness.
 *
 * Input: records of
 *     flags(1) advance(1) split(1) length(2, big endian) frame(length)
 * (a short last record takes what is left). advance moves the clock forward
 * before the frame: < 128 that many ms, else (advance - 127) * 500 ms.
 * split is the length of the first mbuf segment when the frame is chained.
 * flags:
 *   0x01 rewrite the IPv4 header checksum (nothing for IPv6, which has none)
 *   0x02 rewrite the TCP (or ICMP, ICMPv6) checksum; for IPv6 after the
 *        extension headers, which the product's own walker finds
 *   0x04 sequence and ack numbers are relative: the harness adds rcv_nxt and
 *        snd_nxt of the connection the frame's 4-tuple names (if any)
 *   0x18 (>> 3) + 1 segments in the mbuf chain, 1..3 (3 when both bits)
 *   0x20 each segment in an external buffer malloc'd to the exact size, so
 *        AddressSanitizer sees reads past the frame's end
 *   0x40 rewrite the IPv4 total length (IPv6: payload length) to the frame's
 *   0x80 no pass after this frame (it and the next one form one burst)
 * The checksum rewrites exist so that random inputs get past the checksum
 * checks and reach the TCP code in depth; without them nearly every mutated
 * frame would stop at DP_DROP_IP_CSUM / DP_DROP_TCP_CSUM.
 *
 * FUZZ_DPINPUT_WRITE_SEEDS=DIR writes the seed corpus (tests/fuzz/corpus/dpinput)
 * to DIR and exits.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_random.h>

#include <sanitizer/lsan_interface.h>

#include "crypto/err.h"
#include "dataplane/dp.h"
#include "dataplane/proto.h"
#include "dataplane/proto6.h"
#include "dataplane/tcp/tcp_internal.h"
#include "dataplane/worker.h"
#include "tests/fuzz/checked_pool.h"

#define US 0xc6120002u   /* 198.18.0.2 */
#define PEER 0xc6120001u /* 198.18.0.1 */
static const struct dp_ip US6 = {.b = {0xfd, 0, 0, 0x18, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}};
static const struct dp_ip PEER6 = {.b = {0xfd, 0, 0, 0x18, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};
#define MAX_FRAME 9018u
#define MAX_RECORDS 64

enum {
	F_IPCSUM = 0x01,
	F_L4CSUM = 0x02,
	F_REL = 0x04,
	F_SEGS = 0x18,
	F_EXT = 0x20,
	F_LEN = 0x40,
	F_BURST = 0x80,
};

static const struct rte_ether_addr our_mac = {{0x02, 0, 0, 0, 0, 0x02}};
static const struct rte_ether_addr peer_mac = {{0x02, 0, 0, 0, 0, 0x01}};

static struct rte_mempool *pool;
static uint16_t port;
static char runtime_dir[512];
static struct dp_cfg cfg;
static struct dp_stats st;
static struct dp_worker *w;
static uint64_t clock_ms = 1000000;
static unsigned reset_every = 1, since_reset;
static unsigned accepts;
static int debug; /* FUZZ_DPINPUT_DEBUG: print the worker's counters after each input */
static int lctx_echo, lctx_sink, cctx_client;

/* ---- frame building (setup and seeds) ---- */

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, (uint16_t)(v >> 16));
	wr16(p + 2, (uint16_t)v);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static size_t eth_hdr(uint8_t *f, const struct rte_ether_addr *dst, uint16_t type)
{
	memcpy(f, dst->addr_bytes, 6);
	memcpy(f + 6, peer_mac.addr_bytes, 6);
	wr16(f + 12, type);
	return DP_ETH_HLEN;
}

/* IPv6: the TCP or ICMPv6 checksum after the extension headers the product's walker skips. */
static void fix_l4_csum6(uint8_t *f, size_t len)
{
	uint8_t *ip = f + DP_ETH_HLEN, proto, *l4p;
	struct dp_ip src, dst;
	size_t plen, l4;
	uint16_t off;

	if (len < DP_ETH_HLEN + DP_IP6_HLEN)
		return;
	plen = (size_t)(ip[4] << 8 | ip[5]);
	if (plen > len - DP_ETH_HLEN - DP_IP6_HLEN)
		plen = len - DP_ETH_HLEN - DP_IP6_HLEN;
	if (dp_ipv6_ext_walk(ip + DP_IP6_HLEN, plen, ip[6], &proto, &off) != DP_DROP_NONE)
		return;
	l4 = plen - off;
	l4p = ip + DP_IP6_HLEN + off;
	memcpy(src.b, ip + 8, 16);
	memcpy(dst.b, ip + 24, 16);
	if (proto == DP_IPPROTO_TCP && l4 >= 18) {
		l4p[16] = l4p[17] = 0;
		wr16(l4p + 16, dp_csum_fold(dp_csum_partial(
				       l4p, l4, dp_ip6_pseudo_sum(&src, &dst, (uint32_t)l4, proto))));
	} else if (proto == DP_IPPROTO_ICMPV6 && l4 >= 4) {
		dp_icmp6_csum_set(&src, &dst, l4p, l4);
	}
}

/* Rewrites the TCP or ICMP checksum of a flat frame (the IPv4 header says which). */
static void fix_l4_csum(uint8_t *f, size_t len)
{
	uint8_t *ip = f + DP_ETH_HLEN;
	size_t ihl, tot, l4;
	uint8_t *l4p;

	if (len >= DP_ETH_HLEN && f[12] == 0x86 && f[13] == 0xdd) {
		fix_l4_csum6(f, len);
		return;
	}
	if (len < DP_ETH_HLEN + DP_IP_HLEN)
		return;
	ihl = (size_t)(ip[0] & 0xf) * 4;
	tot = (size_t)(ip[2] << 8 | ip[3]);
	if (tot > len - DP_ETH_HLEN)
		tot = len - DP_ETH_HLEN;
	if (ihl < DP_IP_HLEN || tot < ihl)
		return;
	l4 = tot - ihl;
	l4p = ip + ihl;
	if (ip[9] == DP_IPPROTO_TCP && l4 >= 18) {
		uint8_t ph[12];
		uint32_t sum;

		memcpy(ph, ip + 12, 8);
		ph[8] = 0;
		ph[9] = DP_IPPROTO_TCP;
		wr16(ph + 10, (uint16_t)l4);
		l4p[16] = l4p[17] = 0;
		sum = dp_csum_partial(ph, sizeof(ph), 0);
		sum = dp_csum_partial(l4p, l4, sum);
		wr16(l4p + 16, dp_csum_fold(sum));
	} else if (ip[9] == DP_IPPROTO_ICMP && l4 >= 4) {
		l4p[2] = l4p[3] = 0;
		wr16(l4p + 2, dp_csum_fold(dp_csum_partial(l4p, l4, 0)));
	}
}

/* A TCP header (checksum left to fix_l4_csum), options and data at th; returns their length. */
static size_t tcp_hdr(uint8_t *th, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
		      uint8_t flags, uint16_t wnd, const uint8_t *opt, size_t optlen,
		      const void *data, size_t dlen)
{
	size_t thl = 20 + optlen;

	memset(th, 0, 20);
	wr16(th, sport);
	wr16(th + 2, dport);
	wr32(th + 4, seq);
	wr32(th + 8, ack);
	th[12] = (uint8_t)(thl / 4 << 4);
	th[13] = flags;
	wr16(th + 14, wnd);
	if (optlen)
		memcpy(th + 20, opt, optlen);
	if (dlen)
		memcpy(th + thl, data, dlen);
	return thl + dlen;
}

/* A TCP/IPv4 frame from the peer to us with correct checksums; returns its length. */
static size_t mk_tcp(uint8_t *f, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
		     uint8_t flags, uint16_t wnd, const uint8_t *opt, size_t optlen,
		     const void *data, size_t dlen)
{
	size_t n = eth_hdr(f, &our_mac, DP_ETHERTYPE_IPV4);
	size_t l4 = tcp_hdr(f + n + DP_IP_HLEN, sport, dport, seq, ack, flags, wnd, opt, optlen, data,
			    dlen);

	dp_ipv4_build(f + n, PEER, US, DP_IPPROTO_TCP, (uint16_t)(DP_IP_HLEN + l4), 1, 0);
	n += DP_IP_HLEN + l4;
	fix_l4_csum(f, n);
	return n;
}

/* The same over IPv6, from PEER6 to US6. */
static size_t mk_tcp6(uint8_t *f, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
		      uint8_t flags, uint16_t wnd, const uint8_t *opt, size_t optlen,
		      const void *data, size_t dlen)
{
	size_t n = eth_hdr(f, &our_mac, DP_ETHERTYPE_IPV6);
	size_t l4 = tcp_hdr(f + n + DP_IP6_HLEN, sport, dport, seq, ack, flags, wnd, opt, optlen,
			    data, dlen);

	dp_ipv6_build(f + n, &PEER6, &US6, DP_IPPROTO_TCP, (uint16_t)l4, 64);
	n += DP_IP6_HLEN + l4;
	fix_l4_csum(f, n);
	return n;
}

/* An ICMPv6 message body[0..blen) from src to dst (hop limit hl, Ethernet to edst). */
static size_t mk_icmp6(uint8_t *f, const struct rte_ether_addr *edst, const struct dp_ip *src,
		       const struct dp_ip *dst, uint8_t hl, const uint8_t *body, size_t blen)
{
	size_t n = eth_hdr(f, edst, DP_ETHERTYPE_IPV6);

	dp_ipv6_build(f + n, src, dst, DP_IPPROTO_ICMPV6, (uint16_t)blen, hl);
	memcpy(f + n + DP_IP6_HLEN, body, blen);
	n += DP_IP6_HLEN + blen;
	fix_l4_csum(f, n);
	return n;
}

/* mk_tcp or mk_tcp6. */
typedef size_t mk_tcp_fn(uint8_t *f, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
			 uint8_t flags, uint16_t wnd, const uint8_t *opt, size_t optlen,
			 const void *data, size_t dlen);

/* MSS 1460, SACK permitted, timestamps (tsval), window scale 7: 20 bytes. */
static size_t syn_opts(uint8_t *o, uint32_t tsval)
{
	static const uint8_t head[] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10};

	memcpy(o, head, sizeof(head));
	wr32(o + 8, tsval);
	wr32(o + 12, 0);
	o[16] = 1;
	o[17] = 3;
	o[18] = 3;
	o[19] = 7;
	return 20;
}

/* ---- mbufs in and out ---- */

static void ext_free(void *addr, void *opaque)
{
	free(addr);
	free(opaque);
}

/* One segment holding p[0..len): from the pool, or an exactly sized external buffer. */
static struct rte_mbuf *seg_make(const uint8_t *p, uint32_t len, int ext)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);

	if (!m)
		return NULL;
	if (ext) {
		uint16_t room = (uint16_t)(RTE_PKTMBUF_HEADROOM + len);
		uint8_t *buf = malloc(room ? room : 1);
		struct rte_mbuf_ext_shared_info *sh = malloc(sizeof(*sh));

		if (!buf || !sh) {
			free(buf);
			free(sh);
			rte_pktmbuf_free(m);
			return NULL;
		}
		memset(buf, 0, RTE_PKTMBUF_HEADROOM);
		sh->free_cb = ext_free;
		sh->fcb_opaque = sh;
		rte_mbuf_ext_refcnt_set(sh, 1);
		rte_pktmbuf_attach_extbuf(m, buf, (rte_iova_t)(uintptr_t)buf, room, sh);
		m->data_off = RTE_PKTMBUF_HEADROOM;
		m->data_len = (uint16_t)len;
		m->pkt_len = len;
		memcpy(buf + RTE_PKTMBUF_HEADROOM, p, len);
		return m;
	}
	if (rte_pktmbuf_append(m, (uint16_t)len) == NULL) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	memcpy(rte_pktmbuf_mtod(m, uint8_t *), p, len);
	return m;
}

/* The frame as an mbuf chain of nseg segments (fewer when it is short). */
static struct rte_mbuf *frame_mbuf(const uint8_t *f, uint32_t len, unsigned nseg, uint32_t first,
				   int ext)
{
	uint32_t cut[3], off = 0, max_seg = rte_pktmbuf_data_room_size(pool) - RTE_PKTMBUF_HEADROOM;
	struct rte_mbuf *head = NULL, *tail = NULL;
	unsigned k = 0;

	if (first == 0 || first >= len)
		first = len / 2;
	if (nseg <= 1 || len < 2) {
		cut[k++] = len;
	} else {
		cut[k++] = first;
		if (nseg == 2 || len - first < 2) {
			cut[k++] = len - first;
		} else {
			cut[k++] = (len - first) / 2;
			cut[k++] = len - first - (len - first) / 2;
		}
	}
	for (unsigned i = 0; i < k; i++) {
		uint32_t left = cut[i];

		/* pool segments hold at most max_seg bytes: a long piece takes several */
		do {
			uint32_t n = ext || left <= max_seg ? left : max_seg;
			struct rte_mbuf *m = seg_make(f + off, n, ext);

			if (!m) {
				rte_pktmbuf_free(head);
				return NULL;
			}
			if (!head) {
				head = m;
			} else {
				tail->next = m;
				head->nb_segs++;
				head->pkt_len += n;
			}
			tail = m;
			off += n;
			left -= n;
		} while (left);
	}
	return head;
}

typedef void capture_fn(const uint8_t *frame, uint32_t len, void *arg);

/* Takes back what the worker sent (the ring loops TX to RX) and frees it. */
static void tx_drain(capture_fn *cb, void *arg)
{
	struct rte_mbuf *p[64];
	uint16_t n;
	unsigned rounds = 0;

	while ((n = rte_eth_rx_burst(port, 0, p, 64)) > 0 && rounds++ < 1000) {
		for (uint16_t i = 0; i < n; i++) {
			if (cb && p[i]->data_len >= DP_ETH_HLEN + DP_IP_HLEN + 20)
				cb(rte_pktmbuf_mtod(p[i], const uint8_t *), p[i]->data_len, arg);
			rte_pktmbuf_free(p[i]);
		}
	}
}

static void set_clock(void)
{
	w->now_ms = clock_ms;
	w->now_tsc = clock_ms * w->tsc_per_ms;
}

/* The rest of a worker loop pass after RX, in dp_worker_pass's order. */
static void pass(capture_fn *cb, void *arg)
{
	set_clock();
	tcp_dispatch_events(w->tcp);
	tcp_timers(w->tcp);
	if (w->now_ms - w->last_arp_ms >= 100) {
		w->last_arp_ms = w->now_ms;
		dp_arp_timer(w);
	}
	tcp_dispatch_events(w->tcp);
	tcp_flush_output(w->tcp);
	dp_tx_flush(w);
	tx_drain(cb, arg);
}

static void input_flat(const uint8_t *f, size_t len)
{
	struct rte_mbuf *m = frame_mbuf(f, (uint32_t)len, 1, 0, 0);

	if (!m) {
		fprintf(stderr, "fuzz_dpinput: out of mbufs in setup\n");
		abort();
	}
	set_clock();
	dp_worker_input(w, m);
}

/* ---- the application: echo, sink, an active-open client ---- */

static void app_chain_free(struct rte_mbuf *m)
{
	if (m)
		rte_pktmbuf_free(m);
}

/* The first payload byte of a chain (segments may be empty: headers alone in the first). */
static int first_byte(const struct rte_mbuf *m)
{
	for (; m; m = m->next)
		if (m->data_len)
			return *rte_pktmbuf_mtod(m, const uint8_t *);
	return -1;
}

static int echo_accepted(void *lctx, tcp_handle_t h, void **cctx)
{
	(void)h;
	*cctx = lctx;
	return 0;
}

static void echo_readable(void *ctx, tcp_handle_t h)
{
	struct rte_mbuf *m = NULL;
	int r;

	(void)ctx;
	for (unsigned i = 0; i < 4; i++) {
		r = tcp_read(w->tcp, h, &m);
		if (r == ST_ERR_EOF) {
			tcp_close(w->tcp, h);
			return;
		}
		if (r <= 0 || !m)
			return;
		switch (first_byte(m)) {
		case 'Q':
			app_chain_free(m);
			tcp_abort(w->tcp, h);
			return;
		case 'R':
			app_chain_free(m);
			tcp_release(w->tcp, h);
			return;
		case 'S':
			app_chain_free(m);
			tcp_shutdown(w->tcp, h);
			return;
		default:
			if (tcp_write(w->tcp, h, m) != ST_OK)
				app_chain_free(m);
			m = NULL;
		}
	}
}

static int sink_accepted(void *lctx, tcp_handle_t h, void **cctx)
{
	(void)h;
	*cctx = lctx;
	return ++accepts % 3 == 0 ? -1 : 0;
}

static void sink_readable(void *ctx, tcp_handle_t h)
{
	struct rte_mbuf *m = NULL;
	int r;

	(void)ctx;
	for (unsigned i = 0; i < 4; i++) {
		r = tcp_read(w->tcp, h, &m);
		if (r == ST_ERR_EOF) {
			tcp_close(w->tcp, h);
			return;
		}
		if (r <= 0)
			return;
		app_chain_free(m);
		m = NULL;
	}
}

static void client_connected(void *ctx, tcp_handle_t h)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	char *p;

	(void)ctx;
	if (!m)
		return;
	p = rte_pktmbuf_append(m, 5);
	memcpy(p, "hello", 5);
	if (tcp_write(w->tcp, h, m) != ST_OK)
		rte_pktmbuf_free(m);
}

static void noop_closed(void *ctx, tcp_handle_t h, int err)
{
	(void)ctx;
	(void)h;
	(void)err;
}

static const struct tcp_ops echo_ops = {
	.accepted = echo_accepted, .readable = echo_readable, .closed = noop_closed};
static const struct tcp_ops sink_ops = {
	.accepted = sink_accepted, .readable = sink_readable, .closed = noop_closed};
static const struct tcp_ops client_ops = {
	.connected = client_connected, .readable = sink_readable, .closed = noop_closed};

/* ---- the world: worker, listeners, connections ---- */

struct seen {
	uint16_t dport;
	uint8_t flags; /* wanted, all set */
	int found;
	uint16_t sport;
	uint32_t seq;
};

static void find_seg(const uint8_t *f, uint32_t len, void *arg)
{
	struct seen *s = arg;
	const uint8_t *ip = f + DP_ETH_HLEN, *th;
	uint32_t ihl = (uint32_t)(ip[0] & 0xf) * 4;

	if (len >= DP_ETH_HLEN + DP_IP6_HLEN + 20 && rd32(f + 12) >> 16 == DP_ETHERTYPE_IPV6 &&
	    ip[6] == DP_IPPROTO_TCP) {
		ihl = DP_IP6_HLEN; /* the worker sends no extension headers */
	} else if (rd32(f + 12) >> 16 != DP_ETHERTYPE_IPV4 || ip[9] != DP_IPPROTO_TCP ||
		   DP_ETH_HLEN + ihl + 20 > len) {
		return;
	}
	th = ip + ihl;
	if ((th[2] << 8 | th[3]) == s->dport && (th[13] & s->flags) == s->flags) {
		s->found = 1;
		s->sport = (uint16_t)(th[0] << 8 | th[1]);
		s->seq = rd32(th + 4);
	}
}

static void die(const char *what)
{
	fprintf(stderr, "fuzz_dpinput: setup: %s\n", what);
	abort();
}

static void expect_established(int v6, uint16_t lport, uint16_t rport)
{
	struct dp_ip us = v6 ? US6 : dp_ip_v4(US), peer = v6 ? PEER6 : dp_ip_v4(PEER);
	struct tcp_conn *c = tcp_conn_lookup(w->tcp, &us, lport, &peer, rport);

	if (!c || c->state != TCP_ESTABLISHED)
		die("a connection did not reach ESTABLISHED");
}

/* Passive open from PEER:rport (PEER6 when v6) to lport through SYN / SYN-ACK / ACK. */
static void open_passive(int v6, uint16_t lport, uint16_t rport, int opts)
{
	mk_tcp_fn *mk = v6 ? mk_tcp6 : mk_tcp;
	uint8_t f[128], o[20];
	size_t ol = opts ? syn_opts(o, 1000) : 0;
	struct seen s = {rport, TH_SYN | TH_ACK, 0, 0, 0};
	uint32_t isn = 7000u * rport;

	input_flat(f, mk(f, rport, lport, isn, 0, TH_SYN, 65535, o, ol, NULL, 0));
	pass(find_seg, &s);
	if (!s.found)
		die("no SYN-ACK");
	if (opts) { /* NOP NOP timestamps */
		o[0] = o[1] = 1;
		o[2] = 8;
		o[3] = 10;
		wr32(o + 4, 1001);
		wr32(o + 8, 0);
		ol = 12;
	}
	input_flat(f, mk(f, rport, lport, isn + 1, s.seq + 1, TH_ACK, 4096, o, ol, NULL, 0));
	pass(NULL, NULL);
	expect_established(v6, lport, rport);
}

/* Active open to PEER:5432, answered with a SYN-ACK. */
static void open_active(void)
{
	uint8_t f[128];
	tcp_handle_t h;
	struct seen s = {5432, TH_SYN, 0, 0, 0};

	if (tcp_connect(w->tcp, PEER, 5432, &client_ops, &cctx_client, &h) != ST_OK)
		die("tcp_connect");
	pass(find_seg, &s);
	if (!s.found)
		die("no SYN");
	input_flat(f, mk_tcp(f, 5432, s.sport, 90000, s.seq + 1, TH_SYN | TH_ACK, 65535, NULL, 0,
			     NULL, 0));
	pass(NULL, NULL);
	expect_established(0, s.sport, 5432);
}

static void world_up(void)
{
	struct tcp_listen_cfg small = {8, 2};

	w = rte_zmalloc("fuzz_w", sizeof(*w), RTE_CACHE_LINE_SIZE);
	if (!w)
		die("no memory for the worker");
	memset(&st, 0, sizeof(st));
	accepts = 0;
	w->pool = pool;
	w->st = &st;
	w->port = port;
	w->ip = US;
	w->mask = 0xffffff00u;
	w->gateway = PEER;
	w->nb_workers = 1;
	w->mac = our_mac;
	w->cfg = &cfg;
	w->tsc_per_ms = rte_get_tsc_hz() / 1000;
	w->mtu = DP_MTU_DEFAULT;
	w->tx_pieces = TCP_TX_PIECES;
	w->tso_pieces = w->tso_seg_pieces = TCP_TSO_PIECES;
	w->arp_reach_ms = DP_ARP_REACHABLE_MS;
	cfg.ip6 = US6; /* dp_nd_start takes the IPv6 address from the port's configuration */
	cfg.prefix6 = 64;
	w->idle.wake_fd = -1;
	set_clock();
	w->last_arp_ms = w->now_ms;
	dp_wheel_init(&w->wheel, w->now_ms);
	rte_srand(1); /* ISN and cookie keys, ephemeral ports: the same every time */
	if (tcp_worker_create(w, &cfg.tcp, &w->tcp) != ST_OK)
		die("tcp_worker_create");
	/* Duplicate address detection: the probe goes out, nobody objects, the address is ours. */
	dp_nd_start(w);
	pass(NULL, NULL);
	clock_ms += 1100;
	set_clock();
	dp_nd_timer(w);
	if (w->dad_state != DP_DAD_DONE)
		die("IPv6 address not usable after DAD");
	{
		static const struct dp_ip any6;

		if (tcp_listen(w->tcp, 0, 22, &echo_ops, &lctx_echo, NULL) != ST_OK ||
		    tcp_listen_ip(w->tcp, &any6, 22, &echo_ops, &lctx_echo, NULL) != ST_OK ||
		    tcp_listen(w->tcp, 0, 80, &sink_ops, &lctx_sink, &small) != ST_OK)
			die("tcp_listen");
	}
	dp_arp_learn(w, PEER, &peer_mac);
	dp_neigh_learn(w, &PEER6, &peer_mac);
	open_passive(0, 22, 40001, 1);
	open_passive(0, 22, 40002, 0);
	open_passive(0, 80, 40003, 1);
	open_passive(1, 22, 40006, 1);
	accepts = 0;
	open_active();
	memset(&st, 0, sizeof(st));
}

/* Prints the mbufs that are not back in the pool (a leak report names what leaked). */
static void mark_obj(struct rte_mempool *mp, void *arg, void *obj, unsigned idx)
{
	struct rte_mbuf **free_objs = arg;
	const struct rte_mbuf *m = obj;
	const uint8_t *d;
	unsigned n;

	(void)mp;
	(void)idx;
	for (unsigned i = 0; free_objs[i]; i++)
		if (free_objs[i] == m)
			return;
	d = (const uint8_t *)m->buf_addr + m->data_off;
	fprintf(stderr, "  leaked mbuf %p: refcnt %u nb_segs %u data_len %u pkt_len %u ol_flags %#llx%s%s next %p\n   ",
		obj, rte_mbuf_refcnt_read(m), m->nb_segs, m->data_len, m->pkt_len,
		(unsigned long long)m->ol_flags, RTE_MBUF_CLONED(m) ? " indirect" : "",
		RTE_MBUF_HAS_EXTBUF(m) ? " extbuf" : "", (void *)m->next);
	n = m->data_len < 80 ? m->data_len : 80;
	for (unsigned i = 0; i < n; i++)
		fprintf(stderr, "%02x", d[i]);
	fprintf(stderr, "\n");
}

static void leak_report(void)
{
	static struct rte_mbuf *free_objs[8192 + 1];
	unsigned avail = rte_mempool_avail_count(pool);

	if (avail > 8192 || rte_mempool_get_bulk(pool, (void **)free_objs, avail) != 0)
		return;
	free_objs[avail] = NULL;
	rte_mempool_obj_iter(pool, mark_obj, free_objs);
	rte_mempool_put_bulk(pool, (void **)free_objs, avail);
}

static void world_down(void)
{
	unsigned used;

	dp_worker_end(w);
	tx_drain(NULL, NULL);
	tcp_worker_destroy(w->tcp);
	rte_free(w);
	w = NULL;
	used = rte_mempool_in_use_count(pool);
	if (used != 0) {
		fprintf(stderr, "fuzz_dpinput: %u mbufs still in use after the worker was torn down\n",
			used);
		leak_report();
		abort();
	}
}

/* ---- one input ---- */

static void rel_seq(uint8_t *f, size_t len)
{
	const uint8_t *ip = f + DP_ETH_HLEN;
	uint8_t *th;
	size_t ihl;
	struct tcp_conn *c;

	if (len >= DP_ETH_HLEN + DP_IP6_HLEN + 12 && rd32(f + 12) >> 16 == DP_ETHERTYPE_IPV6) {
		struct dp_ip s6, d6;
		uint8_t proto;
		uint16_t off;

		if (dp_ipv6_ext_walk(ip + DP_IP6_HLEN, len - DP_ETH_HLEN - DP_IP6_HLEN, ip[6], &proto,
				     &off) != DP_DROP_NONE ||
		    proto != DP_IPPROTO_TCP || DP_ETH_HLEN + DP_IP6_HLEN + off + 12u > len)
			return;
		th = f + DP_ETH_HLEN + DP_IP6_HLEN + off;
		memcpy(s6.b, ip + 8, 16);
		memcpy(d6.b, ip + 24, 16);
		c = tcp_conn_lookup(w->tcp, &d6, (uint16_t)(th[2] << 8 | th[3]), &s6,
				    (uint16_t)(th[0] << 8 | th[1]));
		if (c) {
			wr32(th + 4, rd32(th + 4) + c->rcv_nxt);
			wr32(th + 8, rd32(th + 8) + c->snd_nxt);
		}
		return;
	}
	if (len < DP_ETH_HLEN + DP_IP_HLEN || ip[9] != DP_IPPROTO_TCP)
		return;
	ihl = (size_t)(ip[0] & 0xf) * 4;
	if (ihl < DP_IP_HLEN || DP_ETH_HLEN + ihl + 12 > len)
		return;
	th = f + DP_ETH_HLEN + ihl;
	{
		struct dp_ip d4 = dp_ip_v4(rd32(ip + 16)), s4 = dp_ip_v4(rd32(ip + 12));

		c = tcp_conn_lookup(w->tcp, &d4, (uint16_t)(th[2] << 8 | th[3]), &s4,
				    (uint16_t)(th[0] << 8 | th[1]));
	}
	if (!c)
		return;
	wr32(th + 4, rd32(th + 4) + c->rcv_nxt);
	wr32(th + 8, rd32(th + 8) + c->snd_nxt);
}

static void one_frame(uint8_t flags, uint8_t split, uint8_t *f, size_t len)
{
	struct rte_mbuf *m;
	unsigned nseg = ((flags & F_SEGS) >> 3) + 1;

	if (nseg > 3)
		nseg = 3;
	int v6 = len >= DP_ETH_HLEN && f[12] == 0x86 && f[13] == 0xdd;

	if ((flags & F_LEN) && v6 && len >= DP_ETH_HLEN + DP_IP6_HLEN)
		wr16(f + DP_ETH_HLEN + 4, (uint16_t)(len - DP_ETH_HLEN - DP_IP6_HLEN));
	else if ((flags & F_LEN) && len >= DP_ETH_HLEN + DP_IP_HLEN)
		wr16(f + DP_ETH_HLEN + 2, (uint16_t)(len - DP_ETH_HLEN));
	if (flags & F_REL)
		rel_seq(f, len);
	if ((flags & F_IPCSUM) && !v6 && len >= DP_ETH_HLEN + DP_IP_HLEN) {
		uint8_t *ip = f + DP_ETH_HLEN;
		size_t ihl = (size_t)(ip[0] & 0xf) * 4;

		if (ihl >= DP_IP_HLEN && DP_ETH_HLEN + ihl <= len) {
			ip[10] = ip[11] = 0;
			wr16(ip + 10, dp_csum_fold(dp_csum_partial(ip, ihl, 0)));
		}
	}
	if (flags & F_L4CSUM)
		fix_l4_csum(f, len);
	m = frame_mbuf(f, (uint32_t)len, nseg, split, flags & F_EXT);
	if (!m)
		return; /* the pool ran dry: the worker holds too much, which the reset ends */
	set_clock();
	dp_worker_input(w, m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t f[MAX_FRAME];
	size_t off = 0;

	if (!w)
		world_up();
	for (unsigned r = 0; r < MAX_RECORDS && size - off >= 5; r++) {
		uint8_t flags = data[off], adv = data[off + 1], split = data[off + 2];
		size_t len = (size_t)(data[off + 3] << 8 | data[off + 4]);

		off += 5;
		if (len > size - off)
			len = size - off;
		if (len > MAX_FRAME)
			len = MAX_FRAME;
		memcpy(f, data + off, len);
		off += len;
		clock_ms += adv < 128 ? adv : (uint64_t)(adv - 127) * 500;
		one_frame(flags, split, f, len);
		if (!(flags & F_BURST))
			pass(NULL, NULL);
	}
	clock_ms += 1;
	pass(NULL, NULL);
	if (debug) { /* what the input did, for checking seeds by hand */
		for (unsigned i = 0; i < DP_DROP_MAX; i++)
			if (st.drop[i])
				fprintf(stderr, "  drop %s=%llu\n", dp_drop_name(i),
					(unsigned long long)st.drop[i]);
		for (unsigned i = 0; i < DP_CTR_MAX; i++)
			if (st.ctr[i])
				fprintf(stderr, "  ctr %s=%llu\n", dp_ctr_name(i),
					(unsigned long long)st.ctr[i]);
		fprintf(stderr, "  conns in use %u, tx %llu\n", w->tcp->used,
			(unsigned long long)st.tx_pkts);
		tcp_worker_print_states(w->tcp, stderr, " ");
	}
	if (++since_reset >= reset_every) {
		since_reset = 0;
		world_down();
	}
	return 0;
}

/* ---- seeds ---- */

static void seed_write(const char *dir, const char *name, const uint8_t *rec, size_t n)
{
	char path[1024];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "wb");
	if (!fp || fwrite(rec, 1, n, fp) != n) {
		fprintf(stderr, "fuzz_dpinput: cannot write %s\n", path);
		exit(1);
	}
	fclose(fp);
}

/* Appends one record (flags, advance, split, length, frame) to buf at *n. */
static void rec_add(uint8_t *buf, size_t *n, uint8_t flags, uint8_t adv, const uint8_t *f,
		    size_t len)
{
	buf[*n] = flags;
	buf[*n + 1] = adv;
	buf[*n + 2] = 0;
	wr16(buf + *n + 3, (uint16_t)len);
	memcpy(buf + *n + 5, f, len);
	*n += 5 + len;
}

/* A seed: a new connection from sport to 22 (SYN with options), then (relative) ACK and data. */
static void seed_handshake(const char *dir, const char *name, mk_tcp_fn *mk, uint16_t sport,
			   const char *data)
{
	uint8_t f[256], rec[1024], o[20];
	size_t n = 0;

	rec_add(rec, &n, 0, 1, f, mk(f, sport, 22, 5000, 0, TH_SYN, 65535, o, syn_opts(o, 77), NULL, 0));
	rec_add(rec, &n, F_REL | F_L4CSUM, 1, f,
		mk(f, sport, 22, 0, 0, TH_ACK, 1024, NULL, 0, NULL, 0));
	rec_add(rec, &n, F_REL | F_L4CSUM, 1, f,
		mk(f, sport, 22, 0, 0, TH_ACK | TH_PSH, 1024, NULL, 0, data, strlen(data)));
	seed_write(dir, name, rec, n);
}

/* The active open's local port (the world is built the same way every time). */
static uint16_t client_port(void)
{
	uint16_t p = 0;

	world_up();
	for (uint32_t i = 0; i < w->tcp->nconns; i++) {
		const struct tcp_conn *c = &w->tcp->conns[i];

		if (c->state == TCP_ESTABLISHED && c->rport == 5432)
			p = c->lport;
	}
	world_down();
	return p;
}

static void write_seeds(const char *dir)
{
	uint8_t f[1600], rec[8192];
	size_t n = 0, len;
	const struct rte_ether_addr bcast = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
	static const struct rte_ether_addr zero;

	/* ARP request for our address */
	len = eth_hdr(f, &bcast, DP_ETHERTYPE_ARP);
	dp_arp_build(f + len, DP_ARP_OP_REQUEST, peer_mac.addr_bytes, PEER, zero.addr_bytes, US);
	len += DP_ARP_LEN;
	rec_add(rec, &n, 0, 1, f, len);
	seed_write(dir, "arp_request", rec, n);

	/* ICMP echo request, 56 bytes of data */
	n = 0;
	len = eth_hdr(f, &our_mac, DP_ETHERTYPE_IPV4);
	dp_ipv4_build(f + len, PEER, US, DP_IPPROTO_ICMP, DP_IP_HLEN + 64, 9, 0);
	memset(f + len + DP_IP_HLEN, 0, 64);
	f[len + DP_IP_HLEN] = 8;
	for (unsigned i = 8; i < 64; i++)
		f[len + DP_IP_HLEN + i] = (uint8_t)i;
	len += DP_IP_HLEN + 64;
	fix_l4_csum(f, len);
	rec_add(rec, &n, 0, 1, f, len);
	seed_write(dir, "icmp_echo", rec, n);

	seed_handshake(dir, "syn_handshake_data", mk_tcp, 41000, "ping");

	/* data on the established echo connection, in a 2-segment chain, then its ACK and FIN */
	n = 0;
	{
		uint8_t d[600];

		for (unsigned i = 0; i < sizeof(d); i++)
			d[i] = (uint8_t)('a' + i % 26);
		len = mk_tcp(f, 40002, 22, 0, 0, TH_ACK | TH_PSH, 4096, NULL, 0, d, sizeof(d));
		rec_add(rec, &n, F_REL | F_L4CSUM | 0x08, 1, f, len);
	}
	len = mk_tcp(f, 40002, 22, 0, 0, TH_ACK, 4096, NULL, 0, NULL, 0);
	rec_add(rec, &n, F_REL | F_L4CSUM, 50, f, len);
	len = mk_tcp(f, 40002, 22, 0, 0, TH_ACK | TH_FIN, 4096, NULL, 0, NULL, 0);
	rec_add(rec, &n, F_REL | F_L4CSUM, 1, f, len);
	seed_write(dir, "established_data", rec, n);

	/* out-of-order data with SACK and timestamps on the first connection */
	n = 0;
	{
		uint8_t to[12] = {1, 1, 8, 10, 0, 0, 0x10, 0, 0, 0, 0, 0};

		len = mk_tcp(f, 40001, 22, 1000, 0, TH_ACK, 4096, to, 12, "later", 5);
		rec_add(rec, &n, F_REL | F_L4CSUM | F_BURST, 1, f, len);
		len = mk_tcp(f, 40001, 22, 0, 0, TH_ACK, 4096, to, 12, "first", 5);
		rec_add(rec, &n, F_REL | F_L4CSUM | F_EXT, 1, f, len);
	}
	seed_write(dir, "ooo_sack_ts", rec, n);

	/* RST on the established sink connection */
	n = 0;
	len = mk_tcp(f, 40003, 80, 0, 0, TH_RST, 0, NULL, 0, NULL, 0);
	rec_add(rec, &n, F_REL | F_L4CSUM, 1, f, len);
	seed_write(dir, "rst", rec, n);

	/* the active open's peer sends data and closes, after a long pause */
	n = 0;
	len = mk_tcp(f, 5432, client_port(), 0, 0, TH_ACK | TH_FIN, 65535, NULL, 0, "bye", 3);
	rec_add(rec, &n, F_REL | F_L4CSUM, 10, f, len);
	seed_write(dir, "client_fin", rec, n);

	/* ---- IPv6 ---- */
	{
		struct dp_ip sn = dp_ip6_solicited(&US6), any6 = {{0}};
		struct rte_ether_addr snmac, moved = {{0x02, 0, 0, 0, 0, 0x77}};
		uint8_t b[256];
		size_t bl;

		dp_ip6_mcast_mac(&sn, snmac.addr_bytes);
		/* Neighbor Solicitation for our address, to its solicited-node group, with SLLA */
		n = 0;
		bl = dp_nd_build_ns(b, &US6, peer_mac.addr_bytes);
		rec_add(rec, &n, 0, 1, f, mk_icmp6(f, &snmac, &PEER6, &sn, 255, b, bl));
		seed_write(dir, "nd_ns", rec, n);
		/* someone else's DAD probe for our address (from ::, no option) */
		n = 0;
		bl = dp_nd_build_ns(b, &US6, NULL);
		rec_add(rec, &n, 0, 1, f, mk_icmp6(f, &snmac, &any6, &sn, 255, b, bl));
		seed_write(dir, "nd_dad_probe", rec, n);
		/* the peer moved: an unsolicited NA with override and a new MAC, then data to it */
		n = 0;
		bl = dp_nd_build_na(b, &PEER6, DP_ND_NA_OVERRIDE, moved.addr_bytes);
		rec_add(rec, &n, 0, 1, f, mk_icmp6(f, &our_mac, &PEER6, &US6, 255, b, bl));
		len = mk_tcp6(f, 40006, 22, 0, 0, TH_ACK | TH_PSH, 4096, NULL, 0, "moved", 5);
		rec_add(rec, &n, F_REL | F_L4CSUM, 1, f, len);
		seed_write(dir, "nd_na_moved", rec, n);
		/* ICMPv6 echo request, 56 bytes of data */
		n = 0;
		memset(b, 0, 64);
		b[0] = DP_ICMP6_ECHO_REQUEST;
		for (unsigned i = 8; i < 64; i++)
			b[i] = (uint8_t)i;
		rec_add(rec, &n, 0, 1, f, mk_icmp6(f, &our_mac, &PEER6, &US6, 64, b, 64));
		seed_write(dir, "icmp6_echo", rec, n);
		seed_handshake(dir, "tcp6_syn_handshake_data", mk_tcp6, 41006, "ping6");
		/* data on the established IPv6 connection behind hop-by-hop and destination options */
		n = 0;
		{
			static const uint8_t ext[16] = {DP_IPPROTO_DSTOPTS, 0, 1, 4, 0, 0, 0, 0,
							DP_IPPROTO_TCP, 0, 1, 4, 0, 0, 0, 0};
			uint8_t t[128];
			size_t tl = mk_tcp6(t, 40006, 22, 0, 0, TH_ACK | TH_PSH, 4096, NULL, 0, "ext", 3);
			size_t l4 = tl - DP_ETH_HLEN - DP_IP6_HLEN;

			len = eth_hdr(f, &our_mac, DP_ETHERTYPE_IPV6);
			dp_ipv6_build(f + len, &PEER6, &US6, DP_IPPROTO_HOPOPTS,
				      (uint16_t)(sizeof(ext) + l4), 64);
			memcpy(f + len + DP_IP6_HLEN, ext, sizeof(ext));
			memcpy(f + len + DP_IP6_HLEN + sizeof(ext), t + DP_ETH_HLEN + DP_IP6_HLEN, l4);
			len += DP_IP6_HLEN + sizeof(ext) + l4;
			rec_add(rec, &n, F_REL | F_L4CSUM, 1, f, len);
		}
		seed_write(dir, "tcp6_ext_headers", rec, n);
		/* a fragment header (dropped and counted: we do not reassemble) */
		n = 0;
		{
			static const uint8_t frag[8] = {DP_IPPROTO_TCP, 0, 0, 1, 0, 0, 0, 42};

			len = eth_hdr(f, &our_mac, DP_ETHERTYPE_IPV6);
			dp_ipv6_build(f + len, &PEER6, &US6, DP_IPPROTO_FRAGMENT, 8 + 20, 64);
			memcpy(f + len + DP_IP6_HLEN, frag, sizeof(frag));
			memset(f + len + DP_IP6_HLEN + 8, 0, 20);
			len += DP_IP6_HLEN + 8 + 20;
			rec_add(rec, &n, 0, 1, f, len);
		}
		seed_write(dir, "ipv6_fragment", rec, n);
	}
}

/* ---- start-up ---- */

static void rm_runtime_dir(void)
{
	DIR *d;
	struct dirent *e;
	char p[1024];

	if (runtime_dir[0] == '\0' || (d = opendir(runtime_dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", runtime_dir, e->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(runtime_dir);
}

static void at_exit(void)
{
	if (w) {
		dp_worker_end(w);
		tx_drain(NULL, NULL);
		tcp_worker_destroy(w->tcp);
		rte_free(w);
		w = NULL;
	}
	rte_eth_dev_stop(port);
	rte_eth_dev_close(port);
	rte_eal_cleanup();
	rm_runtime_dir();
}

static int port_start(void)
{
	struct rte_eth_conf conf;
	uint16_t pid;
	int found = 0;

	RTE_ETH_FOREACH_DEV(pid) {
		struct rte_eth_dev_info info;

		if (rte_eth_dev_info_get(pid, &info) == 0 && strstr(info.driver_name, "ring")) {
			port = pid;
			found = 1;
		}
	}
	if (!found)
		return -1;
	memset(&conf, 0, sizeof(conf));
	if (rte_eth_dev_configure(port, 1, 1, &conf) != 0 ||
	    rte_eth_rx_queue_setup(port, 0, 1024, 0, NULL, pool) != 0 ||
	    rte_eth_tx_queue_setup(port, 0, 1024, 0, NULL) != 0 || rte_eth_dev_start(port) != 0)
		return -1;
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char prefix[64], a0[] = "fuzz_dpinput";
	const char *seeds = getenv("FUZZ_DPINPUT_WRITE_SEEDS"), *re = getenv("FUZZ_DPINPUT_RESET");
	int r;

	(void)argc;
	(void)argv;
	snprintf(prefix, sizeof(prefix), "--file-prefix=st_fuzz_dpinput_%d", (int)getpid());
	char *eal[] = {a0, "--no-huge", "-m", "256", "--no-pci", "--no-shconf", prefix,
		       "--no-telemetry", "-l", "0", "--log-level", "error", "--vdev=net_ring0"};
	/* EAL keeps what it allocates at start-up until exit: not the harness's leaks */
	__lsan_disable();
	r = rte_eal_init((int)(sizeof(eal) / sizeof(eal[0])), eal);
	if (r >= 0) {
		snprintf(runtime_dir, sizeof(runtime_dir), "%s", rte_eal_get_runtime_dir());
		atexit(at_exit);
		pool = st_checked_pool_create("fuzz", 8191, RTE_MBUF_DEFAULT_BUF_SIZE);
	}
	r = r < 0 ? -1 : !pool ? -2 : port_start();
	__lsan_enable();
	if (r != 0) {
		fprintf(stderr, "fuzz_dpinput: %s\n",
			r == -1 ? "rte_eal_init failed" : r == -2 ? "no mbuf pool" : "no net_ring port");
		exit(1);
	}
	debug = getenv("FUZZ_DPINPUT_DEBUG") != NULL;
	if (re && atoi(re) > 0)
		reset_every = (unsigned)atoi(re);
	memset(&cfg, 0, sizeof(cfg));
	cfg.port_id = port;
	cfg.ip = US;
	cfg.prefix_len = 24;
	cfg.gateway = PEER;
	tcp_cfg_defaults(&cfg.tcp);
	cfg.tcp.max_conns = 64;
	cfg.tcp.rcvbuf = 64 * 1024;
	cfg.tcp.sndbuf = 64 * 1024;
	cfg.tcp.syn_backlog = 4;
	cfg.tcp.time_wait_ms = 2000;
	cfg.tcp.keepalive_ms = 5000;
	cfg.tcp.close_timeout_ms = 4000;
	cfg.tcp.syn_retries = 2;
	cfg.tcp.max_retries = 3;
	cfg.tcp.challenge_ack_per_s = 10;
	cfg.quit = NULL;
	if (seeds) {
		write_seeds(seeds);
		exit(0);
	}
	return 0;
}
