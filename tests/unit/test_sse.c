/* test_sse.c -- exact bytes of every SSE frame (sse.h). */
#include "autoconfig.h"

#include <check.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "sse.h"
#include "fixture.h"

static const struct {
	int64_t id;
	const char *name;
	const char *data;
	const char *want;
} event_rows[] = {
    {7, "user count", "3", "id: 7\nevent: user count\ndata: 3\n\n"},
    {0, "x", "{}", "id: 0\nevent: x\ndata: {}\n\n"},
    {9007199254740993, "user",
     "{\"username\":\"ann\",\"currentUsers\":1,\"connected\":true}",
     "id: 9007199254740993\nevent: user\n"
     "data: {\"username\":\"ann\",\"currentUsers\":1,\"connected\":true}"
     "\n\n"},
    /* quotes and backslashes are not special in SSE */
    {8, "say \"hi\" \\o/", "\"a\\\"b\"",
     "id: 8\nevent: say \"hi\" \\o/\ndata: \"a\\\"b\"\n\n"},
    /* every line break in data starts a new data line */
    {1, "m", "a\nb", "id: 1\nevent: m\ndata: a\ndata: b\n\n"},
    {1, "m", "a\r\nb", "id: 1\nevent: m\ndata: a\ndata: b\n\n"},
    {1, "m", "a\rb", "id: 1\nevent: m\ndata: a\ndata: b\n\n"},
    {1, "m", "a\n\nb", "id: 1\nevent: m\ndata: a\ndata: \ndata: b\n\n"},
    {1, "m", "a\r\r\nb", "id: 1\nevent: m\ndata: a\ndata: \ndata: b\n\n"},
    {1, "m", "a\n", "id: 1\nevent: m\ndata: a\ndata: \n\n"},
    {1, "m", "\n", "id: 1\nevent: m\ndata: \ndata: \n\n"},
    {1, "m", "", "id: 1\nevent: m\ndata: \n\n"},
    /* a name cannot break the frame */
    {2, "a\nb\r\nc", "1", "id: 2\nevent: a b  c\ndata: 1\n\n"},
    {3, "caf\xc3\xa9", "\"\xe2\x82\xac\"",
     "id: 3\nevent: caf\xc3\xa9\ndata: \"\xe2\x82\xac\"\n\n"},
};

START_TEST(test_event)
{
	struct buf b;

	buf_init(&b, 4096);
	ck_assert_int_eq(buf_adds(&b, "before|"), EC_OK);
	ck_assert_int_eq(sse_format_event(&b, event_rows[_i].id,
					  event_rows[_i].name,
					  event_rows[_i].data),
			 EC_OK);
	ck_assert_str_eq(buf_str(&b) + 7, event_rows[_i].want);
	ck_assert_uint_eq(b.len, 7 + strlen(event_rows[_i].want));
	buf_release(&b);
}
END_TEST

START_TEST(test_fixed_frames)
{
	struct buf b;

	buf_init(&b, 4096);
	ck_assert_int_eq(sse_format_retry(&b, SSE_RETRY_MS), EC_OK);
	ck_assert_str_eq(buf_str(&b), "retry: 3000\n\n");
	buf_reset(&b);
	ck_assert_int_eq(sse_format_ping(&b), EC_OK);
	ck_assert_str_eq(buf_str(&b), ": ping\n\n");
	buf_reset(&b);
	ck_assert_int_eq(sse_format_reset(&b), EC_OK);
	ck_assert_str_eq(buf_str(&b), "event: reset\ndata: {}\n\n");
	buf_reset(&b);
	ck_assert_int_eq(sse_format_retry(&b, 0), EC_OK);
	ck_assert_int_eq(sse_format_ping(&b), EC_OK);
	ck_assert_str_eq(buf_str(&b), "retry: 0\n\n: ping\n\n");
	buf_release(&b);
}
END_TEST

/* At the cap a frame is refused whole: the buffer keeps what it had. */
START_TEST(test_cap_leaves_buffer)
{
	const char *want = "id: 7\nevent: user count\ndata: 3\n\n";
	size_t full = strlen(want);
	struct buf b;

	for (size_t cap = 3; cap < 3 + full; cap++) {
		buf_init(&b, cap);
		ck_assert_int_eq(buf_adds(&b, "ab|"), EC_OK);
		ck_assert_int_eq(sse_format_event(&b, 7, "user count", "3"),
				 EC_TOO_LARGE);
		ck_assert_str_eq(buf_str(&b), "ab|");
		ck_assert_uint_eq(b.len, 3);
		buf_release(&b);
	}
	buf_init(&b, 3 + full);
	ck_assert_int_eq(buf_adds(&b, "ab|"), EC_OK);
	ck_assert_int_eq(sse_format_event(&b, 7, "user count", "3"), EC_OK);
	ck_assert_str_eq(buf_str(&b) + 3, want);
	buf_release(&b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sse");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_event, 0,
			    sizeof(event_rows) / sizeof(event_rows[0]));
	tcase_add_test(tc, test_fixed_frames);
	tcase_add_test(tc, test_cap_leaves_buffer);
	suite_add_tcase(s, tc);
	return fixture_run(s);
}
