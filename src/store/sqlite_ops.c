/* sqlite_ops.c -- the primitives of the SQLite backend (users and
 * throttling, sessions, the event log, the health probe, Socket.IO
 * sessions) and its struct store_backend table, store_backend_sqlite.
 *
 * Each primitive is one or two prepared statements (sqlite_stmt.c) run
 * with sqlite_stmt_bind() and sqlite_stmt_step()/_exec()/_row(), finished
 * with sqlite_stmt_done() (sqlite.c, sqlite_int.h).  It returns data and
 * statuses, never events, JSON or HTTP.  To add one: a STMT_ id and its
 * SQL (sqlite_stmt.h/.c), the function here, its entry in the table and
 * in struct store_backend (backend.h), and the same for PostgreSQL.
 */
#include "autoconfig.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sqlite_int.h"

/* ---- users and throttling ---- */

static enum ecode sqlite_user_add(struct store_conn *c, const char *username,
				  const char *password_hash, int64_t now_ms)
{
	struct store_sqlite *q = sqlite_conn_of(c);
	sqlite3_stmt *s;
	enum ecode rc;
	int src;

	rc = sqlite_stmt_bind(q, STMT_USER_ADD, &s, "tti", username,
			      password_hash, now_ms);
	if (rc != EC_OK)
		return rc;
	src = sqlite3_step(s);
	if (src == SQLITE_CONSTRAINT_UNIQUE ||
	    src == SQLITE_CONSTRAINT_PRIMARYKEY) {
		log_debug("store: user %s exists", username);
		rc = EC_USERNAME_TAKEN;
	} else if (src != SQLITE_DONE) {
		rc = sqlite_db_error(q, src, "add user");
	}
	sqlite_stmt_done(s);
	return rc;
}

static enum ecode sqlite_user_find(struct store_conn *c, const char *username,
				   struct store_user *out)
{
	struct store_sqlite *q = sqlite_conn_of(c);
	sqlite3_stmt *s;
	enum ecode rc;

	if ((rc = sqlite_stmt_bind(q, STMT_USER_FIND, &s, "t", username)) !=
	    EC_OK)
		return rc;
	if ((rc = sqlite_stmt_row(q, s)) == EC_OK) {
		out->id = sqlite3_column_int64(s, 0);
		rc = sqlite_column_copy(s, 1, out->username,
					sizeof(out->username));
	}
	if (rc == EC_OK)
		rc = sqlite_column_copy(s, 2, out->password_hash,
					sizeof(out->password_hash));
	sqlite_stmt_done(s);
	return rc;
}

static enum ecode sqlite_login_failures_get(struct store_conn *c,
					    const char *username, int *failures,
					    int64_t *window_end_ms)
{
	struct store_sqlite *q = sqlite_conn_of(c);
	sqlite3_stmt *s;
	int64_t n;
	enum ecode rc;

	*failures = 0;
	*window_end_ms = 0;
	if ((rc = sqlite_stmt_bind(q, STMT_FAIL_GET, &s, "t", username)) !=
	    EC_OK)
		return rc;
	if ((rc = sqlite_stmt_row(q, s)) == EC_OK) {
		n = sqlite3_column_int64(s, 0);
		*failures = n > INT32_MAX ? INT32_MAX : (int)n;
		*window_end_ms = sqlite3_column_int64(s, 1);
	}
	sqlite_stmt_done(s);
	return rc == EC_NOT_FOUND ? EC_OK : rc;
}

/* Runs statement id with one text parameter (or an int64 with 'i'). */
static enum ecode exec_t(struct store_conn *c, enum stmt_id id, const char *t)
{
	sqlite3_stmt *s;
	enum ecode rc = sqlite_stmt_bind(sqlite_conn_of(c), id, &s, "t", t);

	return rc != EC_OK ? rc : sqlite_stmt_exec(sqlite_conn_of(c), s);
}

static enum ecode exec_i(struct store_conn *c, enum stmt_id id, int64_t i)
{
	sqlite3_stmt *s;
	enum ecode rc = sqlite_stmt_bind(sqlite_conn_of(c), id, &s, "i", i);

	return rc != EC_OK ? rc : sqlite_stmt_exec(sqlite_conn_of(c), s);
}

static enum ecode sqlite_login_failure_add(struct store_conn *c,
					   const char *username, int64_t now_ms,
					   int64_t window_ms)
{
	sqlite3_stmt *s;
	enum ecode rc = sqlite_stmt_bind(sqlite_conn_of(c), STMT_FAIL_ADD, &s,
					 "tii", username, now_ms, window_ms);

	return rc != EC_OK ? rc : sqlite_stmt_exec(sqlite_conn_of(c), s);
}

static enum ecode sqlite_login_failures_clear(struct store_conn *c,
					      const char *username)
{
	return exec_t(c, STMT_FAIL_CLEAR, username);
}

static enum ecode sqlite_login_failures_expire(struct store_conn *c,
					       int64_t now_ms)
{
	return exec_i(c, STMT_FAIL_EXPIRE, now_ms);
}

/* ---- sessions ---- */

static enum ecode sqlite_session_insert(struct store_conn *c, const char *sid,
					int64_t user_id, int64_t now_ms,
					int64_t expires_ms)
{
	struct store_sqlite *q = sqlite_conn_of(c);
	sqlite3_stmt *s;
	enum ecode rc;
	int src;

	rc = sqlite_stmt_bind(q, STMT_SESSION_INSERT, &s, "tiii", sid, user_id,
			      now_ms, expires_ms);
	if (rc != EC_OK)
		return rc;
	src = sqlite3_step(s);
	if (src == SQLITE_CONSTRAINT_FOREIGNKEY) {
		/* foreign_keys=ON: the user was deleted meanwhile */
		log_debug("store: session for unknown user %" PRId64, user_id);
		rc = EC_NOT_FOUND;
	} else if (src != SQLITE_DONE) {
		rc = sqlite_db_error(q, src, "insert session");
	}
	sqlite_stmt_done(s);
	return rc;
}

static enum ecode sqlite_session_find(struct store_conn *c, const char *sid,
				      int64_t now_ms, struct store_session *out)
{
	struct store_sqlite *q = sqlite_conn_of(c);
	sqlite3_stmt *s;
	enum ecode rc;

	rc = sqlite_stmt_bind(q, STMT_SESSION_FIND, &s, "ti", sid, now_ms);
	if (rc != EC_OK)
		return rc;
	if ((rc = sqlite_stmt_row(q, s)) == EC_OK)
		rc = sqlite_column_session(s, out);
	sqlite_stmt_done(s);
	return rc;
}

static enum ecode sqlite_session_delete(struct store_conn *c, const char *sid,
					struct store_session *was)
{
	struct store_sqlite *q = sqlite_conn_of(c);
	sqlite3_stmt *s;
	enum ecode rc;

	if ((rc = sqlite_stmt_bind(q, STMT_SESSION_BY_TOKEN, &s, "t", sid)) !=
	    EC_OK)
		return rc;
	if ((rc = sqlite_stmt_row(q, s)) == EC_OK)
		rc = sqlite_column_session(s, was);
	sqlite_stmt_done(s);
	return rc != EC_OK ? rc : exec_i(c, STMT_SESSION_DELETE, was->id);
}

static enum ecode sqlite_session_seen(struct store_conn *c, int64_t id,
				      int64_t now_ms, struct store_session *was)
{
	struct store_sqlite *q = sqlite_conn_of(c);
	sqlite3_stmt *s;
	enum ecode rc;

	if ((rc = sqlite_stmt_bind(q, STMT_SESSION_LIVE, &s, "ii", id,
				   now_ms)) != EC_OK)
		return rc;
	if ((rc = sqlite_stmt_row(q, s)) == EC_OK)
		rc = sqlite_column_session(s, was);
	sqlite_stmt_done(s);
	if (rc != EC_OK)
		return rc;
	rc = sqlite_stmt_bind(q, STMT_SESSION_SEEN, &s, "ii", id, now_ms);
	return rc != EC_OK ? rc : sqlite_stmt_exec(q, s);
}

static enum ecode sqlite_session_offline(struct store_conn *c, int64_t id)
{
	return exec_i(c, STMT_SESSION_OFFLINE, id);
}

static enum ecode sqlite_sessions_stale(struct store_conn *c, int64_t cutoff_ms,
					int64_t now_ms, store_session_fn *fn,
					void *ctx)
{
	struct store_sqlite *q = sqlite_conn_of(c);
	struct store_session *v = NULL, *nv;
	size_t len = 0, cap = 0;
	sqlite3_stmt *s;
	bool row;
	enum ecode rc;

	rc = sqlite_stmt_bind(q, STMT_SESSIONS_STALE, &s, "ii", cutoff_ms,
			      now_ms);
	if (rc != EC_OK)
		return rc;
	while ((rc = sqlite_stmt_step(q, s, &row)) == EC_OK && row) {
		if (len == cap) {
			cap += STORE_SQLITE_STALE_CHUNK;
			if (!(nv = realloc(v, cap * sizeof(*v)))) {
				rc = EC_NOMEM;
				break;
			}
			v = nv;
		}
		if ((rc = sqlite_column_session(s, &v[len++])) != EC_OK)
			break;
	}
	sqlite_stmt_done(s);
	for (size_t i = 0; rc == EC_OK && i < len; i++)
		rc = fn(ctx, &v[i]);
	free(v);
	return rc;
}

static enum ecode sqlite_housekeeping_due(struct store_conn *c,
					  int64_t cutoff_ms, int64_t now_ms,
					  bool *due)
{
	struct store_sqlite *q = sqlite_conn_of(c);
	sqlite3_stmt *s;
	enum ecode rc;

	rc = sqlite_stmt_bind(q, STMT_HOUSEKEEPING_DUE, &s, "ii", cutoff_ms,
			      now_ms);
	if (rc != EC_OK)
		return rc;
	if ((rc = sqlite_stmt_row(q, s)) == EC_OK)
		*due = sqlite3_column_int64(s, 0) != 0;
	sqlite_stmt_done(s);
	return rc == EC_NOT_FOUND ? EC_OK : rc;
}

static enum ecode sqlite_sessions_delete_expired(struct store_conn *c,
						 int64_t now_ms)
{
	return exec_i(c, STMT_SESSIONS_EXPIRED, now_ms);
}

static enum ecode sqlite_online_count(struct store_conn *c, int64_t *n)
{
	return sqlite_query_i64s(sqlite_conn_of(c), STMT_ONLINE_COUNT, n, NULL);
}

static enum ecode sqlite_online_users(struct store_conn *c, int64_t *sessions,
				      int64_t *users)
{
	return sqlite_query_i64s(sqlite_conn_of(c), STMT_ONLINE_USERS, sessions,
				 users);
}

/* ---- the event log ---- */

static enum ecode sqlite_event_insert(struct store_conn *c, const char *name,
				      const char *data, int64_t now_ms,
				      int64_t *id)
{
	struct store_sqlite *q = sqlite_conn_of(c);
	sqlite3_stmt *s;
	enum ecode rc;

	rc = sqlite_stmt_bind(q, STMT_EVENT_INSERT, &s, "tti", name, data,
			      now_ms);
	if (rc == EC_OK && (rc = sqlite_stmt_exec(q, s)) == EC_OK)
		*id = sqlite3_last_insert_rowid(q->db);
	return rc;
}

static enum ecode sqlite_events_after(struct store_conn *c, int64_t after_id,
				      size_t limit, store_event_fn *fn,
				      void *ctx)
{
	struct store_sqlite *q = sqlite_conn_of(c);
	struct store_event ev;
	sqlite3_stmt *s;
	bool row;
	enum ecode rc;

	if (limit > INT64_MAX)
		limit = INT64_MAX;
	rc = sqlite_stmt_bind(q, STMT_EVENTS_AFTER, &s, "ii", after_id,
			      (int64_t)limit);
	if (rc != EC_OK)
		return rc;
	while ((rc = sqlite_stmt_step(q, s, &row)) == EC_OK && row) {
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
	sqlite_stmt_done(s);
	return rc;
}

static enum ecode sqlite_event_bounds(struct store_conn *c, int64_t *last,
				      int64_t *first)
{
	return sqlite_query_i64s(sqlite_conn_of(c), STMT_EVENT_BOUNDS, last,
				 first);
}

static enum ecode sqlite_events_trim(struct store_conn *c, int64_t keep,
				     int64_t *deleted)
{
	struct store_sqlite *q = sqlite_conn_of(c);
	enum ecode rc = exec_i(c, STMT_TRIM, keep);

	if (rc == EC_OK)
		*deleted = sqlite3_changes(q->db);
	return rc;
}

/* ---- issue 9: the health probe, sessions per user ---- */

static enum ecode sqlite_probe_write(struct store_conn *c)
{
	struct store_sqlite *q = sqlite_conn_of(c);
	int64_t page_size;
	sqlite3_stmt *s;
	enum ecode rc;

	if ((rc = sqlite_query_i64s(q, STMT_PAGE_SIZE, &page_size, NULL)) !=
	    EC_OK)
		return rc;
	rc = sqlite_stmt_bind(q, STMT_HEALTH_PROBE, &s, "i", 2 * page_size);
	return rc != EC_OK ? rc : sqlite_stmt_exec(q, s);
}

static enum ecode sqlite_user_sessions_cap(struct store_conn *c,
					   int64_t user_id, int64_t keep,
					   int64_t now_ms)
{
	struct store_sqlite *q = sqlite_conn_of(c);
	sqlite3_stmt *s;
	enum ecode rc = sqlite_stmt_bind(q, STMT_USER_SESSIONS_CAP, &s, "iii",
					 user_id, keep, now_ms);

	return rc != EC_OK ? rc : sqlite_stmt_exec(q, s);
}

/* ---- Socket.IO sessions ---- */

static enum ecode sqlite_sio_bind(struct store_sqlite *q, enum stmt_id id,
				  sqlite3_stmt **s, const struct store_sio *r,
				  const char *first, int64_t first_id)
{
	if (first)
		return sqlite_stmt_bind(
			q, id, s, "tittiiiiiiiit", first, r->session_id,
			r->sock, r->pid, r->cursor, r->ping_due_ms,
			r->pong_due_ms, r->get_ms, r->post_ms, r->seen_ms,
			r->closed_ms, r->flags, r->outq);
	return sqlite_stmt_bind(
		q, id, s, "iittiiiiiiiit", first_id, r->session_id, r->sock,
		r->pid, r->cursor, r->ping_due_ms, r->pong_due_ms, r->get_ms,
		r->post_ms, r->seen_ms, r->closed_ms, r->flags, r->outq);
}

static enum ecode sqlite_sio_insert(struct store_conn *c,
				    const struct store_sio *row, int64_t *id)
{
	struct store_sqlite *q = sqlite_conn_of(c);
	sqlite3_stmt *s;
	enum ecode rc;

	rc = sqlite_sio_bind(q, STMT_SIO_INSERT, &s, row, row->sid, 0);
	if (rc == EC_OK && (rc = sqlite_stmt_exec(q, s)) == EC_OK)
		*id = sqlite3_last_insert_rowid(q->db);
	return rc;
}

static enum ecode sqlite_sio_get(struct store_conn *c, char by,
				 const char *text, int64_t id,
				 struct store_sio *out)
{
	struct store_sqlite *q = sqlite_conn_of(c);
	sqlite3_stmt *s;
	enum ecode rc;

	if (by == 'i')
		rc = sqlite_stmt_bind(q, STMT_SIO_BY_ID, &s, "i", id);
	else
		rc = sqlite_stmt_bind(
			q, by == 'p' ? STMT_SIO_BY_PID : STMT_SIO_BY_SID, &s,
			"t", text ? text : "");
	if (rc != EC_OK)
		return rc;
	if ((rc = sqlite_stmt_row(q, s)) == EC_OK) {
		out->id = sqlite3_column_int64(s, 0);
		out->session_id = sqlite3_column_int64(s, 2);
		out->cursor = sqlite3_column_int64(s, 5);
		out->ping_due_ms = sqlite3_column_int64(s, 6);
		out->pong_due_ms = sqlite3_column_int64(s, 7);
		out->get_ms = sqlite3_column_int64(s, 8);
		out->post_ms = sqlite3_column_int64(s, 9);
		out->seen_ms = sqlite3_column_int64(s, 10);
		out->closed_ms = sqlite3_column_int64(s, 11);
		out->flags = sqlite3_column_int64(s, 12);
		if ((rc = sqlite_column_copy(s, 1, out->sid,
					     sizeof(out->sid))) == EC_OK &&
		    (rc = sqlite_column_copy(s, 3, out->sock,
					     sizeof(out->sock))) == EC_OK &&
		    (rc = sqlite_column_copy(s, 4, out->pid,
					     sizeof(out->pid))) == EC_OK)
			rc = sqlite_column_copy(s, 13, out->outq,
						sizeof(out->outq));
	}
	sqlite_stmt_done(s);
	return rc;
}

static enum ecode sqlite_sio_update(struct store_conn *c,
				    const struct store_sio *row)
{
	struct store_sqlite *q = sqlite_conn_of(c);
	sqlite3_stmt *s;
	enum ecode rc;

	rc = sqlite_sio_bind(q, STMT_SIO_UPDATE, &s, row, NULL, row->id);
	return rc != EC_OK ? rc : sqlite_stmt_exec(q, s);
}

static enum ecode sqlite_sio_expire(struct store_conn *c, int64_t before_ms)
{
	return exec_i(c, STMT_SIO_EXPIRE, before_ms);
}

static enum ecode sqlite_sio_pending(struct store_conn *c, store_sio_id_fn *fn,
				     void *ctx)
{
	struct store_sqlite *q = sqlite_conn_of(c);
	sqlite3_stmt *s;
	bool row;
	enum ecode rc;

	if ((rc = sqlite_stmt_bind(q, STMT_SIO_PENDING, &s, "")) != EC_OK)
		return rc;
	while ((rc = sqlite_stmt_step(q, s, &row)) == EC_OK && row)
		if ((rc = fn(ctx, sqlite3_column_int64(s, 0))) != EC_OK)
			break;
	sqlite_stmt_done(s);
	return rc;
}

const struct store_backend store_backend_sqlite = {
	.name = "sqlite",
	.prefix = NULL,
	.schema_version = sqlite_schema_version,
	.migrate = sqlite_migrate,
	.open = sqlite_open,
	.close = sqlite_close,
	.read_version = sqlite_read_version,
	.begin = sqlite_begin,
	.commit = sqlite_commit,
	.rollback = sqlite_rollback,
	.user_add = sqlite_user_add,
	.user_find = sqlite_user_find,
	.login_failures_get = sqlite_login_failures_get,
	.login_failure_add = sqlite_login_failure_add,
	.login_failures_clear = sqlite_login_failures_clear,
	.login_failures_expire = sqlite_login_failures_expire,
	.session_insert = sqlite_session_insert,
	.session_find = sqlite_session_find,
	.session_delete = sqlite_session_delete,
	.session_seen = sqlite_session_seen,
	.session_offline = sqlite_session_offline,
	.sessions_stale = sqlite_sessions_stale,
	.housekeeping_due = sqlite_housekeeping_due,
	.sessions_delete_expired = sqlite_sessions_delete_expired,
	.online_count = sqlite_online_count,
	.online_users = sqlite_online_users,
	.event_insert = sqlite_event_insert,
	.events_after = sqlite_events_after,
	.event_bounds = sqlite_event_bounds,
	.events_trim = sqlite_events_trim,
	.probe_write = sqlite_probe_write,
	.user_sessions_cap = sqlite_user_sessions_cap,
	.sio_insert = sqlite_sio_insert,
	.sio_get = sqlite_sio_get,
	.sio_update = sqlite_sio_update,
	.sio_expire = sqlite_sio_expire,
	.sio_pending = sqlite_sio_pending,
};
