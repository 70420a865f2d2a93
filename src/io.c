/* io.c -- the event-append module (io.h): every event goes in here.
 *
 * Owns the rules for what may enter the log -- the event-name rule, the
 * reserved names, the JSON check of data (json_check(), RFC 8259) and the
 * size limits -- and nothing else: the append itself is the store's
 * primitive store_event_append(), which checks nothing, joins an open
 * store_transaction() or commits alone.  Event shapes belong to their
 * owners: presence.c builds "user", api.c hands over a client's data and
 * io_emit_client() wraps it.
 *
 * Invariant: nothing is appended unless the name and the whole data are
 * valid.  Event times are the caller's or the wall clock (clock.h): the
 * log keeps them for information only, order is the ids'.
 *
 * May call: store.h, json.h, buf.h, clock.h, log.h.  Never builds HTTP.
 */
#include "autoconfig.h"

#include <stdarg.h>
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "clock.h"
#include "io.h"
#include "json.h"
#include "log.h"
#include "store.h"

/* SPEC: names used by emitcgi itself or by the client library. */
const char *const io_reserved_events[] = {
	"user count", "user", "reset", "connect", "disconnect", "error", NULL,
};

/* SSE (and so the log) cannot carry a name with CR/LF in it. */
enum ecode io_check_event(const char *event)
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

enum ecode io_check_client_event(const char *event)
{
	enum ecode rc = io_check_event(event);

	if (rc != EC_OK)
		return rc;
	for (size_t i = 0; io_reserved_events[i]; i++)
		if (strcmp(event, io_reserved_events[i]) == 0)
			return EC_RESERVED_EVENT;
	return EC_OK;
}

enum ecode io_append(struct store *st, const char *event, const char *data_json,
		     int64_t now_ms, int64_t *id)
{
	size_t len;
	enum ecode rc;

	if ((rc = io_check_event(event)) != EC_OK) {
		log_error("io: invalid event name");
		return rc;
	}
	if (!data_json)
		return EC_INVALID_JSON;
	len = strlen(data_json);
	if (len > IO_DATA_MAX_BYTES) {
		log_error("io %s: data past %u bytes", event,
			  IO_DATA_MAX_BYTES);
		return EC_DATA_TOO_LARGE;
	}
	/* Not json-c's strict mode: it lets NaN, "1." and raw control bytes
	 * through (json.h). */
	if (json_check(data_json, len) != EC_OK) {
		log_error("io %s: data is not one JSON text", event);
		return EC_INVALID_JSON;
	}
	return store_event_append(st, event, data_json, now_ms, id);
}

enum ecode io_emit(struct store *st, const char *event, const char *fmt, ...)
{
	struct buf data;
	va_list ap;
	enum ecode rc;

	if ((rc = io_check_event(event)) != EC_OK) {
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
	/* A NUL from a %c or %s would cut the text the check sees. */
	if (strlen(buf_str(&data)) != data.len) {
		rc = EC_INVALID_JSON;
		goto out;
	}
	rc = io_append(st, event, buf_str(&data), clock_wall_ms(), NULL);
out:
	buf_release(&data);
	return rc;
}

/* json_object_object_add() takes val, also when it fails. */
static enum ecode io_add(struct json_object *obj, const char *key,
			 struct json_object *val, bool may_be_null)
{
	if (!val && !may_be_null)
		return EC_NOMEM;
	if (json_object_object_add(obj, key, val) != 0) {
		json_object_put(val);
		return EC_NOMEM;
	}
	return EC_OK;
}

enum ecode io_emit_client(struct store *st, const char *username,
			  const char *event, struct json_object *data,
			  int64_t *id)
{
	struct json_object *message = NULL;
	const char *text;
	size_t text_len;
	enum ecode rc;

	if ((rc = io_check_client_event(event)) != EC_OK)
		return rc;
	text = json_object_to_json_string_length(
		data, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
		&text_len);
	if (!text)
		return EC_NOMEM;
	if (text_len > IO_CLIENT_DATA_MAX_BYTES)
		return EC_DATA_TOO_LARGE;
	if (!(message = json_object_new_object()))
		return EC_NOMEM;
	/* data may be JSON null, which json-c represents as NULL. */
	if ((rc = io_add(message, "username",
			 json_object_new_string(username ? username : ""),
			 false)) != EC_OK ||
	    (rc = io_add(message, "message", json_object_get(data), true)) !=
		    EC_OK)
		goto out;
	text = json_object_to_json_string_ext(
		message,
		JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!text) {
		rc = EC_NOMEM;
		goto out;
	}
	rc = io_append(st, event, text, clock_wall_ms(), id);
out:
	json_object_put(message);
	return rc;
}
