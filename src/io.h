/* io.h -- appending events: the one way into the event log.
 *
 * socket.io apps broadcast with io.emit(name, data); emitcgi has no sockets
 * to write to, only the event log.  Every event -- a login's pair
 * (login.c), a presence change's pair (presence.c), a client's POST /emit
 * (api.c) -- is appended through this module, which owns the rules for
 * what may be appended: the name, the data and their sizes.  Then every hub
 * of every process sharing the database delivers it to its SSE streams and
 * long-polls (the store's commit hook pokes the notify file, notify.h).  So
 * "emitted" means "committed": an event whose transaction commits reaches
 * every waiting client, in log order, once.
 *
 *   rc = io_emit(st, "chat", "{\"text\":\"hi\"}");       printf-style data
 *   rc = io_emit(st, "user count", "%lld", (long long)n);
 *   rc = io_append(st, "user", json_text, now_ms, &id);  data as a string
 *   rc = io_check_client_event(name);                    POST /emit's name
 *   rc = io_emit_client(st, username, name, data, &id);  POST /emit
 *
 * The rules (each checked before anything is appended):
 * - a name is 1..IO_EVENT_NAME_MAX printable ASCII bytes (0x20-0x7E): it
 *   becomes an SSE "event:" line.  Else EC_INVALID_EVENT.
 * - a client may not use the reserved names (io_reserved_events: the
 *   server's own and the client library's); EC_RESERVED_EVENT.
 * - data is exactly one RFC 8259 JSON text (json_check(), json.h: stricter
 *   than json-c's strict mode, which takes NaN, "1." or control bytes in
 *   strings), nesting at most JSON_MAX_DEPTH.  Else EC_INVALID_JSON.
 * - data is at most IO_DATA_MAX_BYTES; a client's data at most
 *   IO_CLIENT_DATA_MAX_BYTES serialised.  Else EC_DATA_TOO_LARGE.
 *
 * Inside store_transaction() the event joins that transaction (it is
 * delivered only if the transaction commits, and after it); outside one it
 * is committed at once.  All run on the caller's thread and connection and
 * may block for the database lock (EC_DB_BUSY past the busy timeout).
 *
 * To add a helper for an event with a fixed shape, build its data in the
 * module that owns the shape and pass it to io_append(), as presence.c
 * does for "user".  To change a rule, change it here only:
 * store_event_append() (store.h) checks nothing.
 */
#ifndef EMITCGI_IO_H
#define EMITCGI_IO_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct json_object;
struct store;

#define IO_EVENT_NAME_MAX 64	      /* bytes */
#define IO_DATA_MAX_BYTES (64u << 10) /* any event's data */
/* A client's data (POST /emit), serialised compactly, before it is wrapped
 * in {"username":..,"message":..}. */
#define IO_CLIENT_DATA_MAX_BYTES 4096

/* Names a client may not emit (SPEC): emitcgi's own and the client
 * library's.  NULL-terminated. */
extern const char *const io_reserved_events[];

/* EC_OK or EC_INVALID_EVENT (the name rule above; NULL is invalid). */
enum ecode io_check_event(const char *event);

/* io_check_event(), then EC_RESERVED_EVENT for a reserved name. */
enum ecode io_check_client_event(const char *event);

/* Appends event `event` with data data_json (a NUL-terminated JSON text)
 * at now_ms; *id (may be NULL) gets its id.  Errors: EC_INVALID_EVENT,
 * EC_DATA_TOO_LARGE, EC_INVALID_JSON, the store's errors.  Reserved names
 * are allowed: the server emits "user count" itself.  Nothing is appended
 * on error. */
enum ecode io_append(struct store *st, const char *event, const char *data_json,
		     int64_t now_ms, int64_t *id);

/* io_append() of the data printf(fmt, ...) at the wall clock.  numbers,
 * true/false/null and already-serialised JSON go in as they are; a string
 * from outside must be escaped by the caller (serialise it with json-c and
 * pass it with "%s").  Also EC_DATA_TOO_LARGE when the expansion passes
 * IO_DATA_MAX_BYTES, EC_INVALID_JSON when it holds a NUL, EC_NOMEM. */
enum ecode io_emit(struct store *st, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A client's emit (POST /emit): io_check_client_event(event), data
 * (json-c, NULL is JSON null) at most IO_CLIENT_DATA_MAX_BYTES serialised,
 * appended as {"username":username,"message":data} at the wall clock; *id
 * gets the id.  Errors as above, EC_NOMEM. */
enum ecode io_emit_client(struct store *st, const char *username,
			  const char *event, struct json_object *data,
			  int64_t *id);

#endif
