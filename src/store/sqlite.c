/* sqlite.c -- the SQLite backend: store_backend_sqlite (backend.h); this
 * file owns the connection, its statements, transactions and migrations,
 * sqlite_ops.c the primitives and the table (sqlite_int.h between them).
 *
 * Only the sqlite*.c files include sqlite3.h.  A struct store_sqlite is one
 * SQLite connection plus the statements prepared on it, for one thread.
 * It executes SQL and returns data and statuses; transactions, the commit
 * hook and every rule about presence and events are above it (store.c,
 * presence.c, io.c).  Its schema is sql/sqlite/ (001-initial.sql, ...),
 * compiled in by build-aux/sql2c.sh (sqlite_migrations.h).
 *
 *   migrate(path, &from, &to)   once, at start (emitcgi init too)
 *   open(path, &c) / close(c)   per thread
 *   begin(c, write) ... commit(c) | rollback(c)
 *   session_seen(c, id, now, &was), event_insert(c, ...), ...  one or two
 *                               prepared statements each
 *
 * Invariants:
 * - begin(c, true) is BEGIN IMMEDIATE: the write lock is taken before
 *   anything is read, so counts read inside are the counts at the commit.
 * - Connections are in WAL mode with a busy timeout and foreign keys on.
 * - Statements are prepared once (lazily, SQLITE_PREPARE_PERSISTENT) and
 *   always left reset with their bindings cleared (sqlite_stmt_done()).
 * - A listing whose callback may write (sessions_stale) is read to the end
 *   before the first callback: stepping a SELECT while the same connection
 *   updates the rows under it is undefined (SQLite docs, sqlite3_step).
 * - No pointer into SQLite memory leaves this file except the borrowed
 *   name/data of struct store_event, valid only during the callback.
 * - Errors: SQLITE_BUSY/LOCKED -> EC_DB_BUSY, a unique constraint on a user
 *   name -> EC_USERNAME_TAKEN, READONLY/FULL/CORRUPT (and NOTADB)/IOERR
 *   (and CANTOPEN) -> EC_DB_READONLY/FULL/CORRUPT/IOERR, anything else ->
 *   EC_DB; sqlite3_errmsg() is logged where it happens (sqlite_db_error()).
 * - store_max_bytes() (EMITCGI_DB_MAX_MB) becomes PRAGMA max_page_count on
 *   every connection: past it a write fails SQLITE_FULL, as on a full disk.
 *
 * To add a query: add a STMT_ id and its SQL to the two tables below, run
 * it with sqlite_stmt_bind() (and sqlite_stmt_step()/sqlite_stmt_exec()),
 * finish with sqlite_stmt_done().  Schema changes go in a new
 * sql/sqlite/NNN-*.sql (docs/STORE.md).
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sqlite_int.h"
#include "sqlite_migrations.h"

#define STORE_SQLITE_BUSY_TIMEOUT_MS 5000
/* Pause between attempts to switch a new database to WAL (set_pragmas()). */
#define STORE_SQLITE_WAL_RETRY_MS 10
#define STORE_SQLITE_SYNCHRONOUS "FULL"

/* ---- errors and statements ---- */

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
	/* Faults of the file or the disk (issue 9): a JSON 503 with
	 * Retry-After, and /health names them. */
	case SQLITE_READONLY:
		return EC_DB_READONLY;
	case SQLITE_FULL:
		return EC_DB_FULL;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return EC_DB_CORRUPT;
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
		return EC_DB_IOERR;
	default:
		return EC_DB;
	}
}

/* Logs what failed with SQLite's message and maps rc to an ecode. */
enum ecode sqlite_db_error(struct store_sqlite *q, int rc, const char *what)
{
	log_error("store: %s: %s (%d)", what,
		  q->db ? sqlite3_errmsg(q->db) : sqlite3_errstr(rc), rc);
	return db_code(rc) == EC_OK ? EC_DB : db_code(rc);
}

/* The error of a step is handled where it happened, so reset's echo of it
 * is not news. */
void sqlite_stmt_done(sqlite3_stmt *s)
{
	if (s) {
		(void)sqlite3_reset(s);
		(void)sqlite3_clear_bindings(s);
	}
}

/* Gets statement id (prepared on first use) and binds its parameters in
 * order from the arguments: 't' a const char * (text), 'i' an int64_t.
 * On error nothing is left bound. */
enum ecode sqlite_stmt_bind(struct store_sqlite *q, enum stmt_id id,
			    sqlite3_stmt **out, const char *types, ...)
{
	sqlite3_stmt *s;
	va_list ap;
	int rc = SQLITE_OK;

	*out = NULL;
	if (!q->stmt[id]) {
		rc = sqlite3_prepare_v3(q->db, sqlite_stmt_sql[id], -1,
					SQLITE_PREPARE_PERSISTENT, &q->stmt[id],
					NULL);
		if (rc != SQLITE_OK) {
			q->stmt[id] = NULL;
			return sqlite_db_error(q, rc, sqlite_stmt_sql[id]);
		}
	}
	s = q->stmt[id];
	va_start(ap, types);
	for (int i = 0; types[i] && rc == SQLITE_OK; i++)
		rc = types[i] == 't'
			     ? sqlite3_bind_text(s, i + 1,
						 va_arg(ap, const char *), -1,
						 SQLITE_STATIC)
			     : sqlite3_bind_int64(s, i + 1,
						  va_arg(ap, int64_t));
	va_end(ap);
	if (rc != SQLITE_OK) {
		sqlite_stmt_done(s);
		return sqlite_db_error(q, rc, "bind");
	}
	*out = s;
	return EC_OK;
}

/* One step: *row tells SQLITE_ROW from SQLITE_DONE; anything else is
 * logged and returned as an ecode. */
enum ecode sqlite_stmt_step(struct store_sqlite *q, sqlite3_stmt *s, bool *row)
{
	int rc = sqlite3_step(s);

	*row = rc == SQLITE_ROW;
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return EC_OK;
	return sqlite_db_error(q, rc, sqlite3_sql(s));
}

/* Runs a bound statement without result rows and resets it. */
enum ecode sqlite_stmt_exec(struct store_sqlite *q, sqlite3_stmt *s)
{
	bool row;
	enum ecode rc = sqlite_stmt_step(q, s, &row);

	sqlite_stmt_done(s);
	return rc;
}

/* The first row of a bound query: EC_NOT_FOUND if none.  Leaves s on the
 * row (or reset, on error) for the caller's sqlite_stmt_done(). */
enum ecode sqlite_stmt_row(struct store_sqlite *q, sqlite3_stmt *s)
{
	bool row;
	enum ecode rc = sqlite_stmt_step(q, s, &row);

	if (rc == EC_OK && !row)
		rc = EC_NOT_FOUND;
	return rc;
}

/* A query with no parameters that answers one row of integers. */
enum ecode sqlite_query_i64s(struct store_sqlite *q, enum stmt_id id,
			     int64_t *a, int64_t *b)
{
	sqlite3_stmt *s;
	enum ecode rc;

	if ((rc = sqlite_stmt_bind(q, id, &s, "")) != EC_OK)
		return rc;
	if ((rc = sqlite_stmt_row(q, s)) == EC_NOT_FOUND) {
		log_error("store: %s: no row", sqlite_stmt_sql[id]);
		rc = EC_DB;
	}
	if (rc == EC_OK) {
		*a = sqlite3_column_int64(s, 0);
		if (b)
			*b = sqlite3_column_int64(s, 1);
	}
	sqlite_stmt_done(s);
	return rc;
}

/* Copies a text column into dst[size]; EC_DB if it does not fit. */
enum ecode sqlite_column_copy(sqlite3_stmt *s, int col, char *dst, size_t size)
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

/* A row of the session queries: id, user_id, username, online,
 * last_seen_ms, expires_ms. */
enum ecode sqlite_column_session(sqlite3_stmt *s, struct store_session *out)
{
	out->id = sqlite3_column_int64(s, 0);
	out->user_id = sqlite3_column_int64(s, 1);
	out->online = sqlite3_column_int64(s, 3) != 0;
	out->last_seen_ms = sqlite3_column_int64(s, 4);
	out->expires_ms = sqlite3_column_int64(s, 5);
	return sqlite_column_copy(s, 2, out->username, sizeof(out->username));
}

/* ---- transactions ---- */

enum ecode sqlite_begin(struct store_conn *c, bool write)
{
	struct store_sqlite *q = sqlite_conn_of(c);
	sqlite3_stmt *s;
	enum ecode rc;

	rc = sqlite_stmt_bind(q, write ? STMT_BEGIN_IMMEDIATE : STMT_BEGIN, &s,
			      "");
	return rc != EC_OK ? rc : sqlite_stmt_exec(q, s);
}

void sqlite_rollback(struct store_conn *c)
{
	struct store_sqlite *q = sqlite_conn_of(c);
	sqlite3_stmt *s;

	if (sqlite3_get_autocommit(q->db))
		return; /* SQLite rolled back already (e.g. SQLITE_FULL) */
	if (sqlite_stmt_bind(q, STMT_ROLLBACK, &s, "") == EC_OK)
		(void)sqlite_stmt_exec(
			q, s); /* logged there; nothing more to do */
}

enum ecode sqlite_commit(struct store_conn *c)
{
	struct store_sqlite *q = sqlite_conn_of(c);
	sqlite3_stmt *s;
	enum ecode rc;

	rc = sqlite_stmt_bind(q, STMT_COMMIT, &s, "");
	return rc != EC_OK ? rc : sqlite_stmt_exec(q, s);
}

/* ---- opening, migrations ---- */

int sqlite_schema_version(void)
{
	return sqlite_migrations_count;
}

enum ecode sqlite_read_version(struct store_conn *c, int *version)
{
	int64_t v;
	enum ecode rc = sqlite_query_i64s(sqlite_conn_of(c), STMT_USER_VERSION,
					  &v, NULL);

	if (rc == EC_OK)
		*version = (int)v;
	return rc;
}

static enum ecode exec_sql(struct store_sqlite *q, const char *sql,
			   const char *what)
{
	char *msg = NULL;
	int rc = sqlite3_exec(q->db, sql, NULL, NULL, &msg);

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

/* EMITCGI_DB_MAX_MB: a quota on the file, so a flood of events fills it
 * and not the disk.  SQLite never lowers max_page_count below the pages in
 * use: a file already past the cap takes no new page. */
static enum ecode set_max_pages(struct store_sqlite *q, const char *path)
{
	int64_t max_bytes = store_max_bytes(), page_size;
	char sql[64];
	enum ecode rc;

	if (max_bytes <= 0)
		return EC_OK;
	if ((rc = sqlite_query_i64s(q, STMT_PAGE_SIZE, &page_size, NULL)) !=
	    EC_OK)
		return rc;
	if (page_size <= 0)
		return EC_DB;
	snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %lld",
		 (long long)(max_bytes / page_size));
	return exec_sql(q, sql, path);
}

/* WAL: readers never block the writer.  synchronous=FULL (issue 9): with
 * NORMAL a power cut may lose the last commits, and the ids they used
 * would be given again to other events while a client holds them (SPEC
 * "Resume" would then skip silently).  FULL syncs the WAL at every commit;
 * the cost is measured in docs/BENCH.md. */
static enum ecode set_pragmas(struct store_sqlite *q, const char *path)
{
	char *msg = NULL;
	bool wal = false;
	enum ecode rc;
	int src;

	/* Turning a file to WAL takes an exclusive lock.  When processes
	 * starting at once each hold a shared lock and want it, SQLite
	 * answers SQLITE_BUSY at once instead of calling the busy handler
	 * (it would deadlock), so retry here, within the busy timeout. */
	for (int waited_ms = 0;; waited_ms += STORE_SQLITE_WAL_RETRY_MS) {
		src = sqlite3_exec(q->db, "PRAGMA journal_mode=WAL",
				   journal_mode_cb, &wal, &msg);
		if ((src & 0xff) != SQLITE_BUSY ||
		    waited_ms >= STORE_SQLITE_BUSY_TIMEOUT_MS)
			break;
		sqlite3_free(msg);
		msg = NULL;
		(void)sqlite3_sleep(STORE_SQLITE_WAL_RETRY_MS);
	}
	if (src != SQLITE_OK) {
		log_error("store: %s: journal_mode=WAL: %s (%d)", path,
			  msg ? msg : sqlite3_errstr(src), src);
		sqlite3_free(msg);
		return db_code(src) == EC_OK ? EC_DB : db_code(src);
	}
	if (!wal)
		log_warn("store: %s: WAL mode unavailable, readers will block "
			 "writers",
			 path);
	rc = exec_sql(q,
		      "PRAGMA synchronous=" STORE_SQLITE_SYNCHRONOUS
		      "; PRAGMA foreign_keys=ON",
		      path);
	return rc != EC_OK ? rc : set_max_pages(q, path);
}

static void sqlite_free(struct store_sqlite *q)
{
	int rc;

	if (!q)
		return;
	for (int i = 0; i < STMT__COUNT; i++)
		(void)sqlite3_finalize(q->stmt[i]); /* NULL is a no-op */
	if (q->db) {
		rc = sqlite3_close(q->db);
		if (rc != SQLITE_OK)
			log_error("store: close: %s (%d)",
				  sqlite3_errmsg(q->db), rc);
	}
	free(q);
}

/* Opens the file; flags decide whether it may be created. */
static enum ecode sqlite_connect(const char *path, int flags,
				 struct store_sqlite **out)
{
	struct store_sqlite *q;
	enum ecode rc;
	int src;

	*out = NULL;
	if (!path || !*path) {
		log_error("store: no database path");
		return EC_CONFIG;
	}
	if (!(q = calloc(1, sizeof(*q))))
		return EC_NOMEM;
	src = sqlite3_open_v2(path, &q->db, flags, NULL);
	if (src != SQLITE_OK) {
		if (!(flags & SQLITE_OPEN_CREATE) &&
		    (src & 0xff) == SQLITE_CANTOPEN &&
		    access(path, F_OK) != 0 && errno == ENOENT) {
			log_error("store: %s: no such database: run "
				  "`emitcgi init`",
				  path);
			rc = EC_DB_SCHEMA;
		} else {
			rc = sqlite_db_error(q, src, path);
		}
		goto out;
	}
	(void)sqlite3_extended_result_codes(q->db, 1);
	src = sqlite3_busy_timeout(q->db, STORE_SQLITE_BUSY_TIMEOUT_MS);
	if (src != SQLITE_OK) {
		rc = sqlite_db_error(q, src, "busy_timeout");
		goto out;
	}
	*out = q;
	return EC_OK;
out:
	sqlite_free(q);
	return rc;
}

/* Runs migration n unless another process did while we waited for the
 * lock: the version is read again inside BEGIN IMMEDIATE. */
static enum ecode migrate_one(struct store_sqlite *q, int n)
{
	struct store_conn *c = (struct store_conn *)q;
	char pragma[48], what[48];
	enum ecode rc;
	int v;

	if ((rc = sqlite_begin(c, true)) != EC_OK)
		return rc;
	if ((rc = sqlite_read_version(c, &v)) != EC_OK)
		goto fail;
	if (v >= n)
		return sqlite_commit(c);
	snprintf(what, sizeof(what), "migration %d", n);
	if ((rc = exec_sql(q, sqlite_migrations[n - 1], what)) != EC_OK)
		goto fail;
	snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", n);
	if ((rc = exec_sql(q, pragma, what)) != EC_OK ||
	    (rc = sqlite_commit(c)) != EC_OK)
		goto fail;
	log_info("store: applied migration %d", n);
	return EC_OK;
fail:
	sqlite_rollback(c);
	return rc;
}

enum ecode sqlite_migrate(const char *path, int *from, int *to)
{
	struct store_sqlite *q = NULL;
	int want = sqlite_schema_version();
	int v = 0, first = 0;
	enum ecode rc;

	rc = sqlite_connect(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
			    &q);
	if (rc != EC_OK || (rc = set_pragmas(q, path)) != EC_OK ||
	    (rc = sqlite_read_version((struct store_conn *)q, &v)) != EC_OK)
		goto out;
	first = v;
	for (int n = v + 1; n <= want; n++)
		if ((rc = migrate_one(q, n)) != EC_OK)
			goto out;
	if ((rc = sqlite_read_version((struct store_conn *)q, &v)) != EC_OK)
		goto out;
	if (v != want) {
		log_error("store: %s: schema version %d, this program knows "
			  "%d: it is newer than this program",
			  path, v, want);
		rc = EC_DB_SCHEMA;
	}
out:
	if (from)
		*from = first;
	if (to)
		*to = v;
	sqlite_free(q);
	return rc;
}

enum ecode sqlite_open(const char *path, struct store_conn **out)
{
	struct store_sqlite *q = NULL;
	int v, want = sqlite_schema_version();
	enum ecode rc;

	*out = NULL;
	if ((rc = sqlite_connect(path, SQLITE_OPEN_READWRITE, &q)) != EC_OK)
		return rc;
	/* Version first: an uninitialised file must not be written to (WAL
	 * mode would give it a header). */
	if ((rc = sqlite_read_version((struct store_conn *)q, &v)) != EC_OK)
		goto out;
	if (v != want) {
		log_error("store: %s: schema version %d, this program needs "
			  "%d: %s",
			  path, v, want,
			  v < want ? "run `emitcgi init`"
				   : "the database is newer than this program");
		rc = EC_DB_SCHEMA;
		goto out;
	}
	if ((rc = set_pragmas(q, path)) != EC_OK)
		goto out;
	*out = (struct store_conn *)q;
	return EC_OK;
out:
	sqlite_free(q);
	return rc;
}

void sqlite_close(struct store_conn *c)
{
	struct store_sqlite *q = sqlite_conn_of(c);

	if (q && q->db && !sqlite3_get_autocommit(q->db))
		sqlite_rollback(c);
	sqlite_free(q);
}
