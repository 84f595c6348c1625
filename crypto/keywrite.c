/*
 * Writing a new private key: PKCS#8 PEM (what st_keyfile_load_private and
 * OpenSSH both read), created with O_EXCL and mode 0600 so that an existing
 * key is never overwritten and the secret is never readable by others, and
 * the matching ".pub" line next to it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/pem.h>

#include "crypto/err.h"
#include "crypto/key.h"
#include "crypto/key_internal.h"
#include "crypto/keyfile.h"
#include "crypto/secmem.h"

static int write_all(int fd, const void *p, size_t n)
{
	const char *b = p;
	while (n > 0) {
		ssize_t w = write(fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return ST_ERR_SYSTEM;
		b += w;
		n -= (size_t)w;
	}
	return ST_OK;
}

/* Creates path (exclusive) with mode and writes data; removes it on failure. */
static int create_file(const char *path, mode_t mode, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
		return ST_ERR_SYSTEM;
	int r = write_all(fd, data, len);
	if (r == ST_OK && fsync(fd) != 0)
		r = ST_ERR_SYSTEM;
	int e = errno;
	close(fd);
	if (r != ST_OK) {
		unlink(path);
		errno = e;
	}
	return r;
}

int st_keyfile_write_private(const struct st_key *k, const char *path, const char *comment)
{
	BIO *mem = NULL;
	char *pem = NULL, pubpath[4096], line[ST_KEY_BLOB_MAX * 2];
	long pemlen;
	int r;

	if (!st_key_has_private(k))
		return ST_ERR_INVALID_ARGUMENT;
	if ((size_t)snprintf(pubpath, sizeof(pubpath), "%s.pub", path) >= sizeof(pubpath))
		return ST_ERR_INVALID_ARGUMENT;
	if ((r = st_key_format_public_line(k, comment, line, sizeof(line) - 1)) != ST_OK)
		return r;
	strcat(line, "\n");
	if ((mem = BIO_new(BIO_s_secmem())) == NULL)
		return ST_ERR_ALLOC;
	if (PEM_write_bio_PrivateKey(mem, st_key_pkey(k), NULL, NULL, 0, NULL, NULL) != 1) {
		r = ST_ERR_CRYPTO;
		goto out;
	}
	pemlen = BIO_get_mem_data(mem, &pem);
	if ((r = create_file(path, 0600, pem, (size_t)pemlen)) != ST_OK)
		goto out;
	if ((r = create_file(pubpath, 0644, line, strlen(line))) != ST_OK) {
		int e = errno;
		unlink(path);
		errno = e;
	}
out:
	BIO_free(mem); /* secure-heap BIO: cleansed on free */
	return r;
}
