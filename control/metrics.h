/*
 * Every counter of the daemon in the Prometheus text exposition format
 * (version 0.0.4): the one generator behind `MetricsListen` (GET /metrics,
 * control/metrics_http.h) and `sshtermctl stats --prometheus`.
 *
 * Names start with "sshterm_"; counters end in "_total"; per-worker series
 * carry worker="N", reasons and events their list name (reason="TCP_CSUM").
 * Every series of a family is written, zero or not, so that rates work from
 * the first scrape. docs/OPERATIONS.md lists the families.
 *
 * Runs on the admin thread ("st-admin"), never on a worker: it reads only
 * the published snapshots (dp_worker_stats_read, st_sshapp_worker_stats,
 * st_ctl_shard_read_pub), the crypto backend's counters, the per-source
 * table's counters (under its mutex, one O(1) copy) and the current
 * configuration (a reference).
 */
#ifndef ST_CONTROL_METRICS_H
#define ST_CONTROL_METRICS_H

#include "crypto/buf.h"

struct st_ctlplane;

/* The content type of what st_metrics_render writes. */
#define ST_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/*
 * Appends the whole exposition to `out`. Returns ST_OK, ST_ERR_ALLOC (a
 * snapshot buffer), or ST_ERR_NO_SPACE when `out` reached its cap (then
 * `out` holds a truncated text that must not be served).
 */
int st_metrics_render(struct st_ctlplane *cp, struct st_buf *out);

/*
 * Appends s to out as a Prometheus label value (without the quotes):
 * backslash, double quote and newline escaped. ST_OK or ST_ERR_NO_SPACE.
 */
int st_metrics_label_escape(struct st_buf *out, const char *s);

#endif
