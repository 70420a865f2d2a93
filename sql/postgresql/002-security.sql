-- 002-security.sql -- migration 2 of the PostgreSQL store: session ids at
-- rest, throttle keys, the health probe (issue 9; the same change as
-- sql/sqlite/002-security.sql).
--
-- sessions.token now holds the BLAKE2b-256 hash of the cookie (64 hex
-- chars, auth_sid_hash()), never the cookie itself.  A token that sat in
-- clear may have been read: every existing session is ended, and their
-- users sign in again (currentUsers is counted from the rows).
DELETE FROM sessions;

-- login_failures.username is now a throttle key ("u:NAME", "a:ADDRESS",
-- "ua:NAME ADDRESS", "b:NAME", docs/SECURITY.md); rows keyed by the bare
-- name would never be read again.
DELETE FROM login_failures;

-- /health inserts a row here in a transaction it always rolls back, so a
-- read-only server is seen before a user's write fails.  Never holds a
-- committed row.
CREATE TABLE health_probe (
	x bytea
);
