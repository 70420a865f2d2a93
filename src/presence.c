/* presence.c -- when a session counts as online (see presence.h).
 *
 * Policy only; the store does the work and commits the events:
 *
 *   presence_seen(st, &session, idle_ms, now, &p)   per stream or poll
 *   presence_tick(st, parked, n, idle_ms, now, &c, ended, &n_ended)
 *                                                   about once a second
 *
 * Invariants:
 * - A session that a client streams or polls from is online and its
 *   last_seen is at most idle_ms / 4 old after presence_seen(): the write
 *   is skipped only for a session already online and seen within
 *   idle_ms / 4, so the hot path costs no write in the common case, and the
 *   reaper (cut-off idle_ms) can never take it offline meanwhile.
 * - presence_seen() on a session that has ended meanwhile (logout,
 *   expiry) is EC_UNAUTHORIZED, as if the request had come without it.
 * - presence_tick() touches before it reaps, so a session with a waiter
 *   parked in this process is never taken offline by this process; if the
 *   touch fails it does not reap (it might reap exactly those sessions).
 *
 * To change the policy (e.g. a different write threshold) change
 * PRESENCE_SEEN_DIVISOR and the header comment together.
 */
#include "autoconfig.h"

#include "presence.h"

/* last_seen older than idle_ms / this is written again. */
#define PRESENCE_SEEN_DIVISOR 4

enum ecode presence_seen(struct store *st, const struct store_session *s,
			 int64_t idle_ms, int64_t now_ms,
			 struct store_presence *out)
{
	struct store_presence local;
	enum ecode rc;

	if (!out)
		out = &local;
	if (s->online && now_ms - s->last_seen_ms <=
				 idle_ms / PRESENCE_SEEN_DIVISOR) {
		/* Nothing written: the count was not read either. */
		out->changed = false;
		out->current_users = -1;
		out->event_id = 0;
		return EC_OK;
	}
	rc = store_session_touch(st, s->id, now_ms, out);
	/* Logged out or expired since the caller found it: the client is no
	 * longer signed in, which is not "no such route". */
	return rc == EC_NOT_FOUND ? EC_UNAUTHORIZED : rc;
}

enum ecode presence_tick(struct store *st, const int64_t *parked, size_t n,
			 int64_t idle_ms, int64_t now_ms, int *changes,
			 int64_t *ended, size_t *n_ended)
{
	int on = 0, off = 0;
	enum ecode rc;

	if (changes)
		*changes = 0;
	if (n_ended)
		*n_ended = 0;
	if (n > 0 && (rc = store_sessions_touch(st, parked, n, now_ms, &on,
						ended, n_ended)) != EC_OK)
		return rc;
	rc = store_sessions_reap(st, now_ms, idle_ms, &off);
	if (changes)
		*changes = on + off;
	return rc;
}
