-- schema.sql -- the whole current schema (version 3), for reading.
--
-- This file is what applying sql/sqlite/001-initial.sql ... sql/sqlite/NNN-*.sql in order
-- produces; the program never runs it against a real database (migrations
-- do that), but tests/unit/test_store applies it to a scratch database and
-- checks that sqlite_master comes out the same.  Update it with every new
-- migration.  docs/STORE.md explains each table and index.

PRAGMA user_version = 3;

-- One row per registered name; names compare case-insensitively (ASCII).
CREATE TABLE users (
	id INTEGER PRIMARY KEY,
	username TEXT NOT NULL UNIQUE COLLATE NOCASE,
	password_hash TEXT NOT NULL,       -- yescrypt, "$y$..."
	created_ms INTEGER NOT NULL
);

-- One row per login; online = counted in currentUsers.
CREATE TABLE sessions (
	id INTEGER PRIMARY KEY,
	token TEXT NOT NULL UNIQUE,        -- BLAKE2b-256 of the cookie, hex
	user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	created_ms INTEGER NOT NULL,
	expires_ms INTEGER NOT NULL,       -- expired when <= now
	last_seen_ms INTEGER NOT NULL,     -- last login, stream or poll
	online INTEGER NOT NULL DEFAULT 0 CHECK (online IN (0, 1))
);
CREATE INDEX sessions_online_seen ON sessions(online, last_seen_ms);
CREATE INDEX sessions_expires ON sessions(expires_ms);
CREATE INDEX sessions_user ON sessions(user_id);

-- The event log: ids increase and are never reused (AUTOINCREMENT keeps
-- the highest id ever given in sqlite_sequence, even after a trim).
CREATE TABLE events (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	name TEXT NOT NULL,
	data TEXT NOT NULL,                -- one JSON text
	created_ms INTEGER NOT NULL
);

-- Login throttling: failures per key (u:NAME, a:ADDRESS, ua:NAME ADDRESS,
-- b:NAME; docs/SECURITY.md) in a fixed window.
CREATE TABLE login_failures (
	username TEXT PRIMARY KEY COLLATE NOCASE,
	failures INTEGER NOT NULL,
	window_end_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX login_failures_window_end ON login_failures(window_end_ms);

-- /health's write probe: written and rolled back, never committed.
CREATE TABLE health_probe (
	x BLOB
);

-- Socket.IO over Engine.IO long-polling (src/sio_session.c): one row per
-- Engine.IO session, so that any process serves any request of it (no
-- sticky sessions).  Times are wall-clock ms.  A closed session
-- (closed_ms != 0) answers no request but keeps its pid and cursor for
-- connection state recovery until it is deleted (seen_ms too old).
CREATE TABLE sio_sessions (
	id INTEGER PRIMARY KEY,
	sid TEXT NOT NULL UNIQUE,          -- Engine.IO session id
	session_id INTEGER NOT NULL DEFAULT 0, -- sessions.id signed in, 0 none
	sock TEXT NOT NULL DEFAULT '',     -- Socket.IO socket id, '' until 40
	pid TEXT NOT NULL DEFAULT '',      -- private id for recovery, '' none
	cursor INTEGER NOT NULL DEFAULT 0, -- newest event id sent
	ping_due_ms INTEGER NOT NULL,      -- the next ping is due then
	pong_due_ms INTEGER NOT NULL DEFAULT 0, -- ping sent: pong by then
	get_ms INTEGER NOT NULL DEFAULT 0, -- a GET holds the session since
	post_ms INTEGER NOT NULL DEFAULT 0, -- a POST holds the session since
	seen_ms INTEGER NOT NULL,
	closed_ms INTEGER NOT NULL DEFAULT 0,
	flags INTEGER NOT NULL DEFAULT 0,  -- 1 connected, 2 ping owed
	outq TEXT NOT NULL DEFAULT ''      -- control packets for the next GET
);
CREATE INDEX sio_sessions_pid ON sio_sessions(pid) WHERE pid != '';
CREATE INDEX sio_sessions_seen ON sio_sessions(seen_ms);
-- The hub: sessions whose parked GET has packets to take.
CREATE INDEX sio_sessions_pending ON sio_sessions(id)
	WHERE outq != '' AND get_ms != 0;
