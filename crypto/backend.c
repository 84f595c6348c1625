#include "crypto/backend.h"

#include <string.h>

#include "crypto/err.h"

/* Backends beyond EVP, registered at startup (crypto/ itself needs only OpenSSL). */
static const struct st_crypto_backend *registered[ST_CRYPTO_MAX_BACKENDS];

int st_crypto_backend_register(const struct st_crypto_backend *be)
{
	for (size_t i = 0; i < ST_CRYPTO_MAX_BACKENDS; i++) {
		if (registered[i] == be)
			return ST_OK;
		if (registered[i] == NULL) {
			registered[i] = be;
			return ST_OK;
		}
	}
	return ST_ERR_NO_SPACE;
}

const struct st_crypto_backend *st_crypto_backend_by_name(const char *name)
{
	if (strcmp(name, st_crypto_backend_evp.name) == 0)
		return &st_crypto_backend_evp;
	for (size_t i = 0; i < ST_CRYPTO_MAX_BACKENDS && registered[i] != NULL; i++)
		if (strcmp(name, registered[i]->name) == 0)
			return registered[i];
	return NULL;
}

int st_crypto_dir_init(struct st_crypto_dir *d, const struct st_crypto_backend *be,
		       const struct st_dir_keys *k, int seal)
{
	const struct st_cipher_info *c = k->cipher;
	int r;

	if (c == NULL || (!st_cipher_is_aead(c) && k->mac == NULL))
		return ST_ERR_INVALID_ARGUMENT;
	/* Rekey with another backend: drop the old state first. */
	if (d->be != NULL && d->be != be)
		st_crypto_dir_fini(d);
	d->be = be;
	d->cipher = c;
	d->mac = st_cipher_is_aead(c) ? NULL : k->mac;
	d->seal = seal ? 1 : 0;
	d->block_size = c->block_size;
	d->tag_len = st_cipher_is_aead(c) ? c->tag_len : d->mac->mac_len;
	d->len_in_aad = st_cipher_is_aead(c) || d->mac->etm;
	/* MAC-then-encrypt with a stream cipher: the length is inside the first cipher block. */
	d->serial_open = !d->len_in_aad;
	d->first_len = d->serial_open ? c->block_size : 4;
	d->async = 0; /* the backend's init says otherwise */
	if ((r = be->init(d, k)) != ST_OK) {
		st_crypto_dir_fini(d);
		return r;
	}
	return ST_OK;
}

void st_crypto_dir_fini(struct st_crypto_dir *d)
{
	if (d->be != NULL)
		d->be->fini(d);
	memset(d, 0, sizeof(*d));
}
