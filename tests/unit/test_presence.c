/* test_presence.c -- presence_seen() and presence_tick() on a real store.
 *
 * A fresh database in a temporary directory per test; explicit now_ms
 * values (IDLE_MS = 60 s, so the write threshold idle/4 is 15 s).
 */
#include "autoconfig.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "login.h"
#include "presence.h"
#include "fixture.h"
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
	ck_assert_int_eq(login_connect(st, sid, &u, now_ms, now_ms + DAY_MS,
				       &n_online), EC_OK);
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
	struct store_presence p;
	int off;

	login("alice", 1, 1000, &s);
	ck_assert_int_eq(store_sessions_reap(st, 1000 + IDLE_MS + 1, IDLE_MS,
					     &off), EC_OK);
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
	int64_t age_ms;   /* now - last_seen */
	bool written;
} seen_rows[] = {
	{ 0, false },
	{ 1, false },
	{ IDLE_MS / 4, false },
	{ IDLE_MS / 4 + 1, true },
	{ IDLE_MS - 1, true },
};

START_TEST(test_seen_online_writes_only_when_stale)
{
	const struct seen_row *r = &seen_rows[_i];
	struct store_session s;
	struct store_presence p;
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
	struct store_presence p;
	char sid[65];

	login("alice", 1, 1000, &s);
	snprintf(sid, sizeof(sid), "%064x", 1);
	ck_assert_int_eq(store_session_logout(st, sid, &p), EC_OK);
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
	ck_assert_int_eq(presence_tick(st, NULL, 0, IDLE_MS, 90001, NULL, NULL,
				       NULL),
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
	struct store_presence p;
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
	ck_assert_int_eq(presence_tick(st, parked, 3, IDLE_MS, 200000,
				       &changes, NULL, NULL), EC_OK);
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
	ck_assert_int_eq(store_session_logout(st, bob_sid, &p), EC_OK);
	ck_assert_int_eq(presence_tick(st, parked, 3, IDLE_MS, 200001,
				       &changes, ended, &n_ended), EC_OK);
	ck_assert_uint_eq(n_ended, 1);
	ck_assert_int_eq(ended[0], b.id);
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
	suite_add_tcase(s, tc);
	return fixture_run(s);
}
