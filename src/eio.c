/* eio.c -- Engine.IO protocol v4 packets and payloads (see eio.h).
 *
 * May call: buf.h.  Pure: no I/O, no global state.
 */
#include "autoconfig.h"

#include <string.h>

#include "eio.h"

static const char *const eio_messages[] = {
	[EIO_ERR_TRANSPORT] = "Transport unknown",
	[EIO_ERR_SID] = "Session ID unknown",
	[EIO_ERR_METHOD] = "Bad handshake method",
	[EIO_ERR_REQUEST] = "Bad request",
	[EIO_ERR_FORBIDDEN] = "Forbidden",
	[EIO_ERR_VERSION] = "Unsupported protocol version",
};

const char *eio_error_message(enum eio_error code)
{
	if ((unsigned)code >= sizeof(eio_messages) / sizeof(eio_messages[0]))
		return "Bad request";
	return eio_messages[code];
}

enum ecode eio_error_json(struct buf *out, enum eio_error code)
{
	return buf_printf(out, "{\"code\":%d,\"message\":\"%s\"}", (int)code,
			  eio_error_message(code));
}

static bool eio_is_b64(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/* Standard base64 with padding, as the client's encodePacket writes it. */
static bool eio_b64_valid(const char *s, size_t len)
{
	size_t i, pad = 0;

	if (len % 4 != 0)
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] == '=') {
			if (i < len - 2)
				return false;
			pad++;
		} else if (pad || !eio_is_b64(s[i])) {
			return false;
		}
	}
	return true;
}

/* One packet of a payload: s[0..len). */
static enum ecode eio_packet_read(const char *s, size_t len,
				  struct eio_packet *p)
{
	if (len == 0)
		return EC_INVALID_PARAM;
	if (s[0] == 'b') {
		if (!eio_b64_valid(s + 1, len - 1))
			return EC_INVALID_PARAM;
		p->type = EIO_MESSAGE;
		p->binary = true;
	} else {
		if (s[0] < EIO_OPEN || s[0] > EIO_NOOP)
			return EC_INVALID_PARAM;
		p->type = s[0];
		p->binary = false;
	}
	p->data = s + 1;
	p->len = len - 1;
	return EC_OK;
}

enum ecode eio_payload_parse(const char *data, size_t len, eio_packet_fn *fn,
			     void *ctx)
{
	struct eio_packet p;
	enum ecode rc;

	for (int pass = 0; pass < (fn ? 2 : 1); pass++) {
		size_t start = 0;

		for (;;) {
			const char *sep =
				len > start ? memchr(data + start,
						     EIO_SEPARATOR, len - start)
					    : NULL;
			size_t end = sep ? (size_t)(sep - data) : len;

			if ((rc = eio_packet_read(data + start, end - start,
						  &p)) != EC_OK)
				return rc;
			if (pass == 1 && (rc = fn(ctx, &p)) != EC_OK)
				return rc;
			if (!sep)
				break;
			start = end + 1;
		}
	}
	return EC_OK;
}

enum ecode eio_payload_add(struct buf *out, const char *packet, size_t len)
{
	enum ecode rc = EC_OK;

	if (out->len > 0)
		rc = buf_addc(out, EIO_SEPARATOR);
	return rc != EC_OK ? rc : buf_add(out, packet, len);
}

enum ecode eio_open_packet(struct buf *out, const char *sid, int ping_interval,
			   int ping_timeout, int max_payload)
{
	return buf_printf(
		out,
		"0{\"sid\":\"%s\",\"upgrades\":[],\"pingInterval\":%d,"
		"\"pingTimeout\":%d,\"maxPayload\":%d}",
		sid, ping_interval, ping_timeout, max_payload);
}

bool eio_sid_valid(const char *sid)
{
	size_t len = sid ? strlen(sid) : 0;

	if (len == 0 || len > 32)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = sid[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return true;
}
