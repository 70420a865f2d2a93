-- 003-socketio.sql -- migration 3: Engine.IO/Socket.IO sessions in the
-- store (issue 11).
--
-- Applied by store_migrate() inside BEGIN IMMEDIATE together with
-- PRAGMA user_version = 3.  Never edit it once shipped.

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
