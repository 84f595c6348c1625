/*
 * Server host key verification for the client engine: an OpenSSH
 * known_hosts file, or a pinned SHA256 fingerprint.
 *
 * known_hosts (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"), one entry per line:
 *     [marker] hostpatterns keytype base64-key [comment]
 *   - hostpatterns: a comma-separated pattern list ('*', '?', '!' negation,
 *     as control/match.h), or one hashed name "|1|base64(salt)|base64(HMAC-
 *     SHA1(salt, name))". A port other than 22 is written "[host]:port".
 *   - marker "@revoked": a key that matches is refused for every host.
 *     "@cert-authority" lines are kept out of plain key matching (host
 *     certificates are not verified yet) and do not count as known keys.
 *   - blank lines and '#' comments are skipped; a malformed line is skipped
 *     and counted (OpenSSH does the same), never fatal. Malformed: an
 *     unknown @marker, missing fields, bad base64, a key blob that does not
 *     parse or whose type differs from the keytype field, a bad hashed name
 *     (salt and hash must be 20 bytes each), a pattern list over the caps of
 *     control/match.h, a NUL byte, a line over ST_KNOWN_HOSTS_LINE_MAX.
 *   - a line whose keytype is not ours but a real SSH key type (ssh-dss,
 *     ecdsa-sha2-nistp384/521, anything "...@openssh.com": sk-* keys,
 *     certificates) is skipped without being counted, as OpenSSH skips it.
 *   - markers are case-sensitive, host patterns are not.
 * The parsed file is immutable and may be shared by threads.
 */
#ifndef ST_CONTROL_CLIENT_HOSTKEY_CHECK_H
#define ST_CONTROL_CLIENT_HOSTKEY_CHECK_H

#include <stddef.h>
#include <stdint.h>

struct st_key;
struct st_known_hosts; /* opaque */

/* Caps: a file larger than this is refused (ST_ERR_NO_SPACE). */
#define ST_KNOWN_HOSTS_MAX_BYTES (16u << 20)
/* A longer line (without its line break) is malformed. */
#define ST_KNOWN_HOSTS_LINE_MAX (16u << 10)
/* Longest lookup name, "[host]:port" included (a longer one fails closed). */
#define ST_KNOWN_HOSTS_NAME_MAX 1100u

/*
 * Parses known_hosts text[0..len) (need not be NUL-terminated; lines end in
 * LF or CRLF). *out is a new set; *bad_lines (may be NULL) counts skipped
 * malformed lines. Outputs are set only on success.
 * Returns ST_OK, ST_ERR_ALLOC, ST_ERR_NO_SPACE (len over
 * ST_KNOWN_HOSTS_MAX_BYTES), ST_ERR_INVALID_ARGUMENT (NULL out, or NULL text
 * with len > 0).
 */
int st_known_hosts_parse(const char *text, size_t len, struct st_known_hosts **out,
			 unsigned *bad_lines);

/*
 * Reads and parses a file (any file that reads like one: /dev/null gives an
 * empty set). Returns the codes of st_known_hosts_parse(), and ST_ERR_SYSTEM
 * when it cannot be opened or read (errno kept: ENOENT, EACCES, EISDIR, ...).
 */
int st_known_hosts_load(const char *path, struct st_known_hosts **out, unsigned *bad_lines);

void st_known_hosts_free(struct st_known_hosts *kh);

/* Number of usable entries (plain and revoked keys; not @cert-authority). NULL: 0. */
size_t st_known_hosts_count(const struct st_known_hosts *kh);

enum st_hostkey_verdict {
	ST_HOSTKEY_OK,        /* a known key for this host equals the key */
	ST_HOSTKEY_UNKNOWN,   /* no key at all is known for this host */
	ST_HOSTKEY_MISMATCH,  /* keys are known for this host, none equals it */
	ST_HOSTKEY_REVOKED,   /* the key is marked @revoked */
};

/* Short text ("host key is not known", ...); never NULL. */
const char *st_hostkey_verdict_text(enum st_hostkey_verdict v);

/*
 * Checks `key` for host/port: the name looked up is "host" when port is 22,
 * else "[host]:port" (as ssh(1) writes it); an entry "[host]:22" is not
 * looked up. Host name comparison is ASCII case-insensitive; hashed names
 * are compared on the lowercased name (ssh(1) lowercases before hashing).
 *   REVOKED   an @revoked entry holds this key, whatever its host patterns
 *             (stricter than OpenSSH, which applies the patterns);
 *   OK        a plain entry matching the host holds this key;
 *   MISMATCH  plain entries match the host, none holds this key;
 *   UNKNOWN   no plain entry matches the host (also: kh NULL).
 * Fails closed with MISMATCH for a NULL key, and for a host that cannot be
 * looked up (NULL, empty, over ST_KNOWN_HOSTS_NAME_MAX, or holding blanks,
 * commas, '[' or ']' (pass IPv6 addresses bare) or control characters),
 * unless the key is revoked.
 */
enum st_hostkey_verdict st_known_hosts_check(const struct st_known_hosts *kh, const char *host,
					     uint16_t port, const struct st_key *key);

/*
 * Comma-separated host key algorithms for which the file has a key for
 * host/port (plain entries only), in the order of `prefer` (a name-list;
 * NULL: ssh-ed25519, ecdsa-sha2-nistp256, rsa-sha2-512, rsa-sha2-256),
 * written to out; empty when none. rsa keys give "rsa-sha2-512" and
 * "rsa-sha2-256" (never "ssh-rsa"); names in prefer that are not these four
 * are left out, and so are repeats. out is always NUL-terminated when outsz
 * > 0; when it fills up, the list stops before the name that does not fit.
 * Lets the client put what it can verify first, as ssh(1) does.
 */
void st_known_hosts_algs(const struct st_known_hosts *kh, const char *host, uint16_t port,
			 const char *prefer, char *out, size_t outsz);

/*
 * Compares a key's SHA256 fingerprint to "SHA256:<base64>" (unpadded, as
 * ssh-keygen -l prints it; the one '=' of padding is tolerated). The
 * prefix and the base64 are case-sensitive; the compare is constant-time.
 * Returns 1 on a match, 0 otherwise (also for NULL arguments).
 */
int st_hostkey_fingerprint_matches(const struct st_key *key, const char *fingerprint);

#endif
