/*
 * Per-source limits, as OpenSSH 9.8's sshd has them (PerSourceNetBlockSize,
 * PerSourceMaxStartups, PerSourcePenalties, PerSourcePenaltyExemptList), plus
 * a key-exchange CPU account per source (PerSourceKexRate, ours).
 *
 * A "source" is a net block: the peer address masked to PerSourceNetBlockSize
 * (32:128 by default, i.e. one address). Each tracked net block has one entry
 * in a fixed-size open-addressing hash table (keyed SipHash, so a peer cannot
 * aim its addresses at one chain) holding all its state:
 *
 *   unauth     connections from it not yet authenticated. st_srclimit_open()
 *              refuses a new one when PerSourceMaxStartups is reached
 *              (ST_SRCLIMIT_REFUSE_STARTUPS), as sshd does in addition to
 *              MaxStartups.
 *   penalty    an expiry time and whether it is enforced. A connection that
 *              ends badly (st_srclimit_close() with a penalty kind) adds that
 *              kind's duration: a new penalty lasts the duration, a running
 *              one is extended by it; either way at most `max` from now.
 *              A penalty is enforced only once its remaining time is more
 *              than `min` (sshd's "minimum threshold": a single noauth:1s
 *              never locks anyone out, sixteen of them in a row do). While
 *              enforced, st_srclimit_open() refuses the source
 *              (ST_SRCLIMIT_REFUSE_PENALTY) until the penalty expires.
 *              Connections already open are not affected. Sources matching
 *              PerSourcePenaltyExemptList are never penalised nor refused
 *              for penalties (PerSourceMaxStartups still applies to them).
 *   kex        a token bucket of key-exchange CPU time, see below.
 *
 * Capacity: max-sources4 / max-sources6 net blocks per family, for every
 * purpose at once (sshd counts only penalised blocks against them; here one
 * entry carries the startup count and the kex account too). All memory is
 * allocated by st_srclimit_init(); nothing is allocated per connection. An
 * entry is freed once it holds nothing: no unauthenticated connection, no
 * penalty left, kex bucket full again. When a family is at capacity and a new
 * net block needs an entry, st_srclimit_expire()-style reclaiming runs first;
 * if that frees nothing:
 *   overflow permissive  (default) the entry whose penalty expires soonest
 *                        among a bounded sample, with no unauthenticated
 *                        connection, is dropped early to make room (counted
 *                        `evicted`); if none qualifies the connection is let
 *                        in untracked (counted `untracked`).
 *   overflow deny-all    every new connection of that family is refused
 *                        (ST_SRCLIMIT_REFUSE_TABLE_FULL, sshd's "too many
 *                        penalised addresses"), exempt sources excepted, and
 *                        penalties for untracked blocks are dropped, until
 *                        entries expire.
 * IPv4 and IPv6 are accounted separately (overflow and overflow6).
 * An untracked connection has no count to release: if its net block gets an
 * entry meanwhile, its close releases one of that entry's startups (the count
 * errs low, by at most the untracked connections, never high).
 *
 * Key-exchange CPU account (PerSourceKexRate RATE[:BURST], issue 12: key
 * exchange floods that cost the attacker nothing but cost us a signature and a
 * scalar multiplication each). Each net block has a bucket of BURST ms of
 * CPU, refilled at RATE ms per second of wall time (RATE/1000 of one core,
 * sustained). The caller charges the measured crypto time of every key
 * exchange (st_srclimit_kex_charge(); the bucket may go below zero, down to
 * -BURST). The policy, st_srclimit_kex_allowed():
 *   - work-conserving: while no other source's key exchange is waiting
 *     (contended == 0) every key exchange runs at once, whatever the
 *     balance: idle CPU is nobody's loss;
 *   - under contention a source with a positive balance runs (ALLOW), one at
 *     or below zero is deferred (DEFER, with the ms until its balance is
 *     positive again) so that quiet sources go first, and one that is a full
 *     BURST in debt is refused (REFUSE: the caller ends that connection).
 * A quiet client (one key exchange per connection, a rekey an hour) never
 * comes near the limit; a flood from one net block is held to RATE while
 * others wait.
 *
 * Time: `now` is a monotonic clock in milliseconds (the control plane's
 * mono_ms()).
 *
 * Owned by the control-plane thread (control/ctlplane.c): no locking, no
 * atomics; every function must be called from that one thread.
 *
 * Where the control plane calls each function:
 *   st_srclimit_init()        at start-up and at reload (a new table for the
 *                             new config; the old one freed with
 *                             st_srclimit_free() once no session counts in
 *                             it, or simply at once: counts then restart).
 *   st_srclimit_open()        on ST_UP_OPEN (a new TCP connection handed up by
 *                             a worker), after the global MaxStartups check
 *                             accepted it. Non-zero: refuse the connection
 *                             (as for MaxStartups), log "drop connection #N
 *                             from [ADDR]:PORT on [ADDR]:PORT <why>" and do
 *                             not call the others for it. If the caller
 *                             refuses the connection later for another
 *                             reason, it calls st_srclimit_close(.., 0,
 *                             ST_SRCLIMIT_PENALTY_NONE, ..).
 *   st_srclimit_authed()      once, when the connection authenticates (where
 *                             ctlplane.c sets s->authed and cp->unauth--).
 *   st_srclimit_close()       once, when the session is freed; `authed` says
 *                             whether st_srclimit_authed() was called, the
 *                             penalty kind comes from how it ended (see enum
 *                             st_srclimit_penalty).
 *   st_srclimit_kex_allowed() before starting the server's key-exchange
 *                             crypto (on the client's KEX_ECDH_INIT or
 *                             equivalent), with contended = whether other
 *                             sources' key exchanges are queued.
 *   st_srclimit_kex_charge()  after that crypto ran, with the time it took.
 *   st_srclimit_expire()      from the control thread's periodic tick (every
 *                             TICK_MS), with a work budget (e.g. 256).
 *   st_srclimit_counters()    for `sshtermctl stats` and telemetry.
 */
#ifndef ST_CONTROL_SRCLIMIT_H
#define ST_CONTROL_SRCLIMIT_H

#include <stddef.h>
#include <stdint.h>

#define ST_SRCLIMIT_EXEMPT_MAX 1024      /* PerSourcePenaltyExemptList text, bytes */
#define ST_SRCLIMIT_MAX_SOURCES (1u << 22) /* cap on max-sources4/6 each */
#define ST_SRCLIMIT_KEX_RATE_MAX 1000    /* ms per second: a whole core */
#define ST_SRCLIMIT_KEX_BURST_MAX 60000  /* ms */

/* An address: AF_INET (4 bytes used, network order) or AF_INET6 (16 bytes). */
struct st_srclimit_addr {
	int family;
	uint8_t bytes[16];
};

enum st_srclimit_overflow {
	ST_SRCLIMIT_OVERFLOW_PERMISSIVE = 0,
	ST_SRCLIMIT_OVERFLOW_DENY_ALL = 1,
};

/* How a connection ended, for st_srclimit_close(): which penalty it earns. */
enum st_srclimit_penalty {
	ST_SRCLIMIT_PENALTY_NONE = 0,     /* authenticated, or refused by us before any exchange */
	ST_SRCLIMIT_PENALTY_CRASH,        /* it made us fail internally (DISC_INTERNAL) */
	ST_SRCLIMIT_PENALTY_AUTHFAIL,     /* closed unauthenticated after >= 1 failed attempt
					     (also DISC_AUTH_TRIES) */
	ST_SRCLIMIT_PENALTY_NOAUTH,       /* closed unauthenticated without trying to authenticate */
	ST_SRCLIMIT_PENALTY_GRACE,        /* LoginGraceTime ran out (DISC_LOGIN_GRACE) */
	ST_SRCLIMIT_PENALTY_KINDS
};

/* Non-zero results of st_srclimit_open(). */
enum st_srclimit_refusal {
	ST_SRCLIMIT_REFUSE_STARTUPS = 1,  /* PerSourceMaxStartups reached for the net block */
	ST_SRCLIMIT_REFUSE_PENALTY = 2,   /* an enforced penalty */
	ST_SRCLIMIT_REFUSE_TABLE_FULL = 3 /* overflow deny-all and the family is at capacity */
};

/* Results of st_srclimit_kex_allowed(). */
enum st_srclimit_kex {
	ST_SRCLIMIT_KEX_ALLOW = 0,
	ST_SRCLIMIT_KEX_DEFER = 1,
	ST_SRCLIMIT_KEX_REFUSE = 2,
};

struct st_srclimit_conf {
	uint8_t netblock4, netblock6;  /* PerSourceNetBlockSize (32:128) */
	uint32_t max_startups;         /* PerSourceMaxStartups, 0 = none (default) */
	int penalties;                 /* PerSourcePenalties yes (1, default) / no (0) */
	uint32_t penalty_s[ST_SRCLIMIT_PENALTY_KINDS]; /* seconds per kind ([NONE] unused) */
	uint32_t penalty_max_s;        /* max: (600) */
	uint32_t penalty_min_s;        /* min: (15) */
	uint32_t max_sources4, max_sources6;           /* (65536 each) */
	enum st_srclimit_overflow overflow4, overflow6; /* (permissive; overflow6 follows overflow) */
	char exempt[ST_SRCLIMIT_EXEMPT_MAX]; /* PerSourcePenaltyExemptList, "" = none */
	uint32_t kex_rate_ms;          /* PerSourceKexRate RATE, ms/s; 0 = none */
	uint32_t kex_burst_ms;         /* ... BURST, ms */
};

struct st_srclimit_counters {
	uint64_t refused_startups;     /* REFUSE_STARTUPS answers */
	uint64_t refused_penalty;      /* REFUSE_PENALTY answers */
	uint64_t refused_table_full;   /* REFUSE_TABLE_FULL answers */
	uint64_t penalties_applied[ST_SRCLIMIT_PENALTY_KINDS]; /* by kind (exempt ones not counted) */
	uint64_t penalties_activated;  /* penalties that crossed `min` */
	uint64_t penalties_dropped;    /* deny-all, table full: penalty not recorded */
	uint64_t evicted;              /* permissive overflow: entries dropped early */
	uint64_t untracked;            /* permissive overflow: let in without an entry */
	uint64_t kex_deferred, kex_refused;
	uint64_t kex_charged_ns;       /* all key-exchange CPU charged */
	uint32_t entries4, entries6;   /* gauges: tracked net blocks */
	uint32_t penalised4, penalised6; /* gauges: entries with a penalty not yet expired */
};

struct st_srclimit_ent;

struct st_srclimit {
	struct st_srclimit_conf conf;
	struct st_srclimit_ent *slot; /* [mask + 1] */
	uint32_t mask;
	uint32_t cursor;              /* st_srclimit_expire's position */
	uint64_t key[2];              /* SipHash key, random */
	struct st_srclimit_counters ctr;
};

/* Fills in OpenSSH 9.8's defaults (and PerSourceKexRate's, see conffile). */
void st_srclimit_conf_init(struct st_srclimit_conf *c);

/*
 * Checks a PerSourcePenaltyExemptList value: comma-separated addresses,
 * CIDR blocks (host bits must be zero and the length fit the family, as sshd
 * requires: "192.0.2.0/33" and "192.0.2.0/8" are errors) and wildcard
 * patterns, '!' negation (control/match.h). ST_OK, or ST_ERR_FORMAT /
 * ST_ERR_STRING_TOO_LARGE with the offending entry in why[whysz].
 */
int st_srclimit_exempt_check(const char *list, char *why, size_t whysz);

/*
 * Allocates the table for conf (copied) and zeroes the counters.
 * ST_OK; ST_ERR_INVALID_ARGUMENT (bad conf: netblock out of range,
 * max_sources 0 or over ST_SRCLIMIT_MAX_SOURCES, invalid exempt list);
 * ST_ERR_ALLOC; ST_ERR_CRYPTO (no random key). On error *t is freeable.
 */
int st_srclimit_init(struct st_srclimit *t, const struct st_srclimit_conf *conf);

/* Frees the table. Safe on a zeroed or failed-init struct. */
void st_srclimit_free(struct st_srclimit *t);

/* Sets *a from text ("198.18.0.1", "2001:db8::1"). ST_OK or ST_ERR_FORMAT. */
int st_srclimit_addr_parse(const char *s, struct st_srclimit_addr *a);

/*
 * A new connection from `a`. Returns ST_OK (counted as unauthenticated for
 * its net block), a positive enum st_srclimit_refusal (nothing recorded), or
 * ST_ERR_INVALID_ARGUMENT (family neither AF_INET nor AF_INET6). *why (may be
 * NULL) gets the text sshd puts at the end of its drop line: "past
 * PerSourceMaxStartups", "penalty: failed authentication", "too many
 * penalised addresses", ... (static strings).
 */
int st_srclimit_open(struct st_srclimit *t, const struct st_srclimit_addr *a, uint64_t now,
		     const char **why);

/* The connection authenticated: one fewer unauthenticated for its net block. */
void st_srclimit_authed(struct st_srclimit *t, const struct st_srclimit_addr *a);

/*
 * The connection is gone. authed: whether st_srclimit_authed() was called for
 * it (if not, its unauthenticated count is released here). p: the penalty it
 * earned (ignored when PerSourcePenalties is no, or the address is exempt).
 * Returns the seconds the net block's penalty has left when this call made it
 * enforced (crossed `min`), so that the caller logs it once, in sshd's words:
 * "ipv4: activating 198.18.0.0/24 penalty of 20 seconds for penalty: failed
 * authentication" (st_srclimit_netblock_str(), st_srclimit_penalty_why());
 * else 0.
 */
uint32_t st_srclimit_close(struct st_srclimit *t, const struct st_srclimit_addr *a, int authed,
			   enum st_srclimit_penalty p, uint64_t now);

/* "198.18.0.0/24", "2001:db8::/56": the net block of a, for logs. ST_OK or ST_ERR_FORMAT. */
int st_srclimit_netblock_str(const struct st_srclimit *t, const struct st_srclimit_addr *a,
			     char *buf, size_t bufsz);

/* sshd's refusal text for a penalty kind: "penalty: failed authentication". */
const char *st_srclimit_penalty_why(enum st_srclimit_penalty p);

/* Adds ns of key-exchange CPU to the net block's account (no-op when PerSourceKexRate none). */
void st_srclimit_kex_charge(struct st_srclimit *t, const struct st_srclimit_addr *a, uint64_t ns,
			    uint64_t now);

/*
 * Whether the net block's next key exchange should run now (see the policy
 * above). contended: other sources' key exchanges are waiting. On DEFER
 * *retry_ms (may be NULL) gets the ms until its balance is positive.
 * Always ALLOW when PerSourceKexRate is none.
 */
enum st_srclimit_kex st_srclimit_kex_allowed(struct st_srclimit *t,
					     const struct st_srclimit_addr *a, int contended,
					     uint64_t now, uint32_t *retry_ms);

/*
 * Ends expired penalties and frees empty entries, visiting `budget` slots
 * from where the last call stopped (a full pass takes table size / budget
 * calls; the table has 2 x (max-sources4 + max-sources6) slots rounded up to a
 * power of two), plus one more look per entry freed. Returns the number of
 * entries freed.
 */
unsigned st_srclimit_expire(struct st_srclimit *t, uint64_t now, unsigned budget);

/* The counters (gauges current). */
const struct st_srclimit_counters *st_srclimit_counters(const struct st_srclimit *t);

/* One counter by the name `stats` and docs/OPERATIONS.md give it. */
struct st_srclimit_named {
	const char *name; /* "SRC_REFUSED_PENALTY" */
	uint64_t value;
};
#define ST_SRCLIMIT_NAMED_MAX 20

/*
 * Every counter and gauge as (name, value), in a fixed order, for
 * `sshtermctl stats` and telemetry. Writes at most max entries; returns
 * how many there are (ST_SRCLIMIT_NAMED_MAX).
 */
size_t st_srclimit_counters_named(const struct st_srclimit *t, struct st_srclimit_named *out,
				  size_t max);

/* Penalty kind name as in PerSourcePenalties ("authfail"), "none" for NONE. */
const char *st_srclimit_penalty_name(enum st_srclimit_penalty p);

/* Human text of a refusal, as *why gets it for REFUSE_STARTUPS / REFUSE_TABLE_FULL. */
const char *st_srclimit_refusal_str(int r);

#endif
