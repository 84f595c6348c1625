#include "crypto/secmem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

void st_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		OPENSSL_cleanse(p, n);
}

/* A size header in front of each secret allocation, aligned for any use. */
struct secret_hdr {
	size_t size;
	size_t pad; /* keeps the payload 16-byte aligned */
};

void *st_secret_alloc(size_t n)
{
	if (n > SIZE_MAX - sizeof(struct secret_hdr))
		return NULL;
	struct secret_hdr *h = calloc(1, sizeof(*h) + n);
	if (h == NULL)
		return NULL;
	h->size = n;
	return h + 1;
}

void st_secret_free(void *p)
{
	if (p == NULL)
		return;
	struct secret_hdr *h = (struct secret_hdr *)p - 1;
	OPENSSL_cleanse(h, sizeof(*h) + h->size);
	free(h);
}

int st_ct_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}
