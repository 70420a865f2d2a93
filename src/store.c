/* store.c -- users, sessions and the event log in SQLite (see store.h).
 *
 * The only file that includes sqlite3.h.  A struct store is one SQLite
 * connection plus the statements prepared on it, for one thread:
 *
 *   store_migrate(path, &from, &to)      once, at start (emitcgi init too)
 *   store_open(path, &st)                per thread
 *   store_session_logout(st, sid, &p)    one BEGIN IMMEDIATE ... COMMIT
 *   store_transaction(st, fn, ctx)       the same around a caller's fn, which
 *                                        may call the joining functions
 *                                        (store_session_insert(),
 *                                        store_event_append())
 *   store_events_after(st, id, n, fn, c) one read statement
 *   store_close(st)
 *
 * Invariants:
 * - Every change runs in one BEGIN IMMEDIATE ... COMMIT (ROLLBACK on any
 *   error), so it takes the write lock before it reads what it decides on:
 *   counts read inside the transaction are the counts at its commit.
 * - Every change of the number of online sessions appends, in the same
 *   transaction, a "user count" event and right after it a "user" event
 *   (presence_events()).  A transaction with several changes (reap, batch
 *   touch) appends one pair per session, each with the count at that point.
 * - st->tx_events counts events appended in the open transaction; after a
 *   COMMIT with tx_events > 0 the commit hook runs.
 * - st->in_tx is true while a caller's store_transaction() function runs:
 *   tx_begin() refuses then (no nesting; SQLite has none either), the
 *   joining functions require it, and store_event_append() uses it to tell
 *   whether to join or to commit on its own.
 * - Statements are prepared once (lazily, SQLITE_PREPARE_PERSISTENT) and
 *   always left reset with their bindings cleared (stmt_done()).
 * - The periodic writers (store_sessions_reap(), store_trim()) first probe
 *   with a read and take the write lock only when there is work, so idle
 *   housekeeping in many processes does not contend.  The reaper also drops
 *   login_failures rows whose window has ended.
 * - No pointer into SQLite memory leaves this file except the borrowed
 *   name/data of struct store_event, valid only during the callback.
 * - Errors: SQLITE_BUSY/LOCKED -> EC_DB_BUSY, a unique constraint on a user
 *   name -> EC_USERNAME_TAKEN, a file that is not a database ->
 *   EC_DB_SCHEMA, anything else -> EC_DB; sqlite3_errmsg() is logged where
 *   it happens (db_error()).
 *
 * To add a query: add a STMT_ id and its SQL to the two tables below, get it
 * with stmt_get(), and finish with stmt_done().  To add a change: wrap it in
 * tx_begin(st, true) / tx_commit() with tx_rollback() on the error path, and
 * append events only through event_insert() so the hook fires; a step that
 * callers compose in store_transaction() instead checks st->in_tx and
 * neither begins nor commits (store_session_insert()).  Schema changes go
 * in a new sql/NNN-*.sql (docs/STORE.md).
 */
#include "autoconfig.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>
#include <sqlite3.h>

#include "buf.h"
#include "clock.h"
#include "log.h"
#include "sql_migrations.h"
#include "store.h"

#define STORE_BUSY_TIMEOUT_MS 5000
/* Pause between attempts to switch a new database to WAL (set_pragmas()). */
#define STORE_WAL_RETRY_MS 10
/* Reap collects this many sessions per allocation step. */
#define STORE_REAP_CHUNK 16
/* Room for the data of one "user" event (a 32-byte name and a number). */
#define STORE_USER_EVENT_MAX_BYTES 256

enum stmt_id {
	STMT_BEGIN,
	STMT_BEGIN_IMMEDIATE,
	STMT_COMMIT,
	STMT_ROLLBACK,
	STMT_USER_VERSION,
	STMT_USER_ADD,
	STMT_USER_FIND,
	STMT_FAIL_GET,
	STMT_FAIL_ADD,
	STMT_FAIL_CLEAR,
	STMT_SESSION_INSERT,
	STMT_SESSION_FIND,
	STMT_SESSION_BY_TOKEN,
	STMT_SESSION_LIVE,
	STMT_SESSION_DELETE,
	STMT_SESSION_SEEN,
	STMT_SESSION_OFFLINE,
	STMT_ONLINE_COUNT,
	STMT_REAP_CHECK,
	STMT_REAP_SELECT,
	STMT_REAP_EXPIRED,
	STMT_REAP_FAILURES,
	STMT_EVENT_INSERT,
	STMT_EVENTS_AFTER,
	STMT_SNAPSHOT_USERS,
	STMT_EVENT_BOUNDS,
	STMT_TRIM,
	STMT__COUNT
};

static const char *const stmt_sql[STMT__COUNT] = {
	[STMT_BEGIN] = "BEGIN",
	[STMT_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
	[STMT_COMMIT] = "COMMIT",
	[STMT_ROLLBACK] = "ROLLBACK",
	[STMT_USER_VERSION] = "PRAGMA user_version",
	[STMT_USER_ADD] =
		"INSERT INTO users (username, password_hash, created_ms) "
		"VALUES (?1, ?2, ?3)",
	/* users.username is COLLATE NOCASE, so = ignores ASCII case */
	[STMT_USER_FIND] =
		"SELECT id, username, password_hash FROM users "
		"WHERE username = ?1",
	[STMT_FAIL_GET] =
		"SELECT failures, window_end_ms FROM login_failures "
		"WHERE username = ?1",
	/* In UPDATE SET the right-hand sides see the old row. */
	[STMT_FAIL_ADD] =
		"INSERT INTO login_failures "
		"(username, failures, window_end_ms) "
		"VALUES (?1, 1, ?2 + ?3) "
		"ON CONFLICT (username) DO UPDATE SET "
		"failures = CASE WHEN window_end_ms > ?2 "
		"THEN failures + 1 ELSE 1 END, "
		"window_end_ms = CASE WHEN window_end_ms > ?2 "
		"THEN window_end_ms ELSE ?2 + ?3 END",
	[STMT_FAIL_CLEAR] = "DELETE FROM login_failures WHERE username = ?1",
	[STMT_SESSION_INSERT] =
		"INSERT INTO sessions (token, user_id, created_ms, expires_ms, "
		"last_seen_ms, online) VALUES (?1, ?2, ?3, ?4, ?3, 1)",
	[STMT_SESSION_FIND] =
		"SELECT s.id, s.user_id, u.username, s.online, s.last_seen_ms, "
		"s.expires_ms FROM sessions s JOIN users u ON u.id = s.user_id "
		"WHERE s.token = ?1 AND s.expires_ms > ?2",
	[STMT_SESSION_BY_TOKEN] =
		"SELECT s.id, s.online, u.username "
		"FROM sessions s JOIN users u ON u.id = s.user_id "
		"WHERE s.token = ?1",
	[STMT_SESSION_LIVE] =
		"SELECT s.online, u.username "
		"FROM sessions s JOIN users u ON u.id = s.user_id "
		"WHERE s.id = ?1 AND s.expires_ms > ?2",
	[STMT_SESSION_DELETE] = "DELETE FROM sessions WHERE id = ?1",
	/* max(): touches from processes whose clocks differ a little never
	 * move last_seen back. */
	[STMT_SESSION_SEEN] =
		"UPDATE sessions SET last_seen_ms = max(last_seen_ms, ?2), "
		"online = 1 WHERE id = ?1",
	[STMT_SESSION_OFFLINE] = "UPDATE sessions SET online = 0 WHERE id = ?1",
	/* A range of sessions_online_seen: costs O(online sessions). */
	[STMT_ONLINE_COUNT] = "SELECT count(*) FROM sessions WHERE online = 1",
	/* Read-only probe so an idle reaper never takes the write lock; each
	 * EXISTS is one index seek. */
	[STMT_REAP_CHECK] =
		"SELECT EXISTS (SELECT 1 FROM sessions "
		"WHERE online = 1 AND last_seen_ms < ?1) "
		"OR EXISTS (SELECT 1 FROM sessions WHERE expires_ms <= ?2) "
		"OR EXISTS (SELECT 1 FROM login_failures "
		"WHERE window_end_ms <= ?2)",
	[STMT_REAP_SELECT] =
		"SELECT s.id, u.username "
		"FROM sessions s JOIN users u ON u.id = s.user_id "
		"WHERE s.online = 1 "
		"AND (s.last_seen_ms < ?1 OR s.expires_ms <= ?2) "
		"ORDER BY s.last_seen_ms, s.id",
	[STMT_REAP_EXPIRED] = "DELETE FROM sessions WHERE expires_ms <= ?1",
	[STMT_REAP_FAILURES] =
		"DELETE FROM login_failures WHERE window_end_ms <= ?1",
	[STMT_EVENT_INSERT] =
		"INSERT INTO events (name, data, created_ms) "
		"VALUES (?1, ?2, ?3)",
	[STMT_EVENTS_AFTER] =
		"SELECT id, name, data FROM events WHERE id > ?1 "
		"ORDER BY id LIMIT ?2",
	[STMT_SNAPSHOT_USERS] =
		"SELECT count(*), count(DISTINCT user_id) FROM sessions "
		"WHERE online = 1",
	/* Separate subqueries: SQLite answers a lone max()/min() on the
	 * primary key with one seek, but min and max together with a scan.
	 * sqlite_sequence keeps the highest id ever given, so a log trimmed
	 * to nothing still reports its last id. */
	[STMT_EVENT_BOUNDS] =
		"SELECT coalesce((SELECT max(id) FROM events), "
		"(SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0), "
		"coalesce((SELECT min(id) FROM events), 0)",
	/* The (keep+1)-th newest id and all older go; fewer events than
	 * keep+1 make the subquery NULL and nothing matches. */
	[STMT_TRIM] =
		"DELETE FROM events WHERE id <= (SELECT id FROM events "
		"ORDER BY id DESC LIMIT 1 OFFSET ?1)",
};

struct store {
	sqlite3 *db;
	sqlite3_stmt *stmt[STMT__COUNT];
	store_commit_hook *hook;
	void *hook_ctx;
	int tx_events; /* events appended in the open transaction */
	bool in_tx;    /* a store_transaction() function is running */
};

/* ---- errors, statements, transactions ---- */

static enum ecode db_code(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return EC_OK;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return EC_DB_BUSY;
	case SQLITE_NOMEM:
		return EC_NOMEM;
	case SQLITE_NOTADB:
		return EC_DB_SCHEMA;
	default:
		return EC_DB;
	}
}

/* Logs what failed with SQLite's message and maps rc to an ecode. */
static enum ecode db_error(struct store *st, int rc, const char *what)
{
	log_error("store: %s: %s (%d)", what,
		  st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc), rc);
	return db_code(rc) == EC_OK ? EC_DB : db_code(rc);
}

static enum ecode stmt_get(struct store *st, enum stmt_id id,
			   sqlite3_stmt **out)
{
	int rc;

	if (!st->stmt[id]) {
		rc = sqlite3_prepare_v3(st->db, stmt_sql[id], -1,
					SQLITE_PREPARE_PERSISTENT,
					&st->stmt[id], NULL);
		if (rc != SQLITE_OK) {
			st->stmt[id] = NULL;
			return db_error(st, rc, stmt_sql[id]);
		}
	}
	*out = st->stmt[id];
	return EC_OK;
}

/* The error of a step is handled where it happened, so reset's echo of it
 * is not news. */
static void stmt_done(sqlite3_stmt *s)
{
	if (s) {
		(void)sqlite3_reset(s);
		(void)sqlite3_clear_bindings(s);
	}
}

/* One step: *row tells SQLITE_ROW from SQLITE_DONE; anything else is
 * logged and returned as an ecode. */
static enum ecode stmt_step(struct store *st, sqlite3_stmt *s, bool *row)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW) {
		*row = true;
		return EC_OK;
	}
	if (rc == SQLITE_DONE) {
		*row = false;
		return EC_OK;
	}
	*row = false;
	return db_error(st, rc, sqlite3_sql(s));
}

static enum ecode bind_check(struct store *st, int rc)
{
	return rc == SQLITE_OK ? EC_OK : db_error(st, rc, "bind");
}

static enum ecode bind_text(struct store *st, sqlite3_stmt *s, int i,
			    const char *v)
{
	return bind_check(st, sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC));
}

static enum ecode bind_i64(struct store *st, sqlite3_stmt *s, int i, int64_t v)
{
	return bind_check(st, sqlite3_bind_int64(s, i, v));
}

/* Runs a statement without result rows (BEGIN, COMMIT, DML). */
static enum ecode stmt_exec(struct store *st, sqlite3_stmt *s)
{
	bool row;
	enum ecode rc = stmt_step(st, s, &row);

	stmt_done(s);
	return rc;
}

/* A single-integer query with no parameters. */
static enum ecode query_i64(struct store *st, enum stmt_id id, int64_t *out)
{
	sqlite3_stmt *s = NULL;
	bool row;
	enum ecode rc;

	if ((rc = stmt_get(st, id, &s)) != EC_OK)
		return rc;
	rc = stmt_step(st, s, &row);
	if (rc == EC_OK && !row) {
		log_error("store: %s: no row", stmt_sql[id]);
		rc = EC_DB;
	}
	if (rc == EC_OK)
		*out = sqlite3_column_int64(s, 0);
	stmt_done(s);
	return rc;
}

static enum ecode tx_begin(struct store *st, bool write)
{
	sqlite3_stmt *s = NULL;
	enum ecode rc;

	if (st->in_tx) {
		log_error("store: a function that begins its own transaction "
			  "was called inside store_transaction()");
		return EC_INTERNAL;
	}
	rc = stmt_get(st, write ? STMT_BEGIN_IMMEDIATE : STMT_BEGIN, &s);
	if (rc != EC_OK)
		return rc;
	st->tx_events = 0;
	return stmt_exec(st, s);
}

static void tx_rollback(struct store *st)
{
	sqlite3_stmt *s = NULL;

	if (sqlite3_get_autocommit(st->db))
		return; /* SQLite rolled back already (e.g. SQLITE_FULL) */
	if (stmt_get(st, STMT_ROLLBACK, &s) == EC_OK)
		(void)stmt_exec(st, s); /* logged there; nothing more to do */
	st->tx_events = 0;
}

/* Commits; on failure rolls back.  Runs the hook if events were added. */
static enum ecode tx_commit(struct store *st)
{
	sqlite3_stmt *s = NULL;
	enum ecode rc;
	int events = st->tx_events;

	rc = stmt_get(st, STMT_COMMIT, &s);
	if (rc == EC_OK)
		rc = stmt_exec(st, s);
	st->tx_events = 0;
	if (rc != EC_OK) {
		tx_rollback(st);
		return rc;
	}
	if (events > 0 && st->hook)
		st->hook(st->hook_ctx);
	return EC_OK;
}

/* One bound statement as its own write transaction; consumes s (reset
 * whatever happens). */
static enum ecode exec_in_tx(struct store *st, sqlite3_stmt *s)
{
	enum ecode rc = tx_begin(st, true);

	if (rc != EC_OK) {
		stmt_done(s);
		return rc;
	}
	if ((rc = stmt_exec(st, s)) != EC_OK) {
		tx_rollback(st);
		return rc;
	}
	return tx_commit(st);
}

enum ecode store_transaction(struct store *st, store_tx_fn *fn, void *ctx)
{
	enum ecode rc;

	if ((rc = tx_begin(st, true)) != EC_OK)
		return rc;
	st->in_tx = true;
	rc = fn(st, ctx);
	st->in_tx = false;
	if (rc != EC_OK) {
		tx_rollback(st);
		return rc;
	}
	return tx_commit(st);
}

/* For the functions that only join a store_transaction(). */
static enum ecode tx_required(struct store *st, const char *what)
{
	if (st->in_tx)
		return EC_OK;
	log_error("store: %s outside store_transaction()", what);
	return EC_INTERNAL;
}

/* Copies a text column into dst[size]; EC_DB if it does not fit. */
static enum ecode column_copy(sqlite3_stmt *s, int col, char *dst, size_t size)
{
	const unsigned char *v = sqlite3_column_text(s, col);
	size_t len = (size_t)sqlite3_column_bytes(s, col);

	if (!v) {
		if (sqlite3_column_type(s, col) != SQLITE_NULL)
			return EC_NOMEM;
		v = (const unsigned char *)"";
		len = 0;
	}
	if (len >= size) {
		log_error("store: %s: column %d is %zu bytes, room for %zu",
			  sqlite3_sql(s), col, len, size - 1);
		return EC_DB;
	}
	memcpy(dst, v, len);
	dst[len] = '\0';
	return EC_OK;
}

static bool name_ok(const char *username)
{
	size_t len;

	if (!username)
		return false;
	len = strlen(username);
	return len > 0 && len <= STORE_USERNAME_MAX;
}

/* ---- opening, migrations ---- */

static enum ecode read_version(struct store *st, int *version)
{
	int64_t v;
	enum ecode rc = query_i64(st, STMT_USER_VERSION, &v);

	if (rc == EC_OK)
		*version = (int)v;
	return rc;
}

static enum ecode exec_sql(struct store *st, const char *sql, const char *what)
{
	char *msg = NULL;
	int rc = sqlite3_exec(st->db, sql, NULL, NULL, &msg);

	if (rc == SQLITE_OK)
		return EC_OK;
	log_error("store: %s: %s (%d)", what, msg ? msg : sqlite3_errstr(rc),
		  rc);
	sqlite3_free(msg);
	return db_code(rc) == EC_OK ? EC_DB : db_code(rc);
}

static int journal_mode_cb(void *ctx, int ncols, char **vals, char **names)
{
	(void)names;
	if (ncols > 0 && vals[0])
		*(bool *)ctx = strcmp(vals[0], "wal") == 0;
	return 0;
}

/* WAL: readers never block the writer; NORMAL sync is durable in WAL mode
 * except for the last transactions at a power cut, never corrupting. */
static enum ecode set_pragmas(struct store *st, const char *path)
{
	char *msg = NULL;
	bool wal = false;
	enum ecode rc;
	int src;

	/* Turning a file to WAL takes an exclusive lock.  When processes
	 * starting at once each hold a shared lock and want it, SQLite
	 * answers SQLITE_BUSY at once instead of calling the busy handler
	 * (it would deadlock), so retry here, within the busy timeout. */
	for (int waited_ms = 0;; waited_ms += STORE_WAL_RETRY_MS) {
		src = sqlite3_exec(st->db, "PRAGMA journal_mode=WAL",
				   journal_mode_cb, &wal, &msg);
		if ((src & 0xff) != SQLITE_BUSY ||
		    waited_ms >= STORE_BUSY_TIMEOUT_MS)
			break;
		sqlite3_free(msg);
		msg = NULL;
		(void)sqlite3_sleep(STORE_WAL_RETRY_MS);
	}
	if (src != SQLITE_OK) {
		log_error("store: %s: journal_mode=WAL: %s (%d)", path,
			  msg ? msg : sqlite3_errstr(src), src);
		sqlite3_free(msg);
		return db_code(src) == EC_OK ? EC_DB : db_code(src);
	}
	if (!wal)
		log_warn("store: %s: WAL mode unavailable, readers will block "
			 "writers", path);
	rc = exec_sql(st, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON",
		      path);
	return rc;
}

static void store_free(struct store *st)
{
	int rc;

	if (!st)
		return;
	for (int i = 0; i < STMT__COUNT; i++)
		(void)sqlite3_finalize(st->stmt[i]); /* NULL is a no-op */
	if (st->db) {
		rc = sqlite3_close(st->db);
		if (rc != SQLITE_OK)
			log_error("store: close: %s (%d)",
				  sqlite3_errmsg(st->db), rc);
	}
	free(st);
}

/* Opens the file; flags decide whether it may be created. */
static enum ecode store_connect(const char *path, int flags,
				struct store **out)
{
	struct store *st;
	enum ecode rc;
	int src;

	*out = NULL;
	if (!path || !*path) {
		log_error("store: no database path");
		return EC_CONFIG;
	}
	st = calloc(1, sizeof(*st));
	if (!st)
		return EC_NOMEM;
	src = sqlite3_open_v2(path, &st->db, flags, NULL);
	if (src != SQLITE_OK) {
		if (!(flags & SQLITE_OPEN_CREATE) &&
		    (src & 0xff) == SQLITE_CANTOPEN &&
		    access(path, F_OK) != 0 && errno == ENOENT) {
			log_error("store: %s: no such database: run "
				  "`emitcgi init`", path);
			rc = EC_DB_SCHEMA;
		} else {
			rc = db_error(st, src, path);
		}
		goto out;
	}
	(void)sqlite3_extended_result_codes(st->db, 1);
	src = sqlite3_busy_timeout(st->db, STORE_BUSY_TIMEOUT_MS);
	if (src != SQLITE_OK) {
		rc = db_error(st, src, "busy_timeout");
		goto out;
	}
	*out = st;
	return EC_OK;
out:
	store_free(st);
	return rc;
}

int store_schema_version(void)
{
	return sql_migrations_count;
}

/* Runs migration n unless another process did while we waited for the
 * lock: the version is read again inside BEGIN IMMEDIATE. */
static enum ecode migrate_one(struct store *st, int n)
{
	char pragma[48];
	char what[48];
	enum ecode rc;
	int v;

	if ((rc = tx_begin(st, true)) != EC_OK)
		return rc;
	if ((rc = read_version(st, &v)) != EC_OK)
		goto fail;
	if (v >= n)
		return tx_commit(st);
	snprintf(what, sizeof(what), "migration %d", n);
	if ((rc = exec_sql(st, sql_migrations[n - 1], what)) != EC_OK)
		goto fail;
	snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", n);
	if ((rc = exec_sql(st, pragma, what)) != EC_OK)
		goto fail;
	if ((rc = tx_commit(st)) != EC_OK)
		return rc;
	log_info("store: applied migration %d", n);
	return EC_OK;
fail:
	tx_rollback(st);
	return rc;
}

enum ecode store_migrate(const char *path, int *from, int *to)
{
	struct store *st = NULL;
	int want = store_schema_version();
	int v = 0, first = 0;
	enum ecode rc;

	rc = store_connect(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
			   &st);
	if (rc != EC_OK)
		goto out;
	if ((rc = set_pragmas(st, path)) != EC_OK)
		goto out;
	if ((rc = read_version(st, &v)) != EC_OK)
		goto out;
	first = v;
	for (int n = v + 1; n <= want; n++)
		if ((rc = migrate_one(st, n)) != EC_OK)
			goto out;
	if ((rc = read_version(st, &v)) != EC_OK)
		goto out;
	if (v != want) {
		log_error("store: %s: schema version %d, this program knows "
			  "%d: it is newer than this program", path, v, want);
		rc = EC_DB_SCHEMA;
	}
out:
	if (from)
		*from = first;
	if (to)
		*to = v;
	store_free(st);
	return rc;
}

enum ecode store_open(const char *path, struct store **out)
{
	struct store *st = NULL;
	int v;
	enum ecode rc;

	*out = NULL;
	rc = store_connect(path, SQLITE_OPEN_READWRITE, &st);
	if (rc != EC_OK)
		return rc;
	/* Version first: an uninitialised file must not be written to (WAL
	 * mode would give it a header). */
	if ((rc = read_version(st, &v)) != EC_OK)
		goto out;
	if (v != store_schema_version()) {
		log_error("store: %s: schema version %d, this program needs "
			  "%d: %s", path, v, store_schema_version(),
			  v < store_schema_version() ? "run `emitcgi init`" :
			  "the database is newer than this program");
		rc = EC_DB_SCHEMA;
		goto out;
	}
	if ((rc = set_pragmas(st, path)) != EC_OK)
		goto out;
	*out = st;
	return EC_OK;
out:
	store_free(st);
	return rc;
}

void store_close(struct store *st)
{
	if (st && st->db && !sqlite3_get_autocommit(st->db))
		tx_rollback(st);
	store_free(st);
}

void store_set_commit_hook(struct store *st, store_commit_hook *hook,
			   void *ctx)
{
	st->hook = hook;
	st->hook_ctx = ctx;
}

enum ecode store_health(struct store *st, int *schema_version)
{
	int v = 0;
	enum ecode rc = read_version(st, &v);

	if (schema_version)
		*schema_version = v;
	if (rc == EC_OK && v != store_schema_version()) {
		log_error("store: schema version is now %d, expected %d", v,
			  store_schema_version());
		rc = EC_DB_SCHEMA;
	}
	return rc;
}

/* ---- users ---- */

enum ecode store_user_add(struct store *st, const char *username,
			  const char *password_hash, int64_t now_ms)
{
	sqlite3_stmt *s = NULL;
	enum ecode rc;
	int src;

	if (!name_ok(username))
		return EC_INVALID_USERNAME;
	if (!password_hash || strlen(password_hash) > STORE_HASH_MAX)
		return EC_TOO_LARGE;
	if ((rc = tx_begin(st, true)) != EC_OK)
		return rc;
	if ((rc = stmt_get(st, STMT_USER_ADD, &s)) != EC_OK ||
	    (rc = bind_text(st, s, 1, username)) != EC_OK ||
	    (rc = bind_text(st, s, 2, password_hash)) != EC_OK ||
	    (rc = bind_i64(st, s, 3, now_ms)) != EC_OK)
		goto fail;
	src = sqlite3_step(s);
	if (src == SQLITE_CONSTRAINT_UNIQUE ||
	    src == SQLITE_CONSTRAINT_PRIMARYKEY) {
		log_debug("store: user %s exists", username);
		rc = EC_USERNAME_TAKEN;
		goto fail;
	}
	if (src != SQLITE_DONE) {
		rc = db_error(st, src, "add user");
		goto fail;
	}
	stmt_done(s);
	return tx_commit(st);
fail:
	stmt_done(s);
	tx_rollback(st);
	return rc;
}

enum ecode store_user_find(struct store *st, const char *username,
			   struct store_user *out)
{
	sqlite3_stmt *s = NULL;
	bool row;
	enum ecode rc;

	if (!name_ok(username))
		return EC_NOT_FOUND;
	if ((rc = stmt_get(st, STMT_USER_FIND, &s)) != EC_OK ||
	    (rc = bind_text(st, s, 1, username)) != EC_OK ||
	    (rc = stmt_step(st, s, &row)) != EC_OK)
		goto out;
	if (!row) {
		rc = EC_NOT_FOUND;
		goto out;
	}
	out->id = sqlite3_column_int64(s, 0);
	if ((rc = column_copy(s, 1, out->username, sizeof(out->username))) !=
	    EC_OK)
		goto out;
	rc = column_copy(s, 2, out->password_hash, sizeof(out->password_hash));
out:
	stmt_done(s);
	return rc;
}

/* ---- login throttling ---- */

enum ecode store_login_failures(struct store *st, const char *username,
				int64_t now_ms, int *failures,
				int64_t *window_end_ms)
{
	sqlite3_stmt *s = NULL;
	bool row;
	enum ecode rc;
	int64_t n = 0, end = 0;

	*failures = 0;
	*window_end_ms = 0;
	if (!name_ok(username))
		return EC_INVALID_USERNAME;
	if ((rc = stmt_get(st, STMT_FAIL_GET, &s)) != EC_OK ||
	    (rc = bind_text(st, s, 1, username)) != EC_OK ||
	    (rc = stmt_step(st, s, &row)) != EC_OK)
		goto out;
	if (row) {
		n = sqlite3_column_int64(s, 0);
		end = sqlite3_column_int64(s, 1);
	}
	/* A window that has ended counts for nothing (the reaper deletes
	 * its row later). */
	if (row && end > now_ms) {
		*failures = n > INT32_MAX ? INT32_MAX : (int)n;
		*window_end_ms = end;
	}
out:
	stmt_done(s);
	return rc;
}

enum ecode store_login_failure_add(struct store *st, const char *username,
				   int64_t now_ms, int64_t window_ms)
{
	sqlite3_stmt *s = NULL;
	enum ecode rc;

	if (!name_ok(username))
		return EC_INVALID_USERNAME;
	if ((rc = stmt_get(st, STMT_FAIL_ADD, &s)) != EC_OK ||
	    (rc = bind_text(st, s, 1, username)) != EC_OK ||
	    (rc = bind_i64(st, s, 2, now_ms)) != EC_OK ||
	    (rc = bind_i64(st, s, 3, window_ms)) != EC_OK) {
		stmt_done(s);
		return rc;
	}
	return exec_in_tx(st, s);
}

enum ecode store_login_failures_clear(struct store *st, const char *username)
{
	sqlite3_stmt *s = NULL;
	enum ecode rc;

	if (!name_ok(username))
		return EC_INVALID_USERNAME;
	if ((rc = stmt_get(st, STMT_FAIL_CLEAR, &s)) != EC_OK ||
	    (rc = bind_text(st, s, 1, username)) != EC_OK) {
		stmt_done(s);
		return rc;
	}
	return exec_in_tx(st, s);
}

/* ---- the event log (inside a transaction) ---- */

static enum ecode event_insert(struct store *st, const char *name,
			       const char *data, int64_t now_ms, int64_t *id)
{
	sqlite3_stmt *s = NULL;
	enum ecode rc;

	if ((rc = stmt_get(st, STMT_EVENT_INSERT, &s)) != EC_OK ||
	    (rc = bind_text(st, s, 1, name)) != EC_OK ||
	    (rc = bind_text(st, s, 2, data)) != EC_OK ||
	    (rc = bind_i64(st, s, 3, now_ms)) != EC_OK ||
	    (rc = stmt_exec(st, s)) != EC_OK) {
		stmt_done(s);
		return rc;
	}
	if (id)
		*id = sqlite3_last_insert_rowid(st->db);
	st->tx_events++;
	return EC_OK;
}

static enum ecode online_count(struct store *st, int64_t *n)
{
	return query_i64(st, STMT_ONLINE_COUNT, n);
}

/* The pair every presence change commits: "user count" with the number
 * `count` (the online sessions after this change), then "user". */
enum ecode store_user_event_data(struct buf *out, const char *username,
				 int64_t current_users, bool connected)
{
	struct json_object *obj, *v;
	const char *json;
	enum ecode rc = EC_NOMEM;

	if (!(obj = json_object_new_object()))
		return EC_NOMEM;
	if (!(v = json_object_new_string(username)))
		goto out;
	if (json_object_object_add(obj, "username", v) != 0) {
		json_object_put(v);
		goto out;
	}
	if (!(v = json_object_new_int64(current_users)))
		goto out;
	if (json_object_object_add(obj, "currentUsers", v) != 0) {
		json_object_put(v);
		goto out;
	}
	if (!(v = json_object_new_boolean(connected)))
		goto out;
	if (json_object_object_add(obj, "connected", v) != 0) {
		json_object_put(v);
		goto out;
	}
	json = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
					      JSON_C_TO_STRING_NOSLASHESCAPE);
	if (json)
		rc = buf_adds(out, json);
out:
	json_object_put(obj);
	return rc;
}

/* The pair every presence change commits: "user count" with the number
 * `count` (the online sessions after this change), then "user". */
static enum ecode presence_events(struct store *st, const char *username,
				  bool connected, int64_t count,
				  int64_t now_ms, int64_t *count_event_id)
{
	struct buf data;
	char num[24];
	enum ecode rc;

	snprintf(num, sizeof(num), "%" PRId64, count);
	rc = event_insert(st, STORE_EVENT_USER_COUNT, num, now_ms,
			  count_event_id);
	if (rc != EC_OK)
		return rc;
	buf_init(&data, STORE_USER_EVENT_MAX_BYTES);
	rc = store_user_event_data(&data, username, count, connected);
	if (rc == EC_OK)
		rc = event_insert(st, STORE_EVENT_USER, buf_str(&data), now_ms,
				  NULL);
	buf_release(&data);
	return rc;
}

static void presence_clear(struct store_presence *out)
{
	if (out) {
		out->changed = false;
		out->current_users = 0;
		out->event_id = 0;
	}
}

/* ---- sessions and presence ---- */

enum ecode store_session_insert(struct store *st, const char *sid,
				int64_t user_id, int64_t now_ms,
				int64_t expires_ms, int64_t *current_users)
{
	sqlite3_stmt *s = NULL;
	enum ecode rc;
	int src;

	if ((rc = tx_required(st, "store_session_insert()")) != EC_OK)
		return rc;
	if (!sid || !*sid)
		return EC_INTERNAL;
	if ((rc = stmt_get(st, STMT_SESSION_INSERT, &s)) != EC_OK ||
	    (rc = bind_text(st, s, 1, sid)) != EC_OK ||
	    (rc = bind_i64(st, s, 2, user_id)) != EC_OK ||
	    (rc = bind_i64(st, s, 3, now_ms)) != EC_OK ||
	    (rc = bind_i64(st, s, 4, expires_ms)) != EC_OK)
		goto out;
	src = sqlite3_step(s);
	if (src == SQLITE_CONSTRAINT_FOREIGNKEY) {
		/* foreign_keys=ON: the user was deleted meanwhile */
		log_debug("store: session for unknown user %" PRId64, user_id);
		rc = EC_NOT_FOUND;
		goto out;
	}
	if (src != SQLITE_DONE) {
		rc = db_error(st, src, "insert session");
		goto out;
	}
	stmt_done(s);
	s = NULL;
	/* Under the write lock of BEGIN IMMEDIATE: no other connection can
	 * change the count before this transaction commits. */
	rc = online_count(st, current_users);
out:
	stmt_done(s);
	return rc;
}

enum ecode store_session_find(struct store *st, const char *sid, int64_t now_ms,
			      struct store_session *out)
{
	sqlite3_stmt *s = NULL;
	bool row;
	enum ecode rc;

	if (!sid || !*sid)
		return EC_NOT_FOUND;
	if ((rc = stmt_get(st, STMT_SESSION_FIND, &s)) != EC_OK ||
	    (rc = bind_text(st, s, 1, sid)) != EC_OK ||
	    (rc = bind_i64(st, s, 2, now_ms)) != EC_OK ||
	    (rc = stmt_step(st, s, &row)) != EC_OK)
		goto out;
	if (!row) {
		rc = EC_NOT_FOUND;
		goto out;
	}
	out->id = sqlite3_column_int64(s, 0);
	out->user_id = sqlite3_column_int64(s, 1);
	if ((rc = column_copy(s, 2, out->username, sizeof(out->username))) !=
	    EC_OK)
		goto out;
	out->online = sqlite3_column_int64(s, 3) != 0;
	out->last_seen_ms = sqlite3_column_int64(s, 4);
	out->expires_ms = sqlite3_column_int64(s, 5);
out:
	stmt_done(s);
	return rc;
}

enum ecode store_session_logout(struct store *st, const char *sid,
				struct store_presence *out)
{
	char username[STORE_USERNAME_MAX + 1];
	sqlite3_stmt *s = NULL;
	int64_t id, count, event_id = 0;
	bool row, online;
	enum ecode rc;

	presence_clear(out);
	if (!sid)
		return EC_INTERNAL;
	if ((rc = tx_begin(st, true)) != EC_OK)
		return rc;
	if ((rc = stmt_get(st, STMT_SESSION_BY_TOKEN, &s)) != EC_OK ||
	    (rc = bind_text(st, s, 1, sid)) != EC_OK ||
	    (rc = stmt_step(st, s, &row)) != EC_OK)
		goto fail;
	online = false;
	if (row) {
		id = sqlite3_column_int64(s, 0);
		online = sqlite3_column_int64(s, 1) != 0;
		if ((rc = column_copy(s, 2, username, sizeof(username))) !=
		    EC_OK)
			goto fail;
		stmt_done(s);
		if ((rc = stmt_get(st, STMT_SESSION_DELETE, &s)) != EC_OK ||
		    (rc = bind_i64(st, s, 1, id)) != EC_OK ||
		    (rc = stmt_exec(st, s)) != EC_OK)
			goto fail;
	}
	stmt_done(s);
	s = NULL;
	if ((rc = online_count(st, &count)) != EC_OK)
		goto fail;
	/* store_session_logout() takes no time: the event's created_ms is
	 * only informational, so the wall clock is good enough. */
	if (online) {
		rc = presence_events(st, username, false, count,
				     clock_wall_ms(), &event_id);
		if (rc != EC_OK)
			goto fail;
	}
	if ((rc = tx_commit(st)) != EC_OK)
		return rc;
	if (out) {
		out->changed = online;
		out->current_users = count;
		out->event_id = event_id;
	}
	return EC_OK;
fail:
	stmt_done(s);
	tx_rollback(st);
	return rc;
}

/* Inside a write transaction: last_seen = now and online for one live
 * session; *went_online and *event_id tell whether a pair was appended.
 * *count is the online count, kept up to date by the caller's loop (< 0:
 * not read yet). */
static enum ecode touch_one(struct store *st, int64_t id, int64_t now_ms,
			    int64_t *count, bool *went_online,
			    int64_t *event_id)
{
	char username[STORE_USERNAME_MAX + 1];
	sqlite3_stmt *s = NULL;
	bool row, online;
	enum ecode rc;

	*went_online = false;
	if ((rc = stmt_get(st, STMT_SESSION_LIVE, &s)) != EC_OK ||
	    (rc = bind_i64(st, s, 1, id)) != EC_OK ||
	    (rc = bind_i64(st, s, 2, now_ms)) != EC_OK ||
	    (rc = stmt_step(st, s, &row)) != EC_OK)
		goto out;
	if (!row) {
		rc = EC_NOT_FOUND;
		goto out;
	}
	online = sqlite3_column_int64(s, 0) != 0;
	if ((rc = column_copy(s, 1, username, sizeof(username))) != EC_OK)
		goto out;
	stmt_done(s);
	if ((rc = stmt_get(st, STMT_SESSION_SEEN, &s)) != EC_OK ||
	    (rc = bind_i64(st, s, 1, id)) != EC_OK ||
	    (rc = bind_i64(st, s, 2, now_ms)) != EC_OK ||
	    (rc = stmt_exec(st, s)) != EC_OK)
		goto out;
	s = NULL;
	if (online)
		goto out;
	if (*count < 0) {
		if ((rc = online_count(st, count)) != EC_OK)
			goto out;
	} else {
		(*count)++;
	}
	rc = presence_events(st, username, true, *count, now_ms, event_id);
	if (rc == EC_OK)
		*went_online = true;
out:
	stmt_done(s);
	return rc;
}

enum ecode store_session_touch(struct store *st, int64_t session_id,
			       int64_t now_ms, struct store_presence *out)
{
	int64_t count = -1, event_id = 0;
	bool went_online;
	enum ecode rc;

	presence_clear(out);
	if ((rc = tx_begin(st, true)) != EC_OK)
		return rc;
	rc = touch_one(st, session_id, now_ms, &count, &went_online,
		       &event_id);
	if (rc != EC_OK)
		goto fail;
	if (count < 0 && (rc = online_count(st, &count)) != EC_OK)
		goto fail;
	if ((rc = tx_commit(st)) != EC_OK)
		return rc;
	if (out) {
		out->changed = went_online;
		out->current_users = count;
		out->event_id = went_online ? event_id : 0;
	}
	return EC_OK;
fail:
	tx_rollback(st);
	return rc;
}

enum ecode store_sessions_touch(struct store *st, const int64_t *ids, size_t n,
				int64_t now_ms, int *went_online,
				int64_t *ended, size_t *n_ended)
{
	int64_t count = -1, event_id;
	size_t gone = 0;
	bool on;
	int total = 0;
	enum ecode rc;

	if (went_online)
		*went_online = 0;
	if (n_ended)
		*n_ended = 0;
	if (n == 0)
		return EC_OK;
	if ((rc = tx_begin(st, true)) != EC_OK)
		return rc;
	for (size_t i = 0; i < n; i++) {
		rc = touch_one(st, ids[i], now_ms, &count, &on, &event_id);
		if (rc == EC_NOT_FOUND) { /* logged out or expired meanwhile */
			if (ended)
				ended[gone++] = ids[i];
			continue;
		}
		if (rc != EC_OK)
			goto fail;
		total += on;
	}
	if ((rc = tx_commit(st)) != EC_OK)
		return rc;
	if (went_online)
		*went_online = total;
	if (n_ended)
		*n_ended = gone;
	return EC_OK;
fail:
	tx_rollback(st);
	return rc;
}

struct reap_row {
	int64_t id;
	char username[STORE_USERNAME_MAX + 1];
};

/* Collects the sessions to take offline before changing any: stepping a
 * SELECT while the same connection updates the rows under it is undefined
 * (SQLite docs, sqlite3_step). */
static enum ecode reap_collect(struct store *st, int64_t cutoff_ms,
			       int64_t now_ms, struct reap_row **rows,
			       size_t *n)
{
	struct reap_row *v = NULL, *nv;
	size_t len = 0, cap = 0;
	sqlite3_stmt *s = NULL;
	bool row;
	enum ecode rc;

	if ((rc = stmt_get(st, STMT_REAP_SELECT, &s)) != EC_OK ||
	    (rc = bind_i64(st, s, 1, cutoff_ms)) != EC_OK ||
	    (rc = bind_i64(st, s, 2, now_ms)) != EC_OK)
		goto out;
	for (;;) {
		if ((rc = stmt_step(st, s, &row)) != EC_OK || !row)
			break;
		if (len == cap) {
			cap += STORE_REAP_CHUNK;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				rc = EC_NOMEM;
				break;
			}
			v = nv;
		}
		v[len].id = sqlite3_column_int64(s, 0);
		rc = column_copy(s, 1, v[len].username,
				 sizeof(v[len].username));
		if (rc != EC_OK)
			break;
		len++;
	}
out:
	stmt_done(s);
	if (rc != EC_OK) {
		free(v);
		v = NULL;
		len = 0;
	}
	*rows = v;
	*n = len;
	return rc;
}

static enum ecode reap_needed(struct store *st, int64_t cutoff_ms,
			      int64_t now_ms, bool *needed)
{
	sqlite3_stmt *s = NULL;
	bool row;
	enum ecode rc;

	*needed = false;
	if ((rc = stmt_get(st, STMT_REAP_CHECK, &s)) != EC_OK ||
	    (rc = bind_i64(st, s, 1, cutoff_ms)) != EC_OK ||
	    (rc = bind_i64(st, s, 2, now_ms)) != EC_OK ||
	    (rc = stmt_step(st, s, &row)) != EC_OK)
		goto out;
	*needed = row && sqlite3_column_int64(s, 0) != 0;
out:
	stmt_done(s);
	return rc;
}

static enum ecode delete_upto(struct store *st, enum stmt_id id,
			      int64_t now_ms)
{
	sqlite3_stmt *s = NULL;
	enum ecode rc;

	if ((rc = stmt_get(st, id, &s)) != EC_OK ||
	    (rc = bind_i64(st, s, 1, now_ms)) != EC_OK ||
	    (rc = stmt_exec(st, s)) != EC_OK)
		stmt_done(s);
	return rc;
}

enum ecode store_sessions_reap(struct store *st, int64_t now_ms,
			       int64_t idle_ms, int *went_offline)
{
	struct reap_row *rows = NULL;
	sqlite3_stmt *s = NULL;
	int64_t cutoff = now_ms - idle_ms, count = 0;
	size_t n = 0;
	bool needed;
	enum ecode rc;

	if (went_offline)
		*went_offline = 0;
	if ((rc = reap_needed(st, cutoff, now_ms, &needed)) != EC_OK)
		return rc;
	if (!needed)
		return EC_OK;
	if ((rc = tx_begin(st, true)) != EC_OK)
		return rc;
	if ((rc = reap_collect(st, cutoff, now_ms, &rows, &n)) != EC_OK)
		goto fail;
	if (n > 0 && (rc = online_count(st, &count)) != EC_OK)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		if ((rc = stmt_get(st, STMT_SESSION_OFFLINE, &s)) != EC_OK ||
		    (rc = bind_i64(st, s, 1, rows[i].id)) != EC_OK ||
		    (rc = stmt_exec(st, s)) != EC_OK)
			goto fail;
		s = NULL;
		count--;
		rc = presence_events(st, rows[i].username, false, count,
				     now_ms, NULL);
		if (rc != EC_OK)
			goto fail;
	}
	if ((rc = delete_upto(st, STMT_REAP_EXPIRED, now_ms)) != EC_OK ||
	    (rc = delete_upto(st, STMT_REAP_FAILURES, now_ms)) != EC_OK)
		goto fail;
	if ((rc = tx_commit(st)) != EC_OK)
		goto out;
	if (went_offline)
		*went_offline = (int)n;
	goto out;
fail:
	stmt_done(s);
	tx_rollback(st);
out:
	free(rows);
	return rc;
}

/* ---- the event log ---- */

/* The store's promise that data is one JSON text.  The tokener is given
 * the terminating NUL too: without it a top-level number ("3") never ends.
 * "null" parses to a NULL object, so success is read from the tokener. */
static bool json_text_ok(const char *data)
{
	struct json_tokener *tok;
	struct json_object *obj;
	size_t len = strlen(data), end;
	bool ok = false;

	if (len >= INT32_MAX)
		return false;
	tok = json_tokener_new();
	if (!tok)
		return false;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, data, (int)len + 1);
	if (json_tokener_get_error(tok) == json_tokener_success) {
		end = json_tokener_get_parse_end(tok);
		ok = end <= len && strspn(data + end, " \t\r\n") == len - end;
	}
	json_object_put(obj);
	json_tokener_free(tok);
	return ok;
}

enum ecode store_event_append(struct store *st, const char *name,
			      const char *data_json, int64_t now_ms,
			      int64_t *id)
{
	int64_t new_id = 0;
	enum ecode rc;

	if (!name || !*name)
		return EC_INVALID_EVENT;
	if (!data_json || !json_text_ok(data_json))
		return EC_INVALID_JSON;
	if (st->in_tx) {
		/* Joins the caller's store_transaction(): its COMMIT (and the
		 * hook after it) or its ROLLBACK decide this event's fate. */
		rc = event_insert(st, name, data_json, now_ms, &new_id);
		if (rc == EC_OK && id)
			*id = new_id;
		return rc;
	}
	if ((rc = tx_begin(st, true)) != EC_OK)
		return rc;
	rc = event_insert(st, name, data_json, now_ms, &new_id);
	if (rc != EC_OK) {
		tx_rollback(st);
		return rc;
	}
	if ((rc = tx_commit(st)) != EC_OK)
		return rc;
	if (id)
		*id = new_id;
	return EC_OK;
}

enum ecode store_events_after(struct store *st, int64_t after_id, size_t limit,
			      store_event_fn *fn, void *ctx)
{
	struct store_event ev;
	sqlite3_stmt *s = NULL;
	bool row;
	enum ecode rc;

	if (limit == 0)
		return EC_OK;
	if (limit > INT64_MAX)
		limit = INT64_MAX;
	if ((rc = stmt_get(st, STMT_EVENTS_AFTER, &s)) != EC_OK ||
	    (rc = bind_i64(st, s, 1, after_id)) != EC_OK ||
	    (rc = bind_i64(st, s, 2, (int64_t)limit)) != EC_OK)
		goto out;
	for (;;) {
		if ((rc = stmt_step(st, s, &row)) != EC_OK || !row)
			break;
		ev.id = sqlite3_column_int64(s, 0);
		ev.name = (const char *)sqlite3_column_text(s, 1);
		ev.data = (const char *)sqlite3_column_text(s, 2);
		if (!ev.name || !ev.data) {
			rc = EC_NOMEM; /* both columns are NOT NULL */
			break;
		}
		if ((rc = fn(ctx, &ev)) != EC_OK)
			break;
	}
out:
	stmt_done(s);
	return rc;
}

static enum ecode event_bounds(struct store *st, int64_t *last, int64_t *first)
{
	sqlite3_stmt *s = NULL;
	bool row;
	enum ecode rc;

	if ((rc = stmt_get(st, STMT_EVENT_BOUNDS, &s)) != EC_OK ||
	    (rc = stmt_step(st, s, &row)) != EC_OK)
		goto out;
	if (!row) {
		rc = EC_DB;
		goto out;
	}
	*last = sqlite3_column_int64(s, 0);
	if (first)
		*first = sqlite3_column_int64(s, 1);
out:
	stmt_done(s);
	return rc;
}

enum ecode store_snapshot(struct store *st, struct store_snapshot *out)
{
	sqlite3_stmt *s = NULL;
	struct store_snapshot snap = { 0 };
	bool row;
	enum ecode rc;

	/* One read transaction: the count and the last id are from the same
	 * commit. */
	if ((rc = tx_begin(st, false)) != EC_OK)
		return rc;
	if ((rc = stmt_get(st, STMT_SNAPSHOT_USERS, &s)) != EC_OK ||
	    (rc = stmt_step(st, s, &row)) != EC_OK)
		goto fail;
	if (row) {
		snap.current_users = sqlite3_column_int64(s, 0);
		snap.unique_users = sqlite3_column_int64(s, 1);
	}
	stmt_done(s);
	s = NULL;
	if ((rc = event_bounds(st, &snap.last_id, &snap.first_id)) != EC_OK)
		goto fail;
	if ((rc = tx_commit(st)) != EC_OK)
		return rc;
	*out = snap;
	return EC_OK;
fail:
	stmt_done(s);
	tx_rollback(st);
	return rc;
}

enum ecode store_last_event_id(struct store *st, int64_t *id)
{
	return event_bounds(st, id, NULL);
}

enum ecode store_trim(struct store *st, int64_t keep, int64_t *deleted)
{
	sqlite3_stmt *s = NULL;
	int64_t n, last, first;
	enum ecode rc;

	if (deleted)
		*deleted = 0;
	if (keep < 0) {
		log_error("store: trim: keep %" PRId64 " < 0", keep);
		return EC_INTERNAL;
	}
	/* Read-only probe first: the housekeeping thread trims on a timer and
	 * should not take the write lock for nothing.  count <= last - first
	 * + 1, so a span within `keep` has nothing to delete. */
	if ((rc = event_bounds(st, &last, &first)) != EC_OK)
		return rc;
	if (first == 0 || last - first + 1 <= keep)
		return EC_OK;
	if ((rc = tx_begin(st, true)) != EC_OK)
		return rc;
	if ((rc = stmt_get(st, STMT_TRIM, &s)) != EC_OK ||
	    (rc = bind_i64(st, s, 1, keep)) != EC_OK ||
	    (rc = stmt_exec(st, s)) != EC_OK)
		goto fail;
	n = sqlite3_changes(st->db);
	if ((rc = tx_commit(st)) != EC_OK)
		return rc;
	if (deleted)
		*deleted = n;
	return EC_OK;
fail:
	stmt_done(s);
	tx_rollback(st);
	return rc;
}
