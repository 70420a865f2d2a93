/* fcgi_record.c -- FastCGI record building and parsing (see fcgi_record.h).
 *
 * Pure: no I/O, no allocation except the capped tail buffer of
 * fcgi_record_feed().  The parser follows OpenBSD slowcgi's
 * parse_record(): look at the header, say how much one record takes, let
 * the caller move the bytes.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "fcgi_record.h"

const unsigned char fcgi_record_zeros[8];

unsigned fcgi_record_padding(size_t content_len)
{
	return (unsigned)((8 - (content_len & 7)) & 7);
}

unsigned fcgi_record_header(FCGI_Header *h, unsigned type, uint16_t request_id,
			    size_t content_len)
{
	unsigned pad = fcgi_record_padding(content_len);

	h->version = FCGI_VERSION_1;
	h->type = (unsigned char)type;
	h->requestIdB1 = (unsigned char)(request_id >> 8);
	h->requestIdB0 = (unsigned char)(request_id & 0xff);
	h->contentLengthB1 = (unsigned char)((content_len >> 8) & 0xff);
	h->contentLengthB0 = (unsigned char)(content_len & 0xff);
	h->paddingLength = (unsigned char)pad;
	h->reserved = 0;
	return pad;
}

void fcgi_record_end_request(FCGI_EndRequestRecord *r, uint16_t request_id,
			     uint32_t app_status, unsigned protocol_status)
{
	fcgi_record_header(&r->header, FCGI_END_REQUEST, request_id,
			   sizeof(r->body));
	r->body.appStatusB3 = (unsigned char)(app_status >> 24);
	r->body.appStatusB2 = (unsigned char)(app_status >> 16);
	r->body.appStatusB1 = (unsigned char)(app_status >> 8);
	r->body.appStatusB0 = (unsigned char)app_status;
	r->body.protocolStatus = (unsigned char)protocol_status;
	memset(r->body.reserved, 0, sizeof(r->body.reserved));
}

void fcgi_record_end(unsigned char out[FCGI_RECORD_END_BYTES],
		     uint16_t request_id)
{
	FCGI_Header h;
	FCGI_EndRequestRecord r;

	fcgi_record_header(&h, FCGI_STDOUT, request_id, 0);
	fcgi_record_end_request(&r, request_id, 0, FCGI_REQUEST_COMPLETE);
	memcpy(out, &h, sizeof(h));
	memcpy(out + sizeof(h), &r, sizeof(r));
}

enum ecode fcgi_record_append_stdout(struct buf *out, uint16_t request_id,
				     const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t old_len = out->len;
	enum ecode rc = EC_OK;

	while (len > 0) {
		size_t n = len < FCGI_RECORD_CONTENT_MAX
				   ? len
				   : FCGI_RECORD_CONTENT_MAX;
		FCGI_Header h;
		unsigned pad =
			fcgi_record_header(&h, FCGI_STDOUT, request_id, n);

		if ((rc = buf_add(out, &h, sizeof(h))) != EC_OK ||
		    (rc = buf_add(out, p, n)) != EC_OK ||
		    (rc = buf_add(out, fcgi_record_zeros, pad)) != EC_OK)
			goto out;
		p += n;
		len -= n;
	}
out:
	if (rc != EC_OK && out->data) {
		out->len = old_len;
		out->data[old_len] = '\0';
	}
	return rc;
}

enum ecode fcgi_record_append_end(struct buf *out, uint16_t request_id)
{
	unsigned char end[FCGI_RECORD_END_BYTES];

	fcgi_record_end(end, request_id);
	return buf_add(out, end, sizeof(end));
}

long fcgi_record_parse(const void *data, size_t len, struct fcgi_record *rec)
{
	const unsigned char *p = data;
	size_t total;

	if (len < FCGI_HEADER_LEN)
		return 0;
	/* Judge the header at once, so garbage is refused without waiting
	 * for the up to 64 KiB it claims to carry. */
	if (p[0] != FCGI_VERSION_1 || p[1] == 0)
		return -1;
	rec->type = p[1];
	rec->request_id = (uint16_t)(p[2] << 8 | p[3]);
	rec->content_len = (uint16_t)(p[4] << 8 | p[5]);
	rec->padding_len = p[6];
	total = FCGI_HEADER_LEN + (size_t)rec->content_len + rec->padding_len;
	if (len < total)
		return 0;
	rec->content = p + FCGI_HEADER_LEN;
	return (long)total;
}

/* Bytes one record takes, from its header (hdr holds at least 8). */
static size_t record_total(const unsigned char *hdr)
{
	return FCGI_HEADER_LEN + ((size_t)hdr[4] << 8 | hdr[5]) + hdr[6];
}

enum ecode fcgi_record_feed(struct buf **tail, const void *data, size_t len,
			    fcgi_record_fn *fn, void *ctx)
{
	const unsigned char *p = data;
	struct fcgi_record rec;
	struct buf *t = *tail;
	enum ecode rc;
	long n;

	/* First complete the record held from last time, taking from the new
	 * bytes only what it lacks: the tail never holds more than one. */
	if (t && t->len > 0) {
		size_t want, take;

		if (t->len < FCGI_HEADER_LEN) {
			take = FCGI_HEADER_LEN - t->len;
			if (take > len)
				take = len;
			if ((rc = buf_add(t, p, take)) != EC_OK)
				return rc;
			p += take;
			len -= take;
			if (t->len < FCGI_HEADER_LEN)
				return EC_OK;
		}
		want = record_total((const unsigned char *)t->data);
		take = want - t->len;
		if (take > len)
			take = len;
		if ((rc = buf_add(t, p, take)) != EC_OK)
			return rc;
		p += take;
		len -= take;
		n = fcgi_record_parse(t->data, t->len, &rec);
		if (n < 0)
			return EC_INVALID_PARAM;
		if (n == 0)
			return EC_OK;
		buf_reset(t);
		if (!fn(ctx, &rec))
			return EC_OK;
	}
	while ((n = fcgi_record_parse(p, len, &rec)) > 0) {
		p += n;
		len -= (size_t)n;
		if (!fn(ctx, &rec))
			return EC_OK;
	}
	if (n < 0)
		return EC_INVALID_PARAM;
	if (len == 0)
		return EC_OK;
	if (!t) {
		t = malloc(sizeof(*t));
		if (!t)
			return EC_NOMEM;
		buf_init(t, FCGI_RECORD_MAX_BYTES);
		*tail = t;
	}
	return buf_add(t, p, len);
}

void fcgi_record_tail_free(struct buf **tail)
{
	if (*tail) {
		buf_release(*tail);
		free(*tail);
		*tail = NULL;
	}
}

/* ---- the client side ---- */

/* Cuts out back to old_len after a failed append. */
static void record_undo(struct buf *out, size_t old_len)
{
	if (out->data) {
		out->len = old_len;
		out->data[old_len] = '\0';
	}
}

enum ecode fcgi_record_append(struct buf *out, unsigned type,
			      uint16_t request_id, const void *data, size_t len)
{
	size_t old_len = out->len;
	FCGI_Header h;
	unsigned pad;
	enum ecode rc;

	if (len > FCGI_RECORD_CONTENT_MAX)
		return EC_TOO_LARGE;
	pad = fcgi_record_header(&h, type, request_id, len);
	if ((rc = buf_add(out, &h, sizeof(h))) != EC_OK ||
	    (len && (rc = buf_add(out, data, len)) != EC_OK) ||
	    (rc = buf_add(out, fcgi_record_zeros, pad)) != EC_OK)
		record_undo(out, old_len);
	return rc;
}

enum ecode fcgi_record_append_begin(struct buf *out, uint16_t request_id,
				    unsigned role, unsigned flags)
{
	FCGI_BeginRequestBody body = {
		.roleB1 = (unsigned char)(role >> 8),
		.roleB0 = (unsigned char)role,
		.flags = (unsigned char)flags,
	};

	return fcgi_record_append(out, FCGI_BEGIN_REQUEST, request_id, &body,
				  sizeof(body));
}

/* A name-value length: one byte below 128, else four, top bit set. */
static enum ecode record_param_len(struct buf *out, size_t len)
{
	unsigned char l4[4] = { (unsigned char)((len >> 24) | 0x80),
				(unsigned char)(len >> 16),
				(unsigned char)(len >> 8), (unsigned char)len };
	unsigned char l1 = (unsigned char)len;

	return len < 128 ? buf_add(out, &l1, 1) : buf_add(out, l4, 4);
}

enum ecode fcgi_record_append_param(struct buf *out, const char *name,
				    size_t name_len, const char *value,
				    size_t value_len)
{
	size_t old_len = out->len;
	enum ecode rc;

	if (name_len > 0x7fffffffu || value_len > 0x7fffffffu)
		return EC_TOO_LARGE;
	if ((rc = record_param_len(out, name_len)) != EC_OK ||
	    (rc = record_param_len(out, value_len)) != EC_OK ||
	    (rc = buf_add(out, name, name_len)) != EC_OK ||
	    (rc = buf_add(out, value, value_len)) != EC_OK)
		record_undo(out, old_len);
	return rc;
}
