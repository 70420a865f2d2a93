/* test_presence.c -- the presence policy (presence.c) on a real store.
 *
 * presence_seen() and presence_tick(); and, moved here from test_store.c
 * when the policy left the store, the login pair, presence_logout(),
 * presence_touch(), presence_touch_many(), presence_reap() and the "user"
 * event's JSON (presence_user_event_data()).
 *
 * A fresh database in a temporary directory per test; explicit now_ms
 * values (IDLE_MS = 60 s, so the write threshold idle/4 is 15 s).
 */
#include "autoconfig.h"

#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "fixture.h"
#include "log.h"
#include "login.h"
#include "presence.h"
#include "store.h"

#define IDLE_MS 60000
#define DAY_MS (24 * 3600 * 1000LL)

static struct store *st;

static void setup(void)
{
	fixture_setup();
	st = fixture_store();
}

static void teardown(void)
{
	store_close(st);
	st = NULL;
	fixture_teardown();
}

/* Logs `name` in at now_ms with a fresh session; *s gets the session. */
static void login(const char *name, int n, int64_t now_ms,
		  struct store_session *s)
{
	struct store_user u;
	int64_t n_online;
	char sid[65];

	if (store_user_find(st, name, &u) == EC_NOT_FOUND)
		ck_assert_int_eq(store_user_add(st, name, "$y$x", now_ms),
				 EC_OK);
	ck_assert_int_eq(store_user_find(st, name, &u), EC_OK);
	snprintf(sid, sizeof(sid), "%064x", n);
	ck_assert_int_eq(
		login_connect(st, sid, &u, now_ms, now_ms + DAY_MS, &n_online),
		EC_OK);
	ck_assert_int_eq(store_session_find(st, sid, now_ms, s), EC_OK);
}

static void reload(int n, int64_t now_ms, struct store_session *s)
{
	char sid[65];

	snprintf(sid, sizeof(sid), "%064x", n);
	ck_assert_int_eq(store_session_find(st, sid, now_ms, s), EC_OK);
}

static int64_t last_id(void)
{
	int64_t id;

	ck_assert_int_eq(store_last_event_id(st, &id), EC_OK);
	return id;
}

START_TEST(test_seen_offline_goes_online)
{
	struct store_session s;
	struct presence_change p;
	int off;

	login("alice", 1, 1000, &s);
	ck_assert_int_eq(presence_reap(st, 1000 + IDLE_MS + 1, IDLE_MS, &off),
			 EC_OK);
	ck_assert_int_eq(off, 1);
	reload(1, 70000, &s);
	ck_assert(!s.online);
	ck_assert_int_eq(last_id(), 4);

	ck_assert_int_eq(presence_seen(st, &s, IDLE_MS, 70000, &p), EC_OK);
	ck_assert(p.changed);
	ck_assert_int_eq(p.current_users, 1);
	ck_assert_int_eq(p.event_id, 5);
	ck_assert_int_eq(last_id(), 6);
	reload(1, 70000, &s);
	ck_assert(s.online);
	ck_assert_int_eq(s.last_seen_ms, 70000);
}
END_TEST

static const struct seen_row {
	int64_t age_ms; /* now - last_seen */
	bool written;
} seen_rows[] = {
	{ 0, false },		{ 1, false },
	{ IDLE_MS / 4, false }, { IDLE_MS / 4 + 1, true },
	{ IDLE_MS - 1, true },
};

START_TEST(test_seen_online_writes_only_when_stale)
{
	const struct seen_row *r = &seen_rows[_i];
	struct store_session s;
	struct presence_change p;
	int64_t now = 1000 + r->age_ms;

	login("alice", 1, 1000, &s);
	ck_assert_int_eq(presence_seen(st, &s, IDLE_MS, now, &p), EC_OK);
	ck_assert(!p.changed);
	ck_assert_int_eq(p.event_id, 0);
	/* -1: nothing was read when nothing was written */
	ck_assert_int_eq(p.current_users, (r->written ? 1 : -1));
	reload(1, now, &s);
	ck_assert_int_eq(s.last_seen_ms, (r->written ? now : 1000));
	ck_assert_int_eq(last_id(), 2);
	/* out may be NULL */
	ck_assert_int_eq(presence_seen(st, &s, IDLE_MS, now, NULL), EC_OK);
}
END_TEST

START_TEST(test_seen_ended_session)
{
	struct store_session s;
	struct presence_change p;
	char sid[65];

	login("alice", 1, 1000, &s);
	snprintf(sid, sizeof(sid), "%064x", 1);
	ck_assert_int_eq(presence_logout(st, sid, &p), EC_OK);
	/* a stale copy that would need a write: the session is gone */
	ck_assert_int_eq(presence_seen(st, &s, IDLE_MS, 50000, &p),
			 EC_UNAUTHORIZED);
	ck_assert(!p.changed);
	/* expired: same */
	login("alice", 2, 1000, &s);
	ck_assert_int_eq(presence_seen(st, &s, IDLE_MS, 1000 + DAY_MS, &p),
			 EC_UNAUTHORIZED);
	ck_assert_int_eq(last_id(), 6);
}
END_TEST

START_TEST(test_tick_reaps_idle)
{
	struct store_session a, b;
	int changes = -1;

	login("alice", 1, 1000, &a);
	login("bob", 2, 30000, &b);
	ck_assert_int_eq(presence_tick(st, NULL, 0, IDLE_MS, 61000, &changes,
				       NULL, NULL),
			 EC_OK);
	ck_assert_int_eq(changes, 0);
	ck_assert_int_eq(presence_tick(st, NULL, 0, IDLE_MS, 61001, &changes,
				       NULL, NULL),
			 EC_OK);
	ck_assert_int_eq(changes, 1);
	reload(1, 61001, &a);
	reload(2, 61001, &b);
	ck_assert(!a.online);
	ck_assert(b.online);
	ck_assert_int_eq(last_id(), 6);
	ck_assert_int_eq(
		presence_tick(st, NULL, 0, IDLE_MS, 90001, NULL, NULL, NULL),
		EC_OK);
	reload(2, 90001, &b);
	ck_assert(!b.online);
	ck_assert_int_eq(last_id(), 8);
}
END_TEST

START_TEST(test_tick_keeps_parked_online)
{
	struct store_session a, b;
	struct store_snapshot snap;
	int64_t parked[3], ended[3];
	size_t n_ended = 9;
	struct presence_change p;
	char bob_sid[65];
	int changes = -1;

	login("alice", 1, 1000, &a);
	login("bob", 2, 1000, &b);
	parked[0] = a.id;
	parked[1] = a.id;
	ck_assert_int_eq(presence_tick(st, parked, 2, IDLE_MS, 61001, &changes,
				       NULL, NULL),
			 EC_OK);
	ck_assert_int_eq(changes, 1); /* bob went, alice stayed */
	reload(1, 61001, &a);
	reload(2, 61001, &b);
	ck_assert(a.online);
	ck_assert_int_eq(a.last_seen_ms, 61001);
	ck_assert(!b.online);

	/* a parked session that was offline comes back */
	parked[2] = b.id;
	ck_assert_int_eq(presence_tick(st, parked, 3, IDLE_MS, 200000, &changes,
				       NULL, NULL),
			 EC_OK);
	ck_assert_int_eq(changes, 1);
	reload(1, 200000, &a);
	reload(2, 200000, &b);
	ck_assert(a.online);
	ck_assert(b.online);
	ck_assert_int_eq(store_snapshot(st, &snap), EC_OK);
	ck_assert_int_eq(snap.current_users, 2);
	ck_assert_int_eq(snap.last_id, 8);

	/* bob logs out: his parked id is reported as ended, alice's not */
	snprintf(bob_sid, sizeof(bob_sid), "%064x", 2);
	ck_assert_int_eq(presence_logout(st, bob_sid, &p), EC_OK);
	ck_assert_int_eq(presence_tick(st, parked, 3, IDLE_MS, 200001, &changes,
				       ended, &n_ended),
			 EC_OK);
	ck_assert_uint_eq(n_ended, 1);
	ck_assert_int_eq(ended[0], b.id);
}
END_TEST

/* ---- the helpers of the tests moved from test_store.c ---- */

#define HASH "$y$j9T$salt$hash"

/* Straight to the database under test, only to look at what the store
 * wrote (fixture.h). */
static int64_t sql_int(const char *sql)
{
	return fixture_sql_i64(sql);
}

/* ---- moved from test_store.c: the presence changes, their pairs ---- */

START_TEST(test_login_event_pair)
{
	struct presence_change p;
	struct store_session s;
	struct fixture_evlist l;
	int64_t uid = fixture_add_user(st, "alice");

	ck_assert_int_eq(fixture_login_as(st, fixture_sid_of(1), uid, 1000,
					  1000 + DAY_MS, &p),
			 EC_OK);
	ck_assert(p.changed);
	ck_assert_int_eq(p.current_users, 1);
	ck_assert_int_eq(p.event_id, 1);
	fixture_collect(st, 0, 100, &l);
	ck_assert_uint_eq(l.n, 2);
	fixture_check_pair(&l, 0, 1, "alice", 1, true);

	ck_assert_int_eq(store_session_find(st, fixture_sid_of(1), 1000, &s),
			 EC_OK);
	ck_assert_int_eq(s.user_id, uid);
	ck_assert_str_eq(s.username, "alice");
	ck_assert(s.online);
	ck_assert_int_eq(s.last_seen_ms, 1000);
	ck_assert_int_eq(s.expires_ms, 1000 + DAY_MS);
	ck_assert_int_eq(store_session_find(st, fixture_sid_of(2), 1000, &s),
			 EC_NOT_FOUND);

	/* a user deleted meanwhile: nothing is written */
	ck_assert_int_eq(fixture_login_as(st, fixture_sid_of(3), uid + 100,
					  1000, 2000, &p),
			 EC_NOT_FOUND);
	ck_assert(!p.changed);
	fixture_collect(st, 0, 100, &l);
	ck_assert_uint_eq(l.n, 2);
}
END_TEST

START_TEST(test_three_logins_count_up)
{
	const char *names[] = { "alice", "bob", "alice" };
	struct presence_change p;
	struct fixture_evlist l;

	fixture_add_user(st, "alice");
	fixture_add_user(st, "bob");
	for (int i = 0; i < 3; i++) {
		struct store_user u;

		ck_assert_int_eq(store_user_find(st, names[i], &u), EC_OK);
		ck_assert_int_eq(fixture_login_as(st, fixture_sid_of(i + 1),
						  u.id, 1000 + i, 1000 + DAY_MS,
						  &p),
				 EC_OK);
		ck_assert_int_eq(p.current_users, i + 1);
		ck_assert_int_eq(p.event_id, 2 * i + 1);
	}
	fixture_collect(st, 0, 100, &l);
	ck_assert_uint_eq(l.n, 6);
	for (int i = 0; i < 3; i++)
		fixture_check_pair(&l, 2 * (size_t)i, 2 * i + 1, names[i],
				   i + 1, true);
}
END_TEST

START_TEST(test_logout)
{
	struct presence_change p;
	struct store_session s;
	struct fixture_evlist l;
	int64_t uid = fixture_add_user(st, "alice");
	int off;

	ck_assert_int_eq(
		fixture_login_as(st, fixture_sid_of(1), uid, 1000, DAY_MS, &p),
		EC_OK);
	ck_assert_int_eq(
		fixture_login_as(st, fixture_sid_of(2), uid, 1000, DAY_MS, &p),
		EC_OK);
	ck_assert_int_eq(p.current_users, 2);

	/* online session: events with the new count */
	ck_assert_int_eq(presence_logout(st, fixture_sid_of(1), &p), EC_OK);
	ck_assert(p.changed);
	ck_assert_int_eq(p.current_users, 1);
	ck_assert_int_eq(p.event_id, 5);
	fixture_collect(st, 4, 100, &l);
	ck_assert_uint_eq(l.n, 2);
	fixture_check_pair(&l, 0, 5, "alice", 1, false);
	ck_assert_int_eq(store_session_find(st, fixture_sid_of(1), 1000, &s),
			 EC_NOT_FOUND);

	/* unknown session (and the same one again): nothing */
	ck_assert_int_eq(presence_logout(st, fixture_sid_of(1), &p), EC_OK);
	ck_assert(!p.changed);
	ck_assert_int_eq(p.current_users, 1);
	ck_assert_int_eq(p.event_id, 0);
	ck_assert_int_eq(presence_logout(st, "", &p), EC_OK);
	ck_assert(!p.changed);

	/* offline session: deleted without events */
	ck_assert_int_eq(presence_reap(st, 1000 + 61000, 60000, &off), EC_OK);
	ck_assert_int_eq(off, 1);
	fixture_collect(st, 6, 100, &l);
	ck_assert_uint_eq(l.n, 2);
	ck_assert_int_eq(store_session_find(st, fixture_sid_of(2), 62000, &s),
			 EC_OK);
	ck_assert(!s.online);
	ck_assert_int_eq(presence_logout(st, fixture_sid_of(2), &p), EC_OK);
	ck_assert(!p.changed);
	ck_assert_int_eq(p.current_users, 0);
	fixture_collect(st, 8, 100, &l);
	ck_assert_uint_eq(l.n, 0);
	ck_assert_int_eq(store_session_find(st, fixture_sid_of(2), 62000, &s),
			 EC_NOT_FOUND);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM sessions"), 0);
}
END_TEST

START_TEST(test_touch)
{
	struct presence_change p;
	struct store_session s;
	struct fixture_evlist l;
	int64_t uid = fixture_add_user(st, "alice");
	int off;

	ck_assert_int_eq(
		fixture_login_as(st, fixture_sid_of(1), uid, 1000, 500000, &p),
		EC_OK);
	ck_assert_int_eq(store_session_find(st, fixture_sid_of(1), 1000, &s),
			 EC_OK);

	/* online: last_seen moves, no events */
	ck_assert_int_eq(presence_touch(st, s.id, 2000, &p), EC_OK);
	ck_assert(!p.changed);
	ck_assert_int_eq(p.current_users, 1);
	ck_assert_int_eq(p.event_id, 0);
	fixture_collect(st, 2, 100, &l);
	ck_assert_uint_eq(l.n, 0);
	ck_assert_int_eq(store_session_find(st, fixture_sid_of(1), 2000, &s),
			 EC_OK);
	ck_assert_int_eq(s.last_seen_ms, 2000);
	/* never backwards */
	ck_assert_int_eq(presence_touch(st, s.id, 1500, &p), EC_OK);
	ck_assert_int_eq(store_session_find(st, fixture_sid_of(1), 2000, &s),
			 EC_OK);
	ck_assert_int_eq(s.last_seen_ms, 2000);

	/* offline -> online: the pair */
	ck_assert_int_eq(presence_reap(st, 2000 + 60001, 60000, &off), EC_OK);
	ck_assert_int_eq(off, 1);
	ck_assert_int_eq(presence_touch(st, s.id, 70000, &p), EC_OK);
	ck_assert(p.changed);
	ck_assert_int_eq(p.current_users, 1);
	ck_assert_int_eq(p.event_id, 5);
	fixture_collect(st, 0, 100, &l);
	ck_assert_uint_eq(l.n, 6);
	fixture_check_pair(&l, 2, 3, "alice", 0, false);
	fixture_check_pair(&l, 4, 5, "alice", 1, true);
	ck_assert_int_eq(store_session_find(st, fixture_sid_of(1), 70000, &s),
			 EC_OK);
	ck_assert(s.online);
	ck_assert_int_eq(s.last_seen_ms, 70000);

	/* unknown and expired sessions */
	ck_assert_int_eq(presence_touch(st, s.id + 1, 70000, &p), EC_NOT_FOUND);
	ck_assert(!p.changed);
	ck_assert_int_eq(presence_touch(st, s.id, 500000, &p), EC_NOT_FOUND);
	fixture_collect(st, 6, 100, &l);
	ck_assert_uint_eq(l.n, 0);
}
END_TEST

START_TEST(test_batch_touch)
{
	int64_t ended[5];
	size_t n_ended = 0;
	struct presence_change p;
	struct store_session s[3];
	struct fixture_evlist l;
	int64_t uid[3];
	int64_t ids[5];
	int off, on = -1;

	uid[0] = fixture_add_user(st, "alice");
	uid[1] = fixture_add_user(st, "bob");
	uid[2] = fixture_add_user(st, "carol");
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(fixture_login_as(st, fixture_sid_of(i + 1),
						  uid[i], 1000, DAY_MS, &p),
				 EC_OK);
		ck_assert_int_eq(store_session_find(st, fixture_sid_of(i + 1),
						    1000, &s[i]),
				 EC_OK);
	}
	ck_assert_int_eq(presence_reap(st, 100000, 1000, &off), EC_OK);
	ck_assert_int_eq(off, 3);
	fixture_collect(st, 0, 100, &l);
	ck_assert_uint_eq(l.n, 12);
	/* one pair per session, each with the count at that point */
	fixture_check_pair(&l, 6, 7, "alice", 2, false);
	fixture_check_pair(&l, 8, 9, "bob", 1, false);
	fixture_check_pair(&l, 10, 11, "carol", 0, false);

	ids[0] = s[1].id;
	ids[1] = s[0].id;
	ids[2] = s[1].id; /* repeats are fine */
	ids[3] = 9999;	  /* so is a session that went away */
	ids[4] = s[0].id;
	ck_assert_int_eq(
		presence_touch_many(st, ids, 5, 200000, &on, ended, &n_ended),
		EC_OK);
	ck_assert_int_eq(on, 2);
	/* the one that went away is reported, for its waiters to end */
	ck_assert_uint_eq(n_ended, 1);
	ck_assert_int_eq(ended[0], 9999);
	fixture_collect(st, 12, 100, &l);
	ck_assert_uint_eq(l.n, 4);
	fixture_check_pair(&l, 0, 13, "bob", 1, true);
	fixture_check_pair(&l, 2, 15, "alice", 2, true);
	ck_assert_int_eq(
		store_session_find(st, fixture_sid_of(3), 200000, &s[2]),
		EC_OK);
	ck_assert(!s[2].online);
	ck_assert_int_eq(
		store_session_find(st, fixture_sid_of(1), 200000, &s[0]),
		EC_OK);
	ck_assert(s[0].online);
	ck_assert_int_eq(s[0].last_seen_ms, 200000);

	/* again: all online already, nothing appended */
	ck_assert_int_eq(
		presence_touch_many(st, ids, 5, 200001, &on, NULL, NULL),
		EC_OK);
	ck_assert_int_eq(on, 0);
	ck_assert_int_eq(
		presence_touch_many(st, ids, 0, 200001, &on, NULL, NULL),
		EC_OK);
	ck_assert_int_eq(on, 0);
	fixture_collect(st, 16, 100, &l);
	ck_assert_uint_eq(l.n, 0);
}
END_TEST

START_TEST(test_reap_idle)
{
	struct presence_change p;
	struct store_session s;
	struct fixture_evlist l;
	int64_t uid = fixture_add_user(st, "alice");
	int off = -1;

	ck_assert_int_eq(
		fixture_login_as(st, fixture_sid_of(1), uid, 1000, DAY_MS, &p),
		EC_OK);
	/* exactly idle_ms old: still online */
	ck_assert_int_eq(presence_reap(st, 1100, 100, &off), EC_OK);
	ck_assert_int_eq(off, 0);
	ck_assert_int_eq(presence_reap(st, 1101, 100, &off), EC_OK);
	ck_assert_int_eq(off, 1);
	fixture_collect(st, 0, 100, &l);
	ck_assert_uint_eq(l.n, 4);
	fixture_check_pair(&l, 2, 3, "alice", 0, false);
	/* offline but kept: it may come back */
	ck_assert_int_eq(store_session_find(st, fixture_sid_of(1), 1101, &s),
			 EC_OK);
	ck_assert(!s.online);
	ck_assert_int_eq(presence_reap(st, 5000, 100, &off), EC_OK);
	ck_assert_int_eq(off, 0);
	fixture_collect(st, 4, 100, &l);
	ck_assert_uint_eq(l.n, 0);
}
END_TEST

/* Two (four) sweeps at once, each its own process and connection, as
 * several machines' housekeeping threads run them: every stale session
 * goes offline once, with one pair, the counts 2 1 0 in order.  The write
 * lock (SQLite: BEGIN IMMEDIATE; PostgreSQL: the advisory lock) makes the
 * sweeps serial and each reads the sessions after taking it. */
START_TEST(test_reap_concurrent)
{
	enum { KIDS = 4 };
	const char *names[] = { "alice", "bob", "carol" };
	struct presence_change p;
	struct fixture_evlist l;
	pid_t pid[KIDS];
	int go[2], status, total = 0;
	char c;

	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(
			fixture_login_as(st, fixture_sid_of(i + 1),
					 fixture_add_user(st, names[i]),
					 1000 + i, DAY_MS, &p),
			EC_OK);
	ck_assert_int_eq(pipe(go), 0);
	for (int k = 0; k < KIDS; k++) {
		pid[k] = fork();
		ck_assert_int_ge(pid[k], 0);
		if (pid[k] == 0) {
			struct store *mine = NULL;
			int off = -1;

			close(go[1]);
			if (store_open(fixture_db, &mine) != EC_OK)
				_exit(100);
			/* all start when the parent closes the pipe */
			if (read(go[0], &c, 1) != 0)
				_exit(101);
			if (presence_reap(mine, 5000, 100, &off) != EC_OK)
				_exit(102);
			store_close(mine);
			_exit(off);
		}
	}
	close(go[0]);
	close(go[1]);
	for (int k = 0; k < KIDS; k++) {
		ck_assert_int_eq(waitpid(pid[k], &status, 0), pid[k]);
		ck_assert(WIFEXITED(status));
		ck_assert_int_le(WEXITSTATUS(status), 3);
		total += WEXITSTATUS(status);
	}
	ck_assert_int_eq(total, 3); /* one transition per session */
	fixture_collect(st, 6, 100, &l);
	ck_assert_uint_eq(l.n, 6);
	fixture_check_pair(&l, 0, 7, "alice", 2, false);
	fixture_check_pair(&l, 2, 9, "bob", 1, false);
	fixture_check_pair(&l, 4, 11, "carol", 0, false);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM sessions WHERE online"),
			 0);
}
END_TEST

START_TEST(test_reap_expiry)
{
	struct presence_change p;
	struct store_session s;
	struct fixture_evlist l;
	int64_t uid = fixture_add_user(st, "alice");
	int64_t bob = fixture_add_user(st, "bob");
	int off = -1;

	ck_assert_int_eq(
		fixture_login_as(st, fixture_sid_of(1), uid, 1000, 5000, &p),
		EC_OK);
	ck_assert_int_eq(
		fixture_login_as(st, fixture_sid_of(2), bob, 1000, 100000, &p),
		EC_OK);
	ck_assert_int_eq(
		fixture_login_as(st, fixture_sid_of(3), bob, 1000, 6000, &p),
		EC_OK);
	/* session 3 offline first (idle), still there */
	ck_assert_int_eq(store_session_find(st, fixture_sid_of(3), 1000, &s),
			 EC_OK);
	ck_assert_int_eq(presence_touch(st, s.id, 1000, &p), EC_OK);
	ck_assert_int_eq(store_session_find(st, fixture_sid_of(2), 1000, &s),
			 EC_OK);
	ck_assert_int_eq(presence_touch(st, s.id, 4000, &p), EC_OK);
	ck_assert_int_eq(store_session_find(st, fixture_sid_of(1), 1000, &s),
			 EC_OK);
	ck_assert_int_eq(presence_touch(st, s.id, 4000, &p), EC_OK);
	ck_assert_int_eq(presence_reap(st, 4000, 2000, &off), EC_OK);
	ck_assert_int_eq(off, 1);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM sessions"), 3);

	/* at 5000 session 1 expires: offline with events, and deleted,
	 * although it is not idle */
	ck_assert_int_eq(presence_reap(st, 5000, 60000, &off), EC_OK);
	ck_assert_int_eq(off, 1);
	fixture_collect(st, 8, 100, &l);
	ck_assert_uint_eq(l.n, 2);
	fixture_check_pair(&l, 0, 9, "alice", 1, false);
	ck_assert_int_eq(store_session_find(st, fixture_sid_of(1), 0, &s),
			 EC_NOT_FOUND);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM sessions"), 2);

	/* at 6000 offline session 3 expires: deleted, no events */
	ck_assert_int_eq(presence_reap(st, 6000, 60000, &off), EC_OK);
	ck_assert_int_eq(off, 0);
	fixture_collect(st, 10, 100, &l);
	ck_assert_uint_eq(l.n, 0);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM sessions"), 1);
	ck_assert_int_eq(store_session_find(st, fixture_sid_of(2), 6000, &s),
			 EC_OK);
	ck_assert(s.online);
}
END_TEST

static const struct user_data_row {
	const char *name;
	int64_t count;
	bool connected;
	const char *want;
} user_data_rows[] = {
	{ "alice", 1, true,
	  "{\"username\":\"alice\",\"currentUsers\":1,\"connected\":true}" },
	{ "Bob.b-1_", 0, false,
	  "{\"username\":\"Bob.b-1_\",\"currentUsers\":0,"
	  "\"connected\":false}" },
	/* names are checked elsewhere; the JSON is right whatever they are */
	{ "a\"b/c", 9007199254740993LL, true,
	  "{\"username\":\"a\\\"b/c\",\"currentUsers\":9007199254740993,"
	  "\"connected\":true}" },
};

START_TEST(test_user_event_data)
{
	const struct user_data_row *r = &user_data_rows[_i];
	struct buf b;

	buf_init(&b, 1024);
	ck_assert_int_eq(buf_adds(&b, ">"), EC_OK);
	ck_assert_int_eq(
		presence_user_event_data(&b, r->name, r->count, r->connected),
		EC_OK);
	ck_assert_str_eq(buf_str(&b) + 1, r->want); /* appended */
	buf_release(&b);
	buf_init(&b, strlen(r->want) - 1);
	ck_assert_int_eq(
		presence_user_event_data(&b, r->name, r->count, r->connected),
		EC_TOO_LARGE);
	ck_assert_uint_eq(b.len, 0);
	buf_release(&b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("presence");
	TCase *tc = tcase_create("core");

	if (fixture_begin("presence") != 0)
		return 1;
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_seen_offline_goes_online);
	tcase_add_loop_test(tc, test_seen_online_writes_only_when_stale, 0,
			    (int)(sizeof(seen_rows) / sizeof(seen_rows[0])));
	tcase_add_test(tc, test_seen_ended_session);
	tcase_add_test(tc, test_tick_reaps_idle);
	tcase_add_test(tc, test_tick_keeps_parked_online);
	tcase_add_test(tc, test_login_event_pair);
	tcase_add_test(tc, test_three_logins_count_up);
	tcase_add_test(tc, test_logout);
	tcase_add_test(tc, test_touch);
	tcase_add_test(tc, test_batch_touch);
	tcase_add_test(tc, test_reap_idle);
	tcase_add_test(tc, test_reap_concurrent);
	tcase_add_test(tc, test_reap_expiry);
	tcase_add_loop_test(
		tc, test_user_event_data, 0,
		(int)(sizeof(user_data_rows) / sizeof(user_data_rows[0])));
	suite_add_tcase(s, tc);
	return fixture_run(s);
}
