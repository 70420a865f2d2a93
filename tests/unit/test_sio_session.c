/* test_sio_session.c -- Engine.IO sessions in the store (sio_session.c):
 * the one-POST claim and the ping's pong window, on a real store in a
 * temporary directory (or PostgreSQL, through tests/integ/pg_unit.sh).
 *
 * Covers: a POST claims its session while its body comes, a second POST
 * meanwhile (claimed, or checking itself as in CGI mode) is the duplicate
 * and closes the session, the claim ends with its POST or its release and
 * goes stale after SIO_SESSION_POST_CLAIM_MS; a ping a held GET takes late
 * gives the client its whole pingTimeout from the take, a ping queued for
 * a GET that comes later counts from when it was due.  The wire-level
 * cases (through a web server, the client's view) are in
 * tests/browser/sio_*.mjs.
 */
#include "autoconfig.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "eio.h"
#include "fixture.h"
#include "sio_session.h"
#include "store.h"

#define T0 1000000000LL
#define PING_INTERVAL 300
#define PING_TIMEOUT 200

static struct store *st;
static const struct sio_settings set = {
	.ping_interval_ms = PING_INTERVAL,
	.ping_timeout_ms = PING_TIMEOUT,
	.max_payload = 100000,
	.recovery_ms = 60000,
};

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

/* A new Engine.IO session opened at now; its sid into sid. */
static void open_at(int64_t now, char sid[EIO_SID_LEN + 1])
{
	struct buf payload;
	const char *p;

	buf_init(&payload, 1024);
	ck_assert_int_eq(sio_session_open(st, &set, 0, now, &payload), EC_OK);
	ck_assert_int_eq(buf_addc(&payload, '\0'), EC_OK);
	p = strstr(payload.data, "\"sid\":\"");
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(
		snprintf(sid, EIO_SID_LEN + 1, "%.*s", EIO_SID_LEN, p + 7),
		EIO_SID_LEN);
	buf_release(&payload);
}

static enum sio_get_result get_at(const char *sid, int64_t now, char *text,
				  size_t n, struct sio_wait *w)
{
	struct buf payload;
	enum sio_get_result result;

	buf_init(&payload, SIO_SESSION_ANSWER_MAX);
	ck_assert_int_eq(
		sio_session_get(st, &set, sid, 0, now, &payload, w, &result),
		EC_OK);
	snprintf(text, n, "%.*s", (int)payload.len,
		 payload.data ? payload.data : "");
	buf_release(&payload);
	return result;
}

static enum sio_post_result post_at(const char *sid, const char *body,
				    enum sio_claim claim, int64_t now)
{
	enum sio_post_result result;

	ck_assert_int_eq(sio_session_post(st, &set, sid, body, strlen(body),
					  NULL, claim, now, &result),
			 EC_OK);
	return result;
}

static enum sio_claim claim_at(const char *sid, int64_t now)
{
	enum sio_claim claim;

	ck_assert_int_eq(sio_session_post_claim(st, sid, now, &claim), EC_OK);
	return claim;
}

static bool session_open(const char *sid, int64_t now)
{
	char text[64];
	struct sio_wait w;

	return get_at(sid, now, text, sizeof(text), &w) != SIO_GET_UNKNOWN;
}

START_TEST(test_claim_then_post)
{
	char sid[EIO_SID_LEN + 1];

	open_at(T0, sid);
	ck_assert_int_eq(claim_at(sid, T0 + 1), SIO_CLAIM_HELD);
	ck_assert_int_eq(post_at(sid, "6", SIO_CLAIM_HELD, T0 + 2),
			 SIO_POST_OK);
	/* The POST ended its claim: the next one claims again. */
	ck_assert_int_eq(claim_at(sid, T0 + 3), SIO_CLAIM_HELD);
	ck_assert_int_eq(post_at(sid, "6", SIO_CLAIM_HELD, T0 + 4),
			 SIO_POST_OK);
	ck_assert_int_eq(post_at(sid, "6", SIO_CLAIM_NONE, T0 + 5),
			 SIO_POST_OK);
	ck_assert(session_open(sid, T0 + 6));
}
END_TEST

START_TEST(test_second_claim_closes)
{
	char sid[EIO_SID_LEN + 1];

	open_at(T0, sid);
	ck_assert_int_eq(claim_at(sid, T0 + 1), SIO_CLAIM_HELD);
	ck_assert_int_eq(claim_at(sid, T0 + 2), SIO_CLAIM_DUPLICATE);
	/* Closed: the first POST's body, when it comes, finds no session. */
	ck_assert_int_eq(post_at(sid, "6", SIO_CLAIM_HELD, T0 + 3),
			 SIO_POST_UNKNOWN);
	ck_assert(!session_open(sid, T0 + 4));
	ck_assert_int_eq(claim_at(sid, T0 + 5), SIO_CLAIM_UNKNOWN);
}
END_TEST

START_TEST(test_unclaimed_post_meets_claim)
{
	char sid[EIO_SID_LEN + 1];

	/* A POST that did not claim first (CGI) while another's body comes. */
	open_at(T0, sid);
	ck_assert_int_eq(claim_at(sid, T0 + 1), SIO_CLAIM_HELD);
	ck_assert_int_eq(post_at(sid, "6", SIO_CLAIM_NONE, T0 + 2),
			 SIO_POST_DUPLICATE);
	ck_assert(!session_open(sid, T0 + 3));
}
END_TEST

START_TEST(test_duplicate_post_closes_held_get)
{
	char sid[EIO_SID_LEN + 1], text[64];
	struct sio_wait w;
	struct buf payload;
	bool answered = false;

	open_at(T0, sid);
	ck_assert_int_eq(get_at(sid, T0 + 1, text, sizeof(text), &w),
			 SIO_GET_WAIT);
	ck_assert_int_eq(claim_at(sid, T0 + 2), SIO_CLAIM_HELD);
	ck_assert_int_eq(claim_at(sid, T0 + 3), SIO_CLAIM_DUPLICATE);
	/* The held GET is answered with the close packet. */
	buf_init(&payload, SIO_SESSION_ANSWER_MAX);
	ck_assert_int_eq(sio_session_take(st, &set, w.row_id, T0 + 4, false,
					  &payload, &answered, &w),
			 EC_OK);
	ck_assert(answered);
	ck_assert_uint_eq(payload.len, 1);
	ck_assert_int_eq(payload.data[0], '1');
	buf_release(&payload);
}
END_TEST

START_TEST(test_release_and_stale_claims)
{
	char sid[EIO_SID_LEN + 1];

	open_at(T0, sid);
	ck_assert_int_eq(claim_at(sid, T0 + 1), SIO_CLAIM_HELD);
	ck_assert_int_eq(sio_session_post_release(st, sid), EC_OK);
	ck_assert_int_eq(claim_at(sid, T0 + 2), SIO_CLAIM_HELD);
	/* A claim whose process died is stale after the body's time. */
	ck_assert_int_eq(claim_at(sid, T0 + 2 + SIO_SESSION_POST_CLAIM_MS),
			 SIO_CLAIM_HELD);
	/* Unknown sessions are not claimed. */
	ck_assert_int_eq(claim_at("AAAAAAAAAAAAAAAAAAAA", T0 + 3),
			 SIO_CLAIM_UNKNOWN);
}
END_TEST

/* The hub answers a held GET late (its timer, a loaded machine): the ping
 * leaves then, and the client has its whole pingTimeout from then. */
START_TEST(test_late_take_gives_whole_window)
{
	char sid[EIO_SID_LEN + 1], text[64];
	struct sio_wait w;
	struct buf payload;
	bool answered = false;
	int64_t take = T0 + PING_INTERVAL + 3 * PING_TIMEOUT / 2;

	open_at(T0, sid);
	ck_assert_int_eq(get_at(sid, T0 + 10, text, sizeof(text), &w),
			 SIO_GET_WAIT);
	ck_assert_int_eq(w.due_ms, T0 + PING_INTERVAL);
	buf_init(&payload, SIO_SESSION_ANSWER_MAX);
	ck_assert_int_eq(sio_session_take(st, &set, w.row_id, take, true,
					  &payload, &answered, &w),
			 EC_OK);
	ck_assert(answered);
	ck_assert_uint_eq(payload.len, 1);
	ck_assert_int_eq(payload.data[0], '2');
	buf_release(&payload);
	ck_assert_int_eq(
		post_at(sid, "3", SIO_CLAIM_NONE, take + PING_TIMEOUT - 1),
		SIO_POST_OK);
	ck_assert(session_open(sid, take + PING_TIMEOUT));
}
END_TEST

/* Without a held GET the ping is queued when due: a GET that comes later
 * takes it, but the pong window counted from the due time. */
START_TEST(test_queued_ping_counts_from_due)
{
	char sid[EIO_SID_LEN + 1], text[64];
	struct sio_wait w;
	int64_t due = T0 + PING_INTERVAL;

	open_at(T0, sid);
	ck_assert_int_eq(
		get_at(sid, due + PING_TIMEOUT / 2, text, sizeof(text), &w),
		SIO_GET_ANSWER);
	ck_assert_str_eq(text, "2");
	ck_assert_int_eq(
		post_at(sid, "3", SIO_CLAIM_NONE, due + PING_TIMEOUT + 1),
		SIO_POST_UNKNOWN);
}
END_TEST

/* A GET held by a process that died cannot keep the session for ever: one
 * more pingTimeout for the take, then closed. */
START_TEST(test_dead_held_get_times_out)
{
	char sid[EIO_SID_LEN + 1], text[64];
	struct sio_wait w;
	int64_t due = T0 + PING_INTERVAL;

	open_at(T0, sid);
	ck_assert_int_eq(get_at(sid, T0 + 10, text, sizeof(text), &w),
			 SIO_GET_WAIT);
	ck_assert_int_eq(
		post_at(sid, "6", SIO_CLAIM_NONE, due + PING_TIMEOUT + 1),
		SIO_POST_OK);
	ck_assert_int_eq(
		post_at(sid, "6", SIO_CLAIM_NONE, due + 2 * PING_TIMEOUT),
		SIO_POST_UNKNOWN);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sio_session");
	TCase *tc = tcase_create("core");

	if (fixture_begin("sio_session") != 0)
		return 1;
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_claim_then_post);
	tcase_add_test(tc, test_second_claim_closes);
	tcase_add_test(tc, test_unclaimed_post_meets_claim);
	tcase_add_test(tc, test_duplicate_post_closes_held_get);
	tcase_add_test(tc, test_release_and_stale_claims);
	tcase_add_test(tc, test_late_take_gives_whole_window);
	tcase_add_test(tc, test_queued_ping_counts_from_due);
	tcase_add_test(tc, test_dead_held_get_times_out);
	suite_add_tcase(s, tc);
	return fixture_run(s);
}
