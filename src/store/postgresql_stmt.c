/* postgresql_stmt.c -- the SQL text of the PostgreSQL backend
 * (postgresql_stmt.h).
 *
 * Plain data: one statement per primitive of backend.h, the same queries
 * as sqlite_stmt.c in PostgreSQL's dialect.  None builds events or decides
 * presence.  Columns of a session row, everywhere: id, user_id, username,
 * online (0/1), last_seen_ms, expires_ms.
 */
#include "autoconfig.h"

#include "postgresql_stmt.h"

/* A sio_sessions row, in the order pg_sio_row() reads it. */
#define PG_SIO_COLUMNS                                                         \
	"id, sid, session_id, sock, pid, cursor, ping_due_ms, pong_due_ms, "   \
	"get_ms, post_ms, seen_ms, closed_ms, flags, outq"

#define PG_SESSION_COLS                                                        \
	"s.id, s.user_id, u.username, s.online::int, s.last_seen_ms, "         \
	"s.expires_ms "

const struct pg_stmt pg_stmts[PGS__COUNT] = {
	[PGS_VERSION] = { "SELECT version FROM emitcgi_schema", "" },
	[PGS_USER_ADD] = { "INSERT INTO users (username, password_hash, "
			   "created_ms) VALUES ($1, $2, $3)",
			   "tti" },
	/* users_username is UNIQUE on lower(username): one index seek */
	[PGS_USER_FIND] = { "SELECT id, username, password_hash FROM users "
			    "WHERE lower(username) = lower($1)",
			    "t" },
	[PGS_FAIL_GET] = { "SELECT failures, window_end_ms FROM login_failures "
			   "WHERE username = lower($1)",
			   "t" },
	[PGS_FAIL_ADD] = { "INSERT INTO login_failures AS f "
			   "(username, failures, window_end_ms) "
			   "VALUES (lower($1), 1, $2 + $3) "
			   "ON CONFLICT (username) DO UPDATE SET "
			   "failures = CASE WHEN f.window_end_ms > $2 "
			   "THEN f.failures + 1 ELSE 1 END, "
			   "window_end_ms = CASE WHEN f.window_end_ms > $2 "
			   "THEN f.window_end_ms ELSE $2 + $3 END",
			   "tii" },
	[PGS_FAIL_CLEAR] = { "DELETE FROM login_failures "
			     "WHERE username = lower($1)",
			     "t" },
	[PGS_FAIL_EXPIRE] = { "DELETE FROM login_failures "
			      "WHERE window_end_ms <= $1",
			      "i" },
	[PGS_SESSION_INSERT] = { "INSERT INTO sessions (token, user_id, "
				 "created_ms, expires_ms, last_seen_ms, "
				 "online) VALUES ($1, $2, $3, $4, $3, true)",
				 "tiii" },
	[PGS_SESSION_FIND] = { "SELECT " PG_SESSION_COLS
			       "FROM sessions s JOIN users u ON u.id = "
			       "s.user_id WHERE s.token = $1 AND "
			       "s.expires_ms > $2",
			       "ti" },
	/* One round trip: the row as it was comes back from RETURNING. */
	[PGS_SESSION_DELETE] = { "DELETE FROM sessions s USING users u "
				 "WHERE s.token = $1 AND u.id = s.user_id "
				 "RETURNING " PG_SESSION_COLS,
				 "t" },
	[PGS_SESSION_LIVE] = { "SELECT " PG_SESSION_COLS
			       "FROM sessions s JOIN users u ON u.id = "
			       "s.user_id WHERE s.id = $1 AND "
			       "s.expires_ms > $2",
			       "ii" },
	/* greatest(): touches from machines whose clocks differ a little
	 * never move last_seen back. */
	[PGS_SESSION_SEEN] = { "UPDATE sessions SET last_seen_ms = "
			       "greatest(last_seen_ms, $2), online = true "
			       "WHERE id = $1",
			       "ii" },
	/* Conditional: only an online session changes (the row count tells). */
	[PGS_SESSION_OFFLINE] = { "UPDATE sessions SET online = false "
				  "WHERE id = $1 AND online",
				  "i" },
	[PGS_ONLINE_COUNT] = { "SELECT count(*) FROM sessions WHERE online",
			       "" },
	[PGS_HOUSEKEEPING_DUE] = { "SELECT (EXISTS (SELECT 1 FROM sessions "
				   "WHERE online AND last_seen_ms < $1) "
				   "OR EXISTS (SELECT 1 FROM sessions "
				   "WHERE expires_ms <= $2) "
				   "OR EXISTS (SELECT 1 FROM login_failures "
				   "WHERE window_end_ms <= $2))::int",
				   "ii" },
	[PGS_SESSIONS_STALE] = { "SELECT " PG_SESSION_COLS
				 "FROM sessions s JOIN users u ON u.id = "
				 "s.user_id WHERE s.online AND "
				 "(s.last_seen_ms < $1 OR s.expires_ms <= $2) "
				 "ORDER BY s.last_seen_ms, s.id",
				 "ii" },
	[PGS_SESSIONS_EXPIRED] = { "DELETE FROM sessions "
				   "WHERE expires_ms <= $1",
				   "i" },
	/* The id is the column default, emitcgi_event_id(): the next value
	 * of events_id_seq, drawn under the write lock held SHARED (taken
	 * first), so that concurrent emits commit together and readers can
	 * still settle a horizon (migration 4). */
	[PGS_EVENT_INSERT] = { "INSERT INTO events (name, data, created_ms) "
			       "VALUES ($1, $2, $3) RETURNING id",
			       "tti" },
	/* Up to the settled horizon only: waits for the id takers in flight
	 * (the write lock, EXCLUSIVE, for this statement), so that no smaller
	 * id can commit after a larger one was read. */
	[PGS_EVENTS_AFTER] = { "SELECT id, name, data FROM "
			       "emitcgi_events_after($1, $2)",
			       "ii" },
	[PGS_ONLINE_USERS] = { "SELECT count(*), count(DISTINCT user_id) "
			       "FROM sessions WHERE online",
			       "" },
	/* The newest id given (the sequence survives trimming; not settled:
	 * ids up to it may still be in flight, except inside the snapshot's
	 * transaction, which holds the write lock) and the oldest kept. */
	[PGS_EVENT_BOUNDS] = { "SELECT coalesce(pg_sequence_last_value("
			       "'events_id_seq'), 0), coalesce((SELECT min(id) "
			       "FROM events), 0)",
			       "" },
	/* The id lock (migration 4) EXCLUSIVE: a trim waits for the appends in
	 * flight, so that none commits an id below what it deletes (a resume
	 * would then skip the deleted range without a reset). */
	[PGS_ID_LOCK] = { "SELECT pg_advisory_xact_lock(1701669236)", "" },
	[PGS_TRIM] = { "DELETE FROM events WHERE id <= (SELECT id FROM events "
		       "ORDER BY id DESC LIMIT 1 OFFSET $1)",
		       "i" },
	/* A write that a read-only server (a standby, default_transaction_
	 * read_only) refuses; /health runs it in a transaction it rolls
	 * back (issue 9).  A full disk shows only when WAL is flushed, so
	 * PostgreSQL reports it on the next commit instead. */
	[PGS_HEALTH_PROBE] = { "INSERT INTO health_probe (x) "
			       "VALUES ('\\x00'::bytea)",
			       "" },
	/* Every live session of the user but the newest $2 expires now; the
	 * reaper then takes the online ones offline with their events. */
	[PGS_USER_SESSIONS_CAP] = { "UPDATE sessions SET expires_ms = $3 "
				    "WHERE user_id = $1 AND expires_ms > $3 "
				    "AND id NOT IN (SELECT id FROM sessions "
				    "WHERE user_id = $1 AND expires_ms > $3 "
				    "ORDER BY id DESC LIMIT $2)",
				    "iii" },
	/* Socket.IO sessions (sio_session.c, migration 3). */
	[PGS_SIO_INSERT] = { "INSERT INTO sio_sessions (sid, session_id, "
			     "sock, pid, cursor, ping_due_ms, pong_due_ms, "
			     "get_ms, post_ms, seen_ms, closed_ms, flags, "
			     "outq) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
			     "$9, $10, $11, $12, $13) RETURNING id",
			     "tittiiiiiiiit" },
	[PGS_SIO_BY_SID] = { "SELECT " PG_SIO_COLUMNS
			     " FROM sio_sessions WHERE sid = $1",
			     "t" },
	[PGS_SIO_BY_ID] = { "SELECT " PG_SIO_COLUMNS
			    " FROM sio_sessions WHERE id = $1",
			    "i" },
	[PGS_SIO_BY_PID] = { "SELECT " PG_SIO_COLUMNS
			     " FROM sio_sessions WHERE pid = $1 AND pid <> ''",
			     "t" },
	[PGS_SIO_UPDATE] = { "UPDATE sio_sessions SET session_id = $2, "
			     "sock = $3, pid = $4, cursor = $5, "
			     "ping_due_ms = $6, pong_due_ms = $7, get_ms = $8, "
			     "post_ms = $9, seen_ms = $10, closed_ms = $11, "
			     "flags = $12, outq = $13 WHERE id = $1",
			     "iittiiiiiiiit" },
	[PGS_SIO_EXPIRE] = { "DELETE FROM sio_sessions WHERE seen_ms < $1",
			     "i" },
	[PGS_SIO_PENDING] = { "SELECT id FROM sio_sessions WHERE outq <> '' "
			      "AND get_ms <> 0 ORDER BY id",
			      "" },
};
