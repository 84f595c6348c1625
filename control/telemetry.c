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

static int tel_status(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct st_ctlplane *cp = tel_cp;
	unsigned active = 0;
	(void)cmd, (void)params;

	for (unsigned w = 0; w < cp->nb_workers; w++) {
		struct st_sshapp_stats as;
		const struct st_wsess_worker_stats *ws;
		st_sshapp_worker_stats(cp->app, w, &as, &ws);
		active += as.sessions_active;
	}
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "version", cp->conf->ctl.version);
	rte_tel_data_add_dict_u64(d, "uptime_s", (uint64_t)(time(NULL) - cp->started));
	rte_tel_data_add_dict_int(d, "workers", (int)cp->nb_workers);
	rte_tel_data_add_dict_u64(d, "sessions", active);
	rte_tel_data_add_dict_u64(d, "unauthenticated", cp->unauth);
	rte_tel_data_add_dict_u64(d, "maxstartups_dropped", cp->startups_dropped);
	return 0;
}

static int tel_worker(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct st_ctlplane *cp = tel_cp;
	char *end;
	(void)cmd;

	if (params == NULL || *params == '\0')
		return -1;
	unsigned long w = strtoul(params, &end, 10);
	if (*end != '\0' || w >= cp->nb_workers)
		return -1;
	struct dp_worker *dw = dp_worker_get(cp->dp, (unsigned)w);
	const struct dp_stats *st = dw != NULL ? dw->st : NULL;
	struct st_sshapp_stats as;
	const struct st_wsess_worker_stats *ws;
	if (st == NULL)
		return -1;
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
	return 0;
}

static int tel_control(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct st_ctlplane *cp = tel_cp;
	(void)cmd, (void)params;

	rte_tel_data_start_dict(d);
	for (unsigned c = 0; c < ST_CTL_COUNTER_COUNT; c++)
		rte_tel_data_add_dict_u64(d, st_ctl_counter_name(c), cp->stats.v[c]);
	return 0;
}

static int tel_crypto(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct st_crypto_backend *be = tel_cp->app->wcfg.be;
	struct st_crypto_stats cs;
	(void)cmd, (void)params;

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
	return 0;
}

int st_telemetry_register(struct st_ctlplane *cp)
{
	tel_cp = cp;
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
