/* test_longpoll.c -- exact bytes of long-poll bodies (longpoll.h). */
#include "autoconfig.h"

#include <check.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "longpoll.h"
#include "fixture.h"

START_TEST(test_empty)
{
	struct buf b;

	buf_init(&b, 4096);
	ck_assert_int_eq(longpoll_begin(&b), EC_OK);
	ck_assert_int_eq(longpoll_end(&b, 5, false), EC_OK);
	ck_assert_str_eq(buf_str(&b), "{\"events\":[],\"lastEventId\":5}");
	buf_reset(&b);
	ck_assert_int_eq(longpoll_begin(&b), EC_OK);
	ck_assert_int_eq(longpoll_end(&b, 0, true), EC_OK);
	ck_assert_str_eq(buf_str(&b),
			 "{\"events\":[],\"lastEventId\":0,\"reset\":true}");
	buf_release(&b);
}
END_TEST

START_TEST(test_spec_examples)
{
	struct buf b;
	bool first = true;

	buf_init(&b, 4096);
	ck_assert_int_eq(longpoll_begin(&b), EC_OK);
	ck_assert_int_eq(longpoll_add(&b, &first, 7, "user count", "3"), EC_OK);
	ck_assert(!first);
	ck_assert_int_eq(longpoll_end(&b, 7, false), EC_OK);
	ck_assert_str_eq(buf_str(&b), "{\"events\":[{\"id\":7,\"event\":"
				      "\"user count\",\"data\":3}],"
				      "\"lastEventId\":7}");
	buf_reset(&b);
	first = true;
	ck_assert_int_eq(longpoll_begin(&b), EC_OK);
	ck_assert_int_eq(longpoll_add(&b, &first, 7, "user count", "3"), EC_OK);
	ck_assert_int_eq(longpoll_end(&b, 7, true), EC_OK);
	ck_assert_str_eq(buf_str(&b), "{\"events\":[{\"id\":7,\"event\":"
				      "\"user count\",\"data\":3}],"
				      "\"lastEventId\":7,\"reset\":true}");
	buf_release(&b);
}
END_TEST

/* One fragment per row: the name escaped, data as it is. */
static const struct {
	const char *name;
	const char *data;
	const char *want;
} add_rows[] = {
    {"user", "{\"username\":\"ann\",\"currentUsers\":1}",
     "{\"id\":3,\"event\":\"user\",\"data\":"
     "{\"username\":\"ann\",\"currentUsers\":1}}"},
    {"say \"hi\"", "1", "{\"id\":3,\"event\":\"say \\\"hi\\\"\",\"data\":1}"},
    {"back\\slash", "1", "{\"id\":3,\"event\":\"back\\\\slash\",\"data\":1}"},
    {"a/b", "1", "{\"id\":3,\"event\":\"a/b\",\"data\":1}"},
    {"nl\ncr\rtab\tbs\bff\f", "1",
     "{\"id\":3,\"event\":\"nl\\ncr\\rtab\\tbs\\bff\\f\",\"data\":1}"},
    {"\x01\x1f\x7f", "1",
     "{\"id\":3,\"event\":\"\\u0001\\u001f\x7f\",\"data\":1}"},
    {"caf\xc3\xa9", "\"\xe2\x82\xac\"",
     "{\"id\":3,\"event\":\"caf\xc3\xa9\",\"data\":\"\xe2\x82\xac\"}"},
    {"", "", "{\"id\":3,\"event\":\"\",\"data\":null}"},
    {"n", "[1,\"a\\nb\"]", "{\"id\":3,\"event\":\"n\",\"data\":[1,\"a\\nb\"]}"},
};

START_TEST(test_add_row)
{
	struct buf b;
	bool first = true;
	struct json_object *obj;

	buf_init(&b, 4096);
	ck_assert_int_eq(
	    longpoll_add(&b, &first, 3, add_rows[_i].name, add_rows[_i].data),
	    EC_OK);
	ck_assert_str_eq(buf_str(&b), add_rows[_i].want);
	/* What follows a first fragment is a comma and the same bytes. */
	ck_assert_int_eq(
	    longpoll_add(&b, &first, 3, add_rows[_i].name, add_rows[_i].data),
	    EC_OK);
	ck_assert_uint_eq(b.len, 2 * strlen(add_rows[_i].want) + 1);
	ck_assert_int_eq(b.data[strlen(add_rows[_i].want)], ',');
	ck_assert_str_eq(buf_str(&b) + strlen(add_rows[_i].want) + 1,
			 add_rows[_i].want);
	/* The fragment is JSON whose "event" is the name again (names that
	 * are valid UTF-8 without raw DEL, json-c's view of strings). */
	obj = json_tokener_parse(add_rows[_i].want);
	ck_assert_ptr_nonnull(obj);
	ck_assert_str_eq(
	    json_object_get_string(json_object_object_get(obj, "event")),
	    add_rows[_i].name);
	json_object_put(obj);
	buf_release(&b);
}
END_TEST

START_TEST(test_many)
{
	struct buf b;
	bool first = true;

	buf_init(&b, 4096);
	ck_assert_int_eq(longpoll_begin(&b), EC_OK);
	ck_assert_int_eq(longpoll_add(&b, &first, 7, "user count", "3"), EC_OK);
	ck_assert_int_eq(longpoll_add(&b, &first, 8, "user",
				      "{\"username\":\"a\",\"currentUsers\":3,"
				      "\"connected\":true}"),
			 EC_OK);
	ck_assert_int_eq(longpoll_add(&b, &first, 9, "chat", "\"x\""), EC_OK);
	ck_assert_int_eq(longpoll_end(&b, 9, false), EC_OK);
	ck_assert_str_eq(buf_str(&b),
			 "{\"events\":[{\"id\":7,\"event\":\"user count\","
			 "\"data\":3},{\"id\":8,\"event\":\"user\",\"data\":"
			 "{\"username\":\"a\",\"currentUsers\":3,"
			 "\"connected\":true}},{\"id\":9,\"event\":\"chat\","
			 "\"data\":\"x\"}],\"lastEventId\":9}");
	buf_release(&b);
}
END_TEST

START_TEST(test_cap_leaves_buffer)
{
	const char *want = "{\"id\":7,\"event\":\"a\\\"b\",\"data\":3}";
	size_t full = strlen(want);
	struct buf b;
	bool first;

	for (size_t cap = 2; cap < 2 + full; cap++) {
		buf_init(&b, cap);
		first = true;
		ck_assert_int_eq(buf_adds(&b, "[|"), EC_OK);
		ck_assert_int_eq(longpoll_add(&b, &first, 7, "a\"b", "3"),
				 EC_TOO_LARGE);
		ck_assert(first);
		ck_assert_str_eq(buf_str(&b), "[|");
		buf_release(&b);
	}
	buf_init(&b, 2 + full);
	first = true;
	ck_assert_int_eq(buf_adds(&b, "[|"), EC_OK);
	ck_assert_int_eq(longpoll_add(&b, &first, 7, "a\"b", "3"), EC_OK);
	ck_assert_str_eq(buf_str(&b) + 2, want);
	buf_release(&b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("longpoll");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_spec_examples);
	tcase_add_loop_test(tc, test_add_row, 0,
			    sizeof(add_rows) / sizeof(add_rows[0]));
	tcase_add_test(tc, test_many);
	tcase_add_test(tc, test_cap_leaves_buffer);
	suite_add_tcase(s, tc);
	return fixture_run(s);
}
