/* test_session_cache.c -- the session cache of the worker-free re-poll
 * (issue 8): found only under its generation, before its expiry, by the
 * whole key; a collision replaces; drop forgets. */
#include "autoconfig.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "fixture.h"
#include "session_cache.h"

/* A key of 64 hex digits: prefix (4 digits, the slot) then n. */
static void key_of(char out[SESSION_CACHE_KEY_LEN + 1], const char *prefix,
		   unsigned n)
{
	snprintf(out, SESSION_CACHE_KEY_LEN + 1, "%s%060x", prefix, n);
}

static struct session_cache_entry entry(const char *key, uint64_t gen,
					int64_t id, int64_t expires_ms)
{
	struct session_cache_entry e;

	memset(&e, 0, sizeof(e));
	memcpy(e.key, key, SESSION_CACHE_KEY_LEN);
	e.gen = gen;
	e.session_id = id;
	e.user_id = id + 100;
	e.expires_ms = expires_ms;
	e.seen_ms = 5;
	return e;
}

START_TEST(test_session_cache_found_under_its_generation)
{
	struct session_cache c;
	struct session_cache_entry e;
	const struct session_cache_entry *got;
	char k[SESSION_CACHE_KEY_LEN + 1];

	session_cache_init(&c);
	key_of(k, "abcd", 1);
	ck_assert(session_cache_empty(&c));
	ck_assert_ptr_null(session_cache_get(&c, k, 1, 0));
	e = entry(k, 7, 42, 1000);
	ck_assert_int_eq(session_cache_put(&c, &e), EC_OK);
	ck_assert(!session_cache_empty(&c));
	got = session_cache_get(&c, k, 7, 999);
	ck_assert_ptr_nonnull(got);
	ck_assert_int_eq(got->session_id, 42);
	ck_assert_int_eq(got->user_id, 142);
	ck_assert_int_eq(got->seen_ms, 5);
	/* Another generation (a "user" event was read): not found. */
	ck_assert_ptr_null(session_cache_get(&c, k, 8, 999));
	ck_assert_ptr_null(session_cache_get(&c, k, 6, 999));
	/* Expired at expires_ms. */
	ck_assert_ptr_null(session_cache_get(&c, k, 7, 1000));
	session_cache_release(&c);
}
END_TEST

START_TEST(test_session_cache_whole_key_and_collisions)
{
	struct session_cache c;
	struct session_cache_entry e;
	char k1[SESSION_CACHE_KEY_LEN + 1], k2[SESSION_CACHE_KEY_LEN + 1];

	session_cache_init(&c);
	/* Same slot (same first digits), different keys. */
	key_of(k1, "00ff", 1);
	key_of(k2, "00ff", 2);
	e = entry(k1, 3, 1, 1000);
	ck_assert_int_eq(session_cache_put(&c, &e), EC_OK);
	ck_assert_ptr_null(session_cache_get(&c, k2, 3, 0));
	e = entry(k2, 3, 2, 1000);
	ck_assert_int_eq(session_cache_put(&c, &e), EC_OK);
	/* The newer replaced the older: k1 must ask the store again. */
	ck_assert_ptr_null(session_cache_get(&c, k1, 3, 0));
	ck_assert_int_eq(session_cache_get(&c, k2, 3, 0)->session_id, 2);
	/* Upper-case hex maps to the same slot but is another key. */
	key_of(k1, "00FF", 2);
	ck_assert_ptr_null(session_cache_get(&c, k1, 3, 0));
	session_cache_release(&c);
}
END_TEST

START_TEST(test_session_cache_drop_and_gen_zero)
{
	struct session_cache c;
	struct session_cache_entry e;
	char k[SESSION_CACHE_KEY_LEN + 1], other[SESSION_CACHE_KEY_LEN + 1];

	session_cache_init(&c);
	key_of(k, "1234", 9);
	key_of(other, "1234", 10);
	session_cache_drop(&c, k); /* nothing there: no harm */
	e = entry(k, 0, 1, 1000);
	ck_assert_int_eq(session_cache_put(&c, &e), EC_INTERNAL);
	ck_assert(session_cache_empty(&c));
	e = entry(k, 2, 1, 1000);
	ck_assert_int_eq(session_cache_put(&c, &e), EC_OK);
	session_cache_drop(&c, other); /* another key in the slot: kept */
	ck_assert_ptr_nonnull(session_cache_get(&c, k, 2, 0));
	session_cache_drop(&c, k);
	ck_assert_ptr_null(session_cache_get(&c, k, 2, 0));
	/* Generation 0 is never valid. */
	ck_assert_ptr_null(session_cache_get(&c, k, 0, 0));
	session_cache_release(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("session_cache");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_session_cache_found_under_its_generation);
	tcase_add_test(tc, test_session_cache_whole_key_and_collisions);
	tcase_add_test(tc, test_session_cache_drop_and_gen_zero);
	suite_add_tcase(s, tc);
	return fixture_run(s);
}
