/* sqlite_stmt.c -- the SQL text of the SQLite backend (sqlite_stmt.h).
 *
 * Plain data: one string per statement id.  Every statement is one of the
 * store's primitives (backend.h); none builds events or decides presence.
 */
#include "autoconfig.h"

#include "sqlite_stmt.h"

#define SQLITE_SIO_COLUMNS                                                     \
	"id, sid, session_id, sock, pid, cursor, ping_due_ms, pong_due_ms, "   \
	"get_ms, post_ms, seen_ms, closed_ms, flags, outq"

const char *const sqlite_stmt_sql[STMT__COUNT] = {
	[STMT_BEGIN] = "BEGIN",
	[STMT_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
	[STMT_COMMIT] = "COMMIT",
	[STMT_ROLLBACK] = "ROLLBACK",
	[STMT_USER_VERSION] = "PRAGMA user_version",
	[STMT_USER_ADD] =
		"INSERT INTO users (username, password_hash, created_ms) "
		"VALUES (?1, ?2, ?3)",
	/* users.username is COLLATE NOCASE, so = ignores ASCII case */
	[STMT_USER_FIND] = "SELECT id, username, password_hash FROM users "
			   "WHERE username = ?1",
	[STMT_FAIL_GET] = "SELECT failures, window_end_ms FROM login_failures "
			  "WHERE username = ?1",
	/* In UPDATE SET the right-hand sides see the old row. */
	[STMT_FAIL_ADD] = "INSERT INTO login_failures "
			  "(username, failures, window_end_ms) "
			  "VALUES (?1, 1, ?2 + ?3) "
			  "ON CONFLICT (username) DO UPDATE SET "
			  "failures = CASE WHEN window_end_ms > ?2 "
			  "THEN failures + 1 ELSE 1 END, "
			  "window_end_ms = CASE WHEN window_end_ms > ?2 "
			  "THEN window_end_ms ELSE ?2 + ?3 END",
	[STMT_FAIL_CLEAR] = "DELETE FROM login_failures WHERE username = ?1",
	[STMT_FAIL_EXPIRE] =
		"DELETE FROM login_failures WHERE window_end_ms <= ?1",
	[STMT_SESSION_INSERT] =
		"INSERT INTO sessions (token, user_id, created_ms, expires_ms, "
		"last_seen_ms, online) VALUES (?1, ?2, ?3, ?4, ?3, 1)",
	[STMT_SESSION_FIND] =
		"SELECT s.id, s.user_id, u.username, s.online, s.last_seen_ms, "
		"s.expires_ms FROM sessions s JOIN users u ON u.id = s.user_id "
		"WHERE s.token = ?1 AND s.expires_ms > ?2",
	[STMT_SESSION_BY_TOKEN] =
		"SELECT s.id, s.user_id, u.username, s.online, s.last_seen_ms, "
		"s.expires_ms FROM sessions s JOIN users u ON u.id = s.user_id "
		"WHERE s.token = ?1",
	[STMT_SESSION_LIVE] =
		"SELECT s.id, s.user_id, u.username, s.online, s.last_seen_ms, "
		"s.expires_ms FROM sessions s JOIN users u ON u.id = s.user_id "
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
	[STMT_HOUSEKEEPING_DUE] =
		"SELECT EXISTS (SELECT 1 FROM sessions "
		"WHERE online = 1 AND last_seen_ms < ?1) "
		"OR EXISTS (SELECT 1 FROM sessions WHERE expires_ms <= ?2) "
		"OR EXISTS (SELECT 1 FROM login_failures "
		"WHERE window_end_ms <= ?2)",
	[STMT_SESSIONS_STALE] =
		"SELECT s.id, s.user_id, u.username, s.online, s.last_seen_ms, "
		"s.expires_ms FROM sessions s JOIN users u ON u.id = s.user_id "
		"WHERE s.online = 1 "
		"AND (s.last_seen_ms < ?1 OR s.expires_ms <= ?2) "
		"ORDER BY s.last_seen_ms, s.id",
	[STMT_SESSIONS_EXPIRED] = "DELETE FROM sessions WHERE expires_ms <= ?1",
	[STMT_EVENT_INSERT] = "INSERT INTO events (name, data, created_ms) "
			      "VALUES (?1, ?2, ?3)",
	[STMT_EVENTS_AFTER] = "SELECT id, name, data FROM events WHERE id > ?1 "
			      "ORDER BY id LIMIT ?2",
	[STMT_ONLINE_USERS] = "SELECT count(*), count(DISTINCT user_id) "
			      "FROM sessions WHERE online = 1",
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
	[STMT_TRIM] = "DELETE FROM events WHERE id <= (SELECT id FROM events "
		      "ORDER BY id DESC LIMIT 1 OFFSET ?1)",
	/* Two pages' worth: a database with no free page left cannot take
	 * it, which is what /health must see (issue 9). */
	[STMT_HEALTH_PROBE] = "INSERT INTO health_probe (x) "
			      "VALUES (zeroblob(?1))",
	[STMT_PAGE_SIZE] = "PRAGMA page_size",
	/* Every live session of the user but the newest ?2 expires now; the
	 * reaper then takes the online ones offline with their events. */
	[STMT_USER_SESSIONS_CAP] =
		"UPDATE sessions SET expires_ms = ?3 WHERE user_id = ?1 "
		"AND expires_ms > ?3 AND id NOT IN (SELECT id FROM sessions "
		"WHERE user_id = ?1 AND expires_ms > ?3 "
		"ORDER BY id DESC LIMIT ?2)",
	/* Socket.IO sessions (sio_session.c). */
	[STMT_SIO_INSERT] =
		"INSERT INTO sio_sessions (sid, session_id, sock, pid, cursor, "
		"ping_due_ms, pong_due_ms, get_ms, post_ms, seen_ms, closed_ms, "
		"flags, outq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
		"?11, ?12, ?13)",
	[STMT_SIO_BY_SID] = "SELECT " SQLITE_SIO_COLUMNS
			    " FROM sio_sessions WHERE sid = ?1",
	[STMT_SIO_BY_ID] =
		"SELECT " SQLITE_SIO_COLUMNS " FROM sio_sessions WHERE id = ?1",
	[STMT_SIO_BY_PID] = "SELECT " SQLITE_SIO_COLUMNS
			    " FROM sio_sessions WHERE pid = ?1 AND pid != ''",
	[STMT_SIO_UPDATE] =
		"UPDATE sio_sessions SET session_id = ?2, sock = ?3, pid = ?4, "
		"cursor = ?5, ping_due_ms = ?6, pong_due_ms = ?7, get_ms = ?8, "
		"post_ms = ?9, seen_ms = ?10, closed_ms = ?11, flags = ?12, "
		"outq = ?13 WHERE id = ?1",
	[STMT_SIO_EXPIRE] = "DELETE FROM sio_sessions WHERE seen_ms < ?1",
	[STMT_SIO_PENDING] = "SELECT id FROM sio_sessions "
			     "WHERE outq != '' AND get_ms != 0 ORDER BY id",
};
