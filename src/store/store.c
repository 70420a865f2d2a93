/* store.c -- the store's dispatch and the rules every backend shares.
 *
 * store.h is the interface, backend.h the table each backend fills; this
 * file binds them.  A struct store is the chosen backend, its connection,
 * and the state of the one transaction a connection may have open:
 *
 *   store_open(db, &st)          backend = store_backend_for(db)
 *   store_transaction(st, fn, c) begin(write) / fn / commit, hook after
 *   store_user_add(st, ...)      begin(write) / user_add / commit
 *   store_session_seen(st, ...)  joins: the caller's transaction, or refused
 *   store_close(st)
 *
 * Invariants:
 * - Every change runs in one write transaction (the backend's begin(c,
 *   true) takes the write lock before anything is read), rolled back on
 *   any error: counts read inside are the counts at its commit.
 * - st->in_tx is true while a caller's store_transaction() function runs:
 *   tx_begin() refuses then (no nesting; SQLite has none either), the
 *   joining functions require it, and store_event_append() uses it to tell
 *   whether to join or to commit on its own.
 * - st->tx_events counts events appended in the open transaction; after a
 *   COMMIT with tx_events > 0 the commit hook runs, once.
 * - The periodic writer store_trim() probes with a read first and takes
 *   the write lock only when there is work, so idle housekeeping in many
 *   processes does not contend (presence_tick() does the same with
 *   store_housekeeping_due()).
 * - No policy here: no event is built and no presence decided (presence.c,
 *   io.c); no SQL either (the backends).
 *
 * May call: backend.h (the tables), log.h.  To add a backend see backend.h;
 * it only needs an entry in store_backends[] here.  To add a primitive: an
 * entry in struct store_backend, filled by every backend, and a function
 * here that says whether it joins, reads, or begins its own transaction.
 */
#include "autoconfig.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "log.h"
#include "store.h"

struct store {
	const struct store_backend *be;
	struct store_conn *conn;
	store_commit_hook *hook;
	void *hook_ctx;
	int tx_events; /* events appended in the open transaction */
	bool in_tx;    /* a store_transaction() function is running */
};

/* The default (prefix NULL) last: it takes whatever no prefix claimed. */
const struct store_backend *const store_backends[] = {
#ifdef HAVE_POSTGRESQL
	&store_backend_postgresql,
#endif
	&store_backend_sqlite,
	NULL,
};

static bool store_claims(const struct store_backend *b, const char *db)
{
	if (!db)
		return false;
	if (b->claims)
		return b->claims(db);
	return strncmp(db, b->prefix, strlen(b->prefix)) == 0;
}

const struct store_backend *store_backend_for(const char *db)
{
	const struct store_backend *const *b;

	for (b = store_backends; (*b)->prefix; b++)
		if (store_claims(*b, db))
			return *b;
	return *b;
}

bool store_db_is_postgresql(const char *db)
{
	const char *p = db;

	if (!db)
		return false;
	if (strncmp(db, "postgresql://", 13) == 0 ||
	    strncmp(db, "postgres://", 11) == 0)
		return true;
	while (*p == '_' || (*p >= 'a' && *p <= 'z'))
		p++;
	if (p == db)
		return false;
	while (*p == ' ' || *p == '\t')
		p++;
	return *p == '=';
}

/* A PostgreSQL value in a build without PostgreSQL: one clear line, never
 * an SQLite file named "postgresql:...". */
static enum ecode store_db_supported(const char *db)
{
	if (store_backend_for(db)->prefix == NULL &&
	    store_db_is_postgresql(db)) {
		log_error("EMITCGI_DB is a PostgreSQL connection string, but "
			  "this emitcgi was built without PostgreSQL "
			  "(./configure found no libpq: install libpq-dev)");
		return EC_CONFIG;
	}
	return EC_OK;
}

/* ---- transactions ---- */

static enum ecode tx_begin(struct store *st, bool write)
{
	if (st->in_tx) {
		log_error("store: a function that begins its own transaction "
			  "was called inside store_transaction()");
		return EC_INTERNAL;
	}
	st->tx_events = 0;
	return st->be->begin(st->conn, write);
}

/* A transaction that only appends (store_event_append() alone): the
 * backend may run it beside others (backend.h, begin_append). */
static enum ecode tx_begin_append(struct store *st)
{
	if (!st->be->begin_append)
		return tx_begin(st, true);
	st->tx_events = 0;
	return st->be->begin_append(st->conn);
}

static void tx_rollback(struct store *st)
{
	st->be->rollback(st->conn);
	st->tx_events = 0;
}

/* Commits; on failure rolls back.  Runs the hook if events were added. */
static enum ecode tx_commit(struct store *st)
{
	int events = st->tx_events;
	enum ecode rc = st->be->commit(st->conn);

	st->tx_events = 0;
	if (rc != EC_OK) {
		tx_rollback(st);
		return rc;
	}
	if (events > 0 && st->hook)
		st->hook(st->hook_ctx);
	return EC_OK;
}

/* rc from a change made between tx_begin() and here: commit or roll back. */
static enum ecode tx_end(struct store *st, enum ecode rc)
{
	if (rc != EC_OK) {
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
	return tx_end(st, rc);
}

/* For the functions that only join a store_transaction(). */
static enum ecode tx_required(struct store *st, const char *what)
{
	if (st->in_tx)
		return EC_OK;
	log_error("store: %s outside store_transaction()", what);
	return EC_INTERNAL;
}

/* Throttle keys (store.h): "u:NAME", "a:ADDRESS", ... */
static bool key_ok(const char *key)
{
	size_t len;

	if (!key)
		return false;
	len = strlen(key);
	return len > 0 && len <= STORE_FAIL_KEY_MAX;
}

static bool name_ok(const char *username)
{
	size_t len;

	if (!username)
		return false;
	len = strlen(username);
	return len > 0 && len <= STORE_USERNAME_MAX;
}

/* ---- lifecycle ---- */

int store_schema_version(void)
{
	return store_backend_for(NULL)->schema_version();
}

enum ecode store_migrate(const char *path, int *from, int *to)
{
	enum ecode rc = store_db_supported(path);

	if (rc != EC_OK)
		return rc;
	return store_backend_for(path)->migrate(path, from, to);
}

enum ecode store_open(const char *path, struct store **out)
{
	struct store *st;
	enum ecode rc;

	*out = NULL;
	if ((rc = store_db_supported(path)) != EC_OK)
		return rc;
	if (!(st = calloc(1, sizeof(*st))))
		return EC_NOMEM;
	st->be = store_backend_for(path);
	if ((rc = st->be->open(path, &st->conn)) != EC_OK) {
		free(st);
		return rc;
	}
	*out = st;
	return EC_OK;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	st->be->close(st->conn);
	free(st);
}

void store_set_commit_hook(struct store *st, store_commit_hook *hook, void *ctx)
{
	st->hook = hook;
	st->hook_ctx = ctx;
}

enum ecode store_health(struct store *st, int *schema_version)
{
	int v = 0, want = st->be->schema_version();
	enum ecode rc = st->be->read_version(st->conn, &v);

	if (schema_version)
		*schema_version = v;
	if (rc == EC_OK && v != want) {
		log_error("store: schema version is now %d, expected %d", v,
			  want);
		rc = EC_DB_SCHEMA;
	}
	if (rc != EC_OK || !st->be->probe_write)
		return rc;
	/* A read alone says ok on a read-only or full database (issue 9):
	 * write, then roll back whatever happened. */
	if ((rc = tx_begin(st, true)) != EC_OK)
		return rc;
	rc = st->be->probe_write(st->conn);
	tx_rollback(st);
	return rc;
}

/* ---- issue 9: quota and sessions per user ---- */

static int64_t store_max_bytes_value; /* set once at start */

void store_set_max_bytes(int64_t bytes)
{
	store_max_bytes_value = bytes > 0 ? bytes : 0;
}

int64_t store_max_bytes(void)
{
	return store_max_bytes_value;
}

enum ecode store_user_sessions_cap(struct store *st, int64_t user_id,
				   int64_t keep, int64_t now_ms)
{
	enum ecode rc = tx_required(st, "store_user_sessions_cap()");

	if (rc != EC_OK)
		return rc;
	if (keep < 0)
		return EC_INTERNAL;
	/* A backend that has not ported it yet (PostgreSQL, until merged)
	 * runs without the cap rather than failing every login. */
	if (!st->be->user_sessions_cap)
		return EC_OK;
	return st->be->user_sessions_cap(st->conn, user_id, keep, now_ms);
}

/* ---- users and throttling ---- */

enum ecode store_user_add(struct store *st, const char *username,
			  const char *password_hash, int64_t now_ms)
{
	enum ecode rc;

	if (!name_ok(username))
		return EC_INVALID_USERNAME;
	if (!password_hash || strlen(password_hash) > STORE_HASH_MAX)
		return EC_TOO_LARGE;
	if ((rc = tx_begin(st, true)) != EC_OK)
		return rc;
	return tx_end(st, st->be->user_add(st->conn, username, password_hash,
					   now_ms));
}

enum ecode store_user_find(struct store *st, const char *username,
			   struct store_user *out)
{
	if (!name_ok(username))
		return EC_NOT_FOUND;
	return st->be->user_find(st->conn, username, out);
}

enum ecode store_login_failures(struct store *st, const char *username,
				int64_t now_ms, int *failures,
				int64_t *window_end_ms)
{
	int n = 0;
	int64_t end = 0;
	enum ecode rc;

	*failures = 0;
	*window_end_ms = 0;
	if (!key_ok(username))
		return EC_INVALID_USERNAME;
	rc = st->be->login_failures_get(st->conn, username, &n, &end);
	/* A window that has ended counts for nothing (housekeeping deletes
	 * its row later). */
	if (rc == EC_OK && end > now_ms) {
		*failures = n;
		*window_end_ms = end;
	}
	return rc;
}

enum ecode store_login_failure_add(struct store *st, const char *username,
				   int64_t now_ms, int64_t window_ms)
{
	enum ecode rc;

	if (!key_ok(username))
		return EC_INVALID_USERNAME;
	if ((rc = tx_begin(st, true)) != EC_OK)
		return rc;
	return tx_end(st, st->be->login_failure_add(st->conn, username, now_ms,
						    window_ms));
}

enum ecode store_login_failures_clear(struct store *st, const char *username)
{
	enum ecode rc;

	if (!key_ok(username))
		return EC_INVALID_USERNAME;
	if ((rc = tx_begin(st, true)) != EC_OK)
		return rc;
	return tx_end(st, st->be->login_failures_clear(st->conn, username));
}

enum ecode store_login_failures_expire(struct store *st, int64_t now_ms)
{
	enum ecode rc = tx_required(st, "store_login_failures_expire()");

	return rc != EC_OK ? rc
			   : st->be->login_failures_expire(st->conn, now_ms);
}

/* ---- sessions ---- */

enum ecode store_session_insert(struct store *st, const char *sid,
				int64_t user_id, int64_t now_ms,
				int64_t expires_ms, int64_t *current_users)
{
	enum ecode rc;

	if ((rc = tx_required(st, "store_session_insert()")) != EC_OK)
		return rc;
	if (!sid || !*sid)
		return EC_INTERNAL;
	rc = st->be->session_insert(st->conn, sid, user_id, now_ms, expires_ms);
	/* Under the write lock of the transaction: no other connection can
	 * change the count before it commits. */
	return rc != EC_OK ? rc : st->be->online_count(st->conn, current_users);
}

enum ecode store_session_find(struct store *st, const char *sid, int64_t now_ms,
			      struct store_session *out)
{
	if (!sid || !*sid)
		return EC_NOT_FOUND;
	return st->be->session_find(st->conn, sid, now_ms, out);
}

enum ecode store_session_delete(struct store *st, const char *sid,
				struct store_session *was)
{
	struct store_session local;
	enum ecode rc;

	if ((rc = tx_required(st, "store_session_delete()")) != EC_OK)
		return rc;
	if (!sid || !*sid)
		return EC_NOT_FOUND;
	return st->be->session_delete(st->conn, sid, was ? was : &local);
}

enum ecode store_session_seen(struct store *st, int64_t id, int64_t now_ms,
			      struct store_session *was)
{
	struct store_session local;
	enum ecode rc;

	if ((rc = tx_required(st, "store_session_seen()")) != EC_OK)
		return rc;
	return st->be->session_seen(st->conn, id, now_ms, was ? was : &local);
}

enum ecode store_session_offline(struct store *st, int64_t id)
{
	enum ecode rc = tx_required(st, "store_session_offline()");

	return rc != EC_OK ? rc : st->be->session_offline(st->conn, id);
}

enum ecode store_sessions_stale(struct store *st, int64_t cutoff_ms,
				int64_t now_ms, store_session_fn *fn, void *ctx)
{
	return st->be->sessions_stale(st->conn, cutoff_ms, now_ms, fn, ctx);
}

enum ecode store_housekeeping_due(struct store *st, int64_t cutoff_ms,
				  int64_t now_ms, bool *due)
{
	*due = false;
	return st->be->housekeeping_due(st->conn, cutoff_ms, now_ms, due);
}

enum ecode store_sessions_delete_expired(struct store *st, int64_t now_ms)
{
	enum ecode rc = tx_required(st, "store_sessions_delete_expired()");

	return rc != EC_OK ? rc
			   : st->be->sessions_delete_expired(st->conn, now_ms);
}

enum ecode store_online_count(struct store *st, int64_t *n)
{
	return st->be->online_count(st->conn, n);
}

/* ---- the event log ---- */

enum ecode store_event_append(struct store *st, const char *name,
			      const char *data_json, int64_t now_ms,
			      int64_t *id)
{
	int64_t new_id = 0;
	enum ecode rc;

	if (!name || !data_json) {
		log_error("store: event append without %s",
			  name ? "data" : "name");
		return EC_INTERNAL;
	}
	/* Inside a store_transaction() the event joins it: its COMMIT (and
	 * the hook after it) or its ROLLBACK decide the event's fate. */
	if (!st->in_tx && (rc = tx_begin_append(st)) != EC_OK)
		return rc;
	rc = st->be->event_insert(st->conn, name, data_json, now_ms, &new_id);
	if (rc == EC_OK)
		st->tx_events++;
	if (!st->in_tx)
		rc = tx_end(st, rc);
	if (rc == EC_OK && id)
		*id = new_id;
	return rc;
}

enum ecode store_events_after(struct store *st, int64_t after_id, size_t limit,
			      store_event_fn *fn, void *ctx)
{
	if (limit == 0)
		return EC_OK;
	return st->be->events_after(st->conn, after_id, limit, fn, ctx);
}

enum ecode store_snapshot(struct store *st, struct store_snapshot *out)
{
	struct store_snapshot snap = { 0 };
	enum ecode rc;

	/* One read transaction: the count and the last id are from the same
	 * commit. */
	if ((rc = tx_begin(st, false)) != EC_OK)
		return rc;
	rc = st->be->online_users(st->conn, &snap.current_users,
				  &snap.unique_users);
	if (rc == EC_OK)
		rc = st->be->event_bounds(st->conn, &snap.last_id,
					  &snap.first_id);
	if ((rc = tx_end(st, rc)) == EC_OK)
		*out = snap;
	return rc;
}

enum ecode store_last_event_id(struct store *st, int64_t *id)
{
	int64_t first;

	return st->be->event_bounds(st->conn, id, &first);
}

enum ecode store_trim(struct store *st, int64_t keep, int64_t *deleted)
{
	int64_t n = 0, last, first;
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
	if ((rc = st->be->event_bounds(st->conn, &last, &first)) != EC_OK)
		return rc;
	if (first == 0 || last - first + 1 <= keep)
		return EC_OK;
	if ((rc = tx_begin(st, true)) != EC_OK)
		return rc;
	rc = tx_end(st, st->be->events_trim(st->conn, keep, &n));
	if (rc == EC_OK && deleted)
		*deleted = n;
	return rc;
}

/* ---- server-side notification ---- */

struct store_listen {
	const struct store_backend *be;
	struct store_listen_conn *conn;
};

bool store_db_listens(const char *db)
{
	return store_backend_for(db)->listen_open != NULL ||
	       store_db_supported(db) != EC_OK;
}

enum ecode store_listen_open(const char *db, struct store_listen **out)
{
	const struct store_backend *be = store_backend_for(db);
	struct store_listen *l;
	enum ecode rc;

	*out = NULL;
	if ((rc = store_db_supported(db)) != EC_OK)
		return rc;
	if (!be->listen_open)
		return EC_OK;
	if (!(l = calloc(1, sizeof(*l))))
		return EC_NOMEM;
	l->be = be;
	if ((rc = be->listen_open(db, &l->conn)) != EC_OK) {
		free(l);
		return rc;
	}
	*out = l;
	return EC_OK;
}

int store_listen_fd(struct store_listen *l)
{
	return l->be->listen_fd(l->conn);
}

enum ecode store_listen_drain(struct store_listen *l, bool *lost)
{
	return l->be->listen_drain(l->conn, lost);
}

enum ecode store_listen_reconnect(struct store_listen *l)
{
	return l->be->listen_reconnect(l->conn);
}

void store_listen_close(struct store_listen *l)
{
	if (!l)
		return;
	l->be->listen_close(l->conn);
	free(l);
}

/* ---- Socket.IO sessions ---- */

enum ecode store_sio_insert(struct store *st, const struct store_sio *row,
			    int64_t *id)
{
	enum ecode rc = tx_required(st, "store_sio_insert()");

	return rc != EC_OK ? rc : st->be->sio_insert(st->conn, row, id);
}

enum ecode store_sio_get(struct store *st, const char *sid,
			 struct store_sio *out)
{
	return st->be->sio_get(st->conn, 's', sid, 0, out);
}

enum ecode store_sio_get_id(struct store *st, int64_t id, struct store_sio *out)
{
	return st->be->sio_get(st->conn, 'i', NULL, id, out);
}

enum ecode store_sio_get_pid(struct store *st, const char *pid,
			     struct store_sio *out)
{
	return st->be->sio_get(st->conn, 'p', pid, 0, out);
}

enum ecode store_sio_update(struct store *st, const struct store_sio *row)
{
	enum ecode rc = tx_required(st, "store_sio_update()");

	if (rc == EC_OK)
		rc = st->be->sio_update(st->conn, row);
	/* Queued packets wake the hubs exactly as an event does. */
	if (rc == EC_OK && row->outq[0])
		st->tx_events++;
	return rc;
}

enum ecode store_sio_expire(struct store *st, int64_t before_ms)
{
	enum ecode rc = tx_required(st, "store_sio_expire()");

	return rc != EC_OK ? rc : st->be->sio_expire(st->conn, before_ms);
}

enum ecode store_sio_pending(struct store *st, store_sio_id_fn *fn, void *ctx)
{
	return st->be->sio_pending(st->conn, fn, ctx);
}
