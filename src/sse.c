/* sse.c -- Server-Sent-Events framing (see sse.h).
 *
 * The wire format is WHATWG HTML, "Server-sent events", 9.2.5: lines end in
 * LF, a frame ends with an empty line, "data:" lines of one event are joined
 * with LF by the browser, and one space after the colon is dropped.  So:
 * every line break in data (CR, LF or CRLF, the three the parser knows)
 * starts a new "data: " line, which round-trips the text exactly.  The
 * event name goes on one "event:" line: should a name from the log hold CR
 * or LF (emitcgi never writes one), each becomes a space rather than
 * breaking the frame.
 *
 * Each function appends one whole frame, or (on error: EC_TOO_LARGE at the
 * buf's cap, EC_NOMEM) leaves out as it was.
 */
#include "autoconfig.h"

#include <inttypes.h>
#include <string.h>

#include "sse.h"

/* Drops whatever a failed format left after len. */
static void sse_truncate(struct buf *out, size_t len)
{
	if (out->data) {
		out->len = len;
		out->data[len] = '\0';
	}
}

enum ecode sse_format_retry(struct buf *out, int retry_ms)
{
	return buf_printf(out, "retry: %d\n\n", retry_ms);
}

enum ecode sse_format_ping(struct buf *out)
{
	return buf_adds(out, ": ping\n\n");
}

enum ecode sse_format_reset(struct buf *out)
{
	return buf_adds(out, "event: reset\ndata: {}\n\n");
}

static enum ecode sse_add_name(struct buf *out, const char *name)
{
	enum ecode rc;
	size_t n;

	while (*name) {
		n = strcspn(name, "\r\n");
		if ((rc = buf_add(out, name, n)) != EC_OK)
			return rc;
		name += n;
		if (*name) {
			if ((rc = buf_addc(out, ' ')) != EC_OK)
				return rc;
			name++;
		}
	}
	return EC_OK;
}

static enum ecode sse_add_data(struct buf *out, const char *data)
{
	enum ecode rc;
	size_t n;

	for (;;) {
		n = strcspn(data, "\r\n");
		if ((rc = buf_add(out, "data: ", 6)) != EC_OK ||
		    (rc = buf_add(out, data, n)) != EC_OK ||
		    (rc = buf_addc(out, '\n')) != EC_OK)
			return rc;
		data += n;
		if (!*data)
			return EC_OK;
		if (data[0] == '\r' && data[1] == '\n')
			data++;
		data++;
	}
}

enum ecode sse_format_event(struct buf *out, int64_t id, const char *name,
			    const char *data_json)
{
	size_t old_len = out->len;
	enum ecode rc;

	if ((rc = buf_printf(out, "id: %" PRId64 "\nevent: ", id)) != EC_OK ||
	    (rc = sse_add_name(out, name)) != EC_OK ||
	    (rc = buf_addc(out, '\n')) != EC_OK ||
	    (rc = sse_add_data(out, data_json)) != EC_OK ||
	    (rc = buf_addc(out, '\n')) != EC_OK)
		sse_truncate(out, old_len);
	return rc;
}
