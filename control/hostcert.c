/*
 * HostCertificate loading (control/hostcert.h). State: none of its own; it
 * writes into a config that the loading thread still owns alone.
 */
#include "control/hostcert.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/config.h"
#include "control/readfile.h"
#include "crypto/cert.h"
#include "crypto/err.h"
#include "crypto/key.h"

/* A -cert.pub file is one line; allow comments and some slack. */
#define HOSTCERT_FILE_MAX (4 * ST_CERT_BLOB_MAX)

int st_hostcert_load(struct st_ctl_config *cfg, const char *path, char *err, size_t errsz)
{
	struct st_cert *c = NULL;
	char *text = NULL;
	size_t len = 0;
	int r, idx = -1;

	if ((r = st_read_file(path, HOSTCERT_FILE_MAX, ST_READFILE_REGULAR_ONLY, &text, &len)) !=
	    ST_OK) {
		if (r == ST_ERR_SYSTEM)
			snprintf(err, errsz, "%s: %s", path, strerror(errno));
		else if (r == ST_ERR_NO_SPACE)
			snprintf(err, errsz, "%s: larger than %u bytes", path, HOSTCERT_FILE_MAX);
		else
			snprintf(err, errsz, "%s: %s", path, st_err_str(r));
		return r;
	}
	if ((r = st_cert_parse_line(text, len, &c)) != ST_OK) {
		snprintf(err, errsz, "%s: not a certificate (%s)", path, st_err_str(r));
		goto out;
	}
	if (c->type != ST_CERT_HOST) {
		snprintf(err, errsz, "%s: not a host certificate", path);
		r = ST_ERR_KEY_TYPE_MISMATCH;
		goto out;
	}
	for (unsigned i = 0; i < cfg->n_hostkeys; i++)
		if (st_key_equal_public(cfg->hostkeys[i], c->key)) {
			idx = (int)i;
			break;
		}
	if (idx < 0) {
		snprintf(err, errsz, "%s: matches no HostKey", path);
		r = ST_ERR_NOT_FOUND;
		goto out;
	}
	if (cfg->hostcerts[idx] != NULL) {
		snprintf(err, errsz, "%s: certifies the same HostKey as an earlier HostCertificate",
			 path);
		r = ST_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if ((r = st_ctl_config_set_hostcert(cfg, (unsigned)idx, c->blob, c->blob_len)) != ST_OK)
		snprintf(err, errsz, "%s: %s", path, st_err_str(r));
out:
	st_cert_free(c);
	free(text);
	return r;
}
