-- 001-initial.sql -- migration 1: users, sessions, the event log, throttling.
--
-- Applied by store_migrate() inside BEGIN IMMEDIATE together with
-- PRAGMA user_version = 1.  Never edit a migration that has shipped: add
-- 002-....sql instead, and keep sql/schema.sql equal to the result of all
-- migrations (tests/unit/test_store checks it).

CREATE TABLE users (
	id INTEGER PRIMARY KEY,
	username TEXT NOT NULL UNIQUE COLLATE NOCASE,
	password_hash TEXT NOT NULL,
	created_ms INTEGER NOT NULL
);

CREATE TABLE sessions (
	id INTEGER PRIMARY KEY,
	token TEXT NOT NULL UNIQUE,
	user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	created_ms INTEGER NOT NULL,
	expires_ms INTEGER NOT NULL,
	last_seen_ms INTEGER NOT NULL,
	online INTEGER NOT NULL DEFAULT 0 CHECK (online IN (0, 1))
);
-- The reaper: online sessions not seen since a cut-off; also counts them.
CREATE INDEX sessions_online_seen ON sessions(online, last_seen_ms);
-- The reaper: sessions past their expiry, online or not.
CREATE INDEX sessions_expires ON sessions(expires_ms);
-- ON DELETE CASCADE from users would scan sessions without it.
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE events (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	name TEXT NOT NULL,
	data TEXT NOT NULL,
	created_ms INTEGER NOT NULL
);

CREATE TABLE login_failures (
	username TEXT PRIMARY KEY COLLATE NOCASE,
	failures INTEGER NOT NULL,
	window_end_ms INTEGER NOT NULL
) WITHOUT ROWID;
-- The reaper drops windows that have ended.
CREATE INDEX login_failures_window_end ON login_failures(window_end_ms);
