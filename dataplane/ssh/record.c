#include "dataplane/ssh/record.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "crypto/buf.h"
#include "crypto/err.h"
#include "crypto/secmem.h"
#include "dataplane/ssh/msg.h"

/* Before the first NEWKEYS: no cipher, RFC 4253's minimum block of 8, no MAC. */
#define PLAIN_BLOCK 8
#define MIN_PADDING 4
/* Scratch in front of the receive buffer, a cache line keeps it aligned. */
#define ST_RX_HEADROOM 64

static uint32_t max_total(const struct st_record *r)
{
	return 4 + r->max_packet + ST_MAC_MAX_LEN;
}

int st_record_init(struct st_record *r, const struct st_crypto_backend *be, uint32_t max_packet)
{
	memset(r, 0, sizeof(*r));
	if (max_packet == 0)
		max_packet = ST_RECORD_DEFAULT_MAX_PACKET;
	if (max_packet < ST_RECORD_MIN_MAX_PACKET)
		max_packet = ST_RECORD_MIN_MAX_PACKET;
	r->be = be;
	r->max_packet = max_packet;
	/* Room for one packet of the largest size plus a partial next one, so that
	 * a whole packet always fits after a compaction. */
	r->rxcap = 2 * max_total(r);
	/* ST_RX_HEADROOM bytes in front: the backend's scratch (backend.h). */
	if ((r->rxmem = malloc(ST_RX_HEADROOM + r->rxcap)) == NULL)
		return ST_ERR_ALLOC;
	r->rxbuf = r->rxmem + ST_RX_HEADROOM;
	r->pad_used = sizeof(r->pad_pool);
	return ST_OK;
}

static void dir_free(struct st_record_dir *d)
{
	st_crypto_dir_fini(&d->crypto);
	st_wipe(&d->next, sizeof(d->next));
}

void st_record_free(struct st_record *r)
{
	dir_free(&r->tx);
	dir_free(&r->rx);
	if (r->rxmem != NULL) {
		st_wipe(r->rxmem, ST_RX_HEADROOM + r->rx_hwm); /* the rest was never written */
		free(r->rxmem);
	}
	st_wipe(r, sizeof(*r));
}

void st_record_set_strict(struct st_record *r)
{
	r->strict_kex = 1;
}

/* Switches a direction to its next keys (at NEWKEYS). */
static int dir_install(struct st_record *r, struct st_record_dir *d, int seal)
{
	int ret;

	if (!d->have_next)
		return ST_ERR_STATE;
	ret = st_crypto_dir_init(&d->crypto, r->be, &d->next, seal);
	st_wipe(&d->next, sizeof(d->next));
	d->have_next = 0;
	if (ret != ST_OK)
		return ret;
	d->keyed = 1;
	d->epoch_packets = 0;
	d->epoch_bytes = 0;
	if (r->strict_kex)
		d->seq = 0;
	return ST_OK;
}

static int keys_valid(const struct st_dir_keys *k)
{
	return k->cipher != NULL && (st_cipher_is_aead(k->cipher) || k->mac != NULL);
}

int st_record_set_next_keys(struct st_record *r, const struct st_dir_keys *tx,
			    const struct st_dir_keys *rx)
{
	if ((tx != NULL && !keys_valid(tx)) || (rx != NULL && !keys_valid(rx)))
		return ST_ERR_INVALID_ARGUMENT;
	if (tx != NULL) {
		r->tx.next = *tx;
		r->tx.have_next = 1;
	}
	if (rx != NULL) {
		r->rx.next = *rx;
		r->rx.have_next = 1;
		if (r->rx_wait_keys) {
			int ret = dir_install(r, &r->rx, 0);
			r->rx_wait_keys = 0;
			r->kex_active = 0;
			if (ret != ST_OK) {
				r->dead = ret;
				return ret;
			}
		}
	}
	return ST_OK;
}

/* ---- receive ---- */

void st_record_rx_space(struct st_record *r, uint8_t **p, size_t *n)
{
	if (r->rx_start == r->rx_end) {
		r->rx_start = r->rx_end = 0;
	} else if (r->rx_start > 0 && r->rxcap - r->rx_end < max_total(r)) {
		/* Not enough tail for a whole packet: move the partial one to the front. */
		memmove(r->rxbuf, r->rxbuf + r->rx_start, r->rx_end - r->rx_start);
		r->rx_end -= r->rx_start;
		r->rx_start = 0;
	}
	*p = r->rxbuf + r->rx_end;
	*n = r->rxcap - r->rx_end;
}

void st_record_rx_commit(struct st_record *r, size_t n)
{
	if (n > r->rxcap - r->rx_end)
		n = r->rxcap - r->rx_end;
	r->rx_end += (uint32_t)n;
	if (r->rx_end > r->rx_hwm)
		r->rx_hwm = r->rx_end;
}

void st_record_feed(struct st_record *r, const uint8_t *data, size_t len, size_t *used)
{
	uint8_t *p;
	size_t n;

	st_record_rx_space(r, &p, &n);
	if (n > len)
		n = len;
	if (n > 0)
		memcpy(p, data, n);
	st_record_rx_commit(r, n);
	*used = n;
}

/* Checks a packet_length against the cap and the block multiple. */
static int check_length(const struct st_record *r, uint32_t plen)
{
	const struct st_record_dir *d = &r->rx;
	uint32_t block = d->keyed ? d->crypto.block_size : PLAIN_BLOCK;
	uint32_t span = (d->keyed && d->crypto.len_in_aad) ? plen : plen + 4;

	if (plen > r->max_packet)
		return ST_ERR_PACKET_TOO_LARGE;
	/* padding_length byte, at least one payload byte, at least 4 padding bytes */
	if (plen < 1 + 1 + MIN_PADDING || span % block != 0)
		return ST_ERR_BAD_LENGTH;
	return ST_OK;
}

/* Checks padding and extracts the payload of an opened packet. */
static int packet_payload(const struct st_pkt *p, struct st_record_msg *m)
{
	uint32_t plen = p->len - 4;
	uint8_t padlen = p->buf[4];

	if (padlen < MIN_PADDING || (uint32_t)padlen + 1 >= plen)
		return ST_ERR_PADDING;
	m->payload = p->buf + ST_RECORD_PAYLOAD_OFFSET;
	m->len = plen - 1 - padlen;
	m->seq = p->seq;
	return ST_OK;
}

static int fail(struct st_record *r, int err)
{
	r->dead = err;
	return err;
}

int st_record_read(struct st_record *r, struct st_record_msg *msgs, unsigned max, unsigned *nout)
{
	struct st_pkt pk[ST_RECORD_BURST];
	struct st_record_dir *d = &r->rx;
	uint32_t pos = r->rx_start;
	unsigned n = 0, limit;
	int ret;

	if (r->dead != ST_OK)
		return r->dead;
	*nout = 0;
	if (r->rx_wait_keys)
		return ST_OK;
	limit = max < ST_RECORD_BURST ? max : ST_RECORD_BURST;
	/* A key change may follow any packet during kex; MtE length decryption
	 * advances the keystream: both force one packet per call. */
	if (r->kex_active || (d->keyed && d->crypto.serial_open))
		limit = limit > 0 ? 1 : 0;

	while (n < limit) {
		uint32_t avail = r->rx_end - pos;
		uint32_t first = d->keyed ? d->crypto.first_len : 4;
		uint32_t tag = d->keyed ? d->crypto.tag_len : 0;
		uint32_t seq = d->seq + n;

		if (!r->cur_known) {
			uint32_t plen;
			if (avail < first)
				break;
			if (d->keyed)
				ret = r->be->open_length(&d->crypto, seq, r->rxbuf + pos, &plen);
			else
				plen = st_peek_u32(r->rxbuf + pos), ret = ST_OK;
			if (ret != ST_OK)
				return fail(r, ret);
			if ((ret = check_length(r, plen)) != ST_OK)
				return fail(r, ret);
			r->cur_plen = plen;
			r->cur_known = 1;
		}
		if (avail < 4 + r->cur_plen + tag)
			break;
		pk[n].buf = r->rxbuf + pos;
		pk[n].len = 4 + r->cur_plen;
		pk[n].seq = seq;
		pk[n].status = ST_OK;
		pk[n].segs = NULL; /* contiguous in the reassembly buffer */
		pk[n].nseg = 0;
		pos += 4 + r->cur_plen + tag;
		r->cur_known = 0;
		n++;
	}
	if (n == 0)
		return ST_OK;

	if (d->keyed && r->be->open_burst(&d->crypto, pk, (uint16_t)n) != n)
		return fail(r, ST_ERR_CRYPTO);

	for (unsigned i = 0; i < n; i++) {
		if (pk[i].status != ST_OK)
			return fail(r, pk[i].status);
		if ((ret = packet_payload(&pk[i], &msgs[i])) != ST_OK)
			return fail(r, ret);
		d->seq++;
		d->packets++;
		d->epoch_packets++;
		d->bytes += pk[i].len + (d->keyed ? d->crypto.tag_len : 0);
		d->epoch_bytes += pk[i].len;
		uint8_t type = msgs[i].payload[0];
		if (type == SSH_MSG_KEXINIT) {
			r->kex_active = 1;
		} else if (type == SSH_MSG_NEWKEYS) {
			/* Anything after it in this burst was opened with the old keys. */
			if (i + 1 != n)
				return fail(r, ST_ERR_STATE);
			if (!d->have_next) {
				r->rx_wait_keys = 1;
			} else {
				if ((ret = dir_install(r, d, 0)) != ST_OK)
					return fail(r, ret);
				r->kex_active = 0;
			}
		}
	}
	r->rx_start = pos;
	*nout = n;
	return ST_OK;
}

/* ---- send ---- */

static uint32_t tx_block(const struct st_record *r)
{
	return r->tx.keyed ? r->tx.crypto.block_size : PLAIN_BLOCK;
}

/* padding_length for a payload: total a block multiple, at least 4 bytes. */
static uint32_t pad_len(const struct st_record *r, uint32_t payload_len)
{
	uint32_t block = tx_block(r);
	uint32_t aad = r->tx.keyed && r->tx.crypto.len_in_aad;
	uint32_t base = 1 + payload_len + (aad ? 0 : 4);
	uint32_t pad = block - base % block;
	if (pad < MIN_PADDING)
		pad += block;
	return pad;
}

size_t st_record_seal_size(const struct st_record *r, size_t payload_len)
{
	uint32_t tag = r->tx.keyed ? r->tx.crypto.tag_len : 0;
	/* The padding may depend on keys that a NEWKEYS in the same burst installs:
	 * size for the largest block and tag in any suite. */
	if (tag < ST_MAC_MAX_LEN && r->tx.have_next)
		tag = ST_MAC_MAX_LEN;
	return ST_RECORD_PAYLOAD_OFFSET + payload_len + ST_CIPHER_MAX_BLOCK + MIN_PADDING + tag;
}

static int fill_padding(struct st_record *r, uint8_t *p, uint32_t n)
{
	while (n > 0) {
		if (r->pad_used == sizeof(r->pad_pool)) {
			if (RAND_bytes(r->pad_pool, sizeof(r->pad_pool)) != 1)
				return ST_ERR_CRYPTO;
			r->pad_used = 0;
		}
		uint32_t take = sizeof(r->pad_pool) - r->pad_used;
		if (take > n)
			take = n;
		memcpy(p, r->pad_pool + r->pad_used, take);
		r->pad_used += (uint16_t)take;
		p += take;
		n -= take;
	}
	return ST_OK;
}

/* Frames packets [0, n) with the current send keys; does not encrypt. */
static int frame(struct st_record *r, struct st_record_out *o, struct st_pkt *pk, unsigned n)
{
	uint32_t tag = r->tx.keyed ? r->tx.crypto.tag_len : 0;
	int ret;

	for (unsigned i = 0; i < n; i++) {
		uint32_t pad = pad_len(r, o[i].payload_len);
		uint32_t plen = 1 + o[i].payload_len + pad;
		o[i].buf[4] = (uint8_t)pad;
		st_poke_u32(o[i].buf, plen);
		if ((ret = fill_padding(r, o[i].buf + ST_RECORD_PAYLOAD_OFFSET + o[i].payload_len,
					pad)) != ST_OK)
			return ret;
		pk[i].buf = o[i].buf;
		pk[i].len = 4 + plen;
		pk[i].seq = r->tx.seq + i;
		pk[i].status = ST_OK;
		pk[i].segs = NULL;
		pk[i].nseg = 0;
		o[i].wire_len = 4 + plen + tag;
	}
	return ST_OK;
}

int st_record_seal(struct st_record *r, struct st_record_out *o, unsigned n)
{
	struct st_pkt pk[ST_RECORD_BURST];
	struct st_record_dir *d = &r->tx;
	unsigned i, have_newkeys = 0;
	int ret;

	if (r->dead != ST_OK)
		return r->dead;
	/* Validate everything first so that an error seals nothing. */
	for (i = 0; i < n; i++) {
		if (o[i].payload_len == 0 || o[i].payload_len > r->max_packet ||
		    o[i].cap < st_record_seal_size(r, o[i].payload_len))
			return ST_ERR_NO_SPACE;
		if (o[i].buf[ST_RECORD_PAYLOAD_OFFSET] == SSH_MSG_NEWKEYS)
			have_newkeys++;
	}
	if (have_newkeys > 1 || (have_newkeys && !d->have_next))
		return ST_ERR_STATE;

	while (n > 0) {
		/* A chunk ends at a NEWKEYS (inclusive) or at the burst size. */
		unsigned chunk = 0, switch_after = 0;
		while (chunk < n && chunk < ST_RECORD_BURST) {
			uint8_t type = o[chunk].buf[ST_RECORD_PAYLOAD_OFFSET];
			chunk++;
			if (type == SSH_MSG_KEXINIT)
				r->kex_active = 1;
			if (type == SSH_MSG_NEWKEYS) {
				switch_after = 1;
				break;
			}
		}
		if ((ret = frame(r, o, pk, chunk)) != ST_OK)
			return fail(r, ret);
		if (d->keyed && r->be->seal_burst(&d->crypto, pk, (uint16_t)chunk) != chunk)
			return fail(r, ST_ERR_CRYPTO);
		for (i = 0; i < chunk; i++) {
			d->seq++;
			d->packets++;
			d->epoch_packets++;
			d->bytes += o[i].wire_len;
			d->epoch_bytes += pk[i].len;
		}
		if (switch_after && (ret = dir_install(r, d, 1)) != ST_OK)
			return fail(r, ret);
		o += chunk;
		n -= chunk;
	}
	return ST_OK;
}

int st_record_send(struct st_record *r, const uint8_t *payload, size_t len, struct st_buf *out)
{
	struct st_record_out o;
	size_t need = st_record_seal_size(r, len);
	size_t start = out->len;
	/* The backend's scratch before the packet (backend.h): at the very start
	 * of the buffer, seal behind a gap and move the packet down after. */
	size_t gap = start < ST_CRYPTO_HEADROOM ? ST_CRYPTO_HEADROOM : 0;
	uint8_t *p;
	int ret;

	if (len == 0 || len > r->max_packet)
		return ST_ERR_NO_SPACE;
	if ((ret = st_buf_reserve(out, gap + need, &p)) != ST_OK)
		return ret;
	p += gap;
	memcpy(p + ST_RECORD_PAYLOAD_OFFSET, payload, len);
	o.buf = p;
	o.cap = need;
	o.payload_len = (uint32_t)len;
	o.wire_len = 0;
	if ((ret = st_record_seal(r, &o, 1)) != ST_OK) {
		out->len = start;
		return ret;
	}
	if (gap > 0)
		memmove(p - gap, p, o.wire_len);
	out->len = start + o.wire_len;
	return ST_OK;
}
