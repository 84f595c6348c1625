/* RevokedKeys checks (control/revoked.h). No state of its own. */
#include "control/revoked.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/readfile.h"
#include "crypto/err.h"
#include "crypto/krl.h"

int st_revoked_check(const char *path, const struct st_key *key, const struct st_cert *cert,
		     char *why, size_t whysz)
{
	struct st_krl *krl = NULL;
	char *data = NULL;
	size_t len = 0, line = 0;
	int r, hit;

	if (path == NULL || path[0] == '\0')
		return 0;
	if ((r = st_read_file(path, ST_KRL_MAX, ST_READFILE_REGULAR_ONLY, &data, &len)) != ST_OK) {
		snprintf(why, whysz, "RevokedKeys %.200s: %s", path,
			 r == ST_ERR_SYSTEM ? strerror(errno) : st_err_str(r));
		return 1;
	}
	r = st_krl_parse((const uint8_t *)data, len, &krl, &line);
	free(data);
	if (r != ST_OK) {
		if (line != 0)
			snprintf(why, whysz, "RevokedKeys %.200s:%zu: %s", path, line, st_err_str(r));
		else
			snprintf(why, whysz, "RevokedKeys %.200s: %s", path, st_err_str(r));
		return 1;
	}
	hit = cert != NULL ? st_krl_cert_revoked(krl, cert) : st_krl_key_revoked(krl, key);
	if (hit)
		snprintf(why, whysz, "%s revoked by %.200s", cert != NULL ? "certificate" : "key",
			 path);
	st_krl_free(krl);
	return hit;
}
