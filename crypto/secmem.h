/*
 * Secret memory: wiping, wipe-on-free allocation and constant-time compare.
 *
 * Anything that holds key material (session keys, private keys, shared
 * secrets, exchange hashes before they become public) lives in memory from
 * st_secret_alloc() or in a struct that is st_wipe()d before it goes away.
 */
#ifndef ST_CRYPTO_SECMEM_H
#define ST_CRYPTO_SECMEM_H

#include <stddef.h>

/* Overwrites n bytes with zeros in a way the compiler may not elide. */
void st_wipe(void *p, size_t n);

/*
 * Zeroed heap memory for secrets. The size is remembered so that
 * st_secret_free() can wipe all of it. Returns NULL on failure.
 */
void *st_secret_alloc(size_t n);

/* Wipes and frees memory from st_secret_alloc(); NULL is a no-op. */
void st_secret_free(void *p);

/* 1 when a[0..n) == b[0..n), in time that depends only on n. */
int st_ct_equal(const void *a, const void *b, size_t n);

#endif
