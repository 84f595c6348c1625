/*
 * HostCertificate files: an OpenSSH host certificate (ssh-keygen -s -h) is
 * read, verified (crypto/cert.h) and attached to the HostKey whose public key
 * it certifies, so that kex offers its -cert-v01 algorithm (control/kex.c).
 *
 * Runs in the thread that loads a configuration (start-up or `reload`),
 * before the config is published; it owns that config until then.
 */
#ifndef ST_CONTROL_HOSTCERT_H
#define ST_CONTROL_HOSTCERT_H

#include <stddef.h>

struct st_ctl_config;

/*
 * Loads the certificate file at path into cfg (whose host keys are already
 * loaded). On failure err[errsz] gets "PATH: reason", reason one of:
 *   strerror(errno) ("No such file or directory", ...) when unreadable;
 *   "not a certificate (<parse error>)" for garbage or a bad CA signature;
 *   "not a host certificate" for a user certificate;
 *   "matches no HostKey" when no loaded host key is the certified key;
 *   "certifies the same HostKey as an earlier HostCertificate".
 * Returns ST_OK; ST_ERR_SYSTEM; ST_ERR_FORMAT (and the other codes of
 * st_cert_parse_line()); ST_ERR_KEY_TYPE_MISMATCH (user certificate);
 * ST_ERR_NOT_FOUND (no HostKey); ST_ERR_INVALID_ARGUMENT (a second one);
 * ST_ERR_ALLOC.
 */
int st_hostcert_load(struct st_ctl_config *cfg, const char *path, char *err, size_t errsz);

#endif
