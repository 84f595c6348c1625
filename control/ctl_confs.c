#include "control/ctl_confs.h"

#include <stdlib.h>

#include "crypto/err.h"

static void conf_free(struct st_confs *cs, struct st_conf_ref *c)
{
	st_daemon_conf_free(&c->conf);
	free(c);
	__atomic_sub_fetch(&cs->live, 1, __ATOMIC_RELAXED);
}

struct st_conf_ref *st_conf_ref_new(void)
{
	struct st_conf_ref *c = calloc(1, sizeof(*c));

	if (c != NULL) {
		st_daemon_conf_init(&c->conf);
		c->refs = 1;
	}
	return c;
}

int st_confs_init(struct st_confs *cs, struct st_conf_ref *first)
{
	pthread_mutex_init(&cs->lock, NULL);
	first->version = 1;
	first->refs = 1;
	cs->current = first;
	cs->version = 1;
	cs->live = 1;
	return ST_OK;
}

void st_confs_fini(struct st_confs *cs)
{
	if (cs->current != NULL)
		st_confs_put(cs, cs->current);
	cs->current = NULL;
	pthread_mutex_destroy(&cs->lock);
}

struct st_conf_ref *st_confs_get(struct st_confs *cs)
{
	pthread_mutex_lock(&cs->lock);
	struct st_conf_ref *c = cs->current;
	__atomic_add_fetch(&c->refs, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&cs->lock);
	return c;
}

void st_confs_put(struct st_confs *cs, struct st_conf_ref *c)
{
	/* Release: our reads of *c happen before whoever frees it. */
	if (c != NULL && __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) == 0)
		conf_free(cs, c);
}

void st_confs_replace(struct st_confs *cs, struct st_conf_ref *n)
{
	pthread_mutex_lock(&cs->lock);
	struct st_conf_ref *old = cs->current;
	n->version = old->version + 1;
	__atomic_add_fetch(&cs->live, 1, __ATOMIC_RELAXED);
	cs->current = n;
	__atomic_store_n(&cs->version, n->version, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&cs->lock);
	st_confs_put(cs, old);
}

struct st_conf_ref *st_confs_get_cached(struct st_confs *cs, struct st_conf_ref **cached)
{
	if (*cached == NULL || (*cached)->version != __atomic_load_n(&cs->version, __ATOMIC_ACQUIRE)) {
		struct st_conf_ref *n = st_confs_get(cs);
		st_confs_put(cs, *cached);
		*cached = n;
	}
	return *cached;
}

unsigned st_confs_live(struct st_confs *cs)
{
	return __atomic_load_n(&cs->live, __ATOMIC_RELAXED);
}
