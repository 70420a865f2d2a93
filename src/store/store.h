/* store.h -- everything emitcgi keeps: users, sessions, the event log.
 *
 * The one, backend-neutral interface to storage.  store.c dispatches each
 * call to the backend chosen from EMITCGI_DB (backend.h: today SQLite,
 * sqlite.c, the only file that includes sqlite3.h) and keeps the rules all
 * backends share.  The store holds no policy: it offers primitives (insert,
 * find, delete, mark seen, list stale sessions, count, append, read) and
 * returns data and statuses.  When a session is online and which events a
 * change emits is decided by presence.c; every event is appended through
 * io.c (io_append(), io_emit()), which checks names and data.
 *
 * A struct store is one connection: it is NOT shared between threads (each
 * worker thread, the hub and the housekeeping thread open their own).
 * store_open() checks the schema version (EC_DB_SCHEMA when the database is
 * not initialised or is newer than this program).  Every change is one
 * write transaction (SQLite: BEGIN IMMEDIATE ... COMMIT).
 *
 * Events: the log (id, name, data) is the truth.  Ids increase and are never
 * reused.  `data` is one JSON text: io.c makes sure of that.
 *
 * After every commit that appended events the commit hook runs (on the
 * committing thread, after COMMIT), which is how the hubs of this and other
 * processes learn of new events.
 *
 * Callers compose a change with store_transaction(): one BEGIN IMMEDIATE,
 * their function, one COMMIT.  Inside it they may call the functions marked
 * "joins" (which refuse to run outside one with EC_INTERNAL), the plain
 * reads, and store_event_append() (which joins when inside one); every
 * other function that changes something begins a transaction of its own
 * and fails inside one with EC_INTERNAL.  Login (login.c) and every
 * presence change (presence.c) are such compositions.
 *
 * Times are wall-clock milliseconds (clock_wall_ms()) passed in by callers.
 */
#ifndef EMITCGI_STORE_H
#define EMITCGI_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define STORE_USERNAME_MAX 32
#define STORE_HASH_MAX 256

struct store;

/* Creates the database if needed and applies every migration it lacks,
 * each in one transaction (safe when several processes start at once).
 * *from and *to (may be NULL) get the schema versions before and after. */
enum ecode store_migrate(const char *path, int *from, int *to);

/* The schema version this program was built for (the default backend's). */
int store_schema_version(void);

/* Opens one connection.  EC_DB_SCHEMA if not migrated to our version. */
enum ecode store_open(const char *path, struct store **out);
void store_close(struct store *st);

typedef void store_commit_hook(void *ctx);
/* Called after every commit of this connection that appended events. */
void store_set_commit_hook(struct store *st, store_commit_hook *hook,
			   void *ctx);

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
 * Only the functions that say "joins", store_event_append() and the plain
 * reads may be used in fn (see the top of this file). */
enum ecode store_transaction(struct store *st, store_tx_fn *fn, void *ctx);

/* Liveness check for /health: reads the schema version (*schema_version
 * filled; EC_DB_SCHEMA when it is no longer ours), then writes in a write
 * transaction that it always rolls back, so that a read-only, full or
 * failing database answers EC_DB_READONLY, EC_DB_FULL, EC_DB_IOERR or
 * EC_DB_CORRUPT (issue 9).  Takes the write lock briefly. */
enum ecode store_health(struct store *st, int *schema_version);

/* ---- users ---- */

/* Own transaction.  EC_USERNAME_TAKEN if the name exists (names compare
 * case-insensitively), EC_INVALID_USERNAME unless 1..STORE_USERNAME_MAX
 * bytes, EC_TOO_LARGE for a hash past STORE_HASH_MAX. */
enum ecode store_user_add(struct store *st, const char *username,
			  const char *password_hash, int64_t now_ms);

struct store_user {
	int64_t id;
	char username[STORE_USERNAME_MAX + 1]; /* as registered */
	char password_hash[STORE_HASH_MAX + 1];
};

/* Read.  EC_NOT_FOUND if there is no such user. */
enum ecode store_user_find(struct store *st, const char *username,
			   struct store_user *out);

/* ---- login throttling (per key) ---- */

/* The "username" of these four is a throttle key of at most
 * STORE_FAIL_KEY_MAX bytes, chosen by api.c: "u:NAME", "a:ADDRESS",
 * "ua:NAME ADDRESS", "b:NAME" (docs/SECURITY.md).  Keys compare
 * case-insensitively, as names do. */
#define STORE_FAIL_KEY_MAX 128

/* Read.  Failures recorded for username in the window that contains now_ms;
 * *window_end_ms is when that window ends (0 when no failures). */
enum ecode store_login_failures(struct store *st, const char *username,
				int64_t now_ms, int *failures,
				int64_t *window_end_ms);
/* Own transaction.  Counts one failure; a new window of window_ms starts
 * when the last ended. */
enum ecode store_login_failure_add(struct store *st, const char *username,
				   int64_t now_ms, int64_t window_ms);
/* Own transaction. */
enum ecode store_login_failures_clear(struct store *st, const char *username);
/* Joins.  Deletes the rows whose window ended at or before now_ms. */
enum ecode store_login_failures_expire(struct store *st, int64_t now_ms);

/* ---- sessions ---- */

struct store_session {
	int64_t id;
	int64_t user_id;
	char username[STORE_USERNAME_MAX + 1];
	bool online;
	int64_t last_seen_ms;
	int64_t expires_ms;
};

/* Called for each session of a listing; a non-EC_OK return stops it and is
 * returned.  s is valid during the call only. */
typedef enum ecode store_session_fn(void *ctx, const struct store_session *s);

/* `sid` everywhere below is what api.c stores for a cookie: its hash
 * (auth_sid_hash(), 64 hex chars), never the cookie itself (issue 9).
 * Joins.  Creates session `sid` (64 hex chars) for user_id, online,
 * last_seen now, and sets *current_users to the number of online sessions
 * after it: read under the transaction's write lock, so it is the count at
 * the commit whatever other connections or processes do.  It appends no
 * event: the caller emits the "user count" + "user" pair in the same
 * transaction (login.c does).  EC_NOT_FOUND when there is no such user. */
enum ecode store_session_insert(struct store *st, const char *sid,
				int64_t user_id, int64_t now_ms,
				int64_t expires_ms, int64_t *current_users);

/* Read.  EC_NOT_FOUND when no such session or it expired
 * (expires_ms <= now_ms). */
enum ecode store_session_find(struct store *st, const char *sid, int64_t now_ms,
			      struct store_session *out);

/* Joins.  Deletes session sid, expired or not; *was (may be NULL) gets it
 * as it was.  EC_NOT_FOUND when there is none. */
enum ecode store_session_delete(struct store *st, const char *sid,
				struct store_session *was);

/* Joins.  The session was seen at now_ms: last_seen = max(last_seen, now)
 * (never backwards), online.  *was (may be NULL) gets id, user_id,
 * username and online as they were.  EC_NOT_FOUND when the session does
 * not exist or expired. */
enum ecode store_session_seen(struct store *st, int64_t id, int64_t now_ms,
			      struct store_session *was);

/* Joins.  Marks session id offline. */
enum ecode store_session_offline(struct store *st, int64_t id);

/* Read.  Online sessions idle (last_seen_ms < cutoff_ms) or expired
 * (expires_ms <= now_ms), oldest last_seen first.  All are read before fn
 * is first called, so fn may change them (store_session_offline()). */
enum ecode store_sessions_stale(struct store *st, int64_t cutoff_ms,
				int64_t now_ms, store_session_fn *fn,
				void *ctx);

/* Read, cheap: whether a stale online session (as above), an expired
 * session or an ended login-failure window exists, so that idle
 * housekeeping never takes the write lock. */
enum ecode store_housekeeping_due(struct store *st, int64_t cutoff_ms,
				  int64_t now_ms, bool *due);

/* Joins.  Deletes every session with expires_ms <= now_ms. */
enum ecode store_sessions_delete_expired(struct store *st, int64_t now_ms);

/* Joins.  Every unexpired session of user_id but the newest `keep` (by id)
 * expires at now_ms: it is refused from then on, and housekeeping takes the
 * online ones offline with their events (presence.c).  Login calls it to
 * cap sessions per user, oldest ending first (issue 9). */
enum ecode store_user_sessions_cap(struct store *st, int64_t user_id,
				   int64_t keep, int64_t now_ms);

/* Set once at start, before any store_open() (EMITCGI_DB_MAX_MB): the
 * database may not grow past bytes (0: no cap); a write past it fails
 * EC_DB_FULL as on a full disk. */
void store_set_max_bytes(int64_t bytes);

/* Read.  The number of online sessions; inside a transaction, the number
 * its commit will leave. */
enum ecode store_online_count(struct store *st, int64_t *n);

/* ---- the event log ---- */

struct store_event {
	int64_t id;
	const char *name; /* borrowed: valid during the callback only */
	const char *data; /* JSON text, borrowed likewise */
};

/* Called for each event in id order; a non-EC_OK return stops the walk and
 * is returned by store_events_after(). */
typedef enum ecode store_event_fn(void *ctx, const struct store_event *ev);

/* The primitive under io_append() (io.h): appends an event as given, with
 * NO check of name or data -- callers go through io.c, which owns the name
 * rule, the JSON check and the size limits.  *id gets its id (may be NULL).
 * Joins: inside store_transaction() the event becomes part of that
 * transaction (committed or rolled back with it; the hook runs after that
 * COMMIT) and *id is final only once it commits.  Outside one, the event is
 * committed at once in a transaction of its own, which a backend may run
 * beside other such appends (backend.h, begin_append: PostgreSQL groups
 * their commits; readers still get one order).  NULL name or data is
 * EC_INTERNAL. */
enum ecode store_event_append(struct store *st, const char *name,
			      const char *data_json, int64_t now_ms,
			      int64_t *id);

/* Read.  Events with id > after_id, at most limit of them, oldest first. */
enum ecode store_events_after(struct store *st, int64_t after_id, size_t limit,
			      store_event_fn *fn, void *ctx);

struct store_snapshot {
	int64_t current_users; /* online sessions */
	int64_t unique_users;  /* distinct usernames online */
	int64_t last_id;       /* newest event id, 0 if none ever */
	int64_t first_id;      /* oldest retained event id, 0 if none */
};

/* One consistent read of the numbers above (own read transaction). */
enum ecode store_snapshot(struct store *st, struct store_snapshot *out);

/* Read.  Newest event id (0 if none); cheap, for the hub's wake-ups. */
enum ecode store_last_event_id(struct store *st, int64_t *id);

/* Own transaction, taken only when there is something to delete.  Deletes
 * all but the newest `keep` events; *deleted may be NULL.  keep < 0 is
 * EC_INTERNAL. */
enum ecode store_trim(struct store *st, int64_t keep, int64_t *deleted);

/* ---- server-side notification (PostgreSQL's LISTEN/NOTIFY) ----
 *
 * With a backend whose commits notify the server's listeners, notify.c
 * wakes the hub through one listening connection instead of its file:
 *
 *   if (store_db_listens(db)) store_listen_open(db, &l);
 *   poll store_listen_fd(l) for input; then store_listen_drain(l, &lost);
 *   lost: the connection dropped and is closed (fd -1): notifications may
 *   have been missed, so the caller reads the log from its last id after
 *   store_listen_reconnect(l) succeeds (retry it with a back-off). */
struct store_listen;

/* Whether db's backend notifies listeners itself (PostgreSQL). */
bool store_db_listens(const char *db);
/* Connects and listens.  EC_CONFIG for a PostgreSQL db in a build without
 * PostgreSQL; EC_OK with *out NULL for a backend without notification. */
enum ecode store_listen_open(const char *db, struct store_listen **out);
int store_listen_fd(struct store_listen *l);
enum ecode store_listen_drain(struct store_listen *l, bool *lost);
enum ecode store_listen_reconnect(struct store_listen *l);
void store_listen_close(struct store_listen *l);

/* ---- Socket.IO sessions (sio_session.c; issue 11) ---- */

#define STORE_SIO_ID_MAX 32	 /* sid, sock, pid */
#define STORE_SIO_OUTQ_MAX 16384 /* queued control packets */
#define STORE_SIO_CONNECTED 1	 /* flags: Socket.IO "/" connected */
#define STORE_SIO_PING_OWED 2	 /* flags: a ping waits for a GET */

/* One Engine.IO session (table sio_sessions).  Times are wall-clock ms;
 * see sql/sqlite/003-socketio.sql for each column. */
struct store_sio {
	int64_t id;
	char sid[STORE_SIO_ID_MAX + 1];
	int64_t session_id;
	char sock[STORE_SIO_ID_MAX + 1];
	char pid[STORE_SIO_ID_MAX + 1];
	int64_t cursor;
	int64_t ping_due_ms, pong_due_ms;
	int64_t get_ms, post_ms;
	int64_t seen_ms, closed_ms;
	int64_t flags;
	char outq[STORE_SIO_OUTQ_MAX];
};

/* Joins.  Inserts row (its id is ignored); *id gets the new id. */
enum ecode store_sio_insert(struct store *st, const struct store_sio *row,
			    int64_t *id);
/* Read.  The row of Engine.IO sid; EC_NOT_FOUND when none. */
enum ecode store_sio_get(struct store *st, const char *sid,
			 struct store_sio *out);
/* Read.  The row with this id; EC_NOT_FOUND when none. */
enum ecode store_sio_get_id(struct store *st, int64_t id,
			    struct store_sio *out);
/* Read.  The row holding private id pid; EC_NOT_FOUND when none. */
enum ecode store_sio_get_pid(struct store *st, const char *pid,
			     struct store_sio *out);
/* Joins.  Writes every column of row->id but sid.  A non-empty outq
 * makes the commit run the commit hook, as an event would: the hubs of
 * every process look for GETs with packets to take. */
enum ecode store_sio_update(struct store *st, const struct store_sio *row);
/* Joins.  Deletes every row with seen_ms < before_ms. */
enum ecode store_sio_expire(struct store *st, int64_t before_ms);
/* Read.  Ids of the rows a GET holds (get_ms != 0) with packets queued,
 * in id order; a non-EC_OK return of fn stops the walk. */
typedef enum ecode store_sio_id_fn(void *ctx, int64_t id);
enum ecode store_sio_pending(struct store *st, store_sio_id_fn *fn, void *ctx);

#endif
