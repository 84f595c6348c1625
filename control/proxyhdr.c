/*
 * PROXY protocol v1/v2 framing, parsing and v2 building (proxyhdr.h).
 * Stateless: no thread owns anything here.
 */
#include "control/proxyhdr.h"

#include <arpa/inet.h>
#include <string.h>

static const uint8_t v1_sig[6] = {'P', 'R', 'O', 'X', 'Y', ' '};
static const uint8_t v2_sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
				   0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

const char *st_proxyhdr_err_str(int err)
{
	switch (err) {
	case ST_PROXYHDR_OK: return "ok";
	case ST_PROXYHDR_E_TRUNCATED: return "truncated header";
	case ST_PROXYHDR_E_SIGNATURE: return "no PROXY protocol signature";
	case ST_PROXYHDR_E_OVERSIZE: return "header too long";
	case ST_PROXYHDR_E_SYNTAX: return "malformed v1 line";
	case ST_PROXYHDR_E_ADDRESS: return "bad address";
	case ST_PROXYHDR_E_PORT: return "bad port";
	case ST_PROXYHDR_E_VERSION: return "unsupported v2 version";
	case ST_PROXYHDR_E_COMMAND: return "unsupported v2 command";
	case ST_PROXYHDR_E_FAMILY: return "unsupported address family or transport";
	case ST_PROXYHDR_E_LENGTH: return "v2 length does not match its addresses";
	case ST_PROXYHDR_E_TLV: return "v2 TLV past the end of the header";
	case ST_PROXYHDR_E_ARG: return "invalid argument";
	default: return "unknown";
	}
}

static int v1_frame(const uint8_t *p, size_t n, size_t *total)
{
	size_t i, m = n < sizeof(v1_sig) ? n : sizeof(v1_sig);

	if (memcmp(p, v1_sig, m) != 0)
		return ST_PROXYHDR_E_SIGNATURE;
	for (i = sizeof(v1_sig); i < n && i < ST_PROXYHDR_V1_MAX; i++) {
		uint8_t c = p[i];
		if (c == '\n') {
			if (p[i - 1] != '\r')
				return ST_PROXYHDR_E_SYNTAX;
			*total = i + 1;
			return ST_PROXYHDR_OK;
		}
		if (c == '\r') {
			if (i + 1 < n && p[i + 1] != '\n')
				return ST_PROXYHDR_E_SYNTAX;
			continue;
		}
		if (c < 0x20 || c > 0x7e)
			return ST_PROXYHDR_E_SYNTAX;
	}
	return n >= ST_PROXYHDR_V1_MAX ? ST_PROXYHDR_E_OVERSIZE : ST_PROXYHDR_E_TRUNCATED;
}

static int v2_frame(const uint8_t *p, size_t n, size_t *total)
{
	size_t m = n < sizeof(v2_sig) ? n : sizeof(v2_sig);

	if (memcmp(p, v2_sig, m) != 0)
		return ST_PROXYHDR_E_SIGNATURE;
	if (n > 12 && (p[12] >> 4) != 2)
		return ST_PROXYHDR_E_VERSION;
	if (n < ST_PROXYHDR_V2_FIXED)
		return ST_PROXYHDR_E_TRUNCATED;
	size_t body = ((size_t)p[14] << 8) | p[15];
	if (body > ST_PROXYHDR_V2_BODY_MAX)
		return ST_PROXYHDR_E_OVERSIZE;
	if (n < ST_PROXYHDR_V2_FIXED + body)
		return ST_PROXYHDR_E_TRUNCATED;
	*total = ST_PROXYHDR_V2_FIXED + body;
	return ST_PROXYHDR_OK;
}

int st_proxyhdr_frame(const uint8_t *p, size_t n, size_t *total)
{
	if (total == NULL || (p == NULL && n > 0))
		return ST_PROXYHDR_E_ARG;
	if (n == 0)
		return ST_PROXYHDR_E_TRUNCATED;
	if (p[0] == v1_sig[0])
		return v1_frame(p, n, total);
	if (p[0] == v2_sig[0])
		return v2_frame(p, n, total);
	return ST_PROXYHDR_E_SIGNATURE;
}

/* Next space-separated token of s[*pos..end): no empty tokens. */
static int v1_token(const uint8_t *s, size_t end, size_t *pos, size_t *tb, size_t *te)
{
	size_t i = *pos;

	if (i >= end || s[i] == ' ')
		return ST_PROXYHDR_E_SYNTAX;
	*tb = i;
	while (i < end && s[i] != ' ')
		i++;
	*te = i;
	if (i < end) { /* one separating space, and something after it */
		i++;
		if (i >= end)
			return ST_PROXYHDR_E_SYNTAX;
	}
	*pos = i;
	return ST_PROXYHDR_OK;
}

static int v1_addr(const uint8_t *s, size_t b, size_t e, int fam, uint8_t out[16])
{
	char txt[48];

	if (e - b >= sizeof(txt))
		return ST_PROXYHDR_E_ADDRESS;
	memcpy(txt, s + b, e - b);
	txt[e - b] = '\0';
	memset(out, 0, 16);
	if (inet_pton(fam == ST_PROXYHDR_INET ? AF_INET : AF_INET6, txt, out) != 1)
		return ST_PROXYHDR_E_ADDRESS;
	return ST_PROXYHDR_OK;
}

static int v1_port(const uint8_t *s, size_t b, size_t e, uint16_t *out)
{
	uint32_t v = 0;

	if (e - b < 1 || e - b > 5 || (s[b] == '0' && e - b > 1))
		return ST_PROXYHDR_E_PORT;
	for (size_t i = b; i < e; i++) {
		if (s[i] < '0' || s[i] > '9')
			return ST_PROXYHDR_E_PORT;
		v = v * 10 + (uint32_t)(s[i] - '0');
	}
	if (v > 65535)
		return ST_PROXYHDR_E_PORT;
	*out = (uint16_t)v;
	return ST_PROXYHDR_OK;
}

static int v1_parse(const uint8_t *p, size_t n, struct st_proxyhdr *out)
{
	struct st_proxyhdr h;
	size_t total = 0, pos = sizeof(v1_sig), end, tb, te;
	int r;

	if ((r = v1_frame(p, n, &total)) != ST_PROXYHDR_OK)
		return r;
	if (total != n)
		return ST_PROXYHDR_E_SYNTAX;
	end = n - 2; /* without CR LF */
	memset(&h, 0, sizeof(h));
	h.version = 1;
	h.len = n;
	if ((r = v1_token(p, end, &pos, &tb, &te)) != ST_PROXYHDR_OK)
		return r;
	if (te - tb == 7 && memcmp(p + tb, "UNKNOWN", 7) == 0) {
		h.family = ST_PROXYHDR_NONE; /* the rest of the line is to be ignored */
		*out = h;
		return ST_PROXYHDR_OK;
	}
	if (te - tb == 4 && memcmp(p + tb, "TCP4", 4) == 0)
		h.family = ST_PROXYHDR_INET;
	else if (te - tb == 4 && memcmp(p + tb, "TCP6", 4) == 0)
		h.family = ST_PROXYHDR_INET6;
	else
		return ST_PROXYHDR_E_SYNTAX;
	if ((r = v1_token(p, end, &pos, &tb, &te)) != ST_PROXYHDR_OK ||
	    (r = v1_addr(p, tb, te, h.family, h.src)) != ST_PROXYHDR_OK)
		return r;
	if ((r = v1_token(p, end, &pos, &tb, &te)) != ST_PROXYHDR_OK ||
	    (r = v1_addr(p, tb, te, h.family, h.dst)) != ST_PROXYHDR_OK)
		return r;
	if ((r = v1_token(p, end, &pos, &tb, &te)) != ST_PROXYHDR_OK ||
	    (r = v1_port(p, tb, te, &h.src_port)) != ST_PROXYHDR_OK)
		return r;
	if ((r = v1_token(p, end, &pos, &tb, &te)) != ST_PROXYHDR_OK ||
	    (r = v1_port(p, tb, te, &h.dst_port)) != ST_PROXYHDR_OK)
		return r;
	if (te != end)
		return ST_PROXYHDR_E_SYNTAX; /* a sixth word */
	*out = h;
	return ST_PROXYHDR_OK;
}

static int v2_parse(const uint8_t *p, size_t n, struct st_proxyhdr *out)
{
	struct st_proxyhdr h;
	size_t total = 0, alen, off;
	int r;

	if ((r = v2_frame(p, n, &total)) != ST_PROXYHDR_OK)
		return r;
	if (total != n)
		return ST_PROXYHDR_E_LENGTH;
	memset(&h, 0, sizeof(h));
	h.version = 2;
	h.len = n;
	const uint8_t *body = p + ST_PROXYHDR_V2_FIXED;
	size_t blen = n - ST_PROXYHDR_V2_FIXED;
	switch (p[12] & 0x0F) {
	case 0x0: /* LOCAL: the receiver ignores the whole block */
		*out = h;
		return ST_PROXYHDR_OK;
	case 0x1:
		break;
	default:
		return ST_PROXYHDR_E_COMMAND;
	}
	switch (p[13]) {
	case 0x00: /* UNSPEC: as LOCAL */
		*out = h;
		return ST_PROXYHDR_OK;
	case 0x11:
		h.family = ST_PROXYHDR_INET;
		alen = 12;
		break;
	case 0x21:
		h.family = ST_PROXYHDR_INET6;
		alen = 36;
		break;
	default:
		return ST_PROXYHDR_E_FAMILY;
	}
	if (blen < alen)
		return ST_PROXYHDR_E_LENGTH;
	size_t asz = h.family == ST_PROXYHDR_INET ? 4 : 16;
	memcpy(h.src, body, asz);
	memcpy(h.dst, body + asz, asz);
	h.src_port = (uint16_t)((body[2 * asz] << 8) | body[2 * asz + 1]);
	h.dst_port = (uint16_t)((body[2 * asz + 2] << 8) | body[2 * asz + 3]);
	for (off = alen; off < blen;) {
		if (blen - off < 3)
			return ST_PROXYHDR_E_TLV;
		size_t vl = ((size_t)body[off + 1] << 8) | body[off + 2];
		if (vl > blen - off - 3)
			return ST_PROXYHDR_E_TLV;
		off += 3 + vl;
	}
	if (blen > alen) {
		h.tlv_off = ST_PROXYHDR_V2_FIXED + alen;
		h.tlv_len = blen - alen;
	}
	*out = h;
	return ST_PROXYHDR_OK;
}

int st_proxyhdr_parse(const uint8_t *p, size_t n, struct st_proxyhdr *out)
{
	if (out == NULL || (p == NULL && n > 0))
		return ST_PROXYHDR_E_ARG;
	if (n == 0)
		return ST_PROXYHDR_E_TRUNCATED;
	if (p[0] == v1_sig[0])
		return v1_parse(p, n, out);
	if (p[0] == v2_sig[0])
		return v2_parse(p, n, out);
	return ST_PROXYHDR_E_SIGNATURE;
}

int st_proxyhdr_tlv_next(const uint8_t *p, const struct st_proxyhdr *h, size_t *off,
			 uint8_t *type, const uint8_t **val, uint16_t *vlen)
{
	if (p == NULL || h == NULL || off == NULL || *off >= h->tlv_len || h->tlv_len - *off < 3)
		return 0;
	const uint8_t *t = p + h->tlv_off + *off;
	uint16_t l = (uint16_t)((t[1] << 8) | t[2]);
	if (l > h->tlv_len - *off - 3)
		return 0;
	*type = t[0];
	*vlen = l;
	*val = t + 3;
	*off += 3 + (size_t)l;
	return 1;
}

int st_proxyhdr_v2_build(const struct st_proxyhdr *h, const struct st_proxyhdr_tlv *tlv,
			 size_t ntlv, uint8_t *out, size_t outsz, size_t *len)
{
	size_t alen, body, asz, o;

	if (h == NULL || out == NULL || len == NULL || (tlv == NULL && ntlv > 0))
		return ST_PROXYHDR_E_ARG;
	switch (h->family) {
	case ST_PROXYHDR_INET: alen = 12; asz = 4; break;
	case ST_PROXYHDR_INET6: alen = 36; asz = 16; break;
	case ST_PROXYHDR_NONE: alen = 0; asz = 0; break;
	default: return ST_PROXYHDR_E_ARG;
	}
	body = alen;
	for (size_t i = 0; i < ntlv; i++) {
		if (tlv[i].val == NULL && tlv[i].len > 0)
			return ST_PROXYHDR_E_ARG;
		body += 3 + (size_t)tlv[i].len;
		if (body > ST_PROXYHDR_V2_BODY_MAX)
			return ST_PROXYHDR_E_ARG;
	}
	if (outsz < ST_PROXYHDR_V2_FIXED + body)
		return ST_PROXYHDR_E_ARG;
	memcpy(out, v2_sig, sizeof(v2_sig));
	out[12] = h->family == ST_PROXYHDR_NONE ? 0x20 : 0x21;
	out[13] = h->family == ST_PROXYHDR_INET ? 0x11 : h->family == ST_PROXYHDR_INET6 ? 0x21 : 0x00;
	out[14] = (uint8_t)(body >> 8);
	out[15] = (uint8_t)body;
	o = ST_PROXYHDR_V2_FIXED;
	if (asz > 0) {
		memcpy(out + o, h->src, asz);
		memcpy(out + o + asz, h->dst, asz);
		o += 2 * asz;
		out[o++] = (uint8_t)(h->src_port >> 8);
		out[o++] = (uint8_t)h->src_port;
		out[o++] = (uint8_t)(h->dst_port >> 8);
		out[o++] = (uint8_t)h->dst_port;
	}
	for (size_t i = 0; i < ntlv; i++) {
		out[o++] = tlv[i].type;
		out[o++] = (uint8_t)(tlv[i].len >> 8);
		out[o++] = (uint8_t)tlv[i].len;
		if (tlv[i].len > 0)
			memcpy(out + o, tlv[i].val, tlv[i].len);
		o += tlv[i].len;
	}
	*len = o;
	return ST_PROXYHDR_OK;
}
