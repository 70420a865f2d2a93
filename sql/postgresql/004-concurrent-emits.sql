-- 004-concurrent-emits.sql -- migration 4 of the PostgreSQL store: plain
-- emits no longer take the global write lock, so that PostgreSQL can
-- group their commits (one WAL flush for many), and readers keep one
-- order through a settled horizon instead (docs/STORE.md, "One order, one
-- count").
--
-- Two advisory locks.  Key 1701669236 ("emit"), the id lock: every
-- transaction that takes an event id holds it from before it draws the id
-- until it ends (emitcgi_event_id(), the column default): SHARED for a
-- plain append, so appends commit side by side; EXCLUSIVE for the other
-- writers (the setting emitcgi.ids, set by the store's write transactions),
-- so that the ids of one of them follow each other.  Key 1701669239
-- ("emiw"), the write lock: the writes that read the online count (login,
-- logout, the presence sweep) and every other write but a plain append
-- hold it EXCLUSIVE for their whole transaction (src/store/postgresql.c).
-- A reader takes the id lock EXCLUSIVE for one statement: it waits for the
-- id takers in flight, and then every id up to the sequence's last value
-- is settled (committed or rolled back for good).

-- Ids from a sequence (CACHE 1: a cached block per connection would hand
-- out ids without touching the sequence, and the horizon would not see
-- them), starting after the highest id the counter row gave.
CREATE SEQUENCE events_id_seq AS bigint CACHE 1;
SELECT setval('events_id_seq', greatest(last_id, 1), last_id > 0)
	FROM event_counter;
DROP TABLE event_counter;

-- The next id, under the id lock (taken first: the horizon argument needs
-- every id taker to hold it when it draws).  The column default, so that a
-- row inserted by hand follows the same rule (shared).
CREATE FUNCTION emitcgi_event_id() RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
	IF current_setting('emitcgi.ids', true) = 'exclusive' THEN
		PERFORM pg_advisory_xact_lock(1701669236);
	ELSE
		PERFORM pg_advisory_xact_lock_shared(1701669236);
	END IF;
	RETURN nextval('events_id_seq');
END
$$;
ALTER TABLE events ALTER COLUMN id SET DEFAULT emitcgi_event_id();

-- The newest settled id: waits for the id takers in flight (the
-- exclusive lock, held to the end of the caller's statement or
-- transaction), then reads the sequence: nobody can draw while we hold
-- it, so every id up to the value read is settled.
CREATE FUNCTION emitcgi_settled() RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_advisory_xact_lock(1701669236);
	RETURN coalesce(pg_sequence_last_value('events_id_seq'), 0);
END
$$;

-- Events after after_id up to the settled horizon, in id order.  Nothing
-- drawn past after_id yet: answers at once, without the lock.  VOLATILE
-- (the default): the query after the wait takes a fresh snapshot.
CREATE FUNCTION emitcgi_events_after(after_id bigint, lim bigint)
	RETURNS TABLE (id bigint, name text, data text)
	LANGUAGE plpgsql AS $$
DECLARE
	horizon bigint;
BEGIN
	IF coalesce(pg_sequence_last_value('events_id_seq'), 0) <= after_id THEN
		RETURN;
	END IF;
	horizon := emitcgi_settled();
	RETURN QUERY SELECT e.id, e.name, e.data FROM events e
		WHERE e.id > after_id AND e.id <= horizon
		ORDER BY e.id LIMIT lim;
END
$$;

-- No NOTIFY in the writing transaction any more: PostgreSQL serialises
-- the commits of notifying transactions (PreCommit_Notify holds a
-- cluster-wide lock until after the commit record is flushed), which
-- would undo the grouping.  The committing connection notifies right after
-- its COMMIT, in a transaction of its own (postgresql.c, pg_commit()).
DROP TRIGGER events_notify ON events;
DROP FUNCTION emitcgi_events_notify();
