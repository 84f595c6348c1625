/* Unit tests for the SSH wire-format buffer (crypto/buf.c). */
#include <string.h>

#include "crypto/buf.h"
#include "tests/unit/test.h"

static void test_scalars_roundtrip(void)
{
	uint8_t mem[64];
	struct st_buf w, r;
	uint8_t u8;
	int bo;
	uint32_t u32;
	uint64_t u64;

	st_buf_wrap(&w, mem, sizeof(mem));
	CHECK_OK(st_buf_put_u8(&w, 0xab));
	CHECK_OK(st_buf_put_bool(&w, 7));
	CHECK_OK(st_buf_put_u32(&w, 0x01020304));
	CHECK_OK(st_buf_put_u64(&w, 0x1122334455667788ull));
	CHECK_INT(w.len, 14);
	CHECK(memcmp(mem, "\xab\x01\x01\x02\x03\x04\x11\x22\x33\x44\x55\x66\x77\x88", 14) == 0);

	st_buf_from(&r, mem, w.len);
	CHECK_OK(st_buf_get_u8(&r, &u8));
	CHECK_OK(st_buf_get_bool(&r, &bo));
	CHECK_OK(st_buf_get_u32(&r, &u32));
	CHECK_OK(st_buf_get_u64(&r, &u64));
	CHECK_INT(u8, 0xab);
	CHECK_INT(bo, 1);
	CHECK_INT(u32, 0x01020304);
	CHECK(u64 == 0x1122334455667788ull);
	CHECK_OK(st_buf_end(&r));
	CHECK_ERR(st_buf_get_u8(&r, &u8), ST_ERR_INCOMPLETE);
}

/* Every reader must reject every truncation of a valid encoding and consume nothing. */
static void test_truncation_everywhere(void)
{
	uint8_t mem[64];
	struct st_buf w, r;
	st_buf_wrap(&w, mem, sizeof(mem));
	CHECK_OK(st_buf_put_cstring(&w, "hello"));
	for (size_t n = 0; n < w.len; n++) {
		const uint8_t *p;
		size_t len;
		st_buf_from(&r, mem, n);
		CHECK_ERR(st_buf_get_string(&r, &p, &len), ST_ERR_INCOMPLETE);
		CHECK_INT(r.off, 0);
	}
	uint32_t v;
	uint64_t v64;
	for (size_t n = 0; n < 8; n++) {
		st_buf_from(&r, mem, n);
		if (n < 4)
			CHECK_ERR(st_buf_get_u32(&r, &v), ST_ERR_INCOMPLETE);
		CHECK_ERR(st_buf_get_u64(&r, &v64), n < 8 ? ST_ERR_INCOMPLETE : ST_OK);
	}
}

static void test_strings(void)
{
	uint8_t mem[64];
	char out[8];
	struct st_buf w, r;

	st_buf_wrap(&w, mem, sizeof(mem));
	CHECK_OK(st_buf_put_cstring(&w, "abc"));
	CHECK_OK(st_buf_put_string(&w, "a\0b", 3));
	CHECK_OK(st_buf_put_cstring(&w, "too-long-for-out"));
	st_buf_from(&r, mem, w.len);
	CHECK_OK(st_buf_get_cstring(&r, out, sizeof(out)));
	CHECK(strcmp(out, "abc") == 0);
	CHECK_ERR(st_buf_get_cstring(&r, out, sizeof(out)), ST_ERR_FORMAT);
	CHECK_OK(st_buf_skip(&r, 7));
	size_t before = r.off;
	CHECK_ERR(st_buf_get_cstring(&r, out, sizeof(out)), ST_ERR_STRING_TOO_LARGE);
	CHECK_INT(r.off, before);

	/* A length over the cap is refused before looking for the bytes. */
	static const uint8_t huge[] = {0x7f, 0xff, 0xff, 0xff, 'x'};
	const uint8_t *p;
	size_t n;
	st_buf_from(&r, huge, sizeof(huge));
	CHECK_ERR(st_buf_get_string(&r, &p, &n), ST_ERR_STRING_TOO_LARGE);
	static const uint8_t maxlen[] = {0xff, 0xff, 0xff, 0xff};
	st_buf_from(&r, maxlen, sizeof(maxlen));
	CHECK_ERR(st_buf_get_string(&r, &p, &n), ST_ERR_STRING_TOO_LARGE);
}

/* RFC 4251 §5 mpint examples. */
static void test_mpint(void)
{
	static const struct {
		const char *mag;
		const char *enc;
	} v[] = {
		{"", "00000000"},
		{"09a378f9b2e332a7", "0000000809a378f9b2e332a7"},
		{"80", "000000020080"},
		{"000080", "000000020080"},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint8_t mag[16], enc[32], mem[32];
		size_t ml = st_test_unhex(v[i].mag, mag, sizeof(mag));
		size_t el = st_test_unhex(v[i].enc, enc, sizeof(enc));
		struct st_buf w, r;
		st_buf_wrap(&w, mem, sizeof(mem));
		CHECK_OK(st_buf_put_mpint(&w, mag, ml));
		CHECK_INT(w.len, el);
		CHECK_MEM(mem, enc, el);
		const uint8_t *p;
		size_t n;
		st_buf_from(&r, enc, el);
		CHECK_OK(st_buf_get_mpint(&r, &p, &n));
		CHECK_OK(st_buf_end(&r));
	}
	static const char *bad[] = {
		"0000000180",         /* negative */
		"00000002ff21",       /* negative */
		"000000020001",       /* non-minimal leading zero */
		"0000000100",         /* zero encoded with a byte */
	};
	static const int want[] = {ST_ERR_BIGNUM_NEGATIVE, ST_ERR_BIGNUM_NEGATIVE, ST_ERR_FORMAT,
				   ST_ERR_FORMAT};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t enc[16];
		size_t el = st_test_unhex(bad[i], enc, sizeof(enc));
		struct st_buf r;
		const uint8_t *p;
		size_t n;
		st_buf_from(&r, enc, el);
		CHECK_ERR(st_buf_get_mpint(&r, &p, &n), want[i]);
		CHECK_INT(r.off, 0);
	}
}

/* Encodes s[0..len) as an SSH string into an owned buffer and parses it. */
static int parse_namelist(const char *s, size_t len, const char **p, size_t *n, size_t *off)
{
	struct st_buf w;
	int r;

	CHECK_OK(st_buf_alloc(&w, 64, ST_BUF_MAX_NAMELIST + 64));
	CHECK_OK(st_buf_put_string(&w, s, len));
	static uint8_t copy[ST_BUF_MAX_NAMELIST + 64];
	size_t wl = st_buf_avail(&w);
	memcpy(copy, st_buf_ptr(&w), wl);
	st_buf_free(&w);
	struct st_buf rd;
	st_buf_from(&rd, copy, wl);
	r = st_buf_get_namelist(&rd, p, n);
	*off = rd.off;
	return r;
}

static void test_namelist(void)
{
	static const struct {
		const char *s;
		int ok;
	} v[] = {
		{"", 1},
		{"zlib", 1},
		{"curve25519-sha256,ext-info-c", 1},
		{"a b", 0},
		{"a\x7f", 0},
		{"a\t", 0},
		{"\x80", 0},
		{"a,\xff", 0},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0}, /* 65 */
		{"a,aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,", 0},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 1}, /* 64 */
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		const char *p = NULL;
		size_t n = 0, off;
		int r = parse_namelist(v[i].s, strlen(v[i].s), &p, &n, &off);
		CHECK_ERR(r, v[i].ok ? ST_OK : ST_ERR_NAME_INVALID);
		if (v[i].ok) {
			CHECK_INT(n, strlen(v[i].s));
			CHECK(n == 0 || memcmp(p, v[i].s, n) == 0);
			CHECK_INT(off, 4 + n);
		} else {
			CHECK_INT(off, 0); /* nothing consumed */
		}
	}
	/* a NUL byte is not printable */
	const char *p;
	size_t n, off;
	CHECK_ERR(parse_namelist("a\0b", 3, &p, &n, &off), ST_ERR_NAME_INVALID);
	CHECK_INT(off, 0);
}

/*
 * Empty names are accepted (libssh 0.10 ends its KEXINIT lists with a comma,
 * OpenSSH takes them); the list comes back unchanged and st_namelist_has()
 * (control/config.c) makes them match nothing.
 */
static void test_namelist_empty_names(void)
{
	static const char *const v[] = {
		"aes128-ctr,aes256-ctr,", ",a", "a,", "a,,b", ",", ",,", ",,a,,b,,",
		"curve25519-sha256,,ext-info-c,kex-strict-c-v00@openssh.com,",
		/* a 64-byte name right after an empty one */
		",,aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,",
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		const char *p = NULL;
		size_t n = 0, off;
		CHECK_OK(parse_namelist(v[i], strlen(v[i]), &p, &n, &off));
		CHECK_INT(n, strlen(v[i]));
		CHECK(p != NULL && memcmp(p, v[i], n) == 0);
		CHECK_INT(off, 4 + n);
	}
	/* what is really malformed still is, wherever the empty names are */
	static const char *const bad[] = {",a b", "a,,\x01", ",\x7f,", ",,\x80",
		",aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}; /* 65 */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *p;
		size_t n, off;
		CHECK_ERR(parse_namelist(bad[i], strlen(bad[i]), &p, &n, &off), ST_ERR_NAME_INVALID);
		CHECK_INT(off, 0);
	}
}

/* The list cap holds for lists of names and of commas alike. */
static void test_namelist_cap(void)
{
	static char l[ST_BUF_MAX_NAMELIST + 1];
	const char *p = NULL;
	size_t n = 0, off;

	/* names of 63 bytes and a comma each, exactly at the cap */
	for (size_t i = 0; i < sizeof(l); i++)
		l[i] = (i % 64 == 63) ? ',' : 'x';
	CHECK_OK(parse_namelist(l, ST_BUF_MAX_NAMELIST, &p, &n, &off));
	CHECK_INT(n, ST_BUF_MAX_NAMELIST);
	CHECK_ERR(parse_namelist(l, ST_BUF_MAX_NAMELIST + 1, &p, &n, &off), ST_ERR_NAME_INVALID);
	CHECK_INT(off, 0);
	memset(l, ',', sizeof(l));
	CHECK_OK(parse_namelist(l, ST_BUF_MAX_NAMELIST, &p, &n, &off));
	CHECK_ERR(parse_namelist(l, ST_BUF_MAX_NAMELIST + 1, &p, &n, &off), ST_ERR_NAME_INVALID);
	/* a truncated list consumes nothing */
	static const uint8_t trunc[] = {0, 0, 0, 4, 'a', ','};
	struct st_buf r;
	st_buf_from(&r, trunc, sizeof(trunc));
	CHECK_ERR(st_buf_get_namelist(&r, &p, &n), ST_ERR_INCOMPLETE);
	CHECK_INT(r.off, 0);
}

static void test_owned_growth_and_cap(void)
{
	struct st_buf b;
	CHECK_OK(st_buf_alloc(&b, 4, 100));
	for (int i = 0; i < 25; i++)
		CHECK_OK(st_buf_put_u32(&b, (uint32_t)i));
	CHECK_INT(b.len, 100);
	CHECK_ERR(st_buf_put_u8(&b, 1), ST_ERR_NO_SPACE);
	uint32_t v;
	for (int i = 0; i < 25; i++) {
		CHECK_OK(st_buf_get_u32(&b, &v));
		CHECK_INT(v, i);
	}
	st_buf_free(&b);
	CHECK(b.data == NULL);

	uint8_t mem[3];
	struct st_buf w, ro;
	st_buf_wrap(&w, mem, sizeof(mem));
	CHECK_ERR(st_buf_put_u32(&w, 1), ST_ERR_NO_SPACE);
	CHECK_INT(w.len, 0);
	st_buf_from(&ro, mem, sizeof(mem));
	CHECK_ERR(st_buf_put_u8(&ro, 1), ST_ERR_NO_SPACE);
}

static void test_trailing_and_sub(void)
{
	uint8_t mem[64];
	struct st_buf w, r, sub;
	st_buf_wrap(&w, mem, sizeof(mem));
	struct st_buf inner;
	uint8_t imem[16];
	st_buf_wrap(&inner, imem, sizeof(imem));
	CHECK_OK(st_buf_put_u32(&inner, 42));
	CHECK_OK(st_buf_put_stringb(&w, &inner));
	CHECK_OK(st_buf_put_u8(&w, 9));
	st_buf_from(&r, mem, w.len);
	CHECK_OK(st_buf_get_sub(&r, &sub));
	uint32_t v;
	CHECK_OK(st_buf_get_u32(&sub, &v));
	CHECK_INT(v, 42);
	CHECK_OK(st_buf_end(&sub));
	CHECK_ERR(st_buf_end(&r), ST_ERR_TRAILING);
}

int main(void)
{
	RUN(test_scalars_roundtrip);
	RUN(test_truncation_everywhere);
	RUN(test_strings);
	RUN(test_mpint);
	RUN(test_namelist);
	RUN(test_namelist_empty_names);
	RUN(test_namelist_cap);
	RUN(test_owned_growth_and_cap);
	RUN(test_trailing_and_sub);
	return st_test_done("buf");
}
