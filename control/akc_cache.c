/* AuthorizedKeysCommand result cache: see akc_cache.h. Any thread, under c->mu. */
#include "control/akc_cache.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/err.h"

void st_akc_cache_init(struct st_akc_cache *c)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->mu, NULL);
}

static void drop(struct st_akc_cache *c, struct st_akc_cache_entry *e)
{
	c->bytes -= e->key_len + e->out_len;
	c->count--;
	free(e->key);
	free(e->out);
	memset(e, 0, sizeof(*e));
}

void st_akc_cache_fini(struct st_akc_cache *c)
{
	for (unsigned i = 0; i < ST_AKC_CACHE_ENTRIES; i++)
		if (c->e[i].key != NULL)
			drop(c, &c->e[i]);
	pthread_mutex_destroy(&c->mu);
}

static struct st_akc_cache_entry *find(struct st_akc_cache *c, const char *key, size_t key_len)
{
	for (unsigned i = 0; i < ST_AKC_CACHE_ENTRIES; i++) {
		struct st_akc_cache_entry *e = &c->e[i];
		if (e->key != NULL && e->key_len == key_len && memcmp(e->key, key, key_len) == 0)
			return e;
	}
	return NULL;
}

int st_akc_cache_get(struct st_akc_cache *c, const char *key, size_t key_len, uint64_t now_ms,
		     char **out, size_t *out_len)
{
	int r = 0;

	pthread_mutex_lock(&c->mu);
	struct st_akc_cache_entry *e = find(c, key, key_len);
	if (e != NULL && now_ms >= e->expires_ms) {
		drop(c, e);
		e = NULL;
	}
	if (e != NULL) {
		char *copy = malloc(e->out_len + 1);
		if (copy == NULL) {
			r = -1;
		} else {
			memcpy(copy, e->out, e->out_len);
			copy[e->out_len] = '\0';
			*out = copy;
			*out_len = e->out_len;
			r = 1;
		}
	}
	pthread_mutex_unlock(&c->mu);
	return r;
}

/* Frees a slot and room for `need` bytes: expired entries first, then the soonest to expire. */
static struct st_akc_cache_entry *make_room(struct st_akc_cache *c, size_t need, uint64_t now_ms)
{
	for (unsigned i = 0; i < ST_AKC_CACHE_ENTRIES; i++)
		if (c->e[i].key != NULL && now_ms >= c->e[i].expires_ms)
			drop(c, &c->e[i]);
	for (;;) {
		struct st_akc_cache_entry *free_slot = NULL, *soonest = NULL;
		for (unsigned i = 0; i < ST_AKC_CACHE_ENTRIES; i++) {
			struct st_akc_cache_entry *e = &c->e[i];
			if (e->key == NULL) {
				if (free_slot == NULL)
					free_slot = e;
			} else if (soonest == NULL || e->expires_ms < soonest->expires_ms) {
				soonest = e;
			}
		}
		if (free_slot != NULL && c->bytes + need <= ST_AKC_CACHE_BYTES)
			return free_slot;
		if (soonest == NULL)
			return NULL; /* cannot happen: need is bounded below the budget */
		drop(c, soonest);
	}
}

int st_akc_cache_put(struct st_akc_cache *c, const char *key, size_t key_len, const char *out,
		     size_t out_len, uint32_t ttl_s, uint64_t now_ms)
{
	size_t need = key_len + out_len;

	if (ttl_s == 0 || key == NULL || key_len == 0 || (out == NULL && out_len != 0))
		return ST_ERR_INVALID_ARGUMENT;
	if (need < key_len || need > ST_AKC_CACHE_BYTES / 4)
		return ST_ERR_NO_SPACE;
	char *k = malloc(key_len), *o = malloc(out_len + 1);
	if (k == NULL || o == NULL) {
		free(k);
		free(o);
		return ST_ERR_ALLOC;
	}
	memcpy(k, key, key_len);
	if (out_len)
		memcpy(o, out, out_len);
	pthread_mutex_lock(&c->mu);
	struct st_akc_cache_entry *e = find(c, key, key_len);
	if (e != NULL)
		drop(c, e);
	e = make_room(c, need, now_ms);
	if (e == NULL) {
		pthread_mutex_unlock(&c->mu);
		free(k);
		free(o);
		return ST_ERR_NO_SPACE;
	}
	e->key = k;
	e->key_len = key_len;
	e->out = o;
	e->out_len = out_len;
	e->expires_ms = now_ms + (uint64_t)ttl_s * 1000u;
	c->bytes += need;
	c->count++;
	pthread_mutex_unlock(&c->mu);
	return ST_OK;
}

unsigned st_akc_cache_count(struct st_akc_cache *c)
{
	pthread_mutex_lock(&c->mu);
	unsigned n = c->count;
	pthread_mutex_unlock(&c->mu);
	return n;
}
