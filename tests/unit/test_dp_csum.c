/*
 * Checksums over mbuf chains (dataplane/csum.h) against a flat reference sum
 * (dp_csum_partial over the same bytes laid out contiguously): random chains
 * with odd, even and empty pieces at every alignment, the TCP checksum with
 * its pseudo-header, and the verification of a received segment.
 */
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "dataplane/csum.h"
#include "dataplane/proto.h"
#include "tests/unit/test.h"

static struct rte_mempool *pool;
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

/* A chain of nseg pieces of random lengths holding flat[0..len), with random headroom. */
static struct rte_mbuf *make_chain(const uint8_t *flat, uint32_t len, unsigned nseg)
{
	struct rte_mbuf *head = NULL, *tail = NULL;
	uint32_t done = 0;

	/* nseg random pieces (empty ones included), then the rest in 1500-byte pieces */
	for (unsigned i = 0; i < nseg || done < len; i++) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
		uint32_t n = i + 1 >= nseg ? len - done : rnd(len - done + 1);

		if (!m) {
			rte_pktmbuf_free(head);
			return NULL;
		}
		if (n > 1500)
			n = 1500;
		m->data_off = (uint16_t)(m->data_off - 64 + rnd(64)); /* any alignment */
		memcpy(rte_pktmbuf_append(m, (uint16_t)n), flat + done, n);
		done += n;
		if (!head) {
			head = tail = m;
		} else {
			tail->next = m;
			tail = m;
			head->nb_segs++;
			head->pkt_len += n;
		}
	}
	return head;
}

static uint16_t ref_sum(const uint8_t *p, uint32_t len)
{
	/* dp_csum_partial sums big-endian words; dp_cksum_chain returns host order. */
	uint16_t be = (uint16_t)~dp_csum_fold(dp_csum_partial(p, len, 0));

	return rte_be_to_cpu_16(be);
}

static void test_random_chains_match_flat_sum(void)
{
	static uint8_t flat[6000];
	unsigned mismatches = 0, cases = 0;

	for (int iter = 0; iter < 4000; iter++) {
		uint32_t len = rnd(4000) + 1, off = rnd(len);
		unsigned nseg = rnd(6) + 1;
		struct rte_mbuf *m;

		st_test_fill(flat, len, (uint64_t)iter + 1);
		if ((m = make_chain(flat, len, nseg)) == NULL) {
			CHECK(!"mbuf pool exhausted");
			return;
		}
		cases++;
		if (dp_cksum_chain(m, off, len - off) != ref_sum(flat + off, len - off))
			mismatches++;
		rte_pktmbuf_free(m);
	}
	CHECK_INT(mismatches, 0);
	CHECK(cases == 4000);
}

/* The DPDK 22.11 case: a 21-byte piece (an SSH banner) followed by more data. */
static void test_odd_piece_then_data(void)
{
	static uint8_t flat[21 + 1448];
	struct rte_mbuf *a = rte_pktmbuf_alloc(pool), *b = rte_pktmbuf_alloc(pool);

	memset(flat, 0xff, sizeof(flat)); /* maximal carries */
	memcpy(rte_pktmbuf_append(a, 21), flat, 21);
	memcpy(rte_pktmbuf_append(b, 1448), flat + 21, 1448);
	a->next = b;
	a->nb_segs = 2;
	a->pkt_len = 21 + 1448;
	CHECK_INT(dp_cksum_chain(a, 0, sizeof(flat)), ref_sum(flat, sizeof(flat)));
	CHECK(!dp_chain_even_pieces(a));
	rte_pktmbuf_free(a);
}

static void test_even_pieces(void)
{
	struct rte_mbuf *a = rte_pktmbuf_alloc(pool), *b = rte_pktmbuf_alloc(pool);

	rte_pktmbuf_append(a, 20);
	rte_pktmbuf_append(b, 7); /* the last piece may be odd */
	a->next = b;
	a->nb_segs = 2;
	CHECK(dp_chain_even_pieces(a));
	a->data_len = 21;
	CHECK(!dp_chain_even_pieces(a));
	rte_pktmbuf_free(a);
}

/* A TCP segment in a chain: computed field makes it verify; one flipped bit does not. */
static void test_tcp_segment_roundtrip(void)
{
	for (int iter = 0; iter < 500; iter++) {
		static uint8_t flat[20 + 20 + 3000];
		uint32_t plen = rnd(3000), len = 40 + plen;
		struct rte_ipv4_hdr *ip;
		struct rte_mbuf *m;
		uint8_t *l4;
		uint16_t ck;

		st_test_fill(flat, len, (uint64_t)iter * 7 + 3);
		dp_ipv4_build(flat, 0xc6120001, 0xc6120002, DP_IPPROTO_TCP, (uint16_t)(40 + plen), 1, 0);
		flat[40 - 20 + 16] = flat[40 - 20 + 17] = 0; /* TCP checksum field */
		m = make_chain(flat, len, rnd(4) + 1);
		if (!m || m->data_len < 40) { /* headers must be contiguous */
			rte_pktmbuf_free(m);
			iter--;
			continue;
		}
		ip = rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);
		l4 = (uint8_t *)(ip + 1);
		ck = dp_l4_cksum_ipv4(m, ip, 20);
		memcpy(l4 + 16, &ck, 2);
		CHECK(dp_l4_cksum_ipv4_ok(m, ip, 20));
		/* the reference: flat sum over pseudo-header + segment */
		memcpy(flat + 20 + 16, &ck, 2);
		{
			uint8_t ph[12];

			memcpy(ph, flat + 12, 8);
			ph[8] = 0;
			ph[9] = DP_IPPROTO_TCP;
			ph[10] = (uint8_t)((20 + plen) >> 8);
			ph[11] = (uint8_t)(20 + plen);
			CHECK_INT(dp_csum_fold(dp_csum_partial(flat + 20, 20 + plen,
							       dp_csum_partial(ph, 12, 0))),
				  0);
		}
		l4[5] ^= 0x10;
		CHECK(!dp_l4_cksum_ipv4_ok(m, ip, 20));
		rte_pktmbuf_free(m);
		if (st_test_failures())
			return;
	}
}

int main(int argc, char **argv)
{
	(void)argc;
	if (st_test_eal_init(argv[0], "dp_csum") != 0)
		return 1;
	if ((pool = st_test_mbuf_pool("dp_csum", "csum", 1024, RTE_MBUF_DEFAULT_BUF_SIZE)) == NULL)
		return 1;
	RUN(test_random_chains_match_flat_sum);
	RUN(test_odd_piece_then_data);
	RUN(test_even_pieces);
	RUN(test_tcp_segment_roundtrip);
	st_test_eal_fini("dp_csum");
	return st_test_done("dp_csum");
}
