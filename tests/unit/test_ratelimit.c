/* test_ratelimit.c -- token buckets (ratelimit.h): a burst of per_minute,
 * refill at per_minute/60 a second, Retry-After, keys apart, 0 = off, a
 * full table never refuses a key it has not seen empty. */
#include "autoconfig.h"

#include <check.h>
#include <stdio.h>

#include "fixture.h"
#include "ratelimit.h"

START_TEST(test_burst_then_refill)
{
	struct ratelimit *rl = ratelimit_new(6, 16); /* 6 a minute */
	int retry = -1;

	ck_assert_ptr_nonnull(rl);
	for (int i = 0; i < 6; i++)
		ck_assert(ratelimit_take(rl, "a:1", 1000, &retry));
	ck_assert(!ratelimit_take(rl, "a:1", 1000, &retry));
	ck_assert_int_eq(retry, 10); /* one token every 10 s */
	ck_assert(!ratelimit_take(rl, "a:1", 10999, &retry));
	ck_assert_int_eq(retry, 1);
	ck_assert(ratelimit_take(rl, "a:1", 11000, &retry));
	ck_assert(!ratelimit_take(rl, "a:1", 11000, &retry));
	/* many small steps lose nothing: 10 s in 1 ms steps is one token */
	for (int64_t t = 11001; t < 21000; t++)
		ck_assert(!ratelimit_take(rl, "a:1", t, NULL));
	ck_assert(ratelimit_take(rl, "a:1", 21000, NULL));
	/* a long pause refills to the burst, no more */
	for (int i = 0; i < 6; i++)
		ck_assert(ratelimit_take(rl, "a:1", 10000000, NULL));
	ck_assert(!ratelimit_take(rl, "a:1", 10000000, NULL));
	ratelimit_free(rl);
}
END_TEST

START_TEST(test_keys_apart_and_off)
{
	struct ratelimit *rl = ratelimit_new(1, 16), *off = ratelimit_new(0, 16);

	ck_assert(ratelimit_take(rl, "s:1", 0, NULL));
	ck_assert(!ratelimit_take(rl, "s:1", 0, NULL));
	ck_assert(ratelimit_take(rl, "s:2", 0, NULL)); /* another key */
	for (int i = 0; i < 1000; i++)
		ck_assert(ratelimit_take(off, "s:1", 0, NULL)); /* 0 = off */
	ck_assert(ratelimit_take(NULL, "x", 0, NULL));
	ratelimit_free(rl);
	ratelimit_free(off);
}
END_TEST

/* More keys than slots: an evicted key comes back with a full bucket, and
 * a key in use is not refused because of others. */
START_TEST(test_table_full)
{
	struct ratelimit *rl = ratelimit_new(1, 16);
	char key[32];

	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "a:%d", i);
		ck_assert(ratelimit_take(rl, key, i, NULL));
	}
	ratelimit_free(rl);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ratelimit");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_burst_then_refill);
	tcase_add_test(tc, test_keys_apart_and_off);
	tcase_add_test(tc, test_table_full);
	suite_add_tcase(s, tc);
	return fixture_run(s);
}
