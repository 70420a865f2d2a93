/* io.h -- emitting events: the C counterpart of socket.io's io.emit().
 *
 * socket.io apps broadcast with io.emit(name, data); emitcgi has no sockets
 * to write to, only the event log.  io_emit() commits one event to it, and
 * every hub of every process sharing the database then delivers it to its
 * SSE streams and long-polls (the store's commit hook pokes the notify
 * file, notify.h, which wakes them all).  So "emitted" means "committed":
 * an event whose transaction commits reaches every waiting client, in log
 * order, once.
 *
 *   rc = io_emit(st, "chat", "{\"text\":\"hi\"}");
 *   rc = io_emit(st, "user count", "%lld", (long long)n);
 *   rc = io_emit_user(st, "alice", n, true);
 *
 * Inside store_transaction() the event joins that transaction (it is
 * delivered only if the transaction commits, and after it); outside one it
 * is committed at once.  Both run on the caller's thread and connection and
 * may block for the database lock (EC_DB_BUSY past the busy timeout).
 *
 * Data is given printf-style and must expand to exactly one JSON text:
 * numbers, true/false/null and already-serialised JSON go in as they are;
 * a string from outside must be escaped by the caller (serialise it with
 * json-c and pass it with "%s").  The expansion is checked, not trusted:
 * anything else is EC_INVALID_JSON and nothing is appended.
 *
 * To add a helper for another event with a fixed shape, build its data in
 * one place and pass it to io_emit() with "%s", as io_emit_user() does.
 */
#ifndef EMITCGI_IO_H
#define EMITCGI_IO_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

struct store;

#define IO_EVENT_NAME_MAX 64             /* bytes, as POST /emit allows */
#define IO_DATA_MAX_BYTES (64u << 10)    /* the expanded data */

/* Appends event `event` with data printf(fmt, ...) to the log (see above).
 * event: 1..IO_EVENT_NAME_MAX printable ASCII bytes (it becomes an SSE
 * "event:" line), else EC_INVALID_EVENT.  Reserved names are allowed: the
 * server emits "user count" itself.  Errors: EC_INVALID_EVENT,
 * EC_INVALID_JSON, EC_DATA_TOO_LARGE (expansion past IO_DATA_MAX_BYTES),
 * EC_NOMEM, the store's errors.  Nothing is appended on error. */
enum ecode io_emit(struct store *st, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The "user" event of a presence change:
 * {"username":username,"currentUsers":current_users,"connected":connected},
 * built by store_user_event_data() like the store's own. */
enum ecode io_emit_user(struct store *st, const char *username,
			int64_t current_users, bool connected);

#endif
