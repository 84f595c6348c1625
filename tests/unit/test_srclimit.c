/* Per-source limits and the kex CPU account (control/srclimit.c). */
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "control/srclimit.h"
#include "tests/unit/test.h"

static struct st_srclimit_addr A(const char *s)
{
	struct st_srclimit_addr a;
	if (st_srclimit_addr_parse(s, &a) != ST_OK)
		st_test_fail(__FILE__, __LINE__, "bad address %s", s);
	return a;
}

static int OPEN(struct st_srclimit *t, const char *s, uint64_t now)
{
	struct st_srclimit_addr a = A(s);
	return st_srclimit_open(t, &a, now, NULL);
}

static void CLOSE(struct st_srclimit *t, const char *s, int authed, enum st_srclimit_penalty p,
		  uint64_t now)
{
	struct st_srclimit_addr a = A(s);
	st_srclimit_close(t, &a, authed, p, now);
}

static void conf_small(struct st_srclimit_conf *c)
{
	st_srclimit_conf_init(c);
	c->max_sources4 = 4;
	c->max_sources6 = 4;
}

static void test_defaults(void)
{
	struct st_srclimit_conf c;

	st_srclimit_conf_init(&c);
	CHECK_INT(c.netblock4, 32);
	CHECK_INT(c.netblock6, 128);
	CHECK_INT(c.max_startups, 0);
	CHECK_INT(c.penalties, 1);
	CHECK_INT(c.penalty_s[ST_SRCLIMIT_PENALTY_CRASH], 90);
	CHECK_INT(c.penalty_s[ST_SRCLIMIT_PENALTY_AUTHFAIL], 5);
	CHECK_INT(c.penalty_s[ST_SRCLIMIT_PENALTY_NOAUTH], 1);
	CHECK_INT(c.penalty_s[ST_SRCLIMIT_PENALTY_GRACE], 20);
	CHECK_INT(c.penalty_max_s, 600);
	CHECK_INT(c.penalty_min_s, 15);
	CHECK_INT(c.max_sources4, 65536);
	CHECK_INT(c.max_sources6, 65536);
	CHECK_INT(c.overflow4, ST_SRCLIMIT_OVERFLOW_PERMISSIVE);
	CHECK_INT(c.overflow6, ST_SRCLIMIT_OVERFLOW_PERMISSIVE);
	CHECK(strcmp(st_srclimit_penalty_name(ST_SRCLIMIT_PENALTY_GRACE), "grace-exceeded") == 0);

	/* The default table initialises (2 x 65536 blocks) and frees. */
	struct st_srclimit t;
	CHECK_OK(st_srclimit_init(&t, &c));
	CHECK_OK(OPEN(&t, "198.18.0.1", 0));
	st_srclimit_free(&t);
	st_srclimit_free(&t); /* twice is harmless */
}

static void test_bad_conf(void)
{
	struct st_srclimit_conf c;
	struct st_srclimit t;

	conf_small(&c);
	c.netblock4 = 33;
	CHECK_ERR(st_srclimit_init(&t, &c), ST_ERR_INVALID_ARGUMENT);
	conf_small(&c);
	c.max_sources6 = 0;
	CHECK_ERR(st_srclimit_init(&t, &c), ST_ERR_INVALID_ARGUMENT);
	conf_small(&c);
	snprintf(c.exempt, sizeof(c.exempt), "10.0.0.0/33");
	CHECK_ERR(st_srclimit_init(&t, &c), ST_ERR_INVALID_ARGUMENT);
	st_srclimit_free(&t);

	struct st_srclimit_addr a = {.family = AF_UNIX};
	conf_small(&c);
	CHECK_OK(st_srclimit_init(&t, &c));
	CHECK_ERR(st_srclimit_open(&t, &a, 0, NULL), ST_ERR_INVALID_ARGUMENT);
	CHECK_ERR(st_srclimit_addr_parse("198.18.0.300", &a), ST_ERR_FORMAT);
	st_srclimit_close(&t, &a, 0, ST_SRCLIMIT_PENALTY_AUTHFAIL, 0); /* ignored */
	CHECK_INT(st_srclimit_counters(&t)->entries4 + st_srclimit_counters(&t)->entries6, 0);
	st_srclimit_free(&t);
}

static void test_exempt_check(void)
{
	char why[128];

	CHECK_OK(st_srclimit_exempt_check("", why, sizeof(why)));
	CHECK_OK(st_srclimit_exempt_check("127.0.0.1,::1,198.18.0.0/15,2001:db8::/32", why,
					  sizeof(why)));
	CHECK_OK(st_srclimit_exempt_check("10.*,!10.1.*", why, sizeof(why)));
	CHECK_ERR(st_srclimit_exempt_check("192.0.2.0/33", why, sizeof(why)), ST_ERR_FORMAT);
	CHECK(strstr(why, "mask length") != NULL);
	CHECK_ERR(st_srclimit_exempt_check("192.0.2.0/8", why, sizeof(why)), ST_ERR_FORMAT);
	CHECK(strstr(why, "host part") != NULL);
	CHECK_ERR(st_srclimit_exempt_check("2001:db8::1/32", why, sizeof(why)), ST_ERR_FORMAT);
	CHECK_ERR(st_srclimit_exempt_check("::/129", why, sizeof(why)), ST_ERR_FORMAT);
	CHECK_ERR(st_srclimit_exempt_check("10.0.0.0/x", why, sizeof(why)), ST_ERR_FORMAT);
	CHECK_ERR(st_srclimit_exempt_check("/8", why, sizeof(why)), ST_ERR_FORMAT);
	CHECK_ERR(st_srclimit_exempt_check("localhost", why, sizeof(why)), ST_ERR_FORMAT);
	CHECK_ERR(st_srclimit_exempt_check("10.0.0.1,,10.0.0.2", why, sizeof(why)), ST_ERR_FORMAT);
}

/* Addresses in one net block share the startup count; others do not. */
static void test_netblock_v4(void)
{
	struct st_srclimit_conf c;
	struct st_srclimit t;

	conf_small(&c);
	c.netblock4 = 24;
	c.max_startups = 2;
	CHECK_OK(st_srclimit_init(&t, &c));
	CHECK_OK(OPEN(&t, "198.18.0.1", 0));
	CHECK_OK(OPEN(&t, "198.18.0.254", 0));
	CHECK_INT(OPEN(&t, "198.18.0.77", 0), ST_SRCLIMIT_REFUSE_STARTUPS);
	/* An IPv4-mapped IPv6 peer is the IPv4 address. */
	CHECK_INT(OPEN(&t, "::ffff:198.18.0.9", 0), ST_SRCLIMIT_REFUSE_STARTUPS);
	CHECK_OK(OPEN(&t, "198.18.1.1", 0));
	CHECK_INT(st_srclimit_counters(&t)->entries4, 2);
	CHECK_INT(st_srclimit_counters(&t)->refused_startups, 2);
	st_srclimit_free(&t);

	/* Odd prefix: /20 groups 198.18.0.0 - 198.18.15.255. */
	conf_small(&c);
	c.netblock4 = 20;
	c.max_startups = 1;
	CHECK_OK(st_srclimit_init(&t, &c));
	CHECK_OK(OPEN(&t, "198.18.0.1", 0));
	CHECK_INT(OPEN(&t, "198.18.15.255", 0), ST_SRCLIMIT_REFUSE_STARTUPS);
	CHECK_OK(OPEN(&t, "198.18.16.0", 0));
	st_srclimit_free(&t);
}

static void test_netblock_v6(void)
{
	struct st_srclimit_conf c;
	struct st_srclimit t;

	conf_small(&c);
	c.netblock6 = 56;
	c.max_startups = 1;
	CHECK_OK(st_srclimit_init(&t, &c));
	CHECK_OK(OPEN(&t, "2001:db8:0:1200::1", 0));
	CHECK_INT(OPEN(&t, "2001:db8:0:12ff:ffff::2", 0), ST_SRCLIMIT_REFUSE_STARTUPS);
	char nb[64];
	struct st_srclimit_addr a6 = A("2001:db8:0:12ff:ffff::2");
	CHECK_OK(st_srclimit_netblock_str(&t, &a6, nb, sizeof(nb)));
	CHECK(strcmp(nb, "2001:db8:0:1200::/56") == 0);
	CHECK_OK(OPEN(&t, "2001:db8:0:1300::1", 0));
	CHECK_OK(OPEN(&t, "198.18.0.1", 0)); /* families do not mix */
	CHECK_INT(st_srclimit_counters(&t)->entries6, 2);
	CHECK_INT(st_srclimit_counters(&t)->entries4, 1);
	st_srclimit_free(&t);

	/* Default 128: every address is its own block. */
	conf_small(&c);
	c.max_startups = 1;
	CHECK_OK(st_srclimit_init(&t, &c));
	CHECK_OK(OPEN(&t, "2001:db8::1", 0));
	CHECK_OK(OPEN(&t, "2001:db8::2", 0));
	CHECK_INT(OPEN(&t, "2001:db8::1", 0), ST_SRCLIMIT_REFUSE_STARTUPS);
	st_srclimit_free(&t);
}

static void test_max_startups(void)
{
	struct st_srclimit_conf c;
	struct st_srclimit t;
	struct st_srclimit_addr a = A("198.18.0.5");
	const char *why = NULL;

	conf_small(&c);
	c.max_startups = 3;
	CHECK_OK(st_srclimit_init(&t, &c));
	for (int i = 0; i < 3; i++)
		CHECK_OK(st_srclimit_open(&t, &a, 0, &why));
	CHECK_INT(st_srclimit_open(&t, &a, 0, &why), ST_SRCLIMIT_REFUSE_STARTUPS);
	CHECK(why != NULL && strcmp(why, "past PerSourceMaxStartups") == 0);
	/* Authenticating frees a startup; closing an authenticated one changes nothing. */
	st_srclimit_authed(&t, &a);
	CHECK_OK(st_srclimit_open(&t, &a, 0, NULL));
	CHECK_INT(st_srclimit_open(&t, &a, 0, NULL), ST_SRCLIMIT_REFUSE_STARTUPS);
	st_srclimit_close(&t, &a, 1, ST_SRCLIMIT_PENALTY_NONE, 0);
	CHECK_INT(st_srclimit_open(&t, &a, 0, NULL), ST_SRCLIMIT_REFUSE_STARTUPS);
	/* Closing an unauthenticated one frees its startup. */
	st_srclimit_close(&t, &a, 0, ST_SRCLIMIT_PENALTY_NONE, 0);
	CHECK_OK(st_srclimit_open(&t, &a, 0, NULL));
	CHECK_INT(st_srclimit_counters(&t)->refused_startups, 3);
	/* All closed: the entry goes away. */
	for (int i = 0; i < 3; i++)
		st_srclimit_close(&t, &a, 0, ST_SRCLIMIT_PENALTY_NONE, 0);
	CHECK_INT(st_srclimit_counters(&t)->entries4, 0);
	st_srclimit_free(&t);

	/* none: no per-source limit. */
	conf_small(&c);
	CHECK_OK(st_srclimit_init(&t, &c));
	for (int i = 0; i < 1000; i++)
		CHECK_OK(st_srclimit_open(&t, &a, 0, NULL));
	st_srclimit_free(&t);
}

/* Below min a penalty is recorded but not enforced; repeated ones add up to max. */
static void test_penalty_accumulate(void)
{
	struct st_srclimit_conf c;
	struct st_srclimit t;
	const char *why = NULL;
	struct st_srclimit_addr a = A("198.18.0.7");

	conf_small(&c); /* authfail 5s, noauth 1s, min 15s, max 600s */
	CHECK_OK(st_srclimit_init(&t, &c));
	uint64_t now = 1000;
	for (int i = 0; i < 3; i++) { /* 15 s: not more than min yet */
		CHECK_OK(OPEN(&t, "198.18.0.7", now));
		CLOSE(&t, "198.18.0.7", 0, ST_SRCLIMIT_PENALTY_AUTHFAIL, now);
	}
	CHECK_INT(st_srclimit_counters(&t)->penalised4, 1);
	CHECK_INT(st_srclimit_counters(&t)->penalties_activated, 0);
	CHECK_OK(OPEN(&t, "198.18.0.7", now));
	CHECK_INT(st_srclimit_close(&t, &a, 0, ST_SRCLIMIT_PENALTY_AUTHFAIL, now), 20); /* 20 s > 15 s */
	char nb[64];
	CHECK_OK(st_srclimit_netblock_str(&t, &a, nb, sizeof(nb)));
	CHECK(strcmp(nb, "198.18.0.7/32") == 0);
	CHECK(strcmp(st_srclimit_penalty_why(ST_SRCLIMIT_PENALTY_AUTHFAIL), "penalty: failed authentication") == 0);
	CHECK_INT(st_srclimit_counters(&t)->penalties_activated, 1);
	CHECK_INT(st_srclimit_open(&t, &a, now, &why), ST_SRCLIMIT_REFUSE_PENALTY);
	CHECK(why != NULL && strcmp(why, "penalty: failed authentication") == 0);
	/* Another address is fine. */
	CHECK_OK(OPEN(&t, "198.18.0.8", now));
	/* Still refused just before the 20 s are up, allowed after. */
	CHECK_INT(OPEN(&t, "198.18.0.7", now + 19999), ST_SRCLIMIT_REFUSE_PENALTY);
	CHECK_OK(OPEN(&t, "198.18.0.7", now + 20000));
	CHECK_INT(st_srclimit_counters(&t)->penalised4, 0);
	CHECK_INT(st_srclimit_counters(&t)->penalties_applied[ST_SRCLIMIT_PENALTY_AUTHFAIL], 4);
	CHECK_INT(st_srclimit_counters(&t)->refused_penalty, 2);
	struct st_srclimit_named named[ST_SRCLIMIT_NAMED_MAX];
	CHECK_INT(st_srclimit_counters_named(&t, named, ST_SRCLIMIT_NAMED_MAX), ST_SRCLIMIT_NAMED_MAX);
	CHECK(strcmp(named[1].name, "SRC_REFUSED_PENALTY") == 0 && named[1].value == 2);
	CHECK(strcmp(named[4].name, "SRC_PENALTY_AUTHFAIL") == 0 && named[4].value == 4);
	CHECK(strcmp(named[18].name, "SRC_TABLE_SLOTS") == 0 && named[18].value == 16);
	printf("    entry %llu bytes\n", (unsigned long long)(named[19].value / named[18].value));
	st_srclimit_free(&t);

	/* Concurrent connections: penalties earned while one is open accumulate; capped at max. */
	conf_small(&c);
	c.penalty_max_s = 60;
	CHECK_OK(st_srclimit_init(&t, &c));
	for (int i = 0; i < 50; i++)
		CHECK_OK(OPEN(&t, "198.18.0.7", now));
	for (int i = 0; i < 50; i++)
		CLOSE(&t, "198.18.0.7", 0, ST_SRCLIMIT_PENALTY_GRACE, now); /* 50 x 20 s */
	CHECK_INT(OPEN(&t, "198.18.0.7", now + 59999), ST_SRCLIMIT_REFUSE_PENALTY);
	CHECK_OK(OPEN(&t, "198.18.0.7", now + 60000));
	st_srclimit_free(&t);

	/* A single penalty over min is enforced at once (crash 90 s > 15 s); the text follows the kind. */
	conf_small(&c);
	CHECK_OK(st_srclimit_init(&t, &c));
	CLOSE(&t, "2001:db8::1", 0, ST_SRCLIMIT_PENALTY_CRASH, now);
	CHECK_INT(st_srclimit_open(&t, &(struct st_srclimit_addr){0}, now, NULL),
		  ST_ERR_INVALID_ARGUMENT);
	struct st_srclimit_addr b = A("2001:db8::1");
	CHECK_INT(st_srclimit_open(&t, &b, now + 89999, &why), ST_SRCLIMIT_REFUSE_PENALTY);
	CHECK(strcmp(why, "penalty: caused crash") == 0);
	CHECK_OK(st_srclimit_open(&t, &b, now + 90000, NULL));
	/* noauth: sixteen 1 s penalties in a row cross min (15 s). */
	for (int i = 0; i < 15; i++)
		CLOSE(&t, "198.18.0.9", 0, ST_SRCLIMIT_PENALTY_NOAUTH, now);
	CHECK_OK(OPEN(&t, "198.18.0.9", now));
	CLOSE(&t, "198.18.0.9", 0, ST_SRCLIMIT_PENALTY_NOAUTH, now);
	CHECK_INT(OPEN(&t, "198.18.0.9", now), ST_SRCLIMIT_REFUSE_PENALTY);
	st_srclimit_free(&t);
}

/* Penalties that expire before the next one do not add up. */
static void test_penalty_expiry(void)
{
	struct st_srclimit_conf c;
	struct st_srclimit t;

	conf_small(&c);
	CHECK_OK(st_srclimit_init(&t, &c));
	for (int i = 0; i < 10; i++) /* one authfail every 6 s: each 5 s penalty is over */
		CLOSE(&t, "198.18.0.7", 0, ST_SRCLIMIT_PENALTY_AUTHFAIL, (uint64_t)i * 6000);
	CHECK_OK(OPEN(&t, "198.18.0.7", 54000));
	CHECK_INT(st_srclimit_counters(&t)->penalties_activated, 0);
	CLOSE(&t, "198.18.0.7", 0, ST_SRCLIMIT_PENALTY_NONE, 54000);

	/* expire() drops the expired entries within its budget. */
	CLOSE(&t, "198.18.0.1", 0, ST_SRCLIMIT_PENALTY_AUTHFAIL, 100000);
	CLOSE(&t, "198.18.0.2", 0, ST_SRCLIMIT_PENALTY_AUTHFAIL, 100000);
	CHECK_INT(st_srclimit_counters(&t)->entries4, 3);
	CHECK_INT(st_srclimit_expire(&t, 104999, 1u << 20), 1); /* 198.18.0.7's (54 + 5 s) */
	CHECK_INT(st_srclimit_counters(&t)->entries4, 2);
	unsigned freed = 0;
	for (int i = 0; i < 64; i++) /* a small budget still gets round the table */
		freed += st_srclimit_expire(&t, 105000, 1);
	CHECK_INT(freed, 2);
	CHECK_INT(st_srclimit_counters(&t)->entries4, 0);
	CHECK_INT(st_srclimit_counters(&t)->penalised4, 0);
	st_srclimit_free(&t);

	/* PerSourcePenalties no: nothing recorded. */
	conf_small(&c);
	c.penalties = 0;
	CHECK_OK(st_srclimit_init(&t, &c));
	CLOSE(&t, "198.18.0.7", 0, ST_SRCLIMIT_PENALTY_CRASH, 0);
	CHECK_OK(OPEN(&t, "198.18.0.7", 1));
	CHECK_INT(st_srclimit_counters(&t)->penalties_applied[ST_SRCLIMIT_PENALTY_CRASH], 0);
	st_srclimit_free(&t);
}

static void test_exempt(void)
{
	struct st_srclimit_conf c;
	struct st_srclimit t;

	conf_small(&c);
	c.max_startups = 1;
	snprintf(c.exempt, sizeof(c.exempt), "198.18.0.0/24,2001:db8::/32,10.1.*");
	CHECK_OK(st_srclimit_init(&t, &c));
	CLOSE(&t, "198.18.0.7", 0, ST_SRCLIMIT_PENALTY_CRASH, 0);
	CLOSE(&t, "10.1.2.3", 0, ST_SRCLIMIT_PENALTY_CRASH, 0);
	CLOSE(&t, "2001:db8::5", 0, ST_SRCLIMIT_PENALTY_CRASH, 0);
	CLOSE(&t, "198.18.1.7", 0, ST_SRCLIMIT_PENALTY_CRASH, 0);
	CHECK_OK(OPEN(&t, "198.18.0.7", 0));
	CHECK_OK(OPEN(&t, "10.1.2.3", 0));
	CHECK_OK(OPEN(&t, "2001:db8::5", 0));
	CHECK_INT(OPEN(&t, "198.18.1.7", 0), ST_SRCLIMIT_REFUSE_PENALTY);
	CHECK_INT(st_srclimit_counters(&t)->penalties_applied[ST_SRCLIMIT_PENALTY_CRASH], 1);
	/* PerSourceMaxStartups still applies to exempt sources. */
	CHECK_INT(OPEN(&t, "198.18.0.7", 0), ST_SRCLIMIT_REFUSE_STARTUPS);
	st_srclimit_free(&t);
}

/* Table full, permissive: the soonest-expiring penalty goes early; new sources get in. */
static void test_overflow_permissive(void)
{
	struct st_srclimit_conf c;
	struct st_srclimit t;
	char ip[32];

	conf_small(&c); /* 4 IPv4 blocks */
	CHECK_OK(st_srclimit_init(&t, &c));
	for (int i = 1; i <= 4; i++) {
		snprintf(ip, sizeof(ip), "198.18.0.%d", i);
		for (int k = 0; k < i + 4; k++) /* .1: 25 s ... .4: 40 s, all active */
			CLOSE(&t, ip, 0, ST_SRCLIMIT_PENALTY_AUTHFAIL, 0);
	}
	CHECK_INT(st_srclimit_counters(&t)->entries4, 4);
	CHECK_INT(st_srclimit_counters(&t)->penalised4, 4);
	CHECK_OK(OPEN(&t, "198.18.0.100", 0)); /* evicts .1 */
	CHECK_INT(st_srclimit_counters(&t)->evicted, 1);
	CHECK_OK(OPEN(&t, "198.18.0.1", 0));    /* its penalty went; evicts .2 */
	CHECK_INT(OPEN(&t, "198.18.0.4", 0), ST_SRCLIMIT_REFUSE_PENALTY);
	CHECK_INT(st_srclimit_counters(&t)->entries4, 4);
	/* IPv6 is accounted separately. */
	CHECK_OK(OPEN(&t, "2001:db8::1", 0));
	CHECK_INT(st_srclimit_counters(&t)->evicted, 2);
	/* Every entry holds an unauthenticated connection: let in untracked. */
	CHECK_OK(OPEN(&t, "198.18.0.3", 41000)); /* their penalties are over */
	CHECK_OK(OPEN(&t, "198.18.0.4", 41000));
	CHECK_OK(OPEN(&t, "198.18.0.200", 41000));
	CHECK_INT(st_srclimit_counters(&t)->untracked, 1);
	CHECK_INT(st_srclimit_counters(&t)->entries4, 4);
	st_srclimit_free(&t);
}

/* Table full, deny-all: every new connection of the family is refused until entries expire. */
static void test_overflow_deny_all(void)
{
	struct st_srclimit_conf c;
	struct st_srclimit t;
	const char *why = NULL;
	char ip[32];

	conf_small(&c);
	c.overflow4 = ST_SRCLIMIT_OVERFLOW_DENY_ALL;
	snprintf(c.exempt, sizeof(c.exempt), "192.0.2.1");
	CHECK_OK(st_srclimit_init(&t, &c));
	for (int i = 1; i <= 4; i++) {
		snprintf(ip, sizeof(ip), "198.18.0.%d", i);
		CLOSE(&t, ip, 0, ST_SRCLIMIT_PENALTY_AUTHFAIL, 0); /* 5 s, below min */
	}
	CLOSE(&t, "198.18.0.5", 0, ST_SRCLIMIT_PENALTY_AUTHFAIL, 0); /* no room: dropped */
	CHECK_INT(st_srclimit_counters(&t)->penalties_dropped, 1);
	struct st_srclimit_addr a = A("198.18.0.9");
	CHECK_INT(st_srclimit_open(&t, &a, 0, &why), ST_SRCLIMIT_REFUSE_TABLE_FULL);
	CHECK(strcmp(why, "too many penalised addresses") == 0);
	CHECK_INT(OPEN(&t, "198.18.0.1", 0), ST_SRCLIMIT_REFUSE_TABLE_FULL);
	CHECK_OK(OPEN(&t, "192.0.2.1", 0)); /* exempt: let in untracked */
	CHECK_INT(st_srclimit_counters(&t)->untracked, 1);
	CHECK_OK(OPEN(&t, "2001:db8::1", 0)); /* IPv6 permissive and not full */
	CHECK_INT(st_srclimit_counters(&t)->refused_table_full, 2);
	/* The penalties run out: room again. */
	CHECK_OK(OPEN(&t, "198.18.0.9", 5000));
	CHECK_INT(st_srclimit_counters(&t)->entries4, 1);
	st_srclimit_free(&t);
}

/* The kex account: a quiet source runs, a greedy one waits while others wait. */
static void test_kex_account(void)
{
	struct st_srclimit_conf c;
	struct st_srclimit t;
	struct st_srclimit_addr greedy = A("198.18.0.66"), quiet = A("198.18.0.7");
	uint32_t retry = 0;

	conf_small(&c);
	c.kex_rate_ms = 50;    /* 5% of a core */
	c.kex_burst_ms = 1000; /* 1 s */
	CHECK_OK(st_srclimit_init(&t, &c));
	CHECK_OK(st_srclimit_open(&t, &greedy, 0, NULL));
	CHECK_OK(st_srclimit_open(&t, &quiet, 0, NULL));
	/* The greedy source runs 2 ms key exchanges back to back for 1 s of CPU. */
	uint64_t now = 0;
	int ran = 0;
	for (int i = 0; i < 1000; i++, now += 2) {
		if (st_srclimit_kex_allowed(&t, &greedy, 1, now, &retry) != ST_SRCLIMIT_KEX_ALLOW)
			break;
		st_srclimit_kex_charge(&t, &greedy, 2000000, now);
		ran++;
	}
	/* 1 s of burst plus 50 ms/s refill over ~1 s: about 525 of them. */
	CHECK(ran > 500 && ran < 560);
	CHECK_INT(st_srclimit_kex_allowed(&t, &greedy, 1, now, &retry), ST_SRCLIMIT_KEX_DEFER);
	CHECK(retry >= 1 && retry <= 41);
	/* Uncontended, it still runs (work-conserving), and may dig down to -BURST. */
	CHECK_INT(st_srclimit_kex_allowed(&t, &greedy, 0, now, NULL), ST_SRCLIMIT_KEX_ALLOW);
	for (int i = 0; i < 1000; i++)
		st_srclimit_kex_charge(&t, &greedy, 2000000, now);
	CHECK_INT(st_srclimit_kex_allowed(&t, &greedy, 1, now, NULL), ST_SRCLIMIT_KEX_REFUSE);
	/* The quiet source is untouched. */
	CHECK_INT(st_srclimit_kex_allowed(&t, &quiet, 1, now, NULL), ST_SRCLIMIT_KEX_ALLOW);
	st_srclimit_kex_charge(&t, &quiet, 2000000, now);
	CHECK_INT(st_srclimit_kex_allowed(&t, &quiet, 1, now, NULL), ST_SRCLIMIT_KEX_ALLOW);
	/* The greedy one recovers at RATE: 1 s of debt takes 20 s; past zero it runs again. */
	CHECK_INT(st_srclimit_kex_allowed(&t, &greedy, 1, now + 10000, NULL), ST_SRCLIMIT_KEX_DEFER);
	CHECK_INT(st_srclimit_kex_allowed(&t, &greedy, 1, now + 20001, NULL), ST_SRCLIMIT_KEX_ALLOW);
	const struct st_srclimit_counters *k = st_srclimit_counters(&t);
	CHECK_INT(k->kex_refused, 1);
	CHECK(k->kex_deferred >= 2);
	CHECK(k->kex_charged_ns == (uint64_t)(ran + 1001) * 2000000);
	/* Its entry stays while it is in debt, even with no connection open. */
	st_srclimit_close(&t, &greedy, 0, ST_SRCLIMIT_PENALTY_NONE, now);
	st_srclimit_close(&t, &quiet, 0, ST_SRCLIMIT_PENALTY_NONE, now);
	CHECK_INT(st_srclimit_counters(&t)->entries4, 2);
	CHECK_INT(st_srclimit_expire(&t, now + 40000, 1u << 20), 2); /* both buckets full again */
	st_srclimit_free(&t);

	/* PerSourceKexRate none: always allowed, nothing tracked. */
	conf_small(&c);
	c.kex_rate_ms = 0;
	CHECK_OK(st_srclimit_init(&t, &c));
	for (int i = 0; i < 100; i++)
		st_srclimit_kex_charge(&t, &greedy, 1000000000, 0);
	CHECK_INT(st_srclimit_kex_allowed(&t, &greedy, 1, 0, NULL), ST_SRCLIMIT_KEX_ALLOW);
	CHECK_INT(st_srclimit_counters(&t)->entries4, 0);
	st_srclimit_free(&t);
}

/* Many sources through a small table: counts stay consistent, nothing grows. */
static void test_churn(void)
{
	struct st_srclimit_conf c;
	struct st_srclimit t;
	char ip[48];

	conf_small(&c);
	c.max_sources4 = 64;
	c.max_sources6 = 64;
	CHECK_OK(st_srclimit_init(&t, &c));
	for (uint64_t i = 0; i < 20000; i++) {
		if (i & 1)
			snprintf(ip, sizeof(ip), "10.%u.%u.%u", (unsigned)(i >> 16) & 255,
				 (unsigned)(i >> 8) & 255, (unsigned)i & 255);
		else
			snprintf(ip, sizeof(ip), "2001:db8::%x", (unsigned)i);
		int r = OPEN(&t, ip, i);
		CHECK(r == ST_OK || r == ST_SRCLIMIT_REFUSE_PENALTY);
		if (r == ST_OK)
			CLOSE(&t, ip, 0, (enum st_srclimit_penalty)(i % ST_SRCLIMIT_PENALTY_KINDS), i);
		if (i % 100 == 0)
			st_srclimit_expire(&t, i, 16);
		CHECK(st_srclimit_counters(&t)->entries4 <= 64 && st_srclimit_counters(&t)->entries6 <= 64);
	}
	for (int i = 0; i < 4; i++)
		st_srclimit_expire(&t, 1u << 30, 1u << 20);
	CHECK_INT(st_srclimit_counters(&t)->entries4, 0);
	CHECK_INT(st_srclimit_counters(&t)->entries6, 0);
	CHECK_INT(st_srclimit_counters(&t)->penalised4 + st_srclimit_counters(&t)->penalised6, 0);
	st_srclimit_free(&t);
}

int main(void)
{
	RUN(test_defaults);
	RUN(test_bad_conf);
	RUN(test_exempt_check);
	RUN(test_netblock_v4);
	RUN(test_netblock_v6);
	RUN(test_max_startups);
	RUN(test_penalty_accumulate);
	RUN(test_penalty_expiry);
	RUN(test_exempt);
	RUN(test_overflow_permissive);
	RUN(test_overflow_deny_all);
	RUN(test_kex_account);
	RUN(test_churn);
	return st_test_done("test_srclimit");
}
