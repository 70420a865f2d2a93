/* io.c -- io_emit(): printf-style data, checked, appended to the event log.
 *
 * The work is the store's (store_event_append(): one JSON text, joined to
 * an open store_transaction() or committed alone); this file adds what an
 * emitter in C needs on top: the data formatted into a capped buffer, and
 * an event name checked so that it can become an SSE "event:" line.
 *
 * Invariant: nothing is appended unless the name and the whole expanded
 * data are valid.  Event times are the wall clock (clock.h): the log keeps
 * them for information only, order is the ids'.
 */
#include "autoconfig.h"

#include <stdarg.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "io.h"
#include "log.h"
#include "store.h"

/* SSE (and so the log) cannot carry a name with CR/LF in it; printable
 * ASCII is what POST /emit accepts too. */
static enum ecode io_check_name(const char *event)
{
	size_t len;

	if (!event)
		return EC_INVALID_EVENT;
	len = strlen(event);
	if (len < 1 || len > IO_EVENT_NAME_MAX)
		return EC_INVALID_EVENT;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)event[i] < 0x20 ||
		    (unsigned char)event[i] > 0x7e)
			return EC_INVALID_EVENT;
	return EC_OK;
}

enum ecode io_emit(struct store *st, const char *event, const char *fmt, ...)
{
	struct buf data;
	va_list ap;
	enum ecode rc;

	if ((rc = io_check_name(event)) != EC_OK) {
		log_error("io_emit: invalid event name");
		return rc;
	}
	if (!fmt)
		return EC_INVALID_JSON;
	buf_init(&data, IO_DATA_MAX_BYTES);
	va_start(ap, fmt);
	rc = buf_vprintf(&data, fmt, ap);
	va_end(ap);
	if (rc == EC_TOO_LARGE) {
		log_error("io_emit %s: data past %u bytes", event,
			  IO_DATA_MAX_BYTES);
		rc = EC_DATA_TOO_LARGE;
		goto out;
	}
	if (rc != EC_OK)
		goto out;
	/* A NUL from a %c or %s would cut the text the store sees. */
	if (strlen(buf_str(&data)) != data.len) {
		rc = EC_INVALID_JSON;
		goto out;
	}
	rc = store_event_append(st, event, buf_str(&data), clock_wall_ms(),
				NULL);
	if (rc == EC_INVALID_JSON)
		log_error("io_emit %s: data is not one JSON text", event);
out:
	buf_release(&data);
	return rc;
}

enum ecode io_emit_user(struct store *st, const char *username,
			int64_t current_users, bool connected)
{
	struct buf data;
	enum ecode rc;

	buf_init(&data, IO_DATA_MAX_BYTES);
	rc = store_user_event_data(&data, username ? username : "",
				   current_users, connected);
	if (rc == EC_OK)
		rc = io_emit(st, STORE_EVENT_USER, "%s", buf_str(&data));
	buf_release(&data);
	return rc;
}
