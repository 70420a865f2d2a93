/* postgresql_stmt.h -- the SQL of the PostgreSQL backend's statements.
 *
 * Plain data (postgresql_stmt.c): one entry per statement id, with the
 * types of its parameters ('t' text, 'i' int8), so that PQprepare() never
 * has to guess a type.  Each is prepared once per connection, lazily,
 * under the name "e<id>", and again after a reconnect.
 */
#ifndef EMITCGI_STORE_POSTGRESQL_STMT_H
#define EMITCGI_STORE_POSTGRESQL_STMT_H

enum pg_stmt_id {
	PGS_VERSION,
	PGS_USER_ADD,
	PGS_USER_FIND,
	PGS_FAIL_GET,
	PGS_FAIL_ADD,
	PGS_FAIL_CLEAR,
	PGS_FAIL_EXPIRE,
	PGS_SESSION_INSERT,
	PGS_SESSION_FIND,
	PGS_SESSION_DELETE,
	PGS_SESSION_LIVE,
	PGS_SESSION_SEEN,
	PGS_SESSION_OFFLINE,
	PGS_ONLINE_COUNT,
	PGS_HOUSEKEEPING_DUE,
	PGS_SESSIONS_STALE,
	PGS_SESSIONS_EXPIRED,
	PGS_EVENT_INSERT,
	PGS_EVENTS_AFTER,
	PGS_ONLINE_USERS,
	PGS_EVENT_BOUNDS,
	PGS_ID_LOCK,
	PGS_TRIM,
	PGS_HEALTH_PROBE,
	PGS_USER_SESSIONS_CAP,
	PGS_SIO_INSERT,
	PGS_SIO_BY_SID,
	PGS_SIO_BY_ID,
	PGS_SIO_BY_PID,
	PGS_SIO_UPDATE,
	PGS_SIO_EXPIRE,
	PGS_SIO_PENDING,
	PGS__COUNT
};

struct pg_stmt {
	const char *sql;
	const char *types; /* one letter per $n: 't' text, 'i' int8 */
};

extern const struct pg_stmt pg_stmts[PGS__COUNT];

#endif
