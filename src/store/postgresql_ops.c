/* postgresql_ops.c -- the PostgreSQL backend's primitives and its table,
 * store_backend_postgresql (backend.h).
 *
 * Each primitive is one prepared statement (postgresql_stmt.c) run by
 * pg_run() (postgresql.c: reconnects, errors), or two where SQLite's are
 * two.  Like sqlite.c it returns data and statuses and holds no policy:
 * transactions, the commit hook, presence and events are above it.
 *
 * Invariants:
 * - Write primitives run inside store.c's begin(c, true), i.e. under the
 *   advisory write lock held EXCLUSIVE: one such writer at a time on the
 *   whole database.  The exception is a plain append (begin_append):
 *   event_insert draws its id through the column default, which holds
 *   the id lock SHARED, so plain appends run side by side (migration 4;
 *   postgresql.c has the two locks).  events_trim takes the id lock
 *   EXCLUSIVE first.
 * - event_insert and sio_update with packets set notify_due: the commit
 *   then wakes every hub (pg_commit()).
 * - session_offline changes only an online session ("WHERE online"), so
 *   even a writer without the lock could not flip a session twice.
 * - A listing whose callback may write (sessions_stale) is read whole
 *   (PQexecPrepared returns every row) before the first callback.
 * - Nothing returned points into a PGresult except the borrowed name/data
 *   of struct store_event, valid during the callback only.
 *
 * May call: postgresql_int.h (pg_run, libpq result accessors), log.h.
 * To add a primitive: a PGS_ id and its SQL in postgresql_stmt.[ch], a
 * function here, its entry in the table at the end.
 */
#include "autoconfig.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "postgresql_int.h"

/* Copies text column col of row 0 into dst[size]; EC_DB if too long. */
static enum ecode pg_copy(const PGresult *r, int row, int col, char *dst,
			  size_t size)
{
	const char *v = PQgetvalue(r, row, col);
	size_t len = (size_t)PQgetlength(r, row, col);

	if (len >= size) {
		log_error("store: postgresql: column %d is %zu bytes, room for "
			  "%zu",
			  col, len, size - 1);
		return EC_DB;
	}
	memcpy(dst, v, len);
	dst[len] = '\0';
	return EC_OK;
}

/* A session row (postgresql_stmt.c: PG_SESSION_COLS). */
static enum ecode pg_session(const PGresult *r, int row,
			     struct store_session *out)
{
	out->id = pg_int(r, row, 0);
	out->user_id = pg_int(r, row, 1);
	out->online = pg_int(r, row, 3) != 0;
	out->last_seen_ms = pg_int(r, row, 4);
	out->expires_ms = pg_int(r, row, 5);
	return pg_copy(r, row, 2, out->username, sizeof(out->username));
}

/* Statement id, no result wanted. */
static enum ecode pg_exec_t(struct store_conn *c, enum pg_stmt_id id,
			    const char *t)
{
	PGresult *r;
	enum ecode rc = pg_run(pg_of(c), id, &r, NULL, t);

	PQclear(r);
	return rc;
}

static enum ecode pg_exec_i(struct store_conn *c, enum pg_stmt_id id, int64_t i)
{
	PGresult *r;
	enum ecode rc = pg_run(pg_of(c), id, &r, NULL, i);

	PQclear(r);
	return rc;
}

/* A query without parameters answering one row of integers. */
static enum ecode pg_i64s(struct store_conn *c, enum pg_stmt_id id, int64_t *a,
			  int64_t *b)
{
	PGresult *r;
	enum ecode rc = pg_run(pg_of(c), id, &r, NULL);

	if (rc != EC_OK)
		return rc;
	if (PQntuples(r) != 1) {
		log_error("store: postgresql: %s: %d rows", pg_stmts[id].sql,
			  PQntuples(r));
		rc = EC_DB;
	} else {
		*a = pg_int(r, 0, 0);
		if (b)
			*b = pg_int(r, 0, 1);
	}
	PQclear(r);
	return rc;
}

/* ---- users and throttling ---- */

static enum ecode pg_user_add(struct store_conn *c, const char *username,
			      const char *password_hash, int64_t now_ms)
{
	const char *state;
	PGresult *r;
	enum ecode rc = pg_run(pg_of(c), PGS_USER_ADD, &r, &state, username,
			       password_hash, now_ms);

	PQclear(r);
	if (rc != EC_OK && strcmp(state, "23505") == 0) {
		log_debug("store: user %s exists", username);
		rc = EC_USERNAME_TAKEN;
	}
	return rc;
}

static enum ecode pg_user_find(struct store_conn *c, const char *username,
			       struct store_user *out)
{
	PGresult *r;
	enum ecode rc = pg_run(pg_of(c), PGS_USER_FIND, &r, NULL, username);

	if (rc != EC_OK)
		return rc;
	if (PQntuples(r) == 0) {
		rc = EC_NOT_FOUND;
	} else {
		out->id = pg_int(r, 0, 0);
		rc = pg_copy(r, 0, 1, out->username, sizeof(out->username));
		if (rc == EC_OK)
			rc = pg_copy(r, 0, 2, out->password_hash,
				     sizeof(out->password_hash));
	}
	PQclear(r);
	return rc;
}

static enum ecode pg_login_failures_get(struct store_conn *c,
					const char *username, int *failures,
					int64_t *window_end_ms)
{
	PGresult *r;
	int64_t n;
	enum ecode rc = pg_run(pg_of(c), PGS_FAIL_GET, &r, NULL, username);

	*failures = 0;
	*window_end_ms = 0;
	if (rc != EC_OK)
		return rc;
	if (PQntuples(r) > 0) {
		n = pg_int(r, 0, 0);
		*failures = n > INT32_MAX ? INT32_MAX : (int)n;
		*window_end_ms = pg_int(r, 0, 1);
	}
	PQclear(r);
	return EC_OK;
}

static enum ecode pg_login_failure_add(struct store_conn *c,
				       const char *username, int64_t now_ms,
				       int64_t window_ms)
{
	PGresult *r;
	enum ecode rc = pg_run(pg_of(c), PGS_FAIL_ADD, &r, NULL, username,
			       now_ms, window_ms);

	PQclear(r);
	return rc;
}

static enum ecode pg_login_failures_clear(struct store_conn *c,
					  const char *username)
{
	return pg_exec_t(c, PGS_FAIL_CLEAR, username);
}

static enum ecode pg_login_failures_expire(struct store_conn *c, int64_t now_ms)
{
	return pg_exec_i(c, PGS_FAIL_EXPIRE, now_ms);
}

/* ---- sessions ---- */

static enum ecode pg_session_insert(struct store_conn *c, const char *sid,
				    int64_t user_id, int64_t now_ms,
				    int64_t expires_ms)
{
	const char *state;
	PGresult *r;
	enum ecode rc = pg_run(pg_of(c), PGS_SESSION_INSERT, &r, &state, sid,
			       user_id, now_ms, expires_ms);

	PQclear(r);
	if (rc != EC_OK && strcmp(state, "23503") == 0) {
		log_debug("store: session for unknown user %" PRId64, user_id);
		rc = EC_NOT_FOUND;
	}
	return rc;
}

/* The session row of a result (rc: how the statement went), or
 * EC_NOT_FOUND; clears r. */
static enum ecode pg_session_row(PGresult *r, enum ecode rc,
				 struct store_session *out)
{
	if (rc != EC_OK)
		return rc;
	rc = PQntuples(r) == 0 ? EC_NOT_FOUND : pg_session(r, 0, out);
	PQclear(r);
	return rc;
}

static enum ecode pg_session_find(struct store_conn *c, const char *sid,
				  int64_t now_ms, struct store_session *out)
{
	PGresult *r;
	enum ecode rc =
		pg_run(pg_of(c), PGS_SESSION_FIND, &r, NULL, sid, now_ms);

	return pg_session_row(r, rc, out);
}

static enum ecode pg_session_delete(struct store_conn *c, const char *sid,
				    struct store_session *was)
{
	PGresult *r;
	enum ecode rc = pg_run(pg_of(c), PGS_SESSION_DELETE, &r, NULL, sid);

	return pg_session_row(r, rc, was);
}

static enum ecode pg_session_seen(struct store_conn *c, int64_t id,
				  int64_t now_ms, struct store_session *was)
{
	PGresult *r;
	enum ecode rc =
		pg_run(pg_of(c), PGS_SESSION_LIVE, &r, NULL, id, now_ms);

	if ((rc = pg_session_row(r, rc, was)) != EC_OK)
		return rc;
	rc = pg_run(pg_of(c), PGS_SESSION_SEEN, &r, NULL, id, now_ms);
	PQclear(r);
	return rc;
}

static enum ecode pg_session_offline(struct store_conn *c, int64_t id)
{
	return pg_exec_i(c, PGS_SESSION_OFFLINE, id);
}

static enum ecode pg_sessions_stale(struct store_conn *c, int64_t cutoff_ms,
				    int64_t now_ms, store_session_fn *fn,
				    void *ctx)
{
	struct store_session *v = NULL;
	PGresult *r;
	int n;
	enum ecode rc = pg_run(pg_of(c), PGS_SESSIONS_STALE, &r, NULL,
			       cutoff_ms, now_ms);

	if (rc != EC_OK)
		return rc;
	/* Copied out first: fn may run statements on this connection. */
	n = PQntuples(r);
	if (n > 0 && !(v = calloc((size_t)n, sizeof(*v))))
		rc = EC_NOMEM;
	for (int i = 0; rc == EC_OK && i < n; i++)
		rc = pg_session(r, i, &v[i]);
	PQclear(r);
	for (int i = 0; rc == EC_OK && i < n; i++)
		rc = fn(ctx, &v[i]);
	free(v);
	return rc;
}

static enum ecode pg_housekeeping_due(struct store_conn *c, int64_t cutoff_ms,
				      int64_t now_ms, bool *due)
{
	PGresult *r;
	enum ecode rc = pg_run(pg_of(c), PGS_HOUSEKEEPING_DUE, &r, NULL,
			       cutoff_ms, now_ms);

	if (rc != EC_OK)
		return rc;
	*due = PQntuples(r) == 1 && pg_int(r, 0, 0) != 0;
	PQclear(r);
	return EC_OK;
}

static enum ecode pg_sessions_delete_expired(struct store_conn *c,
					     int64_t now_ms)
{
	return pg_exec_i(c, PGS_SESSIONS_EXPIRED, now_ms);
}

static enum ecode pg_online_count(struct store_conn *c, int64_t *n)
{
	return pg_i64s(c, PGS_ONLINE_COUNT, n, NULL);
}

static enum ecode pg_online_users(struct store_conn *c, int64_t *sessions,
				  int64_t *users)
{
	return pg_i64s(c, PGS_ONLINE_USERS, sessions, users);
}

/* ---- the event log ---- */

static enum ecode pg_event_insert(struct store_conn *c, const char *name,
				  const char *data, int64_t now_ms, int64_t *id)
{
	PGresult *r;
	enum ecode rc = pg_run(pg_of(c), PGS_EVENT_INSERT, &r, NULL, name, data,
			       now_ms);

	if (rc != EC_OK)
		return rc;
	if (PQntuples(r) != 1) {
		log_error("store: postgresql: event insert: no id (is the "
			  "event_counter row missing?)");
		rc = EC_DB;
	} else {
		*id = pg_int(r, 0, 0);
		pg_of(c)->notify_due = true;
	}
	PQclear(r);
	return rc;
}

static enum ecode pg_events_after(struct store_conn *c, int64_t after_id,
				  size_t limit, store_event_fn *fn, void *ctx)
{
	struct store_event ev;
	PGresult *r;
	enum ecode rc;

	if (limit > INT64_MAX)
		limit = INT64_MAX;
	rc = pg_run(pg_of(c), PGS_EVENTS_AFTER, &r, NULL, after_id,
		    (int64_t)limit);
	if (rc != EC_OK)
		return rc;
	for (int i = 0; rc == EC_OK && i < PQntuples(r); i++) {
		ev.id = pg_int(r, i, 0);
		ev.name = PQgetvalue(r, i, 1);
		ev.data = PQgetvalue(r, i, 2);
		rc = fn(ctx, &ev);
	}
	PQclear(r);
	return rc;
}

static enum ecode pg_event_bounds(struct store_conn *c, int64_t *last,
				  int64_t *first)
{
	return pg_i64s(c, PGS_EVENT_BOUNDS, last, first);
}

static enum ecode pg_events_trim(struct store_conn *c, int64_t keep,
				 int64_t *deleted)
{
	PGresult *r;
	enum ecode rc = pg_run(pg_of(c), PGS_ID_LOCK, &r, NULL);

	PQclear(r);
	if (rc == EC_OK)
		rc = pg_run(pg_of(c), PGS_TRIM, &r, NULL, keep);
	if (rc != EC_OK)
		return rc;
	*deleted = strtoll(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return EC_OK;
}

/* ---- issue 9: /health's write probe, sessions per user ---- */

static enum ecode pg_probe_write(struct store_conn *c)
{
	PGresult *r;
	enum ecode rc = pg_run(pg_of(c), PGS_HEALTH_PROBE, &r, NULL);

	PQclear(r);
	return rc;
}

static enum ecode pg_user_sessions_cap(struct store_conn *c, int64_t user_id,
				       int64_t keep, int64_t now_ms)
{
	PGresult *r;
	enum ecode rc = pg_run(pg_of(c), PGS_USER_SESSIONS_CAP, &r, NULL,
			       user_id, keep, now_ms);

	PQclear(r);
	return rc;
}

/* ---- Socket.IO sessions (issue 11) ---- */

static enum ecode pg_sio_insert(struct store_conn *c, const struct store_sio *w,
				int64_t *id)
{
	PGresult *r;
	enum ecode rc =
		pg_run(pg_of(c), PGS_SIO_INSERT, &r, NULL, w->sid,
		       w->session_id, w->sock, w->pid, w->cursor,
		       w->ping_due_ms, w->pong_due_ms, w->get_ms, w->post_ms,
		       w->seen_ms, w->closed_ms, w->flags, w->outq);

	if (rc == EC_OK)
		*id = pg_int(r, 0, 0);
	PQclear(r);
	return rc;
}

static enum ecode pg_sio_get(struct store_conn *c, char by, const char *text,
			     int64_t id, struct store_sio *out)
{
	PGresult *r;
	enum ecode rc;

	if (by == 'i')
		rc = pg_run(pg_of(c), PGS_SIO_BY_ID, &r, NULL, id);
	else
		rc = pg_run(pg_of(c),
			    by == 'p' ? PGS_SIO_BY_PID : PGS_SIO_BY_SID, &r,
			    NULL, text ? text : "");
	if (rc != EC_OK)
		return rc;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return EC_NOT_FOUND;
	}
	out->id = pg_int(r, 0, 0);
	out->session_id = pg_int(r, 0, 2);
	out->cursor = pg_int(r, 0, 5);
	out->ping_due_ms = pg_int(r, 0, 6);
	out->pong_due_ms = pg_int(r, 0, 7);
	out->get_ms = pg_int(r, 0, 8);
	out->post_ms = pg_int(r, 0, 9);
	out->seen_ms = pg_int(r, 0, 10);
	out->closed_ms = pg_int(r, 0, 11);
	out->flags = pg_int(r, 0, 12);
	if ((rc = pg_copy(r, 0, 1, out->sid, sizeof(out->sid))) == EC_OK &&
	    (rc = pg_copy(r, 0, 3, out->sock, sizeof(out->sock))) == EC_OK &&
	    (rc = pg_copy(r, 0, 4, out->pid, sizeof(out->pid))) == EC_OK)
		rc = pg_copy(r, 0, 13, out->outq, sizeof(out->outq));
	PQclear(r);
	return rc;
}

static enum ecode pg_sio_update(struct store_conn *c, const struct store_sio *w)
{
	PGresult *r;
	enum ecode rc =
		pg_run(pg_of(c), PGS_SIO_UPDATE, &r, NULL, w->id, w->session_id,
		       w->sock, w->pid, w->cursor, w->ping_due_ms,
		       w->pong_due_ms, w->get_ms, w->post_ms, w->seen_ms,
		       w->closed_ms, w->flags, w->outq);

	PQclear(r);
	/* Queued packets wake the hubs as events do (store.c). */
	if (rc == EC_OK && w->outq[0])
		pg_of(c)->notify_due = true;
	return rc;
}

static enum ecode pg_sio_expire(struct store_conn *c, int64_t before_ms)
{
	return pg_exec_i(c, PGS_SIO_EXPIRE, before_ms);
}

static enum ecode pg_sio_pending(struct store_conn *c, store_sio_id_fn *fn,
				 void *ctx)
{
	PGresult *r;
	enum ecode rc = pg_run(pg_of(c), PGS_SIO_PENDING, &r, NULL);

	for (int i = 0; rc == EC_OK && i < PQntuples(r); i++)
		rc = fn(ctx, pg_int(r, i, 0));
	PQclear(r);
	return rc;
}

const struct store_backend store_backend_postgresql = {
	.name = "postgresql",
	.prefix = "postgresql://",
	.claims = pg_claims,
	.schema_version = pg_schema_version,
	.migrate = pg_migrate,
	.open = pg_open,
	.close = pg_close,
	.read_version = pg_read_version,
	.begin = pg_begin,
	.begin_append = pg_begin_append,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.user_add = pg_user_add,
	.user_find = pg_user_find,
	.login_failures_get = pg_login_failures_get,
	.login_failure_add = pg_login_failure_add,
	.login_failures_clear = pg_login_failures_clear,
	.login_failures_expire = pg_login_failures_expire,
	.session_insert = pg_session_insert,
	.session_find = pg_session_find,
	.session_delete = pg_session_delete,
	.session_seen = pg_session_seen,
	.session_offline = pg_session_offline,
	.sessions_stale = pg_sessions_stale,
	.housekeeping_due = pg_housekeeping_due,
	.sessions_delete_expired = pg_sessions_delete_expired,
	.online_count = pg_online_count,
	.online_users = pg_online_users,
	.event_insert = pg_event_insert,
	.events_after = pg_events_after,
	.event_bounds = pg_event_bounds,
	.events_trim = pg_events_trim,
	.listen_open = pg_listen_open,
	.listen_fd = pg_listen_fd,
	.listen_drain = pg_listen_drain,
	.listen_reconnect = pg_listen_reconnect,
	.listen_close = pg_listen_close,
	.probe_write = pg_probe_write,
	.user_sessions_cap = pg_user_sessions_cap,
	.sio_insert = pg_sio_insert,
	.sio_get = pg_sio_get,
	.sio_update = pg_sio_update,
	.sio_expire = pg_sio_expire,
	.sio_pending = pg_sio_pending,
};
