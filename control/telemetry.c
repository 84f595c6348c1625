#include "control/telemetry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_telemetry.h>

#include "control/ctlplane.h"
#include "crypto/err.h"

/* DPDK 22.11's telemetry callbacks take no user argument: the one control plane. */
static struct st_ctlplane *tel_cp;
/*
 * DPDK 22.11 cannot unregister a command, and its thread may be inside a
 * callback when the daemon shuts down: callbacks count themselves in
 * `tel_inflight` and answer nothing once `tel_live` is 0;
 * st_telemetry_unregister waits for those in flight.
 */
static int tel_live, tel_inflight;

static struct st_ctlplane *tel_enter(void)
{
	__atomic_add_fetch(&tel_inflight, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&tel_live, __ATOMIC_SEQ_CST))
		return tel_cp;
	__atomic_sub_fetch(&tel_inflight, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static int tel_leave(int r)
{
	__atomic_sub_fetch(&tel_inflight, 1, __ATOMIC_SEQ_CST);
	return r;
}

static int tel_status(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct st_ctlplane *cp = tel_enter();
	unsigned active = 0;
	(void)cmd, (void)params;

	if (cp == NULL)
		return -1;
	for (unsigned w = 0; w < cp->nb_workers; w++) {
		struct st_sshapp_stats as;
		struct st_wsess_worker_stats ws;
		st_sshapp_worker_stats(cp->app, w, &as, &ws);
		active += as.sessions_active;
	}
	struct st_conf_ref *c = st_confs_get(&cp->confs);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "version", c->conf.ctl.version);
	st_confs_put(&cp->confs, c);
	rte_tel_data_add_dict_u64(d, "uptime_s", (uint64_t)(time(NULL) - cp->started));
	rte_tel_data_add_dict_int(d, "workers", (int)cp->nb_workers);
	rte_tel_data_add_dict_int(d, "control_threads", (int)cp->nshards);
	rte_tel_data_add_dict_u64(d, "sessions", active);
	rte_tel_data_add_dict_u64(d, "unauthenticated", __atomic_load_n(&cp->unauth, __ATOMIC_RELAXED));
	rte_tel_data_add_dict_u64(d, "maxstartups_dropped",
				  __atomic_load_n(&cp->startups_dropped, __ATOMIC_RELAXED));
	return tel_leave(0);
}

static int tel_worker(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct st_ctlplane *cp = tel_enter();
	char *end;
	(void)cmd;

	if (cp == NULL)
		return -1;
	if (params == NULL || *params == '\0')
		return tel_leave(-1);
	unsigned long w = strtoul(params, &end, 10);
	if (*end != '\0' || w >= cp->nb_workers)
		return tel_leave(-1);
	struct dp_stats stats, *st = &stats;
	struct st_sshapp_stats as;
	struct st_wsess_worker_stats ws;
	if (dp_worker_stats_read(cp->dp, (unsigned)w, &stats) != ST_OK)
		return tel_leave(-1);
	st_sshapp_worker_stats(cp->app, (unsigned)w, &as, &ws);
	uint64_t pkts = st->rx_pkts + st->tx_pkts, bytes = st->rx_bytes + st->tx_bytes;

	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "rx_packets", st->rx_pkts);
	rte_tel_data_add_dict_u64(d, "rx_bytes", st->rx_bytes);
	rte_tel_data_add_dict_u64(d, "tx_packets", st->tx_pkts);
	rte_tel_data_add_dict_u64(d, "tx_bytes", st->tx_bytes);
	rte_tel_data_add_dict_u64(d, "busy_cycles", st->busy_tsc);
	rte_tel_data_add_dict_u64(d, "idle_cycles", st->idle_tsc);
	/* Integer thousandths: telemetry values are integers. */
	rte_tel_data_add_dict_u64(d, "milli_cycles_per_packet", pkts ? st->busy_tsc * 1000 / pkts : 0);
	rte_tel_data_add_dict_u64(d, "milli_cycles_per_byte", bytes ? st->busy_tsc * 1000 / bytes : 0);
	rte_tel_data_add_dict_u64(d, "sessions", as.sessions_active);
	rte_tel_data_add_dict_u64(d, "tcp_retransmits", st->ctr[DP_CTR_TCP_RETRANS]);
	for (unsigned r = 1; r < DP_DROP_MAX; r++)
		if (st->drop[r] != 0) {
			char key[64];
			snprintf(key, sizeof(key), "drop_%s", dp_drop_name(r));
			rte_tel_data_add_dict_u64(d, key, st->drop[r]);
		}
	rte_tel_data_add_dict_u64(d, "tcp_time_wait", as.tcp_time_wait);
	rte_tel_data_add_dict_u64(d, "tcp_closing", as.tcp_orphans);
	rte_tel_data_add_dict_u64(d, "tcp_ooo_bytes", as.tcp_ooo_bytes);
	rte_tel_data_add_dict_u64(d, "seal_mbufs", as.seal_mbufs);
	rte_tel_data_add_dict_u64(d, "seal_mbufs_in_use", as.seal_mbufs_in_use);
	for (unsigned c = 0; c < DP_CTR_MAX; c++)
		if (st->ctr[c] != 0) {
			char key[64];
			snprintf(key, sizeof(key), "ctr_%s", dp_ctr_name(c));
			rte_tel_data_add_dict_u64(d, key, st->ctr[c]);
		}
	for (unsigned c = 0; c < ST_SSHAPP_COUNTER_COUNT; c++)
		if (as.counters[c] != 0) {
			char key[64];
			snprintf(key, sizeof(key), "app_%s", st_sshapp_counter_name(c));
			rte_tel_data_add_dict_u64(d, key, as.counters[c]);
		}
	return tel_leave(0);
}

static int tel_control(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct st_ctlplane *cp = tel_enter();
	struct st_ctl_stats cs;
	(void)cmd, (void)params;

	if (cp == NULL)
		return -1;
	struct st_srclimit_named src[ST_SRCLIMIT_NAMED_MAX];
	st_ctlplane_stats(cp, &cs);
	pthread_mutex_lock(&cp->src_lock);
	size_t nsrc = st_srclimit_counters_named(&cp->src, src, ST_SRCLIMIT_NAMED_MAX);
	pthread_mutex_unlock(&cp->src_lock);
	rte_tel_data_start_dict(d);
	for (unsigned c = 0; c < ST_CTL_COUNTER_COUNT; c++)
		rte_tel_data_add_dict_u64(d, st_ctl_counter_name(c), cs.v[c]);
	for (size_t i = 0; i < nsrc && i < ST_SRCLIMIT_NAMED_MAX; i++)
		rte_tel_data_add_dict_u64(d, src[i].name, src[i].value);
	uint64_t akc[ST_AKC_COUNTER_COUNT];
	st_akc_pool_counters(&cp->akc, akc);
	for (unsigned c = 0; c < ST_AKC_COUNTER_COUNT; c++) {
		char key[64];
		snprintf(key, sizeof(key), "AKC_%s", st_akc_counter_name(c));
		rte_tel_data_add_dict_u64(d, key, akc[c]);
	}
	uint64_t kexp[ST_KEXP_COUNTER_COUNT];
	st_kex_pool_counters(&cp->kexp, kexp);
	for (unsigned c = 0; c < ST_KEXP_COUNTER_COUNT; c++) {
		char key[64];
		snprintf(key, sizeof(key), "KEXPOOL_%s", st_kexp_counter_name(c));
		rte_tel_data_add_dict_u64(d, key, kexp[c]);
	}
	return tel_leave(0);
}

static int tel_crypto(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct st_ctlplane *cp = tel_enter();
	struct st_crypto_stats cs;
	(void)cmd, (void)params;

	if (cp == NULL)
		return -1;
	const struct st_crypto_backend *be = cp->app->wcfg.be;

	memset(&cs, 0, sizeof(cs));
	if (be->stats != NULL)
		be->stats(&cs);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "backend", be->name);
	rte_tel_data_add_dict_u64(d, "ops", cs.ops);
	rte_tel_data_add_dict_u64(d, "bytes", cs.bytes);
	rte_tel_data_add_dict_u64(d, "auth_fail", cs.auth_fail);
	rte_tel_data_add_dict_u64(d, "enqueue_fail", cs.enq_fail);
	rte_tel_data_add_dict_u64(d, "fallbacks", cs.fallbacks);
	rte_tel_data_add_dict_u64(d, "fallback_ops", cs.fb_ops);
	rte_tel_data_add_dict_u64(d, "errors", cs.errors);
	rte_tel_data_add_dict_u64(d, "queue_depth", cs.qdepth);
	rte_tel_data_add_dict_u64(d, "queue_depth_max", cs.qdepth_max);
	return tel_leave(0);
}

void st_telemetry_unregister(void)
{
	struct timespec pause = {0, 100000};

	__atomic_store_n(&tel_live, 0, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&tel_inflight, __ATOMIC_SEQ_CST) != 0)
		nanosleep(&pause, NULL);
}

int st_telemetry_register(struct st_ctlplane *cp)
{
	tel_cp = cp;
	__atomic_store_n(&tel_live, 1, __ATOMIC_SEQ_CST);
	if (rte_telemetry_register_cmd("/sshterm/status", tel_status,
				       "sshterm: version, uptime, workers, sessions") != 0 ||
	    rte_telemetry_register_cmd("/sshterm/worker", tel_worker,
				       "sshterm: one worker's counters. Parameter: worker id") != 0 ||
	    rte_telemetry_register_cmd("/sshterm/control", tel_control,
				       "sshterm: control-plane counters") != 0 ||
	    rte_telemetry_register_cmd("/sshterm/crypto", tel_crypto,
				       "sshterm: record-layer crypto backend counters") != 0)
		return ST_ERR_SYSTEM;
	return ST_OK;
}
