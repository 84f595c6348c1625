/* Internet checksums over mbuf chains (see csum.h for why not DPDK's). */
#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "dataplane/csum.h"

uint16_t dp_cksum_chain(const struct rte_mbuf *m, uint32_t off, uint32_t len)
{
	uint32_t sum = 0, done = 0;

	while (m && off >= m->data_len) {
		off -= m->data_len;
		m = m->next;
	}
	for (; m && done < len; m = m->next, off = 0) {
		uint32_t n = m->data_len - off;
		uint16_t s;

		if (n > len - done)
			n = len - done;
		s = rte_raw_cksum(rte_pktmbuf_mtod_offset(m, const uint8_t *, off), n);
		/* A piece that starts at an odd offset of the stream has its words shifted
		 * by one byte: swapping its reduced sum realigns it (RFC 1071 2.B). */
		if (done & 1)
			s = rte_bswap16(s);
		sum += s;
		done += n;
	}
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static uint16_t l4_sum(const struct rte_mbuf *m, const struct rte_ipv4_hdr *ip, uint32_t l4_off)
{
	uint32_t len = m->pkt_len > l4_off ? m->pkt_len - l4_off : 0;
	uint32_t sum = (uint32_t)rte_ipv4_phdr_cksum(ip, 0) + dp_cksum_chain(m, l4_off, len);

	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

uint16_t dp_l4_cksum_ipv4(const struct rte_mbuf *m, const struct rte_ipv4_hdr *ip,
			  uint32_t l4_off)
{
	return (uint16_t)~l4_sum(m, ip, l4_off);
}

int dp_l4_cksum_ipv4_ok(const struct rte_mbuf *m, const struct rte_ipv4_hdr *ip,
			uint32_t l4_off)
{
	return l4_sum(m, ip, l4_off) == 0xffff;
}

int dp_chain_even_pieces(const struct rte_mbuf *m)
{
	for (; m && m->next; m = m->next)
		if (m->data_len & 1)
			return 0;
	return 1;
}
