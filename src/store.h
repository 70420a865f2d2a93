/* store.h -- everything emitcgi keeps: users, sessions, the event log.
 *
 * The one interface to storage.  store.c implements it with SQLite and is
 * the only file that includes sqlite3.h; a second engine would implement
 * these functions again and no handler would change.
 *
 * A struct store is one connection: it is NOT shared between threads (each
 * accepting thread, the hub and the housekeeping thread open their own).
 * store_open() sets WAL mode, a busy timeout and foreign keys, and checks
 * the schema version (EC_DB_SCHEMA when the database is not initialised or
 * is newer than this program).  Every change is one BEGIN IMMEDIATE ...
 * COMMIT; every statement is prepared once per connection.
 *
 * Events: the log (id, name, data) is the truth.  Ids increase and are never
 * reused (AUTOINCREMENT).  `data` is always one JSON text.  Every change of
 * the number of online sessions commits, in the same transaction, a
 * "user count" event (data: the new number) and right after it a "user"
 * event ({"username","currentUsers","connected"}), so the number in every
 * "user count" event is the count at its commit.
 *
 * After every commit that appended events the commit hook runs (on the
 * committing thread, after COMMIT), which is how the hubs of this and other
 * processes learn of new events.
 *
 * Callers compose a change of their own with store_transaction(): one
 * BEGIN IMMEDIATE, their function, one COMMIT.  Inside it they may call the
 * functions marked "joins" (store_session_insert(), store_event_append())
 * and the plain reads (store_user_find(), store_session_find(),
 * store_events_after(), store_last_event_id()); every other function that
 * changes something begins a transaction of its own and fails there with
 * EC_INTERNAL.  The login is such a composition (login.c).
 *
 * Times are wall-clock milliseconds (clock_wall_ms()) passed in by callers.
 */
#ifndef EMITCGI_STORE_H
#define EMITCGI_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"

#define STORE_USERNAME_MAX 32
#define STORE_HASH_MAX 256
#define STORE_EVENT_USER_COUNT "user count"
#define STORE_EVENT_USER "user"

struct store;

/* Creates the database file if needed and applies every migration it lacks,
 * each in one transaction (safe when several processes start at once).
 * *from and *to (may be NULL) get the schema versions before and after. */
enum ecode store_migrate(const char *path, int *from, int *to);

/* The schema version this program was built for. */
int store_schema_version(void);

/* Opens one connection.  EC_DB_SCHEMA if not migrated to our version. */
enum ecode store_open(const char *path, struct store **out);
void store_close(struct store *st);

typedef void store_commit_hook(void *ctx);
/* Called after every commit of this connection that appended events. */
void store_set_commit_hook(struct store *st, store_commit_hook *hook, void *ctx);

/* ---- transactions ---- */

/* A change made of several store calls, run by store_transaction().  Its
 * return value decides: EC_OK commits, anything else rolls back. */
typedef enum ecode store_tx_fn(struct store *st, void *ctx);

/* BEGIN IMMEDIATE (the write lock is taken before fn reads anything, so
 * what fn counts is what its commit leaves), fn(st, ctx), COMMIT.  If fn
 * fails, or COMMIT does, everything fn did is rolled back and its error
 * returned; EC_DB_BUSY when the lock stayed taken past the busy timeout
 * (fn is then not called).  After a COMMIT that appended events the commit
 * hook runs, once.  Not reentrant: calling it from fn is EC_INTERNAL.
 * Only the functions that say "joins" and the plain reads may be used in
 * fn (see the top of this file). */
enum ecode store_transaction(struct store *st, store_tx_fn *fn, void *ctx);

/* Cheap liveness check for /health: runs a read; *schema_version filled. */
enum ecode store_health(struct store *st, int *schema_version);

/* ---- users ---- */

/* EC_USERNAME_TAKEN if the name exists (names compare case-insensitively). */
enum ecode store_user_add(struct store *st, const char *username,
			  const char *password_hash, int64_t now_ms);

struct store_user {
	int64_t id;
	char username[STORE_USERNAME_MAX + 1]; /* as registered */
	char password_hash[STORE_HASH_MAX + 1];
};

/* EC_NOT_FOUND if there is no such user. */
enum ecode store_user_find(struct store *st, const char *username,
			   struct store_user *out);

/* ---- login throttling (per username) ---- */

/* Failures recorded for username in the window that contains now_ms;
 * *retry_after_ms is when that window ends (0 when no failures). */
enum ecode store_login_failures(struct store *st, const char *username,
				int64_t now_ms, int *failures,
				int64_t *window_end_ms);
/* Counts one failure; a new window of window_ms starts when the last ended. */
enum ecode store_login_failure_add(struct store *st, const char *username,
				   int64_t now_ms, int64_t window_ms);
enum ecode store_login_failures_clear(struct store *st, const char *username);

/* ---- sessions and presence ---- */

struct store_session {
	int64_t id;
	int64_t user_id;
	char username[STORE_USERNAME_MAX + 1];
	bool online;
	int64_t last_seen_ms;
	int64_t expires_ms;
};

/* What a presence change did. */
struct store_presence {
	bool changed;            /* a user count + user event pair was committed */
	int64_t current_users;   /* online sessions after the transaction */
	int64_t event_id;        /* id of the "user count" event, 0 if !changed */
};

/* Joins: only inside store_transaction() (EC_INTERNAL otherwise).
 * Creates session `sid` (64 hex chars) for user_id, online, last_seen now,
 * and sets *current_users to the number of online sessions after it: read
 * under the transaction's write lock, so it is the count at the commit
 * whatever other connections or processes do.  It appends no event: the
 * caller emits the "user count" + "user" pair in the same transaction
 * (login.c does).  EC_NOT_FOUND when there is no such user. */
enum ecode store_session_insert(struct store *st, const char *sid,
				int64_t user_id, int64_t now_ms,
				int64_t expires_ms, int64_t *current_users);

/* EC_NOT_FOUND when no such session or it expired (expires_ms <= now_ms). */
enum ecode store_session_find(struct store *st, const char *sid, int64_t now_ms,
			      struct store_session *out);

/* Ends session sid (deletes it).  If it was online, commits the events.
 * No such session is EC_OK with out->changed false. */
enum ecode store_session_logout(struct store *st, const char *sid,
				struct store_presence *out);

/* The session was seen now (stream or poll): last_seen = now; if it was
 * offline it goes online and the events are committed. */
enum ecode store_session_touch(struct store *st, int64_t session_id,
			       int64_t now_ms, struct store_presence *out);

/* Same for many sessions at once (the hub's parked waiters), in one
 * transaction; *went_online counts sessions that came back online.  Ids of
 * sessions that no longer exist or expired (logout, expiry) are skipped
 * and, when ended is not NULL (room for n), copied there (*n_ended). */
enum ecode store_sessions_touch(struct store *st, const int64_t *ids, size_t n,
				int64_t now_ms, int *went_online,
				int64_t *ended, size_t *n_ended);

/* Takes offline every online session whose last_seen is older than
 * now_ms - idle_ms or that expired, one event pair per session, in one
 * transaction; deletes expired sessions.  *went_offline counts them. */
enum ecode store_sessions_reap(struct store *st, int64_t now_ms,
			       int64_t idle_ms, int *went_offline);

/* ---- the event log ---- */

struct store_event {
	int64_t id;
	const char *name;  /* borrowed: valid during the callback only */
	const char *data;  /* JSON text, borrowed likewise */
};

/* Called for each event in id order; a non-EC_OK return stops the walk and
 * is returned by store_events_after(). */
typedef enum ecode store_event_fn(void *ctx, const struct store_event *ev);

/* Appends an event; *id gets its id (may be NULL).  data_json must be one
 * JSON text (EC_INVALID_JSON otherwise), name non-empty (EC_INVALID_EVENT).
 * Joins: inside store_transaction() the event becomes part of that
 * transaction (committed or rolled back with it; the hook runs after that
 * COMMIT) and *id is final only once it commits.  Outside one, the event is
 * committed at once in a transaction of its own. */
enum ecode store_event_append(struct store *st, const char *name,
			      const char *data_json, int64_t now_ms, int64_t *id);

/* The data of a "user" event, {"username":..,"currentUsers":N,
 * "connected":true|false}, appended to out: the one place that shape is
 * written, for the store's own presence changes and for io_emit_user().
 * EC_NOMEM, or EC_TOO_LARGE past out's cap. */
enum ecode store_user_event_data(struct buf *out, const char *username,
				 int64_t current_users, bool connected);

/* Events with id > after_id, at most limit of them, oldest first. */
enum ecode store_events_after(struct store *st, int64_t after_id, size_t limit,
			      store_event_fn *fn, void *ctx);

struct store_snapshot {
	int64_t current_users;  /* online sessions */
	int64_t unique_users;   /* distinct usernames online */
	int64_t last_id;        /* newest event id, 0 if none ever */
	int64_t first_id;       /* oldest retained event id, 0 if none */
};

/* One consistent read of the numbers above. */
enum ecode store_snapshot(struct store *st, struct store_snapshot *out);

/* Newest event id (0 if none); cheap, for the hub's wake-ups. */
enum ecode store_last_event_id(struct store *st, int64_t *id);

/* Deletes all but the newest `keep` events; *deleted may be NULL. */
enum ecode store_trim(struct store *st, int64_t keep, int64_t *deleted);

#endif
