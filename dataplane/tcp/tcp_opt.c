/* TCP option parsing and writing. */
#include <string.h>

#include "crypto/err.h"
#include "dataplane/tcp/tcp_opt.h"

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

int tcp_opts_parse(const uint8_t *p, size_t len, struct tcp_opts *out)
{
	struct tcp_opts o;
	size_t i = 0;

	if (len > 40)
		return ST_ERR_FORMAT;
	memset(&o, 0, sizeof(o));
	while (i < len) {
		uint8_t kind = p[i], olen;

		if (kind == TCP_OPT_EOL)
			break;
		if (kind == TCP_OPT_NOP) {
			i++;
			continue;
		}
		if (len - i < 2)
			return ST_ERR_FORMAT;
		olen = p[i + 1];
		if (olen < 2 || olen > len - i)
			return ST_ERR_FORMAT;
		switch (kind) {
		case TCP_OPT_MSS:
			if (olen == 4) {
				o.flags |= TCP_OF_MSS;
				o.mss = (uint16_t)(p[i + 2] << 8 | p[i + 3]);
			}
			break;
		case TCP_OPT_WS:
			if (olen == 3) {
				o.flags |= TCP_OF_WS;
				o.ws = p[i + 2] > TCP_MAX_WSCALE ? TCP_MAX_WSCALE : p[i + 2];
			}
			break;
		case TCP_OPT_SACK_OK:
			if (olen == 2)
				o.flags |= TCP_OF_SACK_OK;
			break;
		case TCP_OPT_TS:
			if (olen == 10) {
				o.flags |= TCP_OF_TS;
				o.tsval = rd32(p + i + 2);
				o.tsecr = rd32(p + i + 6);
			}
			break;
		case TCP_OPT_SACK:
			if (olen >= 10 && (olen - 2) % 8 == 0) {
				unsigned n = (unsigned)(olen - 2) / 8;

				o.flags |= TCP_OF_SACK;
				o.nsack = 0;
				for (unsigned k = 0; k < n && k < TCP_MAX_SACK; k++) {
					o.sack[k][0] = rd32(p + i + 2 + 8 * k);
					o.sack[k][1] = rd32(p + i + 6 + 8 * k);
					o.nsack++;
				}
			}
			break;
		default:
			break;
		}
		i += olen;
	}
	*out = o;
	return ST_OK;
}

size_t tcp_opts_write(uint8_t *p, int syn, const struct tcp_opts *o)
{
	size_t n = 0;

	if (syn) {
		if (o->flags & TCP_OF_MSS) {
			p[n++] = TCP_OPT_MSS;
			p[n++] = 4;
			p[n++] = (uint8_t)(o->mss >> 8);
			p[n++] = (uint8_t)o->mss;
		}
		if (o->flags & TCP_OF_SACK_OK) {
			if (o->flags & TCP_OF_TS) {
				p[n++] = TCP_OPT_SACK_OK;
				p[n++] = 2;
			} else {
				p[n++] = TCP_OPT_NOP;
				p[n++] = TCP_OPT_NOP;
				p[n++] = TCP_OPT_SACK_OK;
				p[n++] = 2;
			}
		}
		if (o->flags & TCP_OF_TS) {
			if (!(o->flags & TCP_OF_SACK_OK)) {
				p[n++] = TCP_OPT_NOP;
				p[n++] = TCP_OPT_NOP;
			}
			p[n++] = TCP_OPT_TS;
			p[n++] = 10;
			wr32(p + n, o->tsval);
			wr32(p + n + 4, o->tsecr);
			n += 8;
		}
		if (o->flags & TCP_OF_WS) {
			p[n++] = TCP_OPT_NOP;
			p[n++] = TCP_OPT_WS;
			p[n++] = 3;
			p[n++] = o->ws;
		}
		return n;
	}
	if (o->flags & TCP_OF_TS) {
		p[n++] = TCP_OPT_NOP;
		p[n++] = TCP_OPT_NOP;
		p[n++] = TCP_OPT_TS;
		p[n++] = 10;
		wr32(p + n, o->tsval);
		wr32(p + n + 4, o->tsecr);
		n += 8;
	}
	if ((o->flags & TCP_OF_SACK) && o->nsack) {
		unsigned max = (o->flags & TCP_OF_TS) ? 3 : 4, k;
		unsigned cnt = o->nsack < max ? o->nsack : max;

		p[n++] = TCP_OPT_NOP;
		p[n++] = TCP_OPT_NOP;
		p[n++] = TCP_OPT_SACK;
		p[n++] = (uint8_t)(2 + 8 * cnt);
		for (k = 0; k < cnt; k++) {
			wr32(p + n, o->sack[k][0]);
			wr32(p + n + 4, o->sack[k][1]);
			n += 8;
		}
	}
	return n;
}
