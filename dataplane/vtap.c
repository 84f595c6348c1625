/* The kernel TAP port with virtio-net headers (dataplane/vtap.h). */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/if_tun.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_tcp.h>

#include "crypto/err.h"
#include "dataplane/dp.h"
#include "dataplane/proto.h"
#include "dataplane/vtap.h"

/* Most pieces one transmitted packet has (TCP's TSO plan caps chains well below this). */
#define VTAP_TX_IOV 128

/* IPv6 (no header checksum; l3_len covers what lies before TCP). */
static int tx_hdr6(struct rte_mbuf *m, struct virtio_net_hdr *h)
{
	struct rte_ipv6_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv6_hdr *, DP_ETH_HLEN);
	uint32_t l4 = DP_ETH_HLEN + (uint32_t)m->l3_len;
	struct rte_tcp_hdr *th;
	uint32_t thl;

	if (m->l3_len < sizeof(*ip) || m->data_len < l4 + 20 || m->pkt_len - l4 > UINT16_MAX)
		return -1;
	h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h->csum_start = (uint16_t)l4;
	h->csum_offset = 16;
	if (!(m->ol_flags & RTE_MBUF_F_TX_TCP_SEG))
		return 0;
	th = rte_pktmbuf_mtod_offset(m, struct rte_tcp_hdr *, l4);
	thl = (uint32_t)(th->data_off >> 4) * 4;
	if (m->data_len < l4 + thl || m->tso_segsz == 0)
		return -1;
	h->gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
	h->gso_size = m->tso_segsz;
	h->hdr_len = (uint16_t)(l4 + thl);
	th->cksum = rte_ipv6_phdr_cksum(ip, 0); /* with the length, as the kernel wants it */
	return 0;
}

int dp_vtap_tx_hdr(struct rte_mbuf *m, struct virtio_net_hdr *h)
{
	uint64_t f = m->ol_flags;
	struct rte_ipv4_hdr *ip;
	uint32_t ihl, l4;

	memset(h, 0, sizeof(*h));
	if (!(f & (RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_TCP_SEG)))
		return 0;
	if (f & RTE_MBUF_F_TX_IPV6)
		return tx_hdr6(m, h);
	if (m->data_len < DP_ETH_HLEN + DP_IP_HLEN)
		return -1;
	ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, DP_ETH_HLEN);
	ihl = (uint32_t)(ip->version_ihl & 0xf) * 4;
	if (ihl < DP_IP_HLEN || m->data_len < DP_ETH_HLEN + ihl + 20 ||
	    m->pkt_len - DP_ETH_HLEN > UINT16_MAX)
		return -1;
	if (f & RTE_MBUF_F_TX_IP_CKSUM) {
		ip->hdr_checksum = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
	}
	if (!(f & (RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_TCP_SEG)))
		return 0;
	l4 = DP_ETH_HLEN + ihl;
	h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h->csum_start = (uint16_t)l4;
	h->csum_offset = 16; /* offsetof(struct rte_tcp_hdr, cksum) */
	if (f & RTE_MBUF_F_TX_TCP_SEG) {
		struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)((uint8_t *)ip + ihl);
		uint32_t thl = (uint32_t)(th->data_off >> 4) * 4;

		if (m->data_len < l4 + thl || m->tso_segsz == 0)
			return -1;
		h->gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
		h->gso_size = m->tso_segsz;
		h->hdr_len = (uint16_t)(l4 + thl);
		/* rte_ipv4_phdr_cksum without TCP_SEG in the flags: the sum with the length. */
		th->cksum = rte_ipv4_phdr_cksum(ip, 0);
	}
	return 0;
}

int dp_vtap_rx_flags(const struct virtio_net_hdr *h, struct rte_mbuf *m)
{
	m->ol_flags &= ~(RTE_MBUF_F_RX_IP_CKSUM_MASK | RTE_MBUF_F_RX_L4_CKSUM_MASK);
	/* The IPv4 header checksum is always whole from the kernel, but cheap to check. */
	m->ol_flags |= RTE_MBUF_F_RX_IP_CKSUM_UNKNOWN;
	if (h->flags & (VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID))
		m->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_GOOD;
	else
		m->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN;
	return (h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) != VIRTIO_NET_HDR_GSO_NONE;
}

static int ifreq_ioctl(int fd, unsigned long req, struct ifreq *ifr, const char *what)
{
	if (ioctl(fd, req, ifr) == 0)
		return ST_OK;
	fprintf(stderr, "dataplane: TAP %s: %s: %s\n", ifr->ifr_name, what, strerror(errno));
	return ST_ERR_SYSTEM;
}

static int open_queue(const char *ifname, uint16_t nb_queues, int *out)
{
	struct ifreq ifr;
	int fd, hdr = (int)sizeof(struct virtio_net_hdr), r;
	unsigned off = TUN_F_CSUM | TUN_F_TSO4;

	if ((fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0) {
		fprintf(stderr, "dataplane: TAP %s: /dev/net/tun: %s\n", ifname, strerror(errno));
		return ST_ERR_SYSTEM;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | (nb_queues > 1 ? IFF_MULTI_QUEUE : 0);
	if ((r = ifreq_ioctl(fd, TUNSETIFF, &ifr, "TUNSETIFF")) != ST_OK)
		goto fail;
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) != 0 || ioctl(fd, TUNSETOFFLOAD, off) != 0) {
		fprintf(stderr, "dataplane: TAP %s: virtio-net header offloads: %s\n", ifname,
			strerror(errno));
		r = ST_ERR_SYSTEM;
		goto fail;
	}
	*out = fd;
	return ST_OK;
fail:
	close(fd);
	return r;
}

/* The kernel side: MTU, then up (as net_tap does at start). */
static int link_setup(const char *ifname, uint16_t mtu)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r;

	if (s < 0)
		return ST_ERR_SYSTEM;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_mtu = mtu;
	if ((r = ifreq_ioctl(s, SIOCSIFMTU, &ifr, "set MTU")) == ST_OK &&
	    (r = ifreq_ioctl(s, SIOCGIFFLAGS, &ifr, "get flags")) == ST_OK) {
		ifr.ifr_flags |= IFF_UP;
		r = ifreq_ioctl(s, SIOCSIFFLAGS, &ifr, "set up");
	}
	close(s);
	return r;
}

int dp_vtap_open(const char *ifname, uint16_t nb_queues, uint16_t mtu,
		 struct rte_mempool *const *pools, struct dp_vtap **out)
{
	struct dp_vtap *t;
	int r;

	if (ifname == NULL || ifname[0] == '\0' || strlen(ifname) >= IFNAMSIZ || nb_queues == 0) {
		fprintf(stderr, "dataplane: TAP interface name '%s': 1..%d characters\n",
			ifname ? ifname : "", IFNAMSIZ - 1);
		return ST_ERR_INVALID_ARGUMENT;
	}
	t = rte_zmalloc("dp_vtap", sizeof(*t) + nb_queues * sizeof(t->q[0]), RTE_CACHE_LINE_SIZE);
	if (t == NULL)
		return ST_ERR_ALLOC;
	snprintf(t->ifname, sizeof(t->ifname), "%s", ifname);
	for (uint16_t i = 0; i < nb_queues; i++)
		t->q[i].fd = -1;
	t->nb_queues = nb_queues;
	for (uint16_t i = 0; i < nb_queues; i++) {
		struct dp_vtap_q *q = &t->q[i];

		if ((r = open_queue(ifname, nb_queues, &q->fd)) != ST_OK)
			goto fail;
		q->pool = pools[i];
		if (rte_pktmbuf_alloc_bulk(q->pool, q->spare, DP_VTAP_RX_SEGS) != 0) {
			r = ST_ERR_ALLOC;
			goto fail;
		}
		q->nspare = DP_VTAP_RX_SEGS;
	}
	if ((r = link_setup(ifname, mtu)) != ST_OK)
		goto fail;
	*out = t;
	return ST_OK;
fail:
	dp_vtap_close(t);
	return r;
}

void dp_vtap_close(struct dp_vtap *t)
{
	if (t == NULL)
		return;
	for (uint16_t i = 0; i < t->nb_queues; i++) {
		struct dp_vtap_q *q = &t->q[i];

		for (uint16_t k = 0; k < q->nspare; k++)
			rte_pktmbuf_free(q->spare[k]);
		q->nspare = 0;
		if (q->fd >= 0)
			close(q->fd);
		q->fd = -1;
	}
	rte_free(t);
}

/*
 * One read into the spare mbufs: iov[1] is the last spare, iov[2] the one
 * before, and so on, so that the ones used are the tail of the array.
 * Returns the packet, or NULL (nothing to read, or dropped and counted).
 */
static struct rte_mbuf *read_one(struct dp_worker *w, struct dp_vtap_q *q, int *empty)
{
	struct iovec iov[DP_VTAP_RX_SEGS + 1];
	struct virtio_net_hdr h;
	struct rte_mbuf *head, *prev = NULL;
	uint32_t room = rte_pktmbuf_data_room_size(q->pool) - RTE_PKTMBUF_HEADROOM;
	uint16_t n = q->nspare, used;
	ssize_t got;
	uint32_t left;

	if (n < DP_VTAP_RX_SEGS) {
		if (rte_pktmbuf_alloc_bulk(q->pool, q->spare + n, DP_VTAP_RX_SEGS - n) != 0) {
			/* Read what fits the spares left; a longer packet is cut and dropped. */
			if (n == 0) {
				w->st->drop[DP_DROP_NO_MBUF]++;
				*empty = 1;
				return NULL;
			}
		} else {
			n = q->nspare = DP_VTAP_RX_SEGS;
		}
	}
	iov[0].iov_base = &h;
	iov[0].iov_len = sizeof(h);
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = q->spare[n - 1 - i];

		m->data_off = RTE_PKTMBUF_HEADROOM;
		iov[1 + i].iov_base = rte_pktmbuf_mtod(m, void *);
		iov[1 + i].iov_len = room;
	}
	got = readv(q->fd, iov, n + 1);
	if (got < 0) {
		*empty = 1;
		if (errno != EAGAIN && errno != EINTR)
			w->st->drop[DP_DROP_TAP_READ]++;
		return NULL;
	}
	if ((size_t)got < sizeof(h) + DP_ETH_HLEN) {
		w->st->drop[DP_DROP_ETH_SHORT]++;
		return NULL;
	}
	left = (uint32_t)got - (uint32_t)sizeof(h);
	used = (uint16_t)((left + room - 1) / room); /* <= n: readv fills at most the iovecs */
	head = q->spare[n - 1];
	for (uint16_t i = 0; i < used; i++) {
		struct rte_mbuf *m = q->spare[n - 1 - i];
		uint32_t take = left < room ? left : room;

		rte_pktmbuf_reset(m);
		m->data_len = (uint16_t)take;
		left -= take;
		if (prev)
			prev->next = m;
		prev = m;
	}
	head->nb_segs = used;
	head->pkt_len = (uint32_t)got - (uint32_t)sizeof(h);
	q->nspare = (uint16_t)(n - used);
	if (dp_vtap_rx_flags(&h, head))
		w->st->ctr[DP_CTR_TAP_RX_GSO]++;
	return head;
}

uint16_t dp_vtap_rx(struct dp_worker *w, struct dp_vtap_q *q, struct rte_mbuf **pkts,
		    uint16_t max)
{
	uint16_t n = 0;
	int empty = 0;

	while (n < max && !empty) {
		struct rte_mbuf *m = read_one(w, q, &empty);

		if (m)
			pkts[n++] = m;
	}
	return n;
}

/* Counts tx_pkts / tx_bytes for what it writes (dp_tx_flush leaves them to it). */
uint16_t dp_vtap_tx(struct dp_worker *w, struct dp_vtap_q *q, struct rte_mbuf **pkts,
		    uint16_t n)
{
	struct iovec iov[VTAP_TX_IOV + 1];
	struct virtio_net_hdr h;
	uint16_t i;

	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i], *s;
		int k = 1;

		if (dp_vtap_tx_hdr(m, &h) != 0 || m->nb_segs > VTAP_TX_IOV) {
			dp_drop(w, m, DP_DROP_TAP_WRITE);
			continue;
		}
		iov[0].iov_base = &h;
		iov[0].iov_len = sizeof(h);
		for (s = m; s; s = s->next) {
			if (s->data_len == 0)
				continue;
			iov[k].iov_base = rte_pktmbuf_mtod(s, void *);
			iov[k].iov_len = s->data_len;
			k++;
		}
		if (writev(q->fd, iov, k) < 0) {
			if (errno == EAGAIN)
				break;
			/* EIO: the interface is down; the kernel refused this one packet otherwise. */
			dp_drop(w, m, DP_DROP_TAP_WRITE);
			continue;
		}
		w->st->tx_pkts++;
		w->st->tx_bytes += m->pkt_len;
		rte_pktmbuf_free(m);
	}
	return i;
}
