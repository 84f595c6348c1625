/*
 * EAL start-up, one mbuf pool per NUMA socket, port setup with one RX/TX queue
 * pair per worker lcore, and launching the workers.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_random.h>

#include "crypto/err.h"
#include "dataplane/dp.h"
#include "dataplane/mq.h"
#include "dataplane/proto6.h"
#include "dataplane/vtap.h"
#include "dataplane/worker.h"

/*
 * Symmetric Toeplitz key: both directions of a flow hash alike. A port that
 * wants a longer key (i40e: 52 bytes) gets the same 16-bit pattern repeated.
 */
static const uint8_t sym_rss_key[40] = {
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
};

const uint8_t *dp_rss_key(void)
{
	return sym_rss_key;
}

struct dp_ctx {
	struct dp_cfg cfg;
	unsigned nb_workers;
	uint16_t nb_queues;
	int port_started;
	struct dp_worker *w[DP_MAX_WORKERS];
	struct dp_stats *st[DP_MAX_WORKERS];
	struct dp_stats_pub *pub[DP_MAX_WORKERS];
	unsigned lcore[DP_MAX_WORKERS];
	struct rte_mempool *pool[RTE_MAX_NUMA_NODES];
	struct dp_fault_port *fault; /* NULL unless a fault spec is configured (tests only) */
	struct dp_vtap *vtap;        /* the kernel TAP port, when cfg.vtap_ifname names one */
	int start_failed;            /* a worker's on_start failed (set by that worker) */
	struct dp_mq mq;             /* the port's flow-owner model, the workers' inboxes */
};

int dp_eal_init(int argc, char **argv)
{
	int n = rte_eal_init(argc, argv);

	if (n < 0) {
		fprintf(stderr, "dataplane: rte_eal_init failed: %s\n", rte_strerror(rte_errno));
		return ST_ERR_SYSTEM;
	}
	return n;
}

static struct rte_mempool *pool_for_socket(struct dp_ctx *dp, unsigned socket)
{
	char name[RTE_MEMPOOL_NAMESIZE];

	if (socket >= RTE_MAX_NUMA_NODES)
		socket = 0;
	if (dp->pool[socket])
		return dp->pool[socket];
	snprintf(name, sizeof(name), "st_mbuf_%u", socket);
	dp->pool[socket] = rte_pktmbuf_pool_create(name, dp->cfg.nb_mbufs, 256, 0,
						   RTE_MBUF_DEFAULT_BUF_SIZE, (int)socket);
	if (!dp->pool[socket] && socket != 0) /* e.g. --no-huge on a multi-socket box */
		dp->pool[socket] = rte_pktmbuf_pool_create(name, dp->cfg.nb_mbufs, 256, 0,
							   RTE_MBUF_DEFAULT_BUF_SIZE,
							   SOCKET_ID_ANY);
	if (!dp->pool[socket])
		fprintf(stderr, "dataplane: mbuf pool on socket %u: %s\n", socket,
			rte_strerror(rte_errno));
	return dp->pool[socket];
}

/*
 * PMD quirks, by driver name. net_tap (22.11) segments TSO packets in
 * software (librte_gso): it refuses one whose tso_segsz plus all headers,
 * Ethernet included, exceeds the MTU, so its segments leave the Ethernet
 * header's bytes free; and it cuts a packet into at most 64 segments
 * (MAX_GSO_MBUFS). A refused packet would stop the TX burst for good.
 * librte_gso cuts TCP/IPv4 only: an IPv6 TSO packet leaves whole, as one
 * frame far over the MTU (the kernel TAP even takes it), so IPv6 gets no TSO.
 */
struct pmd_quirk {
	const char *driver;
	uint16_t tso_mtu_slack;
	uint16_t tso_max_segs; /* 0: no limit */
	uint8_t rx_chains;     /* hands frames larger than an mbuf as chains, scatter or not */
	uint8_t tso_ipv4_only; /* its TSO cuts IPv4 packets only */
};

/*
 * net_vhost (22.11) copies each frame out of the guest's buffers into as
 * many mbufs as it needs, but does not list RX scatter among its offloads.
 */
static const struct pmd_quirk pmd_quirks[] = {
	{"net_tap", RTE_ETHER_HDR_LEN, 64, 0, 1},
	{"net_vhost", 0, 0, 1, 0},
};

static struct pmd_quirk quirks_of(const char *driver)
{
	struct pmd_quirk none = {driver, 0, 0, 0, 0};

	for (unsigned i = 0; i < RTE_DIM(pmd_quirks); i++)
		if (driver && strcmp(driver, pmd_quirks[i].driver) == 0)
			return pmd_quirks[i];
	return none;
}

/* A descriptor limit as a piece count: limit - 1 (the header mbuf), capped; 0 = no limit given. */
static uint16_t pieces_from_lim(uint16_t lim, uint16_t cap)
{
	if (lim == 0 || lim - 1u >= cap)
		return cap;
	return lim > 1 ? (uint16_t)(lim - 1) : 1;
}

/*
 * The largest MTU the port takes, as ethdev checks it: the frame (MTU plus
 * the PMD's L2 overhead) must fit max_rx_pktlen.
 */
static uint32_t port_l2_overhead(const struct rte_eth_dev_info *info)
{
	if (info->max_mtu != UINT16_MAX && info->max_rx_pktlen > info->max_mtu)
		return info->max_rx_pktlen - info->max_mtu;
	return RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN;
}

static uint32_t port_max_mtu(const struct rte_eth_dev_info *info)
{
	uint32_t overhead = port_l2_overhead(info), m;

	m = info->max_rx_pktlen > overhead ? info->max_rx_pktlen - overhead : 0;
	return m < info->max_mtu ? m : info->max_mtu;
}

static const char *const reta_sources[] = {"default", "programmed", "queried"};

/*
 * The redirection table, and its model for the owner rule (dataplane/mq.h):
 * entry i -> queue i % nb_queues over the port's reta_size, programmed; a
 * port that refuses it is read back; one that has no table (or hides it)
 * gets the default 128-entry model. Either way the model is the table the
 * rule uses; placement that disagrees costs a handoff, never a RST.
 */
static void port_reta_setup(struct dp_ctx *dp, const struct rte_eth_dev_info *info,
			    const uint8_t *key, unsigned key_len)
{
	struct rte_eth_rss_reta_entry64 conf[DP_RETA_MAX / RTE_ETH_RETA_GROUP_SIZE];
	uint16_t table[DP_RETA_MAX];
	uint16_t port = dp->cfg.port_id, n = dp->nb_queues, size = info->reta_size;
	int r = -ENOTSUP, q = -ENOTSUP;

	dp_rss_init(&dp->mq.rss, key, key_len, n);
	if (n <= 1)
		return;
	if (size > 0 && size <= DP_RETA_MAX) {
		memset(conf, 0, sizeof(conf));
		for (unsigned i = 0; i < size; i++) {
			conf[i / RTE_ETH_RETA_GROUP_SIZE].mask |= 1ULL << (i % RTE_ETH_RETA_GROUP_SIZE);
			conf[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE] =
				(uint16_t)(i % n);
			table[i] = (uint16_t)(i % n);
		}
		r = rte_eth_dev_rss_reta_update(port, conf, size);
		if (r == 0 && dp_rss_set_reta(&dp->mq.rss, table, size, DP_RETA_PROGRAMMED) == ST_OK)
			goto out;
		memset(conf, 0, sizeof(conf));
		for (unsigned i = 0; i < size; i++)
			conf[i / RTE_ETH_RETA_GROUP_SIZE].mask |= 1ULL << (i % RTE_ETH_RETA_GROUP_SIZE);
		q = rte_eth_dev_rss_reta_query(port, conf, size);
		if (q == 0) {
			for (unsigned i = 0; i < size; i++)
				table[i] = conf[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE];
			if (dp_rss_set_reta(&dp->mq.rss, table, size, DP_RETA_QUERIED) != ST_OK)
				q = -EINVAL; /* names a queue we do not have */
		}
	}
out:
	fprintf(stderr,
		"dataplane: port %u rss reta=%u entries (%s) key=%u bytes rss_hf=0x%" PRIx64
		"%s%s%s\n",
		port, dp->mq.rss.reta_size, reta_sources[dp->mq.rss.source], key_len,
		info->flow_type_rss_offloads & (RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_TCP),
		size == 0 ? ": the port has no table, segments placed otherwise are handed over"
		: size > DP_RETA_MAX ? ": the port's table is larger than DP_RETA_MAX"
				     : "",
		dp->mq.rss.source == DP_RETA_DEFAULT_TABLE && size != 0 && size <= DP_RETA_MAX
			? ": update/query: " : "",
		dp->mq.rss.source == DP_RETA_DEFAULT_TABLE && size != 0 && size <= DP_RETA_MAX
			? rte_strerror(-q) : "");
	(void)r;
}

/*
 * IPv6 needs the port to take the all-nodes group and the solicited-node
 * groups of our two addresses (dataplane/nd.c). A port without a multicast
 * filter list takes all multicast instead; failing both, ND answers only
 * reach us where the port is promiscuous (net_tap is).
 */
static void port_join_ipv6_groups(struct dp_ctx *dp, uint16_t port, const struct rte_ether_addr *mac)
{
	struct rte_ether_addr mc[3];
	struct dp_ip ll, s;
	int r;

	if (dp_ip_is_any(&dp->cfg.ip6))
		return;
	ll = dp_ip6_link_local(mac->addr_bytes);
	mc[0] = (struct rte_ether_addr){.addr_bytes = {0x33, 0x33, 0, 0, 0, 1}};
	s = dp_ip6_solicited(&dp->cfg.ip6);
	dp_ip6_mcast_mac(&s, mc[1].addr_bytes);
	s = dp_ip6_solicited(&ll);
	dp_ip6_mcast_mac(&s, mc[2].addr_bytes);
	r = rte_eth_dev_set_mc_addr_list(port, mc, 3);
	if (r != 0 && (r = rte_eth_allmulticast_enable(port)) != 0)
		fprintf(stderr, "dataplane: port %u takes no IPv6 multicast (%s): neighbor "
				"solicitations may not reach us\n", port, rte_strerror(-r));
}

static int port_setup(struct dp_ctx *dp)
{
	uint16_t port = dp->cfg.port_id, q;
	struct rte_eth_dev_info info;
	struct rte_eth_conf conf;
	struct rte_eth_txconf txconf;
	struct rte_eth_rxconf rxconf;
	struct rte_ether_addr mac;
	uint16_t rxd = dp->cfg.rxd ? dp->cfg.rxd : 1024, txd = dp->cfg.txd ? dp->cfg.txd : 1024;
	uint64_t want_tx = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
	uint64_t want_rx = RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM;
	uint16_t mtu = dp->cfg.mtu;
	uint32_t frame, room, max_mtu;
	struct pmd_quirk quirks;
	uint8_t key[DP_RSS_KEY_MAX];
	unsigned key_len = sizeof(sym_rss_key);
	int tx_csum = 0, rx_csum = 0, tso = 0, gro = 0, lro = 0, scatter = 0, r;

	if (!rte_eth_dev_is_valid_port(port)) {
		fprintf(stderr, "dataplane: no port %u (%u ports available)\n", port,
			rte_eth_dev_count_avail());
		return ST_ERR_INVALID_ARGUMENT;
	}
	if ((r = rte_eth_dev_info_get(port, &info)) != 0)
		return ST_ERR_SYSTEM;
	if (info.max_rx_queues < dp->nb_queues || info.max_tx_queues < dp->nb_queues) {
		fprintf(stderr,
			"dataplane: port %u has %u/%u queues, %u workers need one pair each "
			"(use fewer lcores)\n",
			port, info.max_rx_queues, info.max_tx_queues, dp->nb_queues);
		return ST_ERR_INVALID_ARGUMENT;
	}
	quirks = quirks_of(info.driver_name);
	max_mtu = port_max_mtu(&info);
	if (mtu < info.min_mtu || mtu > max_mtu) {
		fprintf(stderr,
			"dataplane: port %u (%s) cannot do MTU %u: it takes MTU %u..%u "
			"(frames up to %u bytes)\n",
			port, info.driver_name, mtu, info.min_mtu, max_mtu, info.max_rx_pktlen);
		return ST_ERR_INVALID_ARGUMENT;
	}
	memset(&conf, 0, sizeof(conf));
	conf.rxmode.mtu = mtu;
	if (info.hash_key_size >= sizeof(sym_rss_key) && info.hash_key_size <= DP_RSS_KEY_MAX)
		key_len = info.hash_key_size;
	for (unsigned i = 0; i < key_len; i++)
		key[i] = sym_rss_key[i % 2];
	if (dp->nb_queues > 1) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_key = key;
		conf.rx_adv_conf.rss_conf.rss_key_len = (uint8_t)key_len;
		conf.rx_adv_conf.rss_conf.rss_hf =
			(RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_TCP | RTE_ETH_RSS_IPV6 |
			 RTE_ETH_RSS_NONFRAG_IPV6_TCP) &
			info.flow_type_rss_offloads;
	}
	/* Injected TX corruption needs checksums computed over the corrupted bytes in software. */
	if (!dp->cfg.no_offload && !dp_fault_active(&dp->cfg.tx_fault) &&
	    (info.tx_offload_capa & want_tx) == want_tx) {
		conf.txmode.offloads |= want_tx;
		tx_csum = 1;
	}
	if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS)
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	/* TSO: headers in one mbuf, payload chained after it, checksums by the port. */
	if (tx_csum && (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_TCP_TSO) &&
	    (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS)) {
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_TCP_TSO;
		tso = 1;
	}
	if (!dp->cfg.no_offload && (info.rx_offload_capa & want_rx) == want_rx) {
		conf.rxmode.offloads |= want_rx;
		rx_csum = 1;
	}
	/* Receive coalescing: the port's LRO where it has it, else GRO in software when asked. */
	if (!dp->cfg.no_offload) {
		if (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_TCP_LRO) {
			conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_TCP_LRO;
			/* Without a limit of its own, ethdev wants the largest frame (virtio). */
			conf.rxmode.max_lro_pkt_size =
				info.max_lro_pkt_size == 0 ? mtu + port_l2_overhead(&info)
				: info.max_lro_pkt_size < UINT16_MAX ? info.max_lro_pkt_size
								      : UINT16_MAX;
			lro = 1;
		} else {
			gro = dp->cfg.sw_gro != 0;
		}
	}
	/* A frame that does not fit one mbuf arrives as a chain: RX scatter. */
	frame = (uint32_t)mtu + port_l2_overhead(&info);
	room = rte_pktmbuf_data_room_size(dp->w[0]->pool) - RTE_PKTMBUF_HEADROOM;
	if ((frame > room || lro) && !quirks.rx_chains) {
		if (!(info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER)) {
			if (frame > room) {
				fprintf(stderr,
					"dataplane: port %u (%s) cannot do MTU %u: %u-byte frames do "
					"not fit its %u-byte mbufs and it has no RX scatter\n",
					port, info.driver_name, mtu, frame, room);
				return ST_ERR_INVALID_ARGUMENT;
			}
		} else {
			conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_SCATTER;
			scatter = 1;
		}
	}
	/* Sleeping workers wait on RX interrupts where the port has them (dataplane/idle.h). */
	conf.intr_conf.rxq = dp->cfg.idle_sleep_ms ? 1 : 0;
	r = rte_eth_dev_configure(port, dp->nb_queues, dp->nb_queues, &conf);
	if (r != 0 && conf.intr_conf.rxq) {
		fprintf(stderr, "dataplane: port %u has no RX interrupts (%s): idle workers sleep %u ms at a "
		       "time\n", port, rte_strerror(-r), DP_IDLE_MAX_WAIT_MS);
		conf.intr_conf.rxq = 0;
		r = rte_eth_dev_configure(port, dp->nb_queues, dp->nb_queues, &conf);
	}
	if (r != 0) {
		fprintf(stderr, "dataplane: configure port %u (%s, MTU %u): %s\n", port,
			info.driver_name, mtu, rte_strerror(-r));
		return ST_ERR_SYSTEM;
	}
	/* Configure recorded the MTU; set_mtu also reaches the device (net_tap: the kernel side). */
	r = rte_eth_dev_set_mtu(port, mtu);
	if (r != 0 && r != -ENOTSUP) {
		fprintf(stderr, "dataplane: port %u (%s) cannot do MTU %u: %s\n", port,
			info.driver_name, mtu, rte_strerror(-r));
		return ST_ERR_INVALID_ARGUMENT;
	}
	rte_eth_dev_adjust_nb_rx_tx_desc(port, &rxd, &txd);
	txconf = info.default_txconf;
	txconf.offloads = conf.txmode.offloads;
	rxconf = info.default_rxconf;
	rxconf.offloads = conf.rxmode.offloads;
	for (q = 0; q < dp->nb_queues; q++) {
		unsigned socket = rte_lcore_to_socket_id(dp->lcore[q]);
		struct rte_mempool *mp = pool_for_socket(dp, socket);

		if (!mp)
			return ST_ERR_ALLOC;
		if ((r = rte_eth_rx_queue_setup(port, q, rxd, socket, &rxconf, mp)) != 0 ||
		    (r = rte_eth_tx_queue_setup(port, q, txd, socket, &txconf)) != 0) {
			fprintf(stderr, "dataplane: queue %u setup: %s\n", q, rte_strerror(-r));
			return ST_ERR_SYSTEM;
		}
	}
	/* Tests only: the fault injector wraps the queues as ethdev callbacks; nothing without a spec. */
	{
		struct rte_mempool *pools[DP_MAX_WORKERS];

		for (q = 0; q < dp->nb_queues; q++)
			pools[q] = dp->w[q]->pool;
		if ((r = dp_fault_install(port, dp->nb_queues, &dp->cfg.rx_fault, &dp->cfg.tx_fault,
					  dp->st, pools, &dp->fault)) != ST_OK)
			return r;
	}
	if ((r = rte_eth_dev_start(port)) != 0) {
		fprintf(stderr, "dataplane: start port %u: %s\n", port, rte_strerror(-r));
		return ST_ERR_SYSTEM;
	}
	dp->port_started = 1;
	port_reta_setup(dp, &info, key, key_len);
	rte_eth_macaddr_get(port, &mac);
	port_join_ipv6_groups(dp, port, &mac);
	for (unsigned i = 0; i < dp->nb_workers; i++) {
		struct dp_worker *w = dp->w[i];

		w->mac = mac;
		w->tx_csum_offload = (uint8_t)tx_csum;
		w->rx_csum_offload = (uint8_t)rx_csum;
		w->tso = (uint8_t)tso;
		w->tso6 = (uint8_t)(tso && !quirks.tso_ipv4_only);
		w->gro = (uint8_t)gro;
		w->mtu = mtu;
		w->tx_pieces = pieces_from_lim(info.tx_desc_lim.nb_mtu_seg_max, TCP_TX_PIECES);
		w->tso_pieces = pieces_from_lim(info.tx_desc_lim.nb_seg_max, TCP_TSO_PIECES);
		w->tso_seg_pieces = pieces_from_lim(info.tx_desc_lim.nb_mtu_seg_max, TCP_TSO_PIECES);
		w->tso_mtu_slack = quirks.tso_mtu_slack;
		w->tso_max_segs = quirks.tso_max_segs;
		w->rx_intr_conf = (uint8_t)conf.intr_conf.rxq;
	}
	fprintf(stderr,
		"dataplane: port %u %s queues=%u rx_csum=%d tx_csum=%d tso=%d gro=%d lro=%d "
		"mtu=%u scatter=%d tso6=%d mac=" RTE_ETHER_ADDR_PRT_FMT "\n",
		port, info.driver_name, dp->nb_queues, rx_csum, tx_csum, tso, gro, lro, mtu, scatter,
		tso && !quirks.tso_ipv4_only, RTE_ETHER_ADDR_BYTES(&mac));
	return ST_OK;
}

/*
 * The kernel TAP port (dataplane/vtap.h): one queue per worker, checksums
 * and TSO handed to the kernel in the virtio-net header, received GSO
 * packets taken as chains. No fault injector (it wraps ethdev queues).
 */
static int vtap_setup(struct dp_ctx *dp)
{
	struct rte_mempool *pools[DP_MAX_WORKERS];
	struct rte_ether_addr mac;
	int r;

	if (dp_fault_active(&dp->cfg.rx_fault) || dp_fault_active(&dp->cfg.tx_fault)) {
		fprintf(stderr, "dataplane: the fault injector needs an ethdev port, not a TAP "
				"interface\n");
		return ST_ERR_INVALID_ARGUMENT;
	}
	for (unsigned q = 0; q < dp->nb_queues; q++)
		pools[q] = dp->w[q]->pool;
	if ((r = dp_vtap_open(dp->cfg.vtap_ifname, dp->nb_queues, dp->cfg.mtu, pools, &dp->vtap)) !=
	    ST_OK)
		return r;
	rte_eth_random_addr(mac.addr_bytes);
	/* The kernel picks the queue (and then follows the queue we send on): the default model. */
	dp_rss_init(&dp->mq.rss, sym_rss_key, sizeof(sym_rss_key), dp->nb_queues);
	for (unsigned i = 0; i < dp->nb_workers; i++) {
		struct dp_worker *w = dp->w[i];
		int off = !dp->cfg.no_offload;

		w->vtap = &dp->vtap->q[i];
		w->mac = mac;
		w->tx_csum_offload = (uint8_t)off;
		w->rx_csum_offload = 1; /* flags from the virtio-net header, UNKNOWN unless vouched */
		w->tso = (uint8_t)off;
		w->tso6 = (uint8_t)off; /* the kernel segments TCPV6 too (VIRTIO_NET_HDR_GSO_TCPV6) */
		w->gro = 0; /* the kernel sends GSO packets instead */
		w->mtu = dp->cfg.mtu;
		w->tx_pieces = TCP_TX_PIECES;
		w->tso_pieces = TCP_TSO_PIECES;
		w->tso_seg_pieces = TCP_TSO_PIECES;
		w->tso_mtu_slack = 0;
		w->tso_max_segs = 0;
		w->rx_intr_conf = 0;
	}
	fprintf(stderr,
		"dataplane: port %s (kernel TAP, virtio-net header) queues=%u tx_csum=%d tso=%d "
		"rx_gso=1 mtu=%u mac=" RTE_ETHER_ADDR_PRT_FMT "\n",
		dp->cfg.vtap_ifname, dp->nb_queues, !dp->cfg.no_offload, !dp->cfg.no_offload,
		dp->cfg.mtu, RTE_ETHER_ADDR_BYTES(&mac));
	return ST_OK;
}

/* The MTU to use: the configured one, else 1500. */
static int cfg_mtu(const struct dp_cfg *cfg, uint16_t *out)
{
	unsigned long v = cfg->mtu;

	if (v == 0)
		v = DP_MTU_DEFAULT;
	if (v < DP_MTU_MIN || v > DP_MTU_MAX) {
		fprintf(stderr, "dataplane: MTU %lu: must be %u..%u\n", v, DP_MTU_MIN, DP_MTU_MAX);
		return ST_ERR_INVALID_ARGUMENT;
	}
	*out = (uint16_t)v;
	return ST_OK;
}

int dp_create(const struct dp_cfg *cfg, struct dp_ctx **out)
{
	struct dp_ctx *dp;
	unsigned lcore, i;
	int r;

	if (!cfg->quit || cfg->prefix_len > 32 || cfg->prefix6 > 128 ||
	    (cfg->ip == 0 && dp_ip_is_any(&cfg->ip6)))
		return ST_ERR_INVALID_ARGUMENT;
	if ((dp = calloc(1, sizeof(*dp))) == NULL)
		return ST_ERR_ALLOC;
	dp->cfg = *cfg;
	if ((r = cfg_mtu(cfg, &dp->cfg.mtu)) != ST_OK) {
		free(dp);
		return r;
	}
	/* TCP's MSS follows the MTU: 20 bytes of IPv4 and 20 of TCP header. */
	dp->cfg.tcp.mss = (uint16_t)(dp->cfg.mtu - 40);
	if (dp->cfg.nb_mbufs == 0)
		dp->cfg.nb_mbufs = 65535;
	if (rte_lcore_count() > DP_MAX_WORKERS) {
		fprintf(stderr,
			"dataplane: %u lcores given, but this build runs at most %u workers "
			"(DP_MAX_WORKERS): give EAL at most %u lcores (-l / --lcores)\n",
			rte_lcore_count(), DP_MAX_WORKERS, DP_MAX_WORKERS);
		free(dp);
		return ST_ERR_INVALID_ARGUMENT;
	}
	RTE_LCORE_FOREACH(lcore)
		dp->lcore[dp->nb_workers++] = lcore;
	dp->nb_queues = (uint16_t)dp->nb_workers;
	for (i = 0; i < dp->nb_workers; i++) {
		unsigned socket = rte_lcore_to_socket_id(dp->lcore[i]);
		struct dp_worker *w;

		w = rte_zmalloc_socket("dp_worker", sizeof(*w), RTE_CACHE_LINE_SIZE, (int)socket);
		dp->st[i] = rte_zmalloc_socket("dp_stats", sizeof(struct dp_stats),
					       RTE_CACHE_LINE_SIZE, (int)socket);
		dp->pub[i] = rte_zmalloc_socket("dp_stats_pub", sizeof(struct dp_stats_pub),
						RTE_CACHE_LINE_SIZE, (int)socket);
		if (!w || !dp->st[i] || !dp->pub[i]) {
			rte_free(w);
			r = ST_ERR_ALLOC;
			goto fail;
		}
		dp->w[i] = w;
		w->st = dp->st[i];
		w->pub = dp->pub[i];
		st_seq_init(&w->pub->sc);
		w->pool = pool_for_socket(dp, socket);
		if (!w->pool) {
			r = ST_ERR_ALLOC;
			goto fail;
		}
		w->id = (uint8_t)i;
		w->port = cfg->port_id;
		w->queue = (uint16_t)i;
		w->nb_workers = (uint16_t)dp->nb_workers;
		w->ip = cfg->ip;
		w->mask = cfg->prefix_len ? ~0u << (32 - cfg->prefix_len) : 0;
		w->gateway = cfg->gateway;
		w->cfg = &dp->cfg;
		w->tsc_per_ms = rte_get_tsc_hz() / 1000;
		w->arp_reach_ms = cfg->arp_reachable_ms ? cfg->arp_reachable_ms : DP_ARP_REACHABLE_MS;
		if ((r = tcp_worker_create(w, &dp->cfg.tcp, &w->tcp)) != 0)
			goto fail;
	}
	if ((r = dp->cfg.vtap_ifname ? vtap_setup(dp) : port_setup(dp)) != 0)
		goto fail;
	/* Inboxes between workers (dataplane/mq.h); a single worker needs none. */
	if ((r = dp_mq_create(&dp->mq, dp->nb_workers, dp->w[0]->arp_reach_ms,
			      (int)rte_lcore_to_socket_id(dp->lcore[0]))) != ST_OK)
		goto fail;
	for (i = 0; i < dp->nb_workers; i++) {
		dp->mq.w[i] = dp->w[i];
		dp->w[i]->mq = &dp->mq;
	}
	*out = dp;
	return ST_OK;
fail:
	dp_destroy(dp);
	return r;
}

static int worker_entry(void *arg)
{
	struct dp_ctx *dp = arg;
	unsigned lcore = rte_lcore_id();

	for (unsigned i = 0; i < dp->nb_workers; i++) {
		if (dp->lcore[i] != lcore)
			continue;
		int r = dp_worker_loop(dp->w[i]);
		if (r != 0) {
			/* Otherwise the daemon would look up but never answer on this queue. */
			fprintf(stderr, "dataplane: worker %u (lcore %u) failed to start: %s%s\n", i,
				lcore, st_err_str(r),
				r == ST_ERR_ALLOC ? " (its session tables did not fit: give EAL more "
						    "memory with -m, or ask for fewer sessions)"
						  : "");
			__atomic_store_n(&dp->start_failed, 1, __ATOMIC_RELEASE);
			*dp->cfg.quit = 1;
		}
	}
	return 0;
}

int dp_run(struct dp_ctx *dp)
{
	int r = rte_eal_mp_remote_launch(worker_entry, dp, CALL_MAIN);

	rte_eal_mp_wait_lcore();
	if (r != 0)
		return ST_ERR_SYSTEM;
	return __atomic_load_n(&dp->start_failed, __ATOMIC_ACQUIRE) ? ST_ERR_STATE : ST_OK;
}

unsigned dp_nb_workers(const struct dp_ctx *dp)
{
	return dp->nb_workers;
}

struct dp_worker *dp_worker_get(struct dp_ctx *dp, unsigned i)
{
	return i < dp->nb_workers ? dp->w[i] : NULL;
}

int dp_worker_stats_read(struct dp_ctx *dp, unsigned i, struct dp_stats *out)
{
	if (i >= dp->nb_workers || dp->pub[i] == NULL)
		return ST_ERR_NOT_FOUND;
	dp_stats_read_pub(dp->pub[i], out);
	return ST_OK;
}

void dp_stats_total(const struct dp_ctx *dp, struct dp_stats *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (unsigned i = 0; i < dp->nb_workers; i++)
		if (dp->st[i])
			dp_stats_add(sum, dp->st[i]);
}

void dp_print_stats(const struct dp_ctx *dp, FILE *f)
{
	char prefix[32];

	for (unsigned i = 0; i < dp->nb_workers; i++) {
		struct tcp_worker_info ti;

		if (!dp->st[i])
			continue;
		snprintf(prefix, sizeof(prefix), "worker%u", i);
		dp_stats_print(f, prefix, dp->st[i]);
		if (dp->w[i] && dp->w[i]->tcp) {
			tcp_worker_info(dp->w[i]->tcp, &ti);
			fprintf(f, "%s tcp conns_used=%u conns_max_used=%u embryonic=%u time_wait=%u\n",
				prefix, ti.conns_used, ti.conns_max_used, ti.embryonic, ti.time_wait);
			tcp_worker_print_states(dp->w[i]->tcp, f, prefix);
		}
	}
	for (unsigned s = 0; s < RTE_MAX_NUMA_NODES; s++)
		if (dp->pool[s])
			fprintf(f, "mempool socket%u in_use=%u avail=%u\n", s,
				rte_mempool_in_use_count(dp->pool[s]),
				rte_mempool_avail_count(dp->pool[s]));
}

void dp_destroy(struct dp_ctx *dp)
{
	if (!dp)
		return;
	if (dp->port_started)
		rte_eth_dev_stop(dp->cfg.port_id);
	dp_fault_uninstall(dp->fault); /* stopped: no burst runs its callbacks */
	dp_vtap_close(dp->vtap); /* the workers have stopped */
	dp->vtap = NULL;
	dp->fault = NULL;
	if (dp->port_started)
		rte_eth_dev_close(dp->cfg.port_id);
	dp_mq_destroy(&dp->mq); /* the workers have stopped: what they left queued is freed */
	for (unsigned i = 0; i < dp->nb_workers; i++) {
		if (dp->w[i] && dp->w[i]->tcp)
			tcp_worker_destroy(dp->w[i]->tcp);
		rte_free(dp->w[i]);
		rte_free(dp->st[i]);
		rte_free(dp->pub[i]);
	}
	for (unsigned s = 0; s < RTE_MAX_NUMA_NODES; s++)
		rte_mempool_free(dp->pool[s]);
	free(dp);
}
