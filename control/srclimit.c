/* Per-source limits and the key-exchange CPU account (see srclimit.h). */
#include "control/srclimit.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/rand.h>

#include "control/match.h"
#include "crypto/err.h"
#include "dataplane/tcp/tcp_cookie.h"

/* Slots visited when a family is at capacity and a new net block needs room. */
#define RECLAIM_SLOTS 512u
/* Wall-clock gap after which any bucket is full again (caps the refill product). */
#define KEX_DT_CAP_MS 100000000ull

struct st_srclimit_ent {
	uint8_t used;
	uint8_t fam;        /* 4 or 6 */
	uint8_t pen_kind;   /* the last penalty's kind: the refusal text */
	uint8_t pen_active; /* past `min`: enforced */
	uint32_t unauth;    /* unauthenticated connections now */
	uint32_t hash;      /* keyed hash of (fam, key): home slot */
	uint8_t key[16];    /* the masked address */
	uint64_t pen_expiry; /* ms; 0: no penalty */
	int64_t kex_bal;    /* ns of kex CPU left; >= -burst */
	uint64_t kex_at;    /* ms: when kex_bal was last brought up to date */
};

static const char *const penalty_why[ST_SRCLIMIT_PENALTY_KINDS] = {
	[ST_SRCLIMIT_PENALTY_NONE] = "penalty",
	[ST_SRCLIMIT_PENALTY_CRASH] = "penalty: caused crash",
	[ST_SRCLIMIT_PENALTY_AUTHFAIL] = "penalty: failed authentication",
	[ST_SRCLIMIT_PENALTY_NOAUTH] = "penalty: connections without attempting authentication",
	[ST_SRCLIMIT_PENALTY_GRACE] = "penalty: exceeded LoginGraceTime",
};

static const char *const penalty_names[ST_SRCLIMIT_PENALTY_KINDS] = {
	[ST_SRCLIMIT_PENALTY_NONE] = "none",
	[ST_SRCLIMIT_PENALTY_CRASH] = "crash",
	[ST_SRCLIMIT_PENALTY_AUTHFAIL] = "authfail",
	[ST_SRCLIMIT_PENALTY_NOAUTH] = "noauth",
	[ST_SRCLIMIT_PENALTY_GRACE] = "grace-exceeded",
};

const char *st_srclimit_penalty_name(enum st_srclimit_penalty p)
{
	return (unsigned)p < ST_SRCLIMIT_PENALTY_KINDS ? penalty_names[p] : "unknown";
}

const char *st_srclimit_refusal_str(int r)
{
	switch (r) {
	case ST_OK: return "allowed";
	case ST_SRCLIMIT_REFUSE_STARTUPS: return "past PerSourceMaxStartups";
	case ST_SRCLIMIT_REFUSE_PENALTY: return "penalty";
	case ST_SRCLIMIT_REFUSE_TABLE_FULL: return "too many penalised addresses";
	default: return "invalid address";
	}
}

void st_srclimit_conf_init(struct st_srclimit_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->netblock4 = 32;
	c->netblock6 = 128;
	c->max_startups = 0;
	c->penalties = 1;
	/* OpenSSH 9.8's defaults (servconf.c fill_default_server_options). */
	c->penalty_s[ST_SRCLIMIT_PENALTY_CRASH] = 90;
	c->penalty_s[ST_SRCLIMIT_PENALTY_AUTHFAIL] = 5;
	c->penalty_s[ST_SRCLIMIT_PENALTY_NOAUTH] = 1;
	c->penalty_s[ST_SRCLIMIT_PENALTY_GRACE] = 20;
	c->penalty_max_s = 600;
	c->penalty_min_s = 15;
	c->max_sources4 = 65536;
	c->max_sources6 = 65536;
	c->overflow4 = ST_SRCLIMIT_OVERFLOW_PERMISSIVE;
	c->overflow6 = ST_SRCLIMIT_OVERFLOW_PERMISSIVE;
	/* PerSourceKexRate is off by default: a load test from a few addresses
	 * would otherwise be throttled against itself. */
	c->kex_rate_ms = 0;
	c->kex_burst_ms = 0;
}

/* ---- addresses ---- */

int st_srclimit_addr_parse(const char *s, struct st_srclimit_addr *a)
{
	struct st_srclimit_addr r;

	memset(&r, 0, sizeof(r));
	if (s == NULL || a == NULL)
		return ST_ERR_FORMAT;
	if (inet_pton(AF_INET, s, r.bytes) == 1)
		r.family = AF_INET;
	else if (inet_pton(AF_INET6, s, r.bytes) == 1)
		r.family = AF_INET6;
	else
		return ST_ERR_FORMAT;
	*a = r;
	return ST_OK;
}

static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/*
 * The net block of a: family 4 or 6 in *fam, the masked address in key[16].
 * IPv4-mapped IPv6 addresses count as the IPv4 address they carry.
 */
static int netblock(const struct st_srclimit *t, const struct st_srclimit_addr *a, uint8_t *fam,
		    uint8_t key[16])
{
	unsigned bits, nbytes;

	memset(key, 0, 16);
	if (a == NULL)
		return ST_ERR_INVALID_ARGUMENT;
	if (a->family == AF_INET) {
		memcpy(key, a->bytes, 4);
		*fam = 4;
	} else if (a->family == AF_INET6 && memcmp(a->bytes, v4mapped, 12) == 0) {
		memcpy(key, a->bytes + 12, 4);
		*fam = 4;
	} else if (a->family == AF_INET6) {
		memcpy(key, a->bytes, 16);
		*fam = 6;
	} else {
		return ST_ERR_INVALID_ARGUMENT;
	}
	bits = *fam == 4 ? t->conf.netblock4 : t->conf.netblock6;
	nbytes = *fam == 4 ? 4 : 16;
	for (unsigned i = 0; i < nbytes; i++) {
		if (bits >= 8) {
			bits -= 8;
			continue;
		}
		key[i] &= (uint8_t)(0xff00u >> bits);
		bits = 0;
	}
	return ST_OK;
}

/* The unmasked address as text, for the exempt list. */
static int addr_text(const struct st_srclimit_addr *a, char *buf, size_t bufsz)
{
	if (a->family == AF_INET6 && memcmp(a->bytes, v4mapped, 12) == 0)
		return inet_ntop(AF_INET, a->bytes + 12, buf, (socklen_t)bufsz) ? ST_OK : ST_ERR_FORMAT;
	return inet_ntop(a->family, a->bytes, buf, (socklen_t)bufsz) ? ST_OK : ST_ERR_FORMAT;
}

static int is_exempt(const struct st_srclimit *t, const struct st_srclimit_addr *a)
{
	char s[INET6_ADDRSTRLEN];
	enum st_match_result r;

	if (t->conf.exempt[0] == '\0' || addr_text(a, s, sizeof(s)) != ST_OK)
		return 0;
	return st_match_addr_list(s, t->conf.exempt, &r) == ST_OK && r == ST_MATCH_YES;
}

/* One CIDR entry "addr/len": the length fits the family and no host bit is set. */
static int cidr_check(const char *e, char *why, size_t whysz)
{
	char addr[INET6_ADDRSTRLEN];
	uint8_t b[16];
	const char *slash = strchr(e, '/');
	size_t alen = (size_t)(slash - e);
	unsigned long len = 0, max;
	int fam;

	if (alen == 0 || alen >= sizeof(addr))
		goto bad;
	memcpy(addr, e, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, b) == 1)
		fam = 4, max = 32;
	else if (inet_pton(AF_INET6, addr, b) == 1)
		fam = 6, max = 128;
	else
		goto bad;
	const char *p = slash + 1;
	if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] != '\0'))
		goto bad;
	for (; *p >= '0' && *p <= '9'; p++)
		if ((len = len * 10 + (unsigned long)(*p - '0')) > max)
			break;
	if (*p != '\0' || len > max) {
		snprintf(why, whysz, "'%s': mask length longer than the address", e);
		return ST_ERR_FORMAT;
	}
	for (unsigned i = 0; i < (fam == 4 ? 4u : 16u); i++) {
		unsigned keep = len >= 8 * (i + 1) ? 8 : len > 8 * i ? (unsigned)len - 8 * i : 0;
		if ((b[i] & (uint8_t)~(0xff00u >> keep)) != 0) {
			snprintf(why, whysz, "'%s': bits set in the host part of the address", e);
			return ST_ERR_FORMAT;
		}
	}
	return ST_OK;
bad:
	snprintf(why, whysz, "'%s': not an address/masklen", e);
	return ST_ERR_FORMAT;
}

int st_srclimit_exempt_check(const char *list, char *why, size_t whysz)
{
	char e[ST_MATCH_ENTRY_MAX];
	enum st_match_result r;
	const char *p = list;

	if (list == NULL)
		return ST_ERR_INVALID_ARGUMENT;
	if (strlen(list) >= ST_SRCLIMIT_EXEMPT_MAX) {
		snprintf(why, whysz, "list longer than %d bytes", ST_SRCLIMIT_EXEMPT_MAX - 1);
		return ST_ERR_STRING_TOO_LARGE;
	}
	while (*p != '\0') {
		size_t n = strcspn(p, ",");
		const char *s = p;
		if (n == 0 || n >= sizeof(e)) {
			snprintf(why, whysz, "empty or overlong entry");
			return ST_ERR_FORMAT;
		}
		if (*s == '!')
			s++, n--;
		memcpy(e, s, n);
		e[n] = '\0';
		p += (size_t)(s - p) + n + (p[(size_t)(s - p) + n] == ',');
		if (strchr(e, '/') != NULL) {
			int rc = cidr_check(e, why, whysz);
			if (rc != ST_OK)
				return rc;
			continue;
		}
		uint8_t b[16];
		if (inet_pton(AF_INET, e, b) == 1 || inet_pton(AF_INET6, e, b) == 1 ||
		    strpbrk(e, "*?") != NULL)
			continue;
		snprintf(why, whysz, "'%s': not an address, CIDR block or wildcard pattern", e);
		return ST_ERR_FORMAT;
	}
	if (st_match_addr_list("0.0.0.0", list, &r) != ST_OK) {
		snprintf(why, whysz, "invalid address list");
		return ST_ERR_FORMAT;
	}
	return ST_OK;
}

/* ---- the table ---- */

static uint32_t ent_hash(const struct st_srclimit *t, uint8_t fam, const uint8_t key[16])
{
	struct tcp_cookie_key k = {t->key[0], t->key[1]};
	uint8_t in[17];

	in[0] = fam;
	memcpy(in + 1, key, 16);
	return (uint32_t)st_siphash24(&k, in, sizeof(in));
}

static uint32_t *fam_count(struct st_srclimit *t, uint8_t fam)
{
	return fam == 4 ? &t->ctr.entries4 : &t->ctr.entries6;
}

static uint32_t fam_cap(const struct st_srclimit *t, uint8_t fam)
{
	return fam == 4 ? t->conf.max_sources4 : t->conf.max_sources6;
}

static enum st_srclimit_overflow fam_overflow(const struct st_srclimit *t, uint8_t fam)
{
	return fam == 4 ? t->conf.overflow4 : t->conf.overflow6;
}

static int64_t kex_burst_ns(const struct st_srclimit *t)
{
	return (int64_t)t->conf.kex_burst_ms * 1000000;
}

int st_srclimit_init(struct st_srclimit *t, const struct st_srclimit_conf *conf)
{
	char why[128];
	uint64_t want, n = 16;

	memset(t, 0, sizeof(*t));
	if (conf == NULL || conf->netblock4 > 32 || conf->netblock6 > 128 ||
	    conf->max_sources4 == 0 || conf->max_sources4 > ST_SRCLIMIT_MAX_SOURCES ||
	    conf->max_sources6 == 0 || conf->max_sources6 > ST_SRCLIMIT_MAX_SOURCES ||
	    conf->kex_rate_ms > ST_SRCLIMIT_KEX_RATE_MAX ||
	    conf->kex_burst_ms > ST_SRCLIMIT_KEX_BURST_MAX ||
	    (conf->kex_rate_ms != 0 && conf->kex_burst_ms == 0) ||
	    memchr(conf->exempt, '\0', sizeof(conf->exempt)) == NULL ||
	    st_srclimit_exempt_check(conf->exempt, why, sizeof(why)) != ST_OK)
		return ST_ERR_INVALID_ARGUMENT;
	t->conf = *conf;
	/* Load factor at most 1/2 with both families full. */
	want = 2 * ((uint64_t)conf->max_sources4 + conf->max_sources6);
	while (n < want)
		n <<= 1;
	if ((t->slot = calloc(n, sizeof(*t->slot))) == NULL)
		return ST_ERR_ALLOC;
	t->mask = (uint32_t)(n - 1);
	if (RAND_bytes((unsigned char *)t->key, sizeof(t->key)) != 1) {
		st_srclimit_free(t);
		return ST_ERR_CRYPTO;
	}
	return ST_OK;
}

void st_srclimit_free(struct st_srclimit *t)
{
	if (t == NULL)
		return;
	free(t->slot);
	memset(t, 0, sizeof(*t));
}

const struct st_srclimit_counters *st_srclimit_counters(const struct st_srclimit *t)
{
	return &t->ctr;
}

size_t st_srclimit_counters_named(const struct st_srclimit *t, struct st_srclimit_named *out,
				  size_t max)
{
	const struct st_srclimit_counters *c = &t->ctr;
	const struct st_srclimit_named all[ST_SRCLIMIT_NAMED_MAX] = {
		{"SRC_REFUSED_STARTUPS", c->refused_startups},
		{"SRC_REFUSED_PENALTY", c->refused_penalty},
		{"SRC_REFUSED_TABLE_FULL", c->refused_table_full},
		{"SRC_PENALTY_CRASH", c->penalties_applied[ST_SRCLIMIT_PENALTY_CRASH]},
		{"SRC_PENALTY_AUTHFAIL", c->penalties_applied[ST_SRCLIMIT_PENALTY_AUTHFAIL]},
		{"SRC_PENALTY_NOAUTH", c->penalties_applied[ST_SRCLIMIT_PENALTY_NOAUTH]},
		{"SRC_PENALTY_GRACE", c->penalties_applied[ST_SRCLIMIT_PENALTY_GRACE]},
		{"SRC_PENALTY_ACTIVATED", c->penalties_activated},
		{"SRC_PENALTY_DROPPED", c->penalties_dropped},
		{"SRC_EVICTED", c->evicted},
		{"SRC_UNTRACKED", c->untracked},
		{"SRC_KEX_DEFERRED", c->kex_deferred},
		{"SRC_KEX_REFUSED", c->kex_refused},
		{"SRC_KEX_CPU_NS", c->kex_charged_ns},
		{"SRC_ENTRIES4", c->entries4},
		{"SRC_ENTRIES6", c->entries6},
		{"SRC_PENALISED4", c->penalised4},
		{"SRC_PENALISED6", c->penalised6},
		{"SRC_TABLE_SLOTS", t->slot != NULL ? (uint64_t)t->mask + 1 : 0},
		{"SRC_TABLE_BYTES", t->slot != NULL ? ((uint64_t)t->mask + 1) * sizeof(*t->slot) : 0},
	};
	for (size_t i = 0; i < max && i < ST_SRCLIMIT_NAMED_MAX; i++)
		out[i] = all[i];
	return ST_SRCLIMIT_NAMED_MAX;
}

/* Slot index of (fam, key), or -1. */
static long find(const struct st_srclimit *t, uint8_t fam, const uint8_t key[16])
{
	uint32_t h = ent_hash(t, fam, key);

	for (uint32_t i = h & t->mask;; i = (i + 1) & t->mask) {
		const struct st_srclimit_ent *e = &t->slot[i];
		if (!e->used)
			return -1;
		if (e->hash == h && e->fam == fam && memcmp(e->key, key, 16) == 0)
			return (long)i;
	}
}

/* Removes slot i, shifting the rest of its run back (linear probing, no tombstones). */
static void del(struct st_srclimit *t, uint32_t i)
{
	struct st_srclimit_ent *e = &t->slot[i];
	uint32_t j = i;

	(*fam_count(t, e->fam))--;
	if (e->pen_expiry != 0)
		(*(e->fam == 4 ? &t->ctr.penalised4 : &t->ctr.penalised6))--;
	for (;;) {
		j = (j + 1) & t->mask;
		if (!t->slot[j].used)
			break;
		uint32_t home = t->slot[j].hash & t->mask;
		/* j stays if its home lies cyclically in (i, j]. */
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		t->slot[i] = t->slot[j];
		i = j;
	}
	memset(&t->slot[i], 0, sizeof(t->slot[i]));
}

/* Brings an entry up to `now`: an expired penalty ends, the kex bucket refills. */
static void settle(struct st_srclimit *t, struct st_srclimit_ent *e, uint64_t now)
{
	if (e->pen_expiry != 0 && e->pen_expiry <= now) {
		e->pen_expiry = 0;
		e->pen_active = 0;
		(*(e->fam == 4 ? &t->ctr.penalised4 : &t->ctr.penalised6))--;
	}
	if (t->conf.kex_rate_ms != 0 && now > e->kex_at) {
		uint64_t dt = now - e->kex_at;
		int64_t burst = kex_burst_ns(t);
		if (dt > KEX_DT_CAP_MS)
			dt = KEX_DT_CAP_MS;
		e->kex_bal += (int64_t)(dt * t->conf.kex_rate_ms * 1000);
		if (e->kex_bal > burst)
			e->kex_bal = burst;
		e->kex_at = now;
	}
}

static int is_empty(const struct st_srclimit *t, const struct st_srclimit_ent *e)
{
	return e->unauth == 0 && e->pen_expiry == 0 &&
	       (t->conf.kex_rate_ms == 0 || e->kex_bal >= kex_burst_ns(t));
}

/*
 * The family is at capacity: free its empty entries among the next
 * RECLAIM_SLOTS slots; with `evict`, if that freed nothing, drop the entry
 * with no unauthenticated connection whose penalty ends soonest (inactive
 * before active). Returns 1 when there is room now.
 */
static int reclaim(struct st_srclimit *t, uint8_t fam, uint64_t now, int evict)
{
	uint32_t i = t->cursor & t->mask, n = RECLAIM_SLOTS < t->mask + 1 ? RECLAIM_SLOTS : t->mask + 1;
	long best = -1;
	uint64_t best_rank = UINT64_MAX;

	/* A deletion does not count as a visit (slot i may now hold a shifted entry:
	 * look again); deletions are paid for by the insertions that made them. */
	for (uint32_t v = 0; v < n;) {
		struct st_srclimit_ent *e = &t->slot[i];
		if (e->used && e->fam == fam) {
			settle(t, e, now);
			if (is_empty(t, e)) {
				del(t, i);
				continue;
			}
		}
		i = (i + 1) & t->mask;
		v++;
	}
	t->cursor = i;
	if (*fam_count(t, fam) < fam_cap(t, fam))
		return 1;
	if (!evict)
		return 0;
	i = t->cursor;
	for (uint32_t v = 0; v < n; v++, i = (i - 1) & t->mask) {
		const struct st_srclimit_ent *e = &t->slot[i];
		if (!e->used || e->fam != fam || e->unauth != 0)
			continue;
		uint64_t rank = (e->pen_active ? 1ull << 63 : 0) | (e->pen_expiry >> 1);
		if (rank < best_rank)
			best_rank = rank, best = (long)i;
	}
	if (best < 0)
		return 0;
	del(t, (uint32_t)best);
	t->ctr.evicted++;
	return 1;
}

/* A new entry for (fam, key), known absent; NULL when there is no room. */
static struct st_srclimit_ent *insert(struct st_srclimit *t, uint8_t fam, const uint8_t key[16],
				      uint64_t now, int evict)
{
	if (*fam_count(t, fam) >= fam_cap(t, fam) && !reclaim(t, fam, now, evict))
		return NULL;
	uint32_t h = ent_hash(t, fam, key), i = h & t->mask;
	while (t->slot[i].used)
		i = (i + 1) & t->mask;
	struct st_srclimit_ent *e = &t->slot[i];
	memset(e, 0, sizeof(*e));
	e->used = 1;
	e->fam = fam;
	e->hash = h;
	memcpy(e->key, key, 16);
	e->kex_bal = kex_burst_ns(t);
	e->kex_at = now;
	(*fam_count(t, fam))++;
	return e;
}

static struct st_srclimit_ent *lookup(struct st_srclimit *t, uint8_t fam, const uint8_t key[16],
				      uint64_t now)
{
	long i = find(t, fam, key);
	if (i < 0)
		return NULL;
	settle(t, &t->slot[i], now);
	return &t->slot[i];
}

/* Frees e's slot if it holds nothing any more. */
static void drop_if_empty(struct st_srclimit *t, struct st_srclimit_ent *e)
{
	if (e != NULL && is_empty(t, e))
		del(t, (uint32_t)(e - t->slot));
}

int st_srclimit_open(struct st_srclimit *t, const struct st_srclimit_addr *a, uint64_t now,
		     const char **why)
{
	uint8_t fam, key[16];
	int exempt;

	if (netblock(t, a, &fam, key) != ST_OK)
		return ST_ERR_INVALID_ARGUMENT;
	exempt = t->conf.penalties && is_exempt(t, a);
	if (t->conf.penalties && !exempt && fam_overflow(t, fam) == ST_SRCLIMIT_OVERFLOW_DENY_ALL &&
	    *fam_count(t, fam) >= fam_cap(t, fam) && !reclaim(t, fam, now, 0)) {
		t->ctr.refused_table_full++;
		if (why != NULL)
			*why = st_srclimit_refusal_str(ST_SRCLIMIT_REFUSE_TABLE_FULL);
		return ST_SRCLIMIT_REFUSE_TABLE_FULL;
	}
	struct st_srclimit_ent *e = lookup(t, fam, key, now);
	if (e != NULL && t->conf.penalties && !exempt && e->pen_active) {
		t->ctr.refused_penalty++;
		if (why != NULL)
			*why = penalty_why[e->pen_kind];
		return ST_SRCLIMIT_REFUSE_PENALTY;
	}
	if (e != NULL && t->conf.max_startups != 0 && e->unauth >= t->conf.max_startups) {
		t->ctr.refused_startups++;
		if (why != NULL)
			*why = st_srclimit_refusal_str(ST_SRCLIMIT_REFUSE_STARTUPS);
		return ST_SRCLIMIT_REFUSE_STARTUPS;
	}
	if (e == NULL &&
	    (e = insert(t, fam, key, now,
			!t->conf.penalties ||
				fam_overflow(t, fam) == ST_SRCLIMIT_OVERFLOW_PERMISSIVE)) == NULL) {
		t->ctr.untracked++; /* permissive overflow (or deny-all for an exempt source) */
		return ST_OK;
	}
	e->unauth++;
	return ST_OK;
}

void st_srclimit_authed(struct st_srclimit *t, const struct st_srclimit_addr *a)
{
	uint8_t fam, key[16];
	long i;

	if (netblock(t, a, &fam, key) != ST_OK || (i = find(t, fam, key)) < 0)
		return;
	if (t->slot[i].unauth > 0)
		t->slot[i].unauth--;
}

static void penalise(struct st_srclimit *t, struct st_srclimit_ent *e, enum st_srclimit_penalty p,
		     uint64_t now)
{
	uint64_t dur = (uint64_t)t->conf.penalty_s[p] * 1000, max = (uint64_t)t->conf.penalty_max_s * 1000;
	uint64_t min = (uint64_t)t->conf.penalty_min_s * 1000, exp;

	t->ctr.penalties_applied[p]++;
	if (e->pen_expiry == 0) {
		exp = now + (dur < max ? dur : max);
		if (exp == now)
			return; /* a zero-length penalty */
		(*(e->fam == 4 ? &t->ctr.penalised4 : &t->ctr.penalised6))++;
	} else {
		exp = e->pen_expiry + dur;
		if (exp > now + max)
			exp = now + max;
	}
	e->pen_expiry = exp;
	e->pen_kind = (uint8_t)p;
	if (!e->pen_active && exp - now > min) {
		e->pen_active = 1;
		t->ctr.penalties_activated++;
	}
}

uint32_t st_srclimit_close(struct st_srclimit *t, const struct st_srclimit_addr *a, int authed,
			   enum st_srclimit_penalty p, uint64_t now)
{
	uint8_t fam, key[16];
	struct st_srclimit_ent *e;
	uint32_t activated = 0;

	if (netblock(t, a, &fam, key) != ST_OK)
		return 0;
	if ((e = lookup(t, fam, key, now)) != NULL && !authed && e->unauth > 0)
		e->unauth--;
	if (t->conf.penalties && p > ST_SRCLIMIT_PENALTY_NONE && p < ST_SRCLIMIT_PENALTY_KINDS &&
	    t->conf.penalty_s[p] != 0 && !is_exempt(t, a)) {
		if (e == NULL &&
		    (e = insert(t, fam, key, now,
				fam_overflow(t, fam) == ST_SRCLIMIT_OVERFLOW_PERMISSIVE)) == NULL) {
			t->ctr.penalties_dropped++;
			return 0;
		}
		int was_active = e->pen_active;
		penalise(t, e, p, now);
		if (!was_active && e->pen_active)
			activated = (uint32_t)((e->pen_expiry - now + 999) / 1000);
	}
	drop_if_empty(t, e);
	return activated;
}

int st_srclimit_netblock_str(const struct st_srclimit *t, const struct st_srclimit_addr *a,
			     char *buf, size_t bufsz)
{
	char s[INET6_ADDRSTRLEN];
	uint8_t fam, key[16];

	if (netblock(t, a, &fam, key) != ST_OK ||
	    inet_ntop(fam == 4 ? AF_INET : AF_INET6, key, s, sizeof(s)) == NULL)
		return ST_ERR_FORMAT;
	int n = snprintf(buf, bufsz, "%s/%u", s, fam == 4 ? t->conf.netblock4 : t->conf.netblock6);
	return n > 0 && (size_t)n < bufsz ? ST_OK : ST_ERR_FORMAT;
}

const char *st_srclimit_penalty_why(enum st_srclimit_penalty p)
{
	return (unsigned)p < ST_SRCLIMIT_PENALTY_KINDS ? penalty_why[p] : "penalty";
}

void st_srclimit_kex_charge(struct st_srclimit *t, const struct st_srclimit_addr *a, uint64_t ns,
			    uint64_t now)
{
	uint8_t fam, key[16];
	struct st_srclimit_ent *e;
	int64_t burst = kex_burst_ns(t);

	if (t->conf.kex_rate_ms == 0 || netblock(t, a, &fam, key) != ST_OK)
		return;
	t->ctr.kex_charged_ns += ns;
	if ((e = lookup(t, fam, key, now)) == NULL &&
	    (e = insert(t, fam, key, now,
			fam_overflow(t, fam) == ST_SRCLIMIT_OVERFLOW_PERMISSIVE)) == NULL)
		return;
	if (ns > (uint64_t)(2 * burst))
		ns = (uint64_t)(2 * burst);
	e->kex_bal -= (int64_t)ns;
	if (e->kex_bal < -burst)
		e->kex_bal = -burst;
}

enum st_srclimit_kex st_srclimit_kex_allowed(struct st_srclimit *t,
					     const struct st_srclimit_addr *a, int contended,
					     uint64_t now, uint32_t *retry_ms)
{
	uint8_t fam, key[16];
	struct st_srclimit_ent *e;

	if (t->conf.kex_rate_ms == 0 || netblock(t, a, &fam, key) != ST_OK ||
	    (e = lookup(t, fam, key, now)) == NULL || !contended || e->kex_bal > 0)
		return ST_SRCLIMIT_KEX_ALLOW;
	if (e->kex_bal <= -kex_burst_ns(t)) {
		t->ctr.kex_refused++;
		return ST_SRCLIMIT_KEX_REFUSE;
	}
	t->ctr.kex_deferred++;
	if (retry_ms != NULL) {
		uint64_t per_ms = (uint64_t)t->conf.kex_rate_ms * 1000; /* ns refilled per ms */
		*retry_ms = (uint32_t)(((uint64_t)-e->kex_bal + per_ms) / per_ms);
	}
	return ST_SRCLIMIT_KEX_DEFER;
}

unsigned st_srclimit_expire(struct st_srclimit *t, uint64_t now, unsigned budget)
{
	uint32_t i = t->cursor & t->mask;
	unsigned freed = 0;

	if (t->slot == NULL)
		return 0;
	if (budget > t->mask + 1)
		budget = t->mask + 1;
	for (unsigned v = 0; v < budget;) {
		struct st_srclimit_ent *e = &t->slot[i];
		if (e->used) {
			settle(t, e, now);
			if (is_empty(t, e)) {
				del(t, i);
				freed++;
				continue; /* a shifted entry may sit in slot i now */
			}
		}
		i = (i + 1) & t->mask;
		v++;
	}
	t->cursor = i;
	return freed;
}
