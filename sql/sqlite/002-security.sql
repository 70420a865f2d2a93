-- 002-security.sql -- migration 2: session ids at rest, the health probe.
--
-- Issue 9.  sessions.token now holds the BLAKE2b-256 hash of the cookie
-- (64 hex chars, auth_sid_hash()), never the cookie itself.  A hash cannot
-- be made from a row written before (SQLite has no BLAKE2b), and a token
-- that sat in clear in the file and its -wal may have been read: every
-- existing session is ended.  Their users sign in again; currentUsers is
-- counted from the rows, so it is 0 after this migration.
DELETE FROM sessions;

-- login_failures.username is now a throttle key (docs/SECURITY.md):
-- "u:NAME", "a:ADDRESS", "ua:NAME ADDRESS", "b:NAME".  Old rows were keyed
-- by the bare name and would never be read again: drop them.
DELETE FROM login_failures;

-- /health writes one row here inside a transaction it rolls back, so that a
-- read-only, full or failing database is seen before a user's write fails.
-- Never holds a committed row.
CREATE TABLE health_probe (
	x BLOB
);
