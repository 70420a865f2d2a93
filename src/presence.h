/* presence.h -- when a session counts as online, and what that emits.
 *
 * The policy of SPEC "Semantics", all of it: a session is online at login
 * (login_connect(), login.h), and again whenever a signed-in client streams
 * or polls (presence_seen()).  It goes offline at logout
 * (presence_logout()), at expiry, or after idle_ms
 * (EMITCGI_PRESENCE_TIMEOUT) with no open stream and no poll
 * (presence_tick(), run about once a second by the housekeeping thread with
 * the sessions that have waiters parked in this process).
 *
 * Every change of the number of online sessions commits, in the same
 * transaction, a "user count" event (data: the new number) and right after
 * it a "user" event ({"username","currentUsers","connected"}), so the
 * number in every "user count" event is the count at its commit.  One
 * transaction with several changes (reap, batch touch) appends one pair
 * per session that changes, each with the count at that point.
 *
 *   presence_seen(st, &session, idle_ms, now, &c)   per stream or poll
 *   presence_tick(st, parked, n, idle_ms, now, &changes, ended, &n_ended)
 *   presence_logout(st, sid, &c)                    POST /logout
 *
 * Each change is one store_transaction() (store.h) over the store's
 * primitives; the events go in through io_append() (io.h).  To keep writes
 * off the hot path, presence_seen() writes only when the session is
 * offline or its last_seen is older than idle_ms / 4.
 * Not thread-safe beyond what the given store connection is.
 */
#ifndef EMITCGI_PRESENCE_H
#define EMITCGI_PRESENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"
#include "store.h"

#define PRESENCE_EVENT_USER_COUNT "user count"
#define PRESENCE_EVENT_USER "user"

/* What a presence change did. */
struct presence_change {
	bool changed; /* a user count + user event pair was committed */
	int64_t current_users; /* online sessions after the transaction */
	int64_t event_id;      /* id of the "user count" event, 0 if !changed */
};

/* A client of session s streams or polls now.  out may be NULL.  Nothing
 * is written (out->current_users is -1) for a session online and seen
 * within idle_ms / 4; else as presence_touch().  EC_UNAUTHORIZED when the
 * session has ended meanwhile (logout, expiry). */
enum ecode presence_seen(struct store *st, const struct store_session *s,
			 int64_t idle_ms, int64_t now_ms,
			 struct presence_change *out);
/* Whether presence_seen() would write nothing for a session that is
 * online (or not) and last seen at last_seen_ms: the one test, also for
 * a caller that answers a poll without the store (issue 8, conn_fast.c). */
bool presence_seen_skips(bool online, int64_t last_seen_ms, int64_t idle_ms,
			 int64_t now_ms);

/* Touches the parked sessions (ids may repeat; n may be 0), then takes
 * offline the idle and expired ones.  *changes (may be NULL) counts
 * sessions that went online or offline.  Parked ids whose session has
 * ended (logout, expiry) go to ended (room for n; may be NULL), so that
 * the caller can end their waiters.  If the touch fails nothing is reaped
 * (it might reap exactly the parked sessions). */
enum ecode presence_tick(struct store *st, const int64_t *parked, size_t n,
			 int64_t idle_ms, int64_t now_ms, int *changes,
			 int64_t *ended, size_t *n_ended);

/* Ends session sid (deletes it).  If it was online, the pair
 * (connected:false) is committed with it.  No such session is EC_OK with
 * out->changed false; out may be NULL.  Inside store_transaction():
 * EC_INTERNAL. */
enum ecode presence_logout(struct store *st, const char *sid,
			   struct presence_change *out);

/* The session was seen now: last_seen = now (never backwards); if it was
 * offline it goes online and the pair is committed.  out->current_users
 * is the count after it.  EC_NOT_FOUND when it ended or never was. */
enum ecode presence_touch(struct store *st, int64_t session_id, int64_t now_ms,
			  struct presence_change *out);

/* Same for many sessions at once (the hub's parked waiters), in one
 * transaction; *went_online (may be NULL) counts sessions that came back
 * online.  Ids of sessions that no longer exist or expired are skipped
 * and, when ended is not NULL (room for n), copied there (*n_ended). */
enum ecode presence_touch_many(struct store *st, const int64_t *ids, size_t n,
			       int64_t now_ms, int *went_online, int64_t *ended,
			       size_t *n_ended);

/* Takes offline every online session whose last_seen is older than
 * now_ms - idle_ms or that expired, one pair per session, oldest last_seen
 * first, in one transaction; then deletes expired sessions (online or not)
 * and ended login-failure windows.  Takes no write lock when there is
 * nothing to do.  *went_offline (may be NULL) counts them. */
enum ecode presence_reap(struct store *st, int64_t now_ms, int64_t idle_ms,
			 int *went_offline);

/* The data of a "user" event, {"username":..,"currentUsers":N,
 * "connected":true|false}, appended to out: the one place that shape is
 * written.  EC_NOMEM, or EC_TOO_LARGE past out's cap (out unchanged). */
enum ecode presence_user_event_data(struct buf *out, const char *username,
				    int64_t current_users, bool connected);

/* Appends the "user" event of a change (the second of the pair) through
 * io_append() at the wall clock; login.c emits "user count" itself. */
enum ecode presence_emit_user(struct store *st, const char *username,
			      int64_t current_users, bool connected);

#endif
