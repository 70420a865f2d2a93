/* sqlite_stmt.h -- the statements of the SQLite backend, by id.
 *
 * sqlite_stmt.c holds their SQL text (no C logic, no sqlite3_ calls);
 * sqlite.c prepares each once per connection, on first use.  Keeping the
 * text apart keeps sqlite.c about the C that runs it.  The SQL must match
 * the schema of sql/sqlite/ (docs/STORE.md explains the indexes each one
 * uses).
 *
 * To add a statement: an id here (before STMT__COUNT) and its text in
 * sqlite_stmt.c; sqlite_ops.c runs it with sqlite_stmt_bind().
 */
#ifndef EMITCGI_STORE_SQLITE_STMT_H
#define EMITCGI_STORE_SQLITE_STMT_H

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
	STMT_FAIL_EXPIRE,
	STMT_SESSION_INSERT,
	STMT_SESSION_FIND,
	STMT_SESSION_BY_TOKEN,
	STMT_SESSION_LIVE,
	STMT_SESSION_DELETE,
	STMT_SESSION_SEEN,
	STMT_SESSION_OFFLINE,
	STMT_ONLINE_COUNT,
	STMT_HOUSEKEEPING_DUE,
	STMT_SESSIONS_STALE,
	STMT_SESSIONS_EXPIRED,
	STMT_EVENT_INSERT,
	STMT_EVENTS_AFTER,
	STMT_ONLINE_USERS,
	STMT_EVENT_BOUNDS,
	STMT_TRIM,
	STMT_HEALTH_PROBE,
	STMT_PAGE_SIZE,
	STMT_USER_SESSIONS_CAP,
	STMT_SIO_INSERT,
	STMT_SIO_BY_SID,
	STMT_SIO_BY_ID,
	STMT_SIO_BY_PID,
	STMT_SIO_UPDATE,
	STMT_SIO_EXPIRE,
	STMT_SIO_PENDING,
	STMT__COUNT
};

/* The SQL of each statement; ?N are its parameters, in sqlite_stmt_bind()
 * order. */
extern const char *const sqlite_stmt_sql[STMT__COUNT];

#endif
