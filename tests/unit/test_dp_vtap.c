/*
 * Unit tests: the kernel TAP port's virtio-net headers (dataplane/vtap.h).
 * Transmit: a TSO packet becomes GSO_TCPV4 with gso_size, hdr_len and a
 * partial checksum, its TCP checksum field the pseudo-header sum with the L4
 * length (computed here independently) and its IPv4 checksum whole; a packet
 * with only checksum offload gets the partial checksum and nothing else; one
 * without offloads an all-zero header; malformed ones are refused. Receive:
 * which header flags make the TCP checksum trusted, GSO detection.
 */
#include <string.h>

#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include "dataplane/proto.h"
#include "dataplane/vtap.h"
#include "tests/unit/test.h"

static struct rte_mempool *pool;

/* An Ethernet + IPv4 + TCP (thl bytes) header mbuf with pay bytes chained after it. */
static struct rte_mbuf *packet(uint32_t thl, uint32_t pay)
{
	struct rte_mbuf *h = rte_pktmbuf_alloc(pool), *p;
	struct rte_ipv4_hdr *ip;
	struct rte_tcp_hdr *th;
	uint8_t *b;

	if (h == NULL)
		return NULL;
	b = (uint8_t *)rte_pktmbuf_append(h, (uint16_t)(DP_ETH_HLEN + 20 + thl));
	memset(b, 0, DP_ETH_HLEN + 20 + thl);
	b[12] = 0x08;
	ip = (struct rte_ipv4_hdr *)(b + DP_ETH_HLEN);
	ip->version_ihl = 0x45;
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_TCP;
	ip->src_addr = rte_cpu_to_be_32(0xc6120002u);
	ip->dst_addr = rte_cpu_to_be_32(0xc6120001u);
	ip->total_length = rte_cpu_to_be_16((uint16_t)(20 + thl + pay));
	th = (struct rte_tcp_hdr *)(ip + 1);
	th->data_off = (uint8_t)((thl / 4) << 4);
	th->tcp_flags = RTE_TCP_ACK_FLAG;
	while (pay > 0) {
		uint32_t n = pay < 2000 ? pay : 2000;

		if ((p = rte_pktmbuf_alloc(pool)) == NULL) {
			rte_pktmbuf_free(h);
			return NULL;
		}
		memset(rte_pktmbuf_append(p, (uint16_t)n), 0x5a, n);
		rte_pktmbuf_chain(h, p);
		pay -= n;
	}
	return h;
}

/* The pseudo-header sum (not complemented, folded) with length len, by hand. */
static uint16_t pseudo(const struct rte_ipv4_hdr *ip, uint32_t len)
{
	uint32_t s = 0, a = rte_be_to_cpu_32(ip->src_addr), d = rte_be_to_cpu_32(ip->dst_addr);

	s += (a >> 16) + (a & 0xffff) + (d >> 16) + (d & 0xffff) + IPPROTO_TCP + len;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return rte_cpu_to_be_16((uint16_t)s);
}

static struct rte_ipv4_hdr *ip_of(struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, DP_ETH_HLEN);
}

static void test_tso(void)
{
	struct rte_mbuf *m = packet(32, 30000);
	struct virtio_net_hdr h;
	struct rte_ipv4_hdr *ip;
	struct rte_tcp_hdr *th;

	CHECK(m != NULL);
	if (m == NULL)
		return;
	ip = ip_of(m);
	th = (struct rte_tcp_hdr *)(ip + 1);
	m->ol_flags = RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM |
		      RTE_MBUF_F_TX_TCP_CKSUM;
	m->tso_segsz = 1448;
	th->cksum = rte_ipv4_phdr_cksum(ip, m->ol_flags); /* as tcp_out leaves it: no length */
	CHECK_INT(dp_vtap_tx_hdr(m, &h), 0);
	CHECK_INT(h.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	CHECK_INT(h.gso_size, 1448);
	CHECK_INT(h.hdr_len, DP_ETH_HLEN + 20 + 32);
	CHECK_INT(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	CHECK_INT(h.csum_start, DP_ETH_HLEN + 20);
	CHECK_INT(h.csum_offset, 16);
	CHECK_INT(th->cksum, pseudo(ip, 32 + 30000));
	CHECK_INT(rte_ipv4_cksum(ip), 0); /* the header sums to all ones: whole */
	rte_pktmbuf_free(m);
}

static void test_csum_only(void)
{
	struct rte_mbuf *m = packet(20, 1000);
	struct virtio_net_hdr h;
	struct rte_tcp_hdr *th;
	uint16_t before;

	CHECK(m != NULL);
	if (m == NULL)
		return;
	th = (struct rte_tcp_hdr *)(ip_of(m) + 1);
	m->ol_flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_CKSUM;
	th->cksum = before = rte_ipv4_phdr_cksum(ip_of(m), m->ol_flags); /* with the length */
	CHECK_INT(dp_vtap_tx_hdr(m, &h), 0);
	CHECK_INT(h.gso_type, VIRTIO_NET_HDR_GSO_NONE);
	CHECK_INT(h.gso_size, 0);
	CHECK_INT(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	CHECK_INT(h.csum_start, DP_ETH_HLEN + 20);
	CHECK_INT(h.csum_offset, 16);
	CHECK_INT(th->cksum, before);
	CHECK_INT(before, pseudo(ip_of(m), 20 + 1000));
	CHECK_INT(rte_ipv4_cksum(ip_of(m)), 0);
	rte_pktmbuf_free(m);
}

static void test_no_offload(void)
{
	struct rte_mbuf *m = packet(20, 100);
	struct virtio_net_hdr h, zero;
	uint8_t copy[DP_ETH_HLEN + 40];

	CHECK(m != NULL);
	if (m == NULL)
		return;
	memcpy(copy, rte_pktmbuf_mtod(m, void *), sizeof(copy));
	memset(&h, 0xee, sizeof(h));
	memset(&zero, 0, sizeof(zero));
	CHECK_INT(dp_vtap_tx_hdr(m, &h), 0);
	CHECK_MEM(&h, &zero, sizeof(h));
	CHECK_MEM(rte_pktmbuf_mtod(m, void *), copy, sizeof(copy)); /* the packet untouched */
	rte_pktmbuf_free(m);
}

static void test_refused(void)
{
	struct virtio_net_hdr h;
	struct rte_mbuf *m = packet(20, 100);

	/* TSO without a segment size */
	CHECK(m != NULL);
	if (m == NULL)
		return;
	m->ol_flags = RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM;
	m->tso_segsz = 0;
	CHECK_INT(dp_vtap_tx_hdr(m, &h), -1);
	/* headers not in the first segment */
	m->tso_segsz = 1448;
	m->data_len = DP_ETH_HLEN + 10;
	CHECK_INT(dp_vtap_tx_hdr(m, &h), -1);
	m->data_len = DP_ETH_HLEN + 40;
	/* a bad IPv4 header length */
	ip_of(m)->version_ihl = 0x44;
	CHECK_INT(dp_vtap_tx_hdr(m, &h), -1);
	ip_of(m)->version_ihl = 0x45;
	/* more than 65535 bytes of IP */
	m->pkt_len = DP_ETH_HLEN + 65536;
	CHECK_INT(dp_vtap_tx_hdr(m, &h), -1);
	m->pkt_len = DP_ETH_HLEN + 40 + 100;
	CHECK_INT(dp_vtap_tx_hdr(m, &h), 0);
	rte_pktmbuf_free(m);
}

static void test_rx_flags(void)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	struct virtio_net_hdr h;

	CHECK(m != NULL);
	if (m == NULL)
		return;
	memset(&h, 0, sizeof(h));
	m->ol_flags = RTE_MBUF_F_RX_L4_CKSUM_GOOD | RTE_MBUF_F_RX_IP_CKSUM_GOOD; /* stale */
	CHECK_INT(dp_vtap_rx_flags(&h, m), 0);
	CHECK_INT(m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK, RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN);
	CHECK_INT(m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK, RTE_MBUF_F_RX_IP_CKSUM_UNKNOWN);
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	CHECK_INT(dp_vtap_rx_flags(&h, m), 0);
	CHECK_INT(m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK, RTE_MBUF_F_RX_L4_CKSUM_GOOD);
	CHECK_INT(m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK, RTE_MBUF_F_RX_IP_CKSUM_UNKNOWN);
	h.flags = VIRTIO_NET_HDR_F_DATA_VALID;
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	h.gso_size = 1448;
	CHECK_INT(dp_vtap_rx_flags(&h, m), 1);
	CHECK_INT(m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK, RTE_MBUF_F_RX_L4_CKSUM_GOOD);
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN;
	CHECK_INT(dp_vtap_rx_flags(&h, m), 1);
	h.gso_type = VIRTIO_NET_HDR_GSO_ECN; /* ECN alone is no GSO */
	CHECK_INT(dp_vtap_rx_flags(&h, m), 0);
	rte_pktmbuf_free(m);
}

int main(int argc, char **argv)
{
	(void)argc;
	if (st_test_eal_init(argv[0], "dp_vtap") != 0)
		return 1;
	if ((pool = st_test_mbuf_pool("dp_vtap", "vtap", 256, RTE_MBUF_DEFAULT_BUF_SIZE)) == NULL)
		return 1;
	RUN(test_tso);
	RUN(test_csum_only);
	RUN(test_no_offload);
	RUN(test_refused);
	RUN(test_rx_flags);
	CHECK_INT(rte_mempool_in_use_count(pool), 0);
	st_test_eal_fini("dp_vtap");
	return st_test_done("dp_vtap");
}
