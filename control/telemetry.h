/*
 * DPDK telemetry endpoints for sshterm's counters (the same ones
 * `sshtermctl stats` shows), for collectors that already speak DPDK
 * telemetry (/var/run/dpdk/<prefix>/dpdk_telemetry.v2, e.g. dpdk-telemetry.py):
 *
 *   /sshterm/status        version, uptime, workers, sessions, unauthenticated
 *   /sshterm/worker,<id>   one worker: packets, bytes, busy/idle cycles, cycles
 *                          per packet and per byte, sessions, TCP retransmits,
 *                          every non-zero drop reason
 *   /sshterm/control       control-plane counters (kex, auth, disconnect reasons)
 *   /sshterm/crypto        record-layer crypto backend counters
 *
 * The callbacks run on DPDK's telemetry thread and only read published
 * snapshots (dp_worker_stats_read, st_sshapp_worker_stats,
 * st_ctl_shard_read_pub) and the current configuration (a reference), never
 * session state.
 */
#ifndef ST_CONTROL_TELEMETRY_H
#define ST_CONTROL_TELEMETRY_H

struct st_ctlplane;

/* Registers the endpoints for this control plane (once, after EAL init). Returns ST_OK or ST_ERR_SYSTEM. */
int st_telemetry_register(struct st_ctlplane *cp);

/*
 * Makes the endpoints answer nothing from now on and waits for callbacks in
 * flight (DPDK 22.11 cannot unregister them). Before the control plane is freed.
 */
void st_telemetry_unregister(void);

#endif
