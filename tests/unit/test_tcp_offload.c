/*
 * Unit tests: TCP segment building with TSO (header fields, pseudo-header
 * checksum, tso_segsz, the PMD's piece limits, the odd-piece rule, windows),
 * the plain path without TSO, TCP input of chained payload (RX scatter /
 * GRO), data after the peer's FIN freed once, and the MTU keyword. A worker and a connection are set up by hand
 * (no port): what tcp_xmit / tcp_output send lands in the worker's TX buffer.
 */
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include "control/conffile.h"
#include "dataplane/csum.h"
#include "dataplane/proto.h"
#include "dataplane/tcp/tcp_internal.h"
#include "tests/unit/test.h"

#define US 0xc6120002u   /* 198.18.0.2 */
#define PEER 0xc6120001u /* 198.18.0.1 */
#define ISS 1000u

static struct rte_mempool *pool;
static struct dp_worker *w;
static struct dp_stats st;
static struct tcp_worker *tw;
static struct tcp_conn *c;

static uint8_t pat(uint32_t i)
{
	return (uint8_t)(i * 7 + (i >> 8) * 13 + 0x41);
}

/* A fresh worker (TSO as given) with one ESTABLISHED connection, mss 1460, no options. */
static void setup(int tso)
{
	struct tcp_cfg tc;

	w = rte_zmalloc("w", sizeof(*w), RTE_CACHE_LINE_SIZE);
	memset(&st, 0, sizeof(st));
	w->pool = pool;
	w->st = &st;
	w->ip = US;
	w->mask = 0xffffff00u;
	w->now_ms = 1000;
	w->tsc_per_ms = 1000000;
	w->tx_csum_offload = 1;
	w->tso = (uint8_t)tso;
	dp_wheel_init(&w->wheel, w->now_ms);
	tcp_cfg_defaults(&tc);
	tc.max_conns = 16;
	tc.sndbuf = 1 << 20;
	if (tcp_worker_create(w, &tc, &tw) != ST_OK) {
		st_test_fail(__FILE__, __LINE__, "tcp_worker_create");
		return;
	}
	w->tcp = tw;
	c = tcp_conn_alloc(tw);
	c->laddr = dp_ip_v4(US);
	c->raddr = dp_ip_v4(PEER);
	c->lport = 22;
	c->rport = 40000;
	c->state = TCP_ESTABLISHED;
	c->flags = TF_RMAC | TF_APP_KNOWN;
	memset(c->rmac.addr_bytes, 0x02, sizeof(c->rmac.addr_bytes));
	c->mss = 1460;
	c->iss = ISS;
	c->snd_una = c->snd_nxt = c->snd_max = ISS + 1;
	c->snd_wnd = c->max_snd_wnd = 1u << 20;
	c->irs = 5000;
	c->rcv_nxt = c->rcv_adv = 5001;
	tcp_rtt_init(&c->rtt, 200);
	tcp_cc_init(&c->cc, c->mss, TCP_CC_NEWRENO);
	c->cc.cwnd = 1u << 20;
	tcp_conn_hash_insert(tw, c);
}

static void teardown(void)
{
	for (unsigned i = 0; i < w->tx_n; i++)
		rte_pktmbuf_free(w->tx[i]);
	w->tx_n = 0;
	tcp_worker_drain(tw);
	dp_timer_cancel(&w->wheel, &c->tm);
	tcp_worker_destroy(tw);
	rte_free(w);
}

/* Queues the pattern in pieces of the given lengths (the last one repeats to total bytes). */
static void queue(const uint16_t *lens, unsigned n, uint32_t total)
{
	struct rte_mbuf *head = NULL, *tail = NULL;
	uint32_t off = 0;

	for (unsigned i = 0; off < total; i++) {
		uint32_t k = lens[i < n ? i : n - 1];
		struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
		uint8_t *p;

		if (k > total - off)
			k = total - off;
		p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)k);
		for (uint32_t j = 0; j < k; j++)
			p[j] = pat(off + j);
		off += k;
		if (!head) {
			head = tail = m;
		} else {
			tail->next = m;
			tail = m;
			head->nb_segs++;
			head->pkt_len += k;
		}
	}
	CHECK_OK(tcp_write(tw, tcp_handle_of(tw, c), head));
}

/* The payload of a sent packet equals the pattern from byte off. */
static int payload_ok(const struct rte_mbuf *h, uint32_t off)
{
	uint32_t hl = (uint32_t)(h->l2_len + h->l3_len + h->l4_len), k = 0;

	for (const struct rte_mbuf *m = h; m; m = m->next) {
		const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);

		for (uint32_t j = (m == h ? hl : 0); j < m->data_len; j++, k++)
			if (p[j] != pat(off + k))
				return 0;
	}
	return k == h->pkt_len - hl;
}

static struct rte_ipv4_hdr *ip_of(struct rte_mbuf *h)
{
	return rte_pktmbuf_mtod_offset(h, struct rte_ipv4_hdr *, DP_ETH_HLEN);
}

static struct rte_tcp_hdr *tcp_of(struct rte_mbuf *h)
{
	return rte_pktmbuf_mtod_offset(h, struct rte_tcp_hdr *, DP_ETH_HLEN + DP_IP_HLEN);
}

static const uint64_t TSO_FLAGS = RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_IPV4 |
				  RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_CKSUM;

static void test_fit(void)
{
	uint16_t even[8] = {1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000};
	uint16_t odd[4] = {2000, 2001, 3000, 3000};
	uint16_t tiny[8] = {500, 500, 500, 500, 500, 500, 500, 500};

	CHECK_INT(tcp_tso_fit(even, 8, 1460, 16), 8000);
	/* 1460-byte windows over 1000-byte pieces touch 2 or 3 pieces */
	CHECK_INT(tcp_tso_fit(even, 8, 1460, 3), 8000);
	CHECK_INT(tcp_tso_fit(even, 8, 1460, 2), 2920); /* the third window touches 3 */
	CHECK_INT(tcp_tso_fit(tiny, 8, 1460, 2), 0);    /* not even the first segment */
	CHECK_INT(tcp_tso_fit(tiny, 8, 1460, 4), 4000);
	CHECK_INT(tcp_tso_fit(odd, 4, 1460, 16), 4001); /* the odd piece ends the packet */
	CHECK_INT(tcp_tso_fit(odd, 1, 1460, 16), 2000);
	CHECK_INT(tcp_tso_fit(even, 8, 0, 16), 0);
}

/* One TSO packet: flags, lengths, tso_segsz, pseudo-header checksum, payload. */
static void test_tso_packet(void)
{
	static const uint16_t lens[1] = {2048};
	struct rte_mbuf *h;
	struct rte_ipv4_hdr *ip;
	int n;

	setup(1);
	queue(lens, 1, 100000);
	n = tcp_xmit(tw, c, c->snd_nxt, 30000, TH_ACK);
	CHECK_INT(n, 30000);
	CHECK_INT(w->tx_n, 1);
	h = w->tx[0];
	ip = ip_of(h);
	CHECK_INT(h->ol_flags, TSO_FLAGS);
	CHECK_INT(h->tso_segsz, 1460);
	CHECK_INT(h->l2_len, DP_ETH_HLEN);
	CHECK_INT(h->l3_len, DP_IP_HLEN);
	CHECK_INT(h->l4_len, 20);
	CHECK_INT(h->pkt_len, 54 + 30000);
	CHECK_INT(h->nb_segs, 1 + 15); /* 14 whole 2048-byte pieces and a part */
	CHECK_INT(rte_be_to_cpu_16(ip->total_length), 40 + 30000);
	CHECK_INT(ip->hdr_checksum, 0);
	CHECK_INT(tcp_of(h)->cksum, rte_ipv4_phdr_cksum(ip, TSO_FLAGS));
	CHECK_INT(rte_be_to_cpu_32(tcp_of(h)->sent_seq), ISS + 1);
	CHECK_INT(tcp_of(h)->tcp_flags, TH_ACK);
	CHECK(payload_ok(h, 0));
	CHECK_INT(st.ctr[DP_CTR_TCP_TSO_OUT], 1);
	CHECK_INT(st.ctr[DP_CTR_TCP_TSO_SEGS], 21); /* ceil(30000 / 1460) */
	teardown();
}

/* Options come out of tso_segsz; a PMD quirk's slack too; segsz stays even. */
static void test_tso_segsz_options_slack(void)
{
	static const uint16_t lens[1] = {2048};
	struct rte_mbuf *h;

	setup(1);
	c->flags |= TF_TS;
	c->mss = 1461;
	w->tso_mtu_slack = RTE_ETHER_HDR_LEN;
	queue(lens, 1, 20000);
	CHECK(tcp_xmit(tw, c, c->snd_nxt, 20000, TH_ACK) > 1449);
	h = w->tx[0];
	CHECK_INT(h->l4_len, 32);
	CHECK_INT(h->tso_segsz, (1461 - 12 - 14) & ~1); /* 1434 */
	CHECK(payload_ok(h, 0));
	teardown();
}

/* The PMD's piece limit caps a TSO packet, in whole segments. */
static void test_tso_pieces_cap(void)
{
	static const uint16_t lens[1] = {1000};
	struct rte_mbuf *h;
	int n;

	setup(1);
	w->tso_pieces = 8;
	queue(lens, 1, 40000);
	n = tcp_xmit(tw, c, c->snd_nxt, 20000, TH_ACK | TH_FIN);
	CHECK_INT(n, 7300); /* 8 pieces = 8000 bytes, cut to 5 segments */
	h = w->tx[0];
	CHECK(h->nb_segs <= 1 + 8);
	CHECK_INT(h->ol_flags, TSO_FLAGS);
	CHECK_INT(tcp_of(h)->tcp_flags, TH_ACK); /* FIN only with the last byte */
	CHECK(payload_ok(h, 0));
	teardown();
}

/* A PMD that cuts a packet into few segments at most gets no more. */
static void test_tso_max_segs(void)
{
	static const uint16_t lens[1] = {2048};
	int n;

	setup(1);
	w->tso_max_segs = 4;
	queue(lens, 1, 40000);
	n = tcp_xmit(tw, c, c->snd_nxt, 40000, TH_ACK);
	CHECK_INT(n, 4 * 1460);
	CHECK_INT(st.ctr[DP_CTR_TCP_TSO_SEGS], 4);
	CHECK(payload_ok(w->tx[0], 0));
	teardown();
}

/* Each segment the port cuts may hold few pieces: too few for one, a plain segment goes. */
static void test_tso_seg_pieces_fallback(void)
{
	static const uint16_t lens[1] = {500};
	struct rte_mbuf *h;
	int n;

	setup(1);
	w->tso_seg_pieces = 2;
	queue(lens, 1, 20000);
	n = tcp_xmit(tw, c, c->snd_nxt, 20000, TH_ACK);
	CHECK_INT(n, 1460);
	h = w->tx[0];
	CHECK(!(h->ol_flags & RTE_MBUF_F_TX_TCP_SEG));
	CHECK_INT(h->ol_flags, RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_CKSUM);
	CHECK_INT(h->nb_segs, 1 + 3);
	CHECK(payload_ok(h, 0));
	teardown();
}

/* An odd piece ends a TSO packet: every piece before the last is even. */
static void test_tso_odd_piece(void)
{
	static const uint16_t lens[4] = {2000, 2001, 1500, 1500};
	struct rte_mbuf *h;
	int n;

	setup(1);
	queue(lens, 4, 12000);
	n = tcp_xmit(tw, c, c->snd_nxt, 12000, TH_ACK);
	CHECK_INT(n, 2920);
	h = w->tx[0];
	CHECK_INT(h->ol_flags, TSO_FLAGS);
	CHECK(dp_chain_even_pieces(h));
	CHECK(payload_ok(h, 0));
	teardown();
}

/* Without TSO: one MSS, checksum offload flags only, as before. */
static void test_no_tso(void)
{
	static const uint16_t lens[1] = {2048};
	struct rte_mbuf *h;
	struct rte_ipv4_hdr *ip;

	setup(0);
	queue(lens, 1, 20000);
	CHECK_INT(tcp_xmit(tw, c, c->snd_nxt, 20000, TH_ACK), 1460);
	h = w->tx[0];
	ip = ip_of(h);
	CHECK_INT(h->ol_flags, RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_CKSUM);
	CHECK_INT(h->tso_segsz, 0);
	CHECK_INT(tcp_of(h)->cksum, rte_ipv4_phdr_cksum(ip, h->ol_flags));
	CHECK_INT(st.ctr[DP_CTR_TCP_TSO_OUT], 0);
	CHECK(payload_ok(h, 0));
	teardown();
}

/* tcp_output with TSO: packets of up to 64 KiB, the sum bounded by cwnd and the peer's window. */
static void check_output(uint32_t cwnd, uint32_t snd_wnd)
{
	static const uint16_t lens[1] = {2048};
	uint32_t sum = 0, limit = cwnd < snd_wnd ? cwnd : snd_wnd, off = 0;

	setup(1);
	c->cc.cwnd = cwnd;
	c->snd_wnd = snd_wnd;
	queue(lens, 1, 300000);
	tcp_output(tw, c);
	CHECK(w->tx_n >= 1);
	for (unsigned i = 0; i < w->tx_n; i++) {
		struct rte_mbuf *h = w->tx[i];
		uint32_t pay = h->pkt_len - 54;

		CHECK(pay <= 65535 - 40);
		CHECK(payload_ok(h, off));
		CHECK_INT(rte_be_to_cpu_32(tcp_of(h)->sent_seq), ISS + 1 + off);
		off += pay;
		sum += pay;
	}
	CHECK(sum <= limit);
	CHECK(sum + c->mss > limit); /* all the windows allow, in whole segments */
	CHECK_INT(c->snd_nxt - c->snd_una, sum);
	teardown();
}

static void test_output_windows(void)
{
	check_output(100000, 1u << 20);
	check_output(1u << 20, 30000);
	check_output(200000, 200000);
}

/* A received segment whose payload spans three mbufs reaches the reader intact. */
static void test_input_chain(void)
{
	static const uint16_t seglen[3] = {120, 1000, 900}; /* 20 header bytes in the first */
	struct rte_mbuf *head = NULL, *tail = NULL, *got = NULL;
	struct dp_ipv4_info ip = {.src = PEER, .dst = US, .proto = 6, .ttl = 64, .hlen = 20};
	uint8_t mac[6] = {2, 2, 2, 2, 2, 2};
	uint32_t k = 0, total = 0;
	int n;

	setup(0);
	for (unsigned i = 0; i < 3; i++) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
		uint8_t *p = m ? (uint8_t *)rte_pktmbuf_append(m, seglen[i]) : NULL;
		unsigned j = 0;

		if (!p) {
			CHECK(!"mbuf");
			return;
		}
		if (i == 0) {
			struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)p;

			memset(p, 0, 20);
			th->src_port = rte_cpu_to_be_16(40000);
			th->dst_port = rte_cpu_to_be_16(22);
			th->sent_seq = rte_cpu_to_be_32(5001);
			th->recv_ack = rte_cpu_to_be_32(ISS + 1);
			th->data_off = 5 << 4;
			th->tcp_flags = TH_ACK;
			th->rx_win = rte_cpu_to_be_16(65535);
			j = 20;
		}
		for (; j < seglen[i]; j++)
			p[j] = pat(total++);
		if (!head) {
			head = tail = m;
		} else {
			tail->next = m;
			tail = m;
			head->nb_segs++;
			head->pkt_len += seglen[i];
		}
	}
	ip.total_len = (uint16_t)(20 + head->pkt_len);
	c->rcv_adv = c->rcv_nxt + 65535;
	tcp_input(tw, head, &ip, mac, 1);
	CHECK_INT(c->rcv_nxt, 5001 + total);
	CHECK_INT(c->acks_pending, 2); /* 2000 bytes: two segments' worth, an ACK at once */
	n = tcp_read(tw, tcp_handle_of(tw, c), &got);
	CHECK_INT(n, (int)total);
	if (got) {
		CHECK_INT(got->pkt_len, total);
		for (struct rte_mbuf *m = got; m; m = m->next)
			for (uint32_t j = 0; j < m->data_len; j++, k++)
				if (rte_pktmbuf_mtod(m, uint8_t *)[j] != pat(k)) {
					CHECK(!"payload differs");
					m = NULL;
					break;
				}
		CHECK_INT(k, total);
		rte_pktmbuf_free(got);
	}
	teardown();
}

/* A one-mbuf segment from the peer: TCP header (no options) and len pattern bytes. */
static struct rte_mbuf *peer_seg(uint32_t seq, uint8_t flags, uint32_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	uint8_t *p = m ? (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(20 + len)) : NULL;
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)p;

	if (!p)
		return NULL;
	memset(p, 0, 20);
	th->src_port = rte_cpu_to_be_16(40000);
	th->dst_port = rte_cpu_to_be_16(22);
	th->sent_seq = rte_cpu_to_be_32(seq);
	th->recv_ack = rte_cpu_to_be_32(ISS + 1);
	th->data_off = 5 << 4;
	th->tcp_flags = flags;
	th->rx_win = rte_cpu_to_be_16(65535);
	for (uint32_t j = 0; j < len; j++)
		p[20 + j] = pat(j);
	return m;
}

/*
 * Data after the peer's FIN (CLOSE_WAIT, LAST_ACK) is acknowledged and
 * dropped, and its mbuf freed exactly once: tcp_input used to free it a
 * second time (conn_input had freed it and cleared the segment's length,
 * which tcp_input took for a segment without payload). Found by fuzz_dpinput.
 */
static void test_input_data_after_fin(void)
{
	static const uint8_t states[2] = {TCP_CLOSE_WAIT, TCP_LAST_ACK};
	struct dp_ipv4_info ip = {.src = PEER, .dst = US, .proto = 6, .ttl = 64, .hlen = 20};
	uint8_t mac[6] = {2, 2, 2, 2, 2, 2};

	for (unsigned i = 0; i < 2; i++) {
		struct rte_mbuf *m;
		unsigned in_use;

		setup(0);
		c->state = states[i];
		c->flags |= TF_EOF;
		c->rcv_adv = c->rcv_nxt + 65535;
		in_use = rte_mempool_in_use_count(pool);
		m = peer_seg(c->rcv_nxt, TH_ACK | TH_PSH, 10);
		if (!m) {
			CHECK(!"mbuf");
			teardown();
			return;
		}
		ip.total_len = (uint16_t)(20 + m->pkt_len);
		tcp_input(tw, m, &ip, mac, 1);
		CHECK_INT(rte_mempool_in_use_count(pool), in_use);
		CHECK(c->flags & TF_ACK_NOW);
		CHECK_INT(c->rcv_nxt, 5001); /* nothing taken */
		teardown();
		CHECK_INT(rte_mempool_in_use_count(pool), 0);
	}
}

/* Trims keep the head's pkt_len and nb_segs right. */
static void test_chain_trims(void)
{
	struct rte_mbuf *head = NULL, *tail = NULL;

	for (unsigned i = 0; i < 4; i++) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(pool);

		rte_pktmbuf_append(m, 100);
		if (!head) {
			head = tail = m;
		} else {
			tail->next = m;
			tail = m;
			head->nb_segs++;
			head->pkt_len += 100;
		}
	}
	head = tcp_chain_trim_front(head, 150);
	CHECK_INT(head->pkt_len, 250);
	CHECK_INT(head->nb_segs, 3);
	CHECK_INT(head->data_len, 50);
	head = tcp_chain_trim_back(head, 120);
	CHECK_INT(head->pkt_len, 130);
	CHECK_INT(head->nb_segs, 2);
	rte_pktmbuf_free(head);
}

static int parse(const char *text, struct st_daemon_conf *cf, char *err, size_t errsz)
{
	st_daemon_conf_init(cf);
	return st_daemon_conf_parse(cf, text, strlen(text), "t.conf", err, errsz);
}

static void test_mtu_keyword(void)
{
	struct st_daemon_conf cf;
	char err[256];

	CHECK_OK(parse("Port 22\n", &cf, err, sizeof(err)));
	CHECK_INT(cf.ctl.mtu, 1500);
	st_daemon_conf_free(&cf);
	CHECK_OK(parse("MTU 9000\n", &cf, err, sizeof(err)));
	CHECK_INT(cf.ctl.mtu, 9000);
	st_daemon_conf_free(&cf);
	CHECK_OK(parse("mtu 576\n", &cf, err, sizeof(err)));
	CHECK_INT(cf.ctl.mtu, 576);
	st_daemon_conf_free(&cf);
	CHECK_ERR(parse("Port 22\nMTU 9001\n", &cf, err, sizeof(err)), ST_ERR_FORMAT);
	CHECK(strstr(err, "t.conf:2:") != NULL && strstr(err, "MTU") != NULL);
	st_daemon_conf_free(&cf);
	CHECK_ERR(parse("MTU 575\n", &cf, err, sizeof(err)), ST_ERR_FORMAT);
	st_daemon_conf_free(&cf);
	CHECK_ERR(parse("MTU 1500x\n", &cf, err, sizeof(err)), ST_ERR_FORMAT);
	st_daemon_conf_free(&cf);
	CHECK_ERR(parse("MTU -1\n", &cf, err, sizeof(err)), ST_ERR_FORMAT);
	st_daemon_conf_free(&cf);
}

int main(int argc, char **argv)
{
	(void)argc;
	if (st_test_eal_init(argv[0], "tcp_offload") != 0)
		return 1;
	if ((pool = st_test_mbuf_pool("tcp_offload", "tso", 4096, RTE_MBUF_DEFAULT_BUF_SIZE)) == NULL)
		return 1;
	RUN(test_fit);
	RUN(test_tso_packet);
	RUN(test_tso_segsz_options_slack);
	RUN(test_tso_pieces_cap);
	RUN(test_tso_max_segs);
	RUN(test_tso_seg_pieces_fallback);
	RUN(test_tso_odd_piece);
	RUN(test_no_tso);
	RUN(test_output_windows);
	RUN(test_input_chain);
	RUN(test_input_data_after_fin);
	RUN(test_chain_trims);
	RUN(test_mtu_keyword);
	CHECK_INT(rte_mempool_in_use_count(pool), 0);
	st_test_eal_fini("tcp_offload");
	return st_test_done("tcp_offload");
}
