/* backend.h -- what a storage backend implements: struct store_backend.
 *
 * store.c (the dispatch) owns struct store and everything backends share:
 * choosing the backend from EMITCGI_DB, the transaction rules (no nesting,
 * "joins" checks, one BEGIN ... COMMIT per change), counting the events a
 * transaction appended and running the commit hook after its COMMIT.  A
 * backend fills one const struct store_backend with primitives over its own
 * connection type and nothing else:
 *
 *   src/store/sqlite.c   store_backend_sqlite   (sql/sqlite/, the default)
 *   src/store/postgresql*.c  store_backend_postgresql  (sql/postgresql/;
 *                        built when ./configure finds libpq)
 *
 * Invariants every backend keeps:
 * - It returns data and statuses (enum ecode), never builds events, JSON or
 *   HTTP, and never decides presence: the policy is presence.c and io.c.
 * - Every entry is filled (tests/unit/test_store checks the table).
 * - Write primitives do not begin or commit: store.c brackets them with
 *   begin()/commit() (or the caller's store_transaction() does), so they all
 *   run under the write lock taken by begin(c, true).
 * - Errors map to one enum: busy/locked -> EC_DB_BUSY, out of memory ->
 *   EC_NOMEM, not a database or wrong schema -> EC_DB_SCHEMA, a duplicate
 *   user name -> EC_USERNAME_TAKEN, anything else -> EC_DB; the backend
 *   logs its own error message where it happens.
 * - Nothing it returns points into its memory, except the borrowed
 *   name/data of struct store_event during a store_event_fn callback.
 * - A connection is used by one thread.
 *
 * To add a backend (e.g. PostgreSQL): write src/store/NAME.c that defines
 * `const struct store_backend store_backend_NAME` with every entry, its
 * schema and migrations under sql/NAME/, declare it below, add it to
 * store_backends[] in store.c with the EMITCGI_DB prefix that selects it
 * ("postgresql://"), and list the files in Makefile.am.  docs/STORE.md
 * gives each primitive's SQL in the SQLite backend, as a reference.
 */
#ifndef EMITCGI_STORE_BACKEND_H
#define EMITCGI_STORE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "store.h"

/* One connection of some backend; each backend casts it to its own struct
 * (struct store_sqlite in sqlite.c).  Never dereferenced outside it. */
struct store_conn;
/* A backend's listening connection (optional entries listen_*). */
struct store_listen_conn;

struct store_backend {
	const char *name; /* "sqlite": logs and docs */
	/* EMITCGI_DB values starting with this select the backend; NULL for
	 * the default, which takes everything else (a file path). */
	const char *prefix;
	/* Optional: when set, it decides instead of prefix (PostgreSQL also
	 * takes libpq's keyword=value form). */
	bool (*claims)(const char *db);

	/* ---- lifecycle (no transaction open) ---- */
	int (*schema_version)(void);
	/* Creates the database if needed and applies missing migrations,
	 * each in a transaction of its own. */
	enum ecode (*migrate)(const char *db, int *from, int *to);
	/* EC_DB_SCHEMA unless migrated to schema_version(). */
	enum ecode (*open)(const char *db, struct store_conn **out);
	/* Rolls back an open transaction, then frees.  NULL is a no-op. */
	void (*close)(struct store_conn *c);
	/* The schema version the database has now (a cheap read). */
	enum ecode (*read_version)(struct store_conn *c, int *version);

	/* ---- transactions ---- */
	/* write: take the write lock now (BEGIN IMMEDIATE), so that what is
	 * read inside is what the commit leaves; else a read snapshot. */
	enum ecode (*begin)(struct store_conn *c, bool write);
	/* Optional (NULL: begin(c, true)): a transaction that only appends
	 * events and reads no count (store_event_append() alone).  PostgreSQL
	 * takes no exclusive lock for it, so such commits can be grouped; it
	 * must still keep one order for readers (docs/STORE.md).  Exactly one
	 * event_insert follows, then commit (or rollback if it failed). */
	enum ecode (*begin_append)(struct store_conn *c);
	enum ecode (*commit)(struct store_conn *c);
	/* Harmless when the engine already rolled back. */
	void (*rollback)(struct store_conn *c);

	/* ---- users ---- */
	enum ecode (*user_add)(struct store_conn *c, const char *username,
			       const char *password_hash, int64_t now_ms);
	enum ecode (*user_find)(struct store_conn *c, const char *username,
				struct store_user *out);

	/* ---- login throttling ---- */
	/* The row as stored: *failures and *window_end_ms 0 when none. */
	enum ecode (*login_failures_get)(struct store_conn *c,
					 const char *username, int *failures,
					 int64_t *window_end_ms);
	enum ecode (*login_failure_add)(struct store_conn *c,
					const char *username, int64_t now_ms,
					int64_t window_ms);
	enum ecode (*login_failures_clear)(struct store_conn *c,
					   const char *username);
	/* Deletes rows whose window ended at or before now_ms. */
	enum ecode (*login_failures_expire)(struct store_conn *c,
					    int64_t now_ms);

	/* ---- sessions ---- */
	/* Online, last_seen = now.  EC_NOT_FOUND: no such user. */
	enum ecode (*session_insert)(struct store_conn *c, const char *sid,
				     int64_t user_id, int64_t now_ms,
				     int64_t expires_ms);
	/* EC_NOT_FOUND: none, or expires_ms <= now_ms. */
	enum ecode (*session_find)(struct store_conn *c, const char *sid,
				   int64_t now_ms, struct store_session *out);
	/* Deletes session sid; *was gets it as it was (expired or not).
	 * EC_NOT_FOUND: none. */
	enum ecode (*session_delete)(struct store_conn *c, const char *sid,
				     struct store_session *was);
	/* last_seen = max(last_seen, now), online; *was as before (id,
	 * username, online).  EC_NOT_FOUND: none, or expired. */
	enum ecode (*session_seen)(struct store_conn *c, int64_t id,
				   int64_t now_ms, struct store_session *was);
	enum ecode (*session_offline)(struct store_conn *c, int64_t id);
	/* Online sessions with last_seen < cutoff_ms or expires <= now_ms,
	 * oldest last_seen first (then id).  Collected before fn runs, so fn
	 * may change them. */
	enum ecode (*sessions_stale)(struct store_conn *c, int64_t cutoff_ms,
				     int64_t now_ms, store_session_fn *fn,
				     void *ctx);
	/* A read-only probe: is there a stale online session, an expired
	 * session or an ended throttling window? */
	enum ecode (*housekeeping_due)(struct store_conn *c, int64_t cutoff_ms,
				       int64_t now_ms, bool *due);
	enum ecode (*sessions_delete_expired)(struct store_conn *c,
					      int64_t now_ms);
	enum ecode (*online_count)(struct store_conn *c, int64_t *n);
	/* Online sessions and distinct users among them. */
	enum ecode (*online_users)(struct store_conn *c, int64_t *sessions,
				   int64_t *users);

	/* ---- the event log ---- */
	/* No checks: io.c checked name and data. */
	enum ecode (*event_insert)(struct store_conn *c, const char *name,
				   const char *data, int64_t now_ms,
				   int64_t *id);
	enum ecode (*events_after)(struct store_conn *c, int64_t after_id,
				   size_t limit, store_event_fn *fn, void *ctx);
	/* Newest id ever given (even if trimmed; 0 if none) and oldest kept
	 * (0 if none). */
	enum ecode (*event_bounds)(struct store_conn *c, int64_t *last,
				   int64_t *first);
	/* Deletes all but the newest keep (>= 0) events. */
	enum ecode (*events_trim)(struct store_conn *c, int64_t keep,
				  int64_t *deleted);

	/* ---- optional: the server wakes every process itself ----
	 * All NULL (SQLite: notify.c watches a file) or all set (PostgreSQL:
	 * the commit sends NOTIFY, each hub LISTENs on one connection). */
	enum ecode (*listen_open)(const char *db,
				  struct store_listen_conn **out);
	/* The socket to poll for input; -1 while disconnected. */
	int (*listen_fd)(struct store_listen_conn *l);
	/* Consumes what arrived; *lost when the connection dropped (it is
	 * closed then: listen_fd() is -1 until listen_reconnect()). */
	enum ecode (*listen_drain)(struct store_listen_conn *l, bool *lost);
	enum ecode (*listen_reconnect)(struct store_listen_conn *l);
	void (*listen_close)(struct store_listen_conn *l);
	/* ---- issue 9 ---- */
	/* Inside a write transaction that the caller rolls back: writes
	 * something that needs new space (SQLite: two pages into
	 * health_probe), so a read-only, full or failing database answers
	 * its error. */
	enum ecode (*probe_write)(struct store_conn *c);
	/* Every unexpired session of user_id but the newest `keep` gets
	 * expires_ms = now_ms (housekeeping ends them with their events). */
	enum ecode (*user_sessions_cap)(struct store_conn *c, int64_t user_id,
					int64_t keep, int64_t now_ms);
	/* ---- Socket.IO sessions (store.h) ---- */
	enum ecode (*sio_insert)(struct store_conn *c,
				 const struct store_sio *row, int64_t *id);
	/* by: 's' sid, 'i' id, 'p' pid (text or id as fits). */
	enum ecode (*sio_get)(struct store_conn *c, char by, const char *text,
			      int64_t id, struct store_sio *out);
	enum ecode (*sio_update)(struct store_conn *c,
				 const struct store_sio *row);
	enum ecode (*sio_expire)(struct store_conn *c, int64_t before_ms);
	enum ecode (*sio_pending)(struct store_conn *c, store_sio_id_fn *fn,
				  void *ctx);
};

/* EMITCGI_DB_MAX_MB in bytes (store_set_max_bytes()), 0 for no cap. */
int64_t store_max_bytes(void);

extern const struct store_backend store_backend_sqlite;
#ifdef HAVE_POSTGRESQL
extern const struct store_backend store_backend_postgresql;
#endif

/* Whether db is a PostgreSQL connection string: postgresql:// or
 * postgres://, or libpq's keyword=value form (a value that begins with a
 * lower-case word and '=').  Known to every build, so that one without
 * PostgreSQL refuses such a value instead of taking it for a file name. */
bool store_db_is_postgresql(const char *db);

/* The backends built in, the default (prefix NULL) last; NULL-terminated.
 * Exposed for tests/unit/test_store (every entry filled). */
extern const struct store_backend *const store_backends[];

/* The backend that serves EMITCGI_DB value db (never NULL). */
const struct store_backend *store_backend_for(const char *db);

#endif
