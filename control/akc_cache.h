/*
 * AuthorizedKeysCommandCacheTime: the outputs of successful
 * AuthorizedKeysCommand calls, keyed by the user the command runs as and
 * the expanded command line (the pool's key: "runas\0" + st_akc_argv.line),
 * kept for a number of seconds. Bounded: at most
 * ST_AKC_CACHE_ENTRIES entries and ST_AKC_CACHE_BYTES bytes of keys and
 * outputs; when full, expired entries go first, then the one that expires
 * soonest. Failures are never cached (the next login runs the command again).
 *
 * Shared by the pool's helper threads: every call takes the cache's mutex
 * for one bounded scan (no I/O, no allocation of unbounded size under it
 * beyond the copy of one entry).
 */
#ifndef ST_CONTROL_AKC_CACHE_H
#define ST_CONTROL_AKC_CACHE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define ST_AKC_CACHE_ENTRIES 256
#define ST_AKC_CACHE_BYTES (16u * 1024u * 1024u)

struct st_akc_cache_entry {
	char *key;       /* NULL: free slot */
	size_t key_len;
	char *out;
	size_t out_len;
	uint64_t expires_ms; /* monotonic clock */
};

struct st_akc_cache {
	pthread_mutex_t mu;
	struct st_akc_cache_entry e[ST_AKC_CACHE_ENTRIES];
	size_t bytes;    /* key_len + out_len over the entries */
	unsigned count;
};

void st_akc_cache_init(struct st_akc_cache *c);
void st_akc_cache_fini(struct st_akc_cache *c);

/*
 * Looks key[0..key_len) up at time now_ms. Returns 1 with a malloc'd copy in
 * *out (NUL-terminated; free() it) and *out_len; 0 when absent or expired
 * (an expired entry is dropped); -1 when the copy cannot be allocated.
 */
int st_akc_cache_get(struct st_akc_cache *c, const char *key, size_t key_len, uint64_t now_ms,
		     char **out, size_t *out_len);

/*
 * Stores a copy of out[0..out_len) under key for ttl_s seconds from now_ms,
 * replacing an entry of the same key. An entry bigger than
 * ST_AKC_CACHE_BYTES / 4 is not stored. Returns ST_OK, ST_ERR_NO_SPACE (too
 * big), ST_ERR_ALLOC, ST_ERR_INVALID_ARGUMENT (ttl_s 0).
 */
int st_akc_cache_put(struct st_akc_cache *c, const char *key, size_t key_len, const char *out,
		     size_t out_len, uint32_t ttl_s, uint64_t now_ms);

/* Entries held now. */
unsigned st_akc_cache_count(struct st_akc_cache *c);

#endif
