/* postgresql.c -- the PostgreSQL backend's connections (postgresql_int.h).
 *
 * One struct store_pg is one libpq connection of one thread (store_open():
 * one per worker thread, the hub's and the housekeeping thread's); a
 * struct pg_listen is the one LISTEN connection of a process's hub
 * (notify.c reaches it through store.h's store_listen_*()).  This file
 * connects, reconnects, maps errors, brackets transactions and applies
 * the migrations of sql/postgresql/ (embedded as postgresql_migrations.h);
 * postgresql_ops.c runs the primitives.
 *
 *   pg_migrate(db)   once (emitcgi init): under pg_advisory_lock, each
 *                    missing migration in its own transaction
 *   pg_open(db, &c)  connect, SET statement_timeout, check the version
 *   pg_begin(c, write) ... pg_commit(c) | pg_rollback(c)
 *   pg_run(q, PGS_x, &res, &state, args...)   a prepared statement
 *
 * Invariants:
 * - Two advisory locks (docs/STORE.md, "One order, one count"; migration
 *   4).  begin(c, true) takes PG_WRITE_LOCK EXCLUSIVE for the whole
 *   transaction: one such writer at a time across every process and
 *   machine, as SQLite's BEGIN IMMEDIATE on one file, so what it reads
 *   after the lock (the online count) is what its commit leaves.  Every
 *   transaction that draws an event id holds PG_ID_LOCK from before its
 *   nextval() to its end (the id's column default, emitcgi_event_id()):
 *   SHARED for a plain append (begin_append: no BEGIN at all, one
 *   autocommit INSERT), so appends commit side by side and share WAL
 *   flushes; EXCLUSIVE inside begin(c, true) (SET LOCAL emitcgi.ids), so
 *   that its ids follow each other.  Readers of the log take PG_ID_LOCK
 *   EXCLUSIVE for one statement (emitcgi_events_after()): every id up to
 *   the sequence's value then is settled, so a reader that saw id N never
 *   later finds a smaller one.  begin(c, false) (the snapshot) holds it
 *   EXCLUSIVE too: count and last id of one moment.  The order is always
 *   PG_WRITE_LOCK before PG_ID_LOCK: no deadlock between them.
 * - pg_commit() of a transaction that appended events sends NOTIFY in a
 *   transaction of its own after the COMMIT, in the same round trip: a
 *   NOTIFY inside would serialise the commits again.
 * - statement_timeout (PG_STATEMENT_TIMEOUT_MS) bounds every statement,
 *   the wait for the write lock included: a stuck server or a long queue
 *   of writers gives EC_DB_BUSY (JSON 503), never a hung worker.
 * - A broken connection fails the call in progress with EC_DB_BUSY.  Out
 *   of a transaction the next call (or this one, once, if it was the
 *   first to notice) reconnects; a failed reconnect waits a back-off
 *   (PG_BACKOFF_MIN_MS doubling to PG_BACKOFF_MAX_MS) before the next
 *   try, so a down server costs one connect attempt per back-off, not one
 *   per request.  Inside a transaction it never reconnects: the
 *   statements would silently run outside it.
 * - Statements are prepared on first use per connection ("e<id>") and
 *   again after a reconnect (the server forgets them).
 * - Errors: connection lost, statement_timeout, lock or serialisation
 *   failures, too many connections -> EC_DB_BUSY; unknown table ->
 *   EC_DB_SCHEMA; unique violation is the caller's to map; anything else
 *   EC_DB.  The server's message is logged where it happens.
 * - Log lines name the database by PQdb()/PQhost(), never by the
 *   connection string (it may hold a password).
 *
 * May call: libpq, log.h, clock.h.  Only src/store/postgresql*.c call PQ*
 * functions (tools/check-style.sh).
 */
#include "autoconfig.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "postgresql_int.h"
#include "postgresql_migrations.h"

#define PG_STATEMENT_TIMEOUT_MS 5000
#define PG_CONNECT_TIMEOUT_S "3"
#define PG_BACKOFF_MIN_MS 50
#define PG_BACKOFF_MAX_MS 2000
/* Advisory lock keys ("emit", "emiu", "emiw"): any constants would do, as
 * long as nothing else on the database uses them.  PG_ID_LOCK is the one
 * sql/postgresql/004-concurrent-emits.sql names in its functions. */
#define PG_ID_LOCK "1701669236"
#define PG_MIGRATE_LOCK "1701669237"
#define PG_WRITE_LOCK "1701669239"
#define PG_CHANNEL "emitcgi_events"
#define PG_MAX_PARAMS 16 /* sio_sessions rows bind 13 */

/* One listening connection (store_listen_*() in store.h). */
struct pg_listen {
	PGconn *pg;
	char db[]; /* the connection string, to reconnect */
};

/* ---- what selects this backend ---- */

bool pg_claims(const char *db)
{
	return store_db_is_postgresql(db);
}

/* ---- errors ---- */

/* The first line of libpq's message (they end in "\n"). */
static void pg_log(const char *what, const char *msg)
{
	size_t len = strcspn(msg ? msg : "", "\n");

	log_error("store: postgresql: %s: %.*s", what, (int)len,
		  msg ? msg : "");
}

static enum ecode pg_code(PGconn *pg, const char *state)
{
	if (!pg || PQstatus(pg) != CONNECTION_OK)
		return EC_DB_BUSY;
	if (strcmp(state, "53100") == 0) /* disk_full, before class 53 */
		return EC_DB_FULL;
	if (strncmp(state, "08", 2) == 0 ||  /* connection exception */
	    strncmp(state, "57P", 3) == 0 || /* shutting down */
	    strcmp(state, "57014") == 0 ||   /* statement_timeout */
	    strcmp(state, "55P03") == 0 ||   /* lock_not_available */
	    strncmp(state, "40", 2) == 0 ||  /* serialisation, deadlock */
	    strncmp(state, "53", 2) == 0)    /* out of connections... */
		return EC_DB_BUSY;
	if (strcmp(state, "42P01") == 0) /* undefined table */
		return EC_DB_SCHEMA;
	/* The faults /health reports and api.c answers with 503 +
	 * Retry-After (issue 9), as the SQLite backend maps its own. */
	if (strcmp(state, "25006") == 0) /* read_only_sql_transaction */
		return EC_DB_READONLY;
	if (strcmp(state, "53100") == 0) /* disk_full */
		return EC_DB_FULL;
	if (strcmp(state, "XX001") == 0 || /* data_corrupted */
	    strcmp(state, "XX002") == 0)   /* index_corrupted */
		return EC_DB_CORRUPT;
	if (strcmp(state, "58030") == 0) /* io_error */
		return EC_DB_IOERR;
	return EC_DB;
}

/* Logs a failed result, keeps its SQLSTATE in sqlstate[6] (may be NULL),
 * clears it. */
static enum ecode pg_fail_state(PGconn *pg, PGresult *r, const char *what,
				char *sqlstate)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	char local[6];

	if (!sqlstate)
		sqlstate = local;
	snprintf(sqlstate, 6, "%s", state ? state : "");
	/* A duplicate name, a deleted user: answers, not failures. */
	if (strcmp(sqlstate, "23505") != 0 && strcmp(sqlstate, "23503") != 0)
		pg_log(what, r ? PQresultErrorMessage(r) : PQerrorMessage(pg));
	PQclear(r);
	return pg_code(pg, sqlstate);
}

static enum ecode pg_fail(PGconn *pg, PGresult *r, const char *what)
{
	return pg_fail_state(pg, r, what, NULL);
}

/* Runs sql (no parameters, possibly several statements; the last result
 * decides). */
static enum ecode pg_exec(PGconn *pg, const char *sql, const char *what)
{
	PGresult *r = PQexec(pg, sql);
	ExecStatusType st = PQresultStatus(r);

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		PQclear(r);
		return EC_OK;
	}
	return pg_fail(pg, r, what);
}

/* ---- connecting ---- */

/* connect_timeout and application_name first: a value in the connection
 * string itself overrides them (expand_dbname). */
static PGconn *pg_connect(const char *db, enum ecode *rc)
{
	const char *const keys[] = { "connect_timeout", "application_name",
				     "dbname", NULL };
	const char *const vals[] = { PG_CONNECT_TIMEOUT_S, "emitcgi", db,
				     NULL };
	PGconn *pg = PQconnectdbParams(keys, vals, 1);

	if (!pg) {
		*rc = EC_NOMEM;
		return NULL;
	}
	if (PQstatus(pg) != CONNECTION_OK) {
		pg_log("connect", PQerrorMessage(pg));
		PQfinish(pg);
		*rc = EC_DB_BUSY;
		return NULL;
	}
	*rc = EC_OK;
	return pg;
}

/* Per connection (and again after a reconnect). */
static enum ecode pg_setup(PGconn *pg)
{
	char sql[64];

	snprintf(sql, sizeof(sql), "SET statement_timeout = %d",
		 PG_STATEMENT_TIMEOUT_MS);
	return pg_exec(pg, sql, "statement_timeout");
}

/* The connection is usable, or a reconnect was tried (unless the back-off
 * says not yet, or a transaction is open). */
static enum ecode pg_ready(struct store_pg *q)
{
	int64_t now;

	if (PQstatus(q->pg) == CONNECTION_OK)
		return EC_OK;
	if (q->in_tx)
		return EC_DB_BUSY; /* until store.c's rollback */
	now = clock_mono_ms();
	if (now < q->retry_at_ms)
		return EC_DB_BUSY;
	PQreset(q->pg);
	memset(q->prepared, 0, sizeof(q->prepared));
	if (PQstatus(q->pg) == CONNECTION_OK && pg_setup(q->pg) == EC_OK) {
		log_info("store: postgresql: reconnected to %s",
			 PQdb(q->pg) ? PQdb(q->pg) : "?");
		q->backoff_ms = 0;
		q->retry_at_ms = 0;
		return EC_OK;
	}
	if (PQstatus(q->pg) != CONNECTION_OK)
		pg_log("reconnect", PQerrorMessage(q->pg));
	q->backoff_ms = q->backoff_ms ? q->backoff_ms * 2 : PG_BACKOFF_MIN_MS;
	if (q->backoff_ms > PG_BACKOFF_MAX_MS)
		q->backoff_ms = PG_BACKOFF_MAX_MS;
	q->retry_at_ms = now + q->backoff_ms;
	return EC_DB_BUSY;
}

/* A call that failed because the connection just broke, out of any
 * transaction, may be tried once more on a new connection. */
static bool pg_may_retry(struct store_pg *q, int attempt)
{
	return attempt == 0 && PQstatus(q->pg) != CONNECTION_OK && !q->in_tx;
}

/* ---- statements ---- */

static enum ecode pg_prepare(struct store_pg *q, enum pg_stmt_id id)
{
	Oid types[PG_MAX_PARAMS];
	const char *t = pg_stmts[id].types;
	char name[16];
	int n = (int)strlen(t);
	PGresult *r;

	for (int i = 0; i < n; i++)
		types[i] = t[i] == 't' ? 25 /* text */ : 20 /* int8 */;
	snprintf(name, sizeof(name), "e%d", (int)id);
	r = PQprepare(q->pg, name, pg_stmts[id].sql, n, types);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		return pg_fail(q->pg, r, pg_stmts[id].sql);
	PQclear(r);
	q->prepared[id] = true;
	return EC_OK;
}

enum ecode pg_run(struct store_pg *q, enum pg_stmt_id id, PGresult **out,
		  const char **sqlstate, ...)
{
	char nums[PG_MAX_PARAMS][24], name[16];
	const char *vals[PG_MAX_PARAMS];
	const char *t = pg_stmts[id].types;
	int n = (int)strlen(t);
	enum ecode rc = EC_OK;
	va_list ap;

	*out = NULL;
	q->sqlstate[0] = '\0';
	if (sqlstate)
		*sqlstate = q->sqlstate;
	va_start(ap, sqlstate);
	for (int i = 0; i < n; i++) {
		if (t[i] == 't') {
			vals[i] = va_arg(ap, const char *);
		} else {
			snprintf(nums[i], sizeof(nums[i]), "%" PRId64,
				 va_arg(ap, int64_t));
			vals[i] = nums[i];
		}
	}
	va_end(ap);
	snprintf(name, sizeof(name), "e%d", (int)id);
	for (int attempt = 0; attempt < 2; attempt++) {
		PGresult *r;
		ExecStatusType st;

		if ((rc = pg_ready(q)) != EC_OK)
			return rc;
		if (!q->prepared[id] && (rc = pg_prepare(q, id)) != EC_OK) {
			if (pg_may_retry(q, attempt))
				continue;
			return rc;
		}
		r = PQexecPrepared(q->pg, name, n, vals, NULL, NULL, 0);
		st = PQresultStatus(r);
		if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
			*out = r;
			return EC_OK;
		}
		rc = pg_fail_state(q->pg, r, pg_stmts[id].sql, q->sqlstate);
		if (!pg_may_retry(q, attempt))
			return rc;
	}
	return rc;
}

int64_t pg_int(const PGresult *r, int row, int col)
{
	if (PQgetisnull(r, row, col))
		return 0;
	return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

/* ---- transactions ---- */

/* BEGIN plus what follows it (see pg_begin()). */
static enum ecode pg_begin_sql(struct store_conn *c, const char *sql)
{
	struct store_pg *q = pg_of(c);
	enum ecode rc = EC_OK;

	for (int attempt = 0; attempt < 2; attempt++) {
		if ((rc = pg_ready(q)) != EC_OK)
			return rc;
		if ((rc = pg_exec(q->pg, sql, "begin")) == EC_OK) {
			q->in_tx = true;
			q->notify_due = false;
			return EC_OK;
		}
		/* BEGIN ran but the lock timed out: nothing to keep. */
		if (PQstatus(q->pg) == CONNECTION_OK &&
		    PQtransactionStatus(q->pg) != PQTRANS_IDLE)
			(void)pg_exec(q->pg, "ROLLBACK", "rollback");
		if (!pg_may_retry(q, attempt))
			return rc;
	}
	return rc;
}

/* write: the write lock EXCLUSIVE for the whole transaction (the writes
 * that read the online count, and everything else but plain appends: one
 * at a time), and emitcgi.ids set so that, from its first event on, it
 * holds the id lock EXCLUSIVE too (its ids follow each other; readers wait
 * for it only from then on).  Read (store_snapshot()): READ COMMITTED
 * with the id lock EXCLUSIVE, so that no id taker is in flight while it
 * reads: the count and the last id are of the same moment, and that id is
 * settled. */
enum ecode pg_begin(struct store_conn *c, bool write)
{
	return pg_begin_sql(
		c, write ? "BEGIN; SELECT pg_advisory_xact_lock(" PG_WRITE_LOCK
			   "); SET LOCAL emitcgi.ids = 'exclusive'"
			 : "BEGIN READ ONLY; SELECT "
			   "pg_advisory_xact_lock(" PG_ID_LOCK ")");
}

/* A plain append (store.c: exactly one event insert follows): no BEGIN at
 * all.  The INSERT runs in a transaction of its own that commits with it
 * (one round trip instead of three); its id's column default takes the
 * write lock SHARED, so appends run, and commit sharing WAL flushes,
 * together.  in_tx stays set until pg_commit() so that a connection lost
 * under the INSERT is not retried (it may have committed). */
enum ecode pg_begin_append(struct store_conn *c)
{
	struct store_pg *q = pg_of(c);
	enum ecode rc = pg_ready(q);

	if (rc != EC_OK)
		return rc;
	q->in_tx = true;
	q->autocommit = true;
	q->notify_due = false;
	return EC_OK;
}

/* COMMIT, and when the transaction appended events (or queued Socket.IO
 * packets) a NOTIFY in a transaction of its own right after it, in the
 * same round trip.  Not in the writing transaction: PostgreSQL serialises
 * the commits of notifying transactions (PreCommit_Notify() holds a
 * cluster-wide lock until after the commit record is flushed), which
 * would undo the grouping of commits.  The notifying transaction has
 * nothing to keep, so it does not wait for its flush
 * (synchronous_commit off, for it alone).  It starts after the COMMIT
 * before it returned, so a process it wakes sees the events. */
#define PG_NOTIFY_SQL                                                          \
	"BEGIN; SET LOCAL synchronous_commit = off; "                          \
	"SELECT pg_notify('" PG_CHANNEL "', ''); COMMIT"

/* A NOTIFY transaction that failed half-way leaves the connection in it:
 * end it, so that the next statement runs. */
static void pg_notify_failed(struct store_pg *q)
{
	if (PQstatus(q->pg) == CONNECTION_OK &&
	    PQtransactionStatus(q->pg) != PQTRANS_IDLE)
		(void)pg_exec(q->pg, "ROLLBACK", "rollback");
}

enum ecode pg_commit(struct store_conn *c)
{
	struct store_pg *q = pg_of(c);
	bool notify = q->notify_due;
	PGresult *r;
	enum ecode rc = EC_OK;
	int n = 0;

	q->notify_due = false;
	if (q->autocommit) {
		/* Committed already: only the wake-up is left, and its
		 * failure (logged) must not fail the emit. */
		q->autocommit = false;
		q->in_tx = false;
		if (notify && pg_exec(q->pg, PG_NOTIFY_SQL, "notify") != EC_OK)
			pg_notify_failed(q);
		return EC_OK;
	}
	if (!notify) {
		r = PQexec(q->pg, "COMMIT");
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			return pg_fail(q->pg, r, "commit");
	} else {
		if (!PQsendQuery(q->pg, "COMMIT; " PG_NOTIFY_SQL))
			return pg_fail(q->pg, NULL, "commit");
		/* The first result is the COMMIT's; the rest the NOTIFY's
		 * (its failure is logged: the hubs' fallback check covers
		 * a lost wake-up, never a lost event). */
		r = NULL;
		while (rc == EC_OK) {
			PGresult *x = PQgetResult(q->pg);

			if (!x)
				break;
			if (n++ == 0) {
				r = x;
				if (PQresultStatus(r) != PGRES_COMMAND_OK) {
					rc = pg_fail(q->pg, r, "commit");
					r = NULL;
				}
				continue;
			}
			if (PQresultStatus(x) != PGRES_COMMAND_OK &&
			    PQresultStatus(x) != PGRES_TUPLES_OK)
				pg_log("notify", PQresultErrorMessage(x));
			PQclear(x);
		}
		if (rc == EC_OK)
			pg_notify_failed(q);
		if (rc != EC_OK) {
			while ((r = PQgetResult(q->pg)))
				PQclear(r);
			return rc;
		}
		if (!r)
			return pg_fail(q->pg, NULL, "commit");
	}
	/* COMMIT of a transaction that failed answers ROLLBACK. */
	if (strcmp(PQcmdStatus(r), "COMMIT") != 0) {
		log_error("store: postgresql: commit rolled back");
		rc = EC_DB;
	}
	PQclear(r);
	q->in_tx = false;
	return rc;
}

void pg_rollback(struct store_conn *c)
{
	struct store_pg *q = pg_of(c);

	q->in_tx = false;
	q->notify_due = false;
	if (q->autocommit) {
		q->autocommit = false; /* the failed INSERT undid itself */
		return;
	}
	if (PQstatus(q->pg) == CONNECTION_OK &&
	    PQtransactionStatus(q->pg) != PQTRANS_IDLE)
		(void)pg_exec(q->pg, "ROLLBACK", "rollback");
}

/* ---- versions, migrations, opening ---- */

int pg_schema_version(void)
{
	return postgresql_migrations_count;
}

enum ecode pg_read_version(struct store_conn *c, int *version)
{
	PGresult *r;
	enum ecode rc = pg_run(pg_of(c), PGS_VERSION, &r, NULL);

	if (rc != EC_OK)
		return rc;
	*version = PQntuples(r) == 1 ? (int)pg_int(r, 0, 0) : 0;
	PQclear(r);
	return EC_OK;
}

static enum ecode pg_version_of(PGconn *pg, int *v)
{
	PGresult *r = PQexec(pg, "SELECT version FROM emitcgi_schema");

	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		return pg_fail(pg, r, "schema version");
	*v = PQntuples(r) == 1 ? (int)strtol(PQgetvalue(r, 0, 0), NULL, 10) : 0;
	PQclear(r);
	return EC_OK;
}

/* Runs migration n unless another process did meanwhile (the caller holds
 * the migration lock, so none can now). */
static enum ecode pg_migrate_one(PGconn *pg, int n)
{
	char sql[64], what[32];
	enum ecode rc;

	snprintf(what, sizeof(what), "migration %d", n);
	if ((rc = pg_exec(pg, "BEGIN", what)) != EC_OK)
		return rc;
	snprintf(sql, sizeof(sql), "UPDATE emitcgi_schema SET version = %d", n);
	if ((rc = pg_exec(pg, postgresql_migrations[n - 1], what)) != EC_OK ||
	    (rc = pg_exec(pg, sql, what)) != EC_OK ||
	    (rc = pg_exec(pg, "COMMIT", what)) != EC_OK) {
		(void)pg_exec(pg, "ROLLBACK", what);
		return rc;
	}
	log_info("store: postgresql: applied migration %d", n);
	return EC_OK;
}

/* The session-level migration lock serialises every process running
 * migrate at once; the version is read after taking it. */
enum ecode pg_migrate(const char *db, int *from, int *to)
{
	int want = pg_schema_version(), v = 0, first = 0;
	enum ecode rc;
	PGconn *pg = pg_connect(db, &rc);

	if (!pg)
		goto out;
	if ((rc = pg_setup(pg)) != EC_OK ||
	    (rc = pg_exec(pg, "SET statement_timeout = 0", "migrate")) !=
		    EC_OK ||
	    (rc = pg_exec(pg, "SELECT pg_advisory_lock(" PG_MIGRATE_LOCK ")",
			  "migration lock")) != EC_OK)
		goto out;
	rc = pg_exec(pg,
		     "SET client_min_messages = warning; "
		     "CREATE TABLE IF NOT EXISTS emitcgi_schema ("
		     "one boolean PRIMARY KEY DEFAULT true CHECK (one), "
		     "version integer NOT NULL); "
		     "INSERT INTO emitcgi_schema (one, version) "
		     "VALUES (true, 0) ON CONFLICT DO NOTHING",
		     "version table");
	if (rc != EC_OK || (rc = pg_version_of(pg, &v)) != EC_OK)
		goto unlock;
	first = v;
	for (int n = v + 1; n <= want; n++)
		if ((rc = pg_migrate_one(pg, n)) != EC_OK)
			goto unlock;
	if ((rc = pg_version_of(pg, &v)) != EC_OK)
		goto unlock;
	if (v != want) {
		log_error("store: postgresql: schema version %d, this program "
			  "knows %d: it is newer than this program",
			  v, want);
		rc = EC_DB_SCHEMA;
	}
unlock:
	(void)pg_exec(pg, "SELECT pg_advisory_unlock(" PG_MIGRATE_LOCK ")",
		      "migration unlock");
out:
	if (from)
		*from = first;
	if (to)
		*to = v;
	if (pg)
		PQfinish(pg);
	return rc;
}

enum ecode pg_open(const char *db, struct store_conn **out)
{
	struct store_pg *q;
	int v = 0, want = pg_schema_version();
	enum ecode rc;

	*out = NULL;
	if (!(q = calloc(1, sizeof(*q))))
		return EC_NOMEM;
	if (!(q->pg = pg_connect(db, &rc)) || (rc = pg_setup(q->pg)) != EC_OK)
		goto fail;
	rc = pg_version_of(q->pg, &v);
	if (rc == EC_DB_SCHEMA || (rc == EC_OK && v != want)) {
		log_error("store: postgresql: %s: schema version %d, this "
			  "program needs %d: %s",
			  PQdb(q->pg), v, want,
			  v < want ? "run `emitcgi init`"
				   : "the database is newer than this program");
		rc = EC_DB_SCHEMA;
	}
	if (rc != EC_OK)
		goto fail;
	*out = (struct store_conn *)q;
	return EC_OK;
fail:
	if (q->pg)
		PQfinish(q->pg);
	free(q);
	return rc;
}

void pg_close(struct store_conn *c)
{
	struct store_pg *q = pg_of(c);

	if (!q)
		return;
	if (q->in_tx)
		pg_rollback(c);
	PQfinish(q->pg);
	free(q);
}

/* ---- the hub's LISTEN connection ---- */

static enum ecode pg_listen_connect(struct pg_listen *l)
{
	enum ecode rc;

	if (!(l->pg = pg_connect(l->db, &rc)))
		return rc;
	if ((rc = pg_exec(l->pg, "LISTEN " PG_CHANNEL, "listen")) != EC_OK) {
		PQfinish(l->pg);
		l->pg = NULL;
	}
	return rc;
}

enum ecode pg_listen_open(const char *db, struct store_listen_conn **out)
{
	size_t len = strlen(db) + 1;
	struct pg_listen *l = malloc(sizeof(*l) + len);
	enum ecode rc;

	*out = NULL;
	if (!l)
		return EC_NOMEM;
	memcpy(l->db, db, len);
	if ((rc = pg_listen_connect(l)) != EC_OK) {
		free(l);
		return rc;
	}
	*out = (struct store_listen_conn *)l;
	return EC_OK;
}

int pg_listen_fd(struct store_listen_conn *sl)
{
	struct pg_listen *l = (struct pg_listen *)sl;

	return l->pg ? PQsocket(l->pg) : -1;
}

enum ecode pg_listen_drain(struct store_listen_conn *sl, bool *lost)
{
	struct pg_listen *l = (struct pg_listen *)sl;
	PGnotify *n;

	*lost = false;
	if (l->pg && PQconsumeInput(l->pg) &&
	    PQstatus(l->pg) == CONNECTION_OK) {
		while ((n = PQnotifies(l->pg)))
			PQfreemem(n);
		return EC_OK;
	}
	if (l->pg) {
		pg_log("listen connection lost", PQerrorMessage(l->pg));
		PQfinish(l->pg);
		l->pg = NULL;
	}
	*lost = true;
	return EC_OK;
}

enum ecode pg_listen_reconnect(struct store_listen_conn *sl)
{
	struct pg_listen *l = (struct pg_listen *)sl;
	enum ecode rc;

	if (l->pg)
		return EC_OK;
	if ((rc = pg_listen_connect(l)) == EC_OK)
		log_info("store: postgresql: listening again");
	return rc;
}

void pg_listen_close(struct store_listen_conn *sl)
{
	struct pg_listen *l = (struct pg_listen *)sl;

	if (!l)
		return;
	if (l->pg)
		PQfinish(l->pg);
	free(l);
}
