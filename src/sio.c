/* sio.c -- Socket.IO protocol v5 packets (see sio.h).
 *
 * May call: buf.h, json.h (string escaping).  Pure.
 */
#include "autoconfig.h"

#include <stdbool.h>
#include <string.h>

#include "json.h"
#include "sio.h"

static bool sio_digit(char c)
{
	return c >= '0' && c <= '9';
}

enum ecode sio_parse(const char *s, size_t len, struct sio_packet *out)
{
	size_t i = 1;

	memset(out, 0, sizeof(*out));
	out->nsp = "/";
	out->nsp_len = 1;
	out->ack_id = -1;
	if (len == 0 || s[0] < '0' || s[0] > '6')
		return EC_INVALID_PARAM;
	out->type = (enum sio_type)(s[0] - '0');
	if (out->type == SIO_BINARY_EVENT || out->type == SIO_BINARY_ACK) {
		int n = 0;

		if (i >= len || !sio_digit(s[i]))
			return EC_INVALID_PARAM;
		while (i < len && sio_digit(s[i]) && n < 100000)
			n = n * 10 + (s[i++] - '0');
		if (i >= len || s[i] != '-')
			return EC_INVALID_PARAM;
		i++;
		out->attachments = n;
	}
	if (i < len && s[i] == '/') {
		/* Up to the ',' or, as the reference parser reads it ("40/x"),
		 * to the end. */
		const char *comma = memchr(s + i, ',', len - i);
		size_t end = comma ? (size_t)(comma - s) : len;

		out->nsp = s + i;
		out->nsp_len = end - i;
		i = comma ? end + 1 : len;
	}
	if (i < len && sio_digit(s[i])) {
		int64_t id = 0;

		while (i < len && sio_digit(s[i])) {
			id = id * 10 + (s[i++] - '0');
			if (id > SIO_ACK_ID_MAX)
				return EC_INVALID_PARAM;
		}
		out->ack_id = id;
	}
	if (i < len) {
		out->data = s + i;
		out->data_len = len - i;
	}
	return EC_OK;
}

enum ecode sio_connect_ok(struct buf *out, const char *sock, const char *pid)
{
	return buf_printf(out, "0{\"sid\":\"%s\",\"pid\":\"%s\"}", sock, pid);
}

enum ecode sio_connect_error(struct buf *out, const char *nsp, size_t nsp_len,
			     const char *message)
{
	enum ecode rc = buf_addc(out, '0' + SIO_CONNECT_ERROR);

	if (rc == EC_OK && nsp && !(nsp_len == 1 && nsp[0] == '/') &&
	    ((rc = buf_add(out, nsp, nsp_len)) != EC_OK ||
	     (rc = buf_addc(out, ',')) != EC_OK))
		return rc;
	if (rc == EC_OK)
		rc = buf_adds(out, "{\"message\":");
	if (rc == EC_OK)
		rc = json_append_string(out, message, strlen(message));
	return rc != EC_OK ? rc : buf_addc(out, '}');
}

enum ecode sio_event(struct buf *out, int64_t id, const char *name,
		     const char *data_json)
{
	enum ecode rc = buf_adds(out, "2[");

	if (rc == EC_OK)
		rc = json_append_string(out, name, strlen(name));
	if (rc == EC_OK)
		rc = buf_printf(out, ",%s,\"%lld\"]", data_json, (long long)id);
	return rc;
}

enum ecode sio_ack(struct buf *out, int64_t ack_id, const char *args_json)
{
	return buf_printf(out, "3%lld[%s]", (long long)ack_id, args_json);
}
