/* presence.c -- when a session counts as online (see presence.h).
 *
 * The whole policy: which change takes a session online or offline, the
 * "user count" + "user" pair each such change emits, and the JSON of the
 * "user" event.  The store only executes (store.h primitives: session
 * seen/offline/delete returning what was there, stale sessions, online
 * count); the events go in through io_append() (io.h).  Each function
 * below is one store_transaction():
 *
 *   presence_seen()        -> presence_touch() when a write is due
 *   presence_touch()       store_session_seen(), the pair if it was offline
 *   presence_touch_many()  the same per id, ended ids reported
 *   presence_reap()        store_sessions_stale(): store_session_offline()
 *                          and the pair per session; delete expired
 *   presence_logout()      store_session_delete(), the pair if it was online
 *   presence_tick()        presence_touch_many(), then presence_reap()
 *
 * Invariants:
 * - Counts are read inside the transaction, whose BEGIN IMMEDIATE took the
 *   write lock first: the number in each "user count" is the count at the
 *   commit, whatever other connections or processes do.  A transaction
 *   that changes several sessions emits one pair per session, each with the
 *   count at that point (read once, then kept up to date).
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
 * - presence_reap() probes with a read (store_housekeeping_due()) and takes
 *   the write lock only when there is work.
 *
 * May call: store.h, io.h, clock.h, json-c (the "user" data).  To change
 * the policy (e.g. a different write threshold) change
 * PRESENCE_SEEN_DIVISOR and the header comment together.
 */
#include "autoconfig.h"

#include <inttypes.h>
#include <stdio.h>

#include <json-c/json.h>

#include "clock.h"
#include "io.h"
#include "presence.h"

/* last_seen older than idle_ms / this is written again. */
#define PRESENCE_SEEN_DIVISOR 4
/* Room for the data of one "user" event (a 32-byte name and a number). */
#define PRESENCE_USER_EVENT_MAX_BYTES 256

/* ---- the events ---- */

enum ecode presence_user_event_data(struct buf *out, const char *username,
				    int64_t current_users, bool connected)
{
	struct json_object *obj, *v;
	const char *json;
	enum ecode rc = EC_NOMEM;

	if (!(obj = json_object_new_object()))
		return EC_NOMEM;
	if (!(v = json_object_new_string(username)))
		goto out;
	if (json_object_object_add(obj, "username", v) != 0) {
		json_object_put(v);
		goto out;
	}
	if (!(v = json_object_new_int64(current_users)))
		goto out;
	if (json_object_object_add(obj, "currentUsers", v) != 0) {
		json_object_put(v);
		goto out;
	}
	if (!(v = json_object_new_boolean(connected)))
		goto out;
	if (json_object_object_add(obj, "connected", v) != 0) {
		json_object_put(v);
		goto out;
	}
	json = json_object_to_json_string_ext(
		obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (json)
		rc = buf_adds(out, json);
out:
	json_object_put(obj);
	return rc;
}

static enum ecode presence_user_event(struct store *st, const char *username,
				      int64_t count, bool connected,
				      int64_t now_ms)
{
	struct buf data;
	enum ecode rc;

	buf_init(&data, PRESENCE_USER_EVENT_MAX_BYTES);
	rc = presence_user_event_data(&data, username ? username : "", count,
				      connected);
	if (rc == EC_OK)
		rc = io_append(st, PRESENCE_EVENT_USER, buf_str(&data), now_ms,
			       NULL);
	buf_release(&data);
	return rc;
}

enum ecode presence_emit_user(struct store *st, const char *username,
			      int64_t current_users, bool connected)
{
	return presence_user_event(st, username, current_users, connected,
				   clock_wall_ms());
}

/* The pair every presence change commits: "user count" with `count` (the
 * online sessions after this change), then "user". */
static enum ecode presence_pair(struct store *st, const char *username,
				bool connected, int64_t count, int64_t now_ms,
				int64_t *count_event_id)
{
	char num[24];
	enum ecode rc;

	snprintf(num, sizeof(num), "%" PRId64, count);
	rc = io_append(st, PRESENCE_EVENT_USER_COUNT, num, now_ms,
		       count_event_id);
	if (rc != EC_OK)
		return rc;
	return presence_user_event(st, username, count, connected, now_ms);
}

static void presence_clear(struct presence_change *out)
{
	if (out) {
		out->changed = false;
		out->current_users = 0;
		out->event_id = 0;
	}
}

/* ---- touching ---- */

/* One touch inside a transaction. */
struct presence_touch {
	const int64_t *ids;
	size_t n;
	int64_t now_ms;
	int64_t count;	  /* online count; < 0: not read yet */
	int went_online;  /* sessions that came back */
	int64_t event_id; /* of the last "user count" appended */
	int64_t *ended;	  /* may be NULL */
	size_t n_ended;
	bool skip_ended; /* many: ended ids are skipped, not an error */
};

/* last_seen = now and online for one live session; the pair if it was
 * offline. */
static enum ecode presence_touch_one(struct store *st, struct presence_touch *t,
				     int64_t id)
{
	struct store_session was;
	enum ecode rc;

	if ((rc = store_session_seen(st, id, t->now_ms, &was)) != EC_OK)
		return rc;
	if (was.online)
		return EC_OK;
	if (t->count < 0) {
		if ((rc = store_online_count(st, &t->count)) != EC_OK)
			return rc;
	} else {
		t->count++;
	}
	rc = presence_pair(st, was.username, true, t->count, t->now_ms,
			   &t->event_id);
	if (rc == EC_OK)
		t->went_online++;
	return rc;
}

static enum ecode presence_touch_tx(struct store *st, void *arg)
{
	struct presence_touch *t = arg;
	enum ecode rc;

	for (size_t i = 0; i < t->n; i++) {
		rc = presence_touch_one(st, t, t->ids[i]);
		if (rc == EC_NOT_FOUND && t->skip_ended) {
			/* logged out or expired meanwhile */
			if (t->ended)
				t->ended[t->n_ended++] = t->ids[i];
			continue;
		}
		if (rc != EC_OK)
			return rc;
	}
	if (!t->skip_ended && t->count < 0)
		return store_online_count(st, &t->count);
	return EC_OK;
}

enum ecode presence_touch(struct store *st, int64_t session_id, int64_t now_ms,
			  struct presence_change *out)
{
	struct presence_touch t = {
		.ids = &session_id, .n = 1, .now_ms = now_ms, .count = -1
	};
	enum ecode rc;

	presence_clear(out);
	if ((rc = store_transaction(st, presence_touch_tx, &t)) != EC_OK)
		return rc;
	if (out) {
		out->changed = t.went_online > 0;
		out->current_users = t.count;
		out->event_id = t.went_online > 0 ? t.event_id : 0;
	}
	return EC_OK;
}

enum ecode presence_touch_many(struct store *st, const int64_t *ids, size_t n,
			       int64_t now_ms, int *went_online, int64_t *ended,
			       size_t *n_ended)
{
	struct presence_touch t = { .ids = ids,
				    .n = n,
				    .now_ms = now_ms,
				    .count = -1,
				    .ended = ended,
				    .skip_ended = true };
	enum ecode rc;

	if (went_online)
		*went_online = 0;
	if (n_ended)
		*n_ended = 0;
	if (n == 0)
		return EC_OK;
	if ((rc = store_transaction(st, presence_touch_tx, &t)) != EC_OK)
		return rc;
	if (went_online)
		*went_online = t.went_online;
	if (n_ended)
		*n_ended = t.n_ended;
	return EC_OK;
}

bool presence_seen_skips(bool online, int64_t last_seen_ms, int64_t idle_ms,
			 int64_t now_ms)
{
	return online &&
	       now_ms - last_seen_ms <= idle_ms / PRESENCE_SEEN_DIVISOR;
}

enum ecode presence_seen(struct store *st, const struct store_session *s,
			 int64_t idle_ms, int64_t now_ms,
			 struct presence_change *out)
{
	struct presence_change local;
	enum ecode rc;

	if (!out)
		out = &local;
	if (presence_seen_skips(s->online, s->last_seen_ms, idle_ms, now_ms)) {
		/* Nothing written: the count was not read either. */
		out->changed = false;
		out->current_users = -1;
		out->event_id = 0;
		return EC_OK;
	}
	rc = presence_touch(st, s->id, now_ms, out);
	/* Logged out or expired since the caller found it: the client is no
	 * longer signed in, which is not "no such route". */
	return rc == EC_NOT_FOUND ? EC_UNAUTHORIZED : rc;
}

/* ---- going offline ---- */

struct presence_reap {
	struct store *st;
	int64_t now_ms;
	int64_t cutoff_ms;
	int64_t count; /* < 0: not read yet */
	int went_offline;
};

/* One stale session: offline, and the pair with the count after it. */
static enum ecode presence_reap_one(void *arg, const struct store_session *s)
{
	struct presence_reap *r = arg;
	struct store *st = r->st;
	enum ecode rc;

	if (r->count < 0 && (rc = store_online_count(st, &r->count)) != EC_OK)
		return rc;
	if ((rc = store_session_offline(st, s->id)) != EC_OK)
		return rc;
	r->count--;
	rc = presence_pair(st, s->username, false, r->count, r->now_ms, NULL);
	if (rc == EC_OK)
		r->went_offline++;
	return rc;
}

static enum ecode presence_reap_tx(struct store *st, void *arg)
{
	struct presence_reap *r = arg;
	enum ecode rc;

	r->st = st;
	rc = store_sessions_stale(st, r->cutoff_ms, r->now_ms,
				  presence_reap_one, r);
	if (rc == EC_OK)
		rc = store_sessions_delete_expired(st, r->now_ms);
	if (rc == EC_OK)
		rc = store_login_failures_expire(st, r->now_ms);
	return rc;
}

enum ecode presence_reap(struct store *st, int64_t now_ms, int64_t idle_ms,
			 int *went_offline)
{
	struct presence_reap r = { .now_ms = now_ms,
				   .cutoff_ms = now_ms - idle_ms,
				   .count = -1 };
	bool due;
	enum ecode rc;

	if (went_offline)
		*went_offline = 0;
	rc = store_housekeeping_due(st, r.cutoff_ms, now_ms, &due);
	if (rc != EC_OK || !due)
		return rc;
	if ((rc = store_transaction(st, presence_reap_tx, &r)) != EC_OK)
		return rc;
	if (went_offline)
		*went_offline = r.went_offline;
	return EC_OK;
}

struct presence_logout {
	const char *sid;
	int64_t count;
	int64_t event_id;
	bool was_online;
};

static enum ecode presence_logout_tx(struct store *st, void *arg)
{
	struct presence_logout *l = arg;
	struct store_session was;
	enum ecode rc;

	rc = store_session_delete(st, l->sid, &was);
	if (rc != EC_OK && rc != EC_NOT_FOUND)
		return rc;
	l->was_online = rc == EC_OK && was.online;
	if ((rc = store_online_count(st, &l->count)) != EC_OK)
		return rc;
	/* A logout takes no time: the event's created_ms is only
	 * informational, so the wall clock is good enough. */
	if (!l->was_online)
		return EC_OK;
	return presence_pair(st, was.username, false, l->count, clock_wall_ms(),
			     &l->event_id);
}

enum ecode presence_logout(struct store *st, const char *sid,
			   struct presence_change *out)
{
	struct presence_logout l = { .sid = sid };
	enum ecode rc;

	presence_clear(out);
	if (!sid)
		return EC_INTERNAL;
	if ((rc = store_transaction(st, presence_logout_tx, &l)) != EC_OK)
		return rc;
	if (out) {
		out->changed = l.was_online;
		out->current_users = l.count;
		out->event_id = l.event_id;
	}
	return EC_OK;
}

/* ---- the housekeeping tick ---- */

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
	if (n > 0 && (rc = presence_touch_many(st, parked, n, now_ms, &on,
					       ended, n_ended)) != EC_OK)
		return rc;
	rc = presence_reap(st, now_ms, idle_ms, &off);
	if (changes)
		*changes = on + off;
	return rc;
}
