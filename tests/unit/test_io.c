/* test_io.c -- io.c, the one way into the event log, on a real store.
 *
 * Covers the rules io.c owns: the event-name rule (io_check_event(),
 * io_check_client_event() and the reserved names), the data check
 * (json_check(), RFC 8259, including what json-c's strict mode let
 * through), the size limits; io_emit()'s formatting and its place in a
 * store_transaction(); io_append() (moved here from test_store's
 * store_event_append() checks when the store stopped validating);
 * io_emit_client() (POST /emit's shape and limits).  A fresh database in
 * a temporary directory per test.
 */
#include "autoconfig.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "fixture.h"
#include "io.h"
#include "json.h"
#include "log.h"
#include "presence.h"
#include "store.h"

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

static int64_t last_id(void)
{
	int64_t id = -1;

	ck_assert_int_eq(store_last_event_id(st, &id), EC_OK);
	return id;
}

/* ---- io_emit() ---- */

static const struct emit_row {
	const char *event;
	const char *data; /* passed as "%s" */
	enum ecode want;
} emit_rows[] = {
	{ "user count", "3", EC_OK }, /* reserved names are the server's */
	{ "chat", "{\"text\":\"hi\"}", EC_OK },
	{ "chat", "\"a string\"", EC_OK },
	{ "chat", "null", EC_OK },
	{ "chat", "[1,true,{}]", EC_OK },
	{ " ~", " 1 ", EC_OK },
	{ "chat", "", EC_INVALID_JSON },
	{ "chat", "hello", EC_INVALID_JSON },
	{ "chat", "1 2", EC_INVALID_JSON },
	{ "chat", "{\"a\":1", EC_INVALID_JSON },
	{ "chat", "'single'", EC_INVALID_JSON },
	{ "", "1", EC_INVALID_EVENT },
	{ "a\nb", "1", EC_INVALID_EVENT },
	{ "a\rb", "1", EC_INVALID_EVENT },
	{ "tab\there", "1", EC_INVALID_EVENT },
	{ "del\x7f", "1", EC_INVALID_EVENT },
	{ "caf\xc3\xa9", "1", EC_INVALID_EVENT },
	{ "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee",
	  "1", EC_OK }, /* 64 bytes */
	{ "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
	  "e",
	  "1", EC_INVALID_EVENT },
};

START_TEST(test_io_emit_rows)
{
	const struct emit_row *r = &emit_rows[_i];
	int64_t before = last_id();
	struct fixture_evlist l;
	int calls = 0;

	store_set_commit_hook(st, fixture_count_hook, &calls);
	ck_assert_msg(io_emit(st, r->event, "%s", r->data) == r->want, "row %d",
		      _i);
	fixture_collect(st, before, FIXTURE_EVMAX, &l);
	ck_assert_uint_eq(l.n, r->want == EC_OK);
	ck_assert_int_eq(calls, r->want == EC_OK);
	if (r->want == EC_OK) {
		ck_assert_int_eq(l.ev[0].id, before + 1);
		ck_assert_str_eq(l.ev[0].name, r->event);
		ck_assert_str_eq(l.ev[0].data, r->data);
	}
}
END_TEST

START_TEST(test_io_emit_format)
{
	struct fixture_evlist l;
	int64_t n = 42;

	ck_assert_int_eq(io_emit(st, "user count", "%lld", (long long)n),
			 EC_OK);
	ck_assert_int_eq(io_emit(st, "m", "{\"n\":%d,\"ok\":%s}", -7, "true"),
			 EC_OK);
	/* the cap is on the expanded data: padding is JSON whitespace */
	ck_assert_int_eq(io_emit(st, "big", "%*d", (int)IO_DATA_MAX_BYTES, 5),
			 EC_OK);
	ck_assert_int_eq(
		io_emit(st, "big", "%*d", (int)IO_DATA_MAX_BYTES + 1, 5),
		EC_DATA_TOO_LARGE);
	/* a NUL would hide the rest of the text from the check */
	ck_assert_int_eq(io_emit(st, "m", "1%c x", '\0'), EC_INVALID_JSON);
	ck_assert_int_eq(io_emit(st, NULL, "1"), EC_INVALID_EVENT);
	fixture_collect(st, 0, FIXTURE_EVMAX, &l);
	ck_assert_uint_eq(l.n, 3);
	ck_assert_str_eq(l.ev[0].data, "42");
	ck_assert_str_eq(l.ev[1].data, "{\"n\":-7,\"ok\":true}");
	ck_assert_uint_eq(strlen(l.ev[2].data), sizeof(l.ev[2].data) - 1);
}
END_TEST

/* Was io_emit_user(): the "user" event is presence.c's shape now, appended
 * through io_append(). */
START_TEST(test_presence_emit_user)
{
	struct fixture_evlist l;

	ck_assert_int_eq(presence_emit_user(st, "alice", 2, true), EC_OK);
	ck_assert_int_eq(presence_emit_user(st, "bob", 0, false), EC_OK);
	fixture_collect(st, 0, FIXTURE_EVMAX, &l);
	ck_assert_uint_eq(l.n, 2);
	ck_assert_str_eq(l.ev[0].name, "user");
	ck_assert_str_eq(l.ev[0].data,
			 "{\"username\":\"alice\","
			 "\"currentUsers\":2,\"connected\":true}");
	ck_assert_str_eq(l.ev[1].data,
			 "{\"username\":\"bob\","
			 "\"currentUsers\":0,\"connected\":false}");
}
END_TEST

struct emit_tx {
	enum ecode result;
	enum ecode first, second;
	int64_t last_inside;
};

static enum ecode emit_tx(struct store *s, void *arg)
{
	struct emit_tx *t = arg;

	t->first = io_emit(s, "one", "%d", 1);
	t->second = io_emit(s, "two", "%d", 2);
	ck_assert_int_eq(store_last_event_id(s, &t->last_inside), EC_OK);
	return t->result;
}

/* Inside a transaction io_emit() joins it: delivered (hook) only at the
 * commit, and gone with a rollback. */
START_TEST(test_io_emit_joins_transaction)
{
	struct emit_tx t = { .result = EC_INTERNAL };
	struct fixture_evlist l;
	int calls = 0;

	store_set_commit_hook(st, fixture_count_hook, &calls);
	ck_assert_int_eq(store_transaction(st, emit_tx, &t), EC_INTERNAL);
	ck_assert_int_eq(t.first, EC_OK);
	ck_assert_int_eq(t.second, EC_OK);
	ck_assert_int_eq(t.last_inside, 2);
	ck_assert_int_eq(calls, 0);
	fixture_collect(st, 0, FIXTURE_EVMAX, &l);
	ck_assert_uint_eq(l.n, 0);

	t.result = EC_OK;
	ck_assert_int_eq(store_transaction(st, emit_tx, &t), EC_OK);
	ck_assert_int_eq(calls, 1); /* once for both */
	fixture_collect(st, 0, FIXTURE_EVMAX, &l);
	ck_assert_uint_eq(l.n, 2);
	ck_assert_str_eq(l.ev[0].name, "one");
	ck_assert_str_eq(l.ev[1].name, "two");
	ck_assert_int_eq(l.ev[1].id, l.ev[0].id + 1);
}
END_TEST

/* ---- io_append(): data as a string (was store_event_append()'s checks) */

static const struct json_row {
	const char *data;
	enum ecode want;
} json_rows[] = {
	{ "3", EC_OK },
	{ "null", EC_OK },
	{ "\"text\"", EC_OK },
	{ "{\"a\":[1,2,{\"b\":null}]}", EC_OK },
	{ " {} \n", EC_OK },
	{ "", EC_INVALID_JSON },
	{ "{", EC_INVALID_JSON },
	{ "3 4", EC_INVALID_JSON },
	{ "{} x", EC_INVALID_JSON },
	{ "'single'", EC_INVALID_JSON },
	{ "[1,]", EC_INVALID_JSON },
	{ "tru", EC_INVALID_JSON },
	/* new with json_check(): json-c's strict mode took all of these
	 * but "01" and the \x41 escape (checked with json-c 0.16) */
	{ "NaN", EC_INVALID_JSON },
	{ "-Infinity", EC_INVALID_JSON },
	{ "1.", EC_INVALID_JSON },
	{ "[1.]", EC_INVALID_JSON },
	{ "01", EC_INVALID_JSON },
	{ "\"a\x01b\"", EC_INVALID_JSON },	 /* raw control byte */
	{ "\"tab\there\"", EC_INVALID_JSON },	 /* raw tab in a string */
	{ "\"\\x41\"", EC_INVALID_JSON },	 /* no such escape */
	{ "\"\xff\"", EC_INVALID_JSON },	 /* not UTF-8 */
	{ "\"\xc0\xaf\"", EC_INVALID_JSON },	 /* overlong */
	{ "\"\xed\xa0\x80\"", EC_INVALID_JSON }, /* a surrogate */
	{ "\"caf\xc3\xa9\"", EC_OK },
	{ "\"\\u00e9\\ud83d\\ude00\"", EC_OK },
	{ "-0.5e+3", EC_OK },
	{ "\t[ ]\r\n", EC_OK },
};

START_TEST(test_append_checks)
{
	const struct json_row *r = &json_rows[_i];
	int64_t id = -1, before, after;

	ck_assert_int_eq(store_last_event_id(st, &before), EC_OK);
	ck_assert_msg(io_append(st, "x", r->data, 1, &id) == r->want,
		      "data '%s'", r->data);
	ck_assert_int_eq(store_last_event_id(st, &after), EC_OK);
	ck_assert_int_eq(after, before + (r->want == EC_OK));
	if (r->want == EC_OK)
		ck_assert_int_eq(id, after);
	ck_assert_int_eq(io_append(st, "", "1", 1, NULL), EC_INVALID_EVENT);
	ck_assert_int_eq(io_append(st, "x", NULL, 1, NULL), EC_INVALID_JSON);
	/* the same check as json_check() itself */
	ck_assert_int_eq(json_check(r->data, strlen(r->data)) == EC_OK,
			 r->want == EC_OK);
}
END_TEST

/* Nesting: at most JSON_MAX_DEPTH, and a size cap for any data. */
START_TEST(test_append_limits)
{
	char deep[2 * (JSON_MAX_DEPTH + 1) + 1];
	char *big;
	int64_t before = last_id();

	for (int depth = JSON_MAX_DEPTH; depth <= JSON_MAX_DEPTH + 1; depth++) {
		memset(deep, '[', (size_t)depth);
		memset(deep + depth, ']', (size_t)depth);
		deep[2 * depth] = '\0';
		ck_assert_int_eq(io_append(st, "deep", deep, 1, NULL),
				 depth <= JSON_MAX_DEPTH ? EC_OK
							 : EC_INVALID_JSON);
	}
	big = malloc(IO_DATA_MAX_BYTES + 2);
	ck_assert_ptr_nonnull(big);
	memset(big, ' ', IO_DATA_MAX_BYTES + 1);
	big[0] = '1';
	big[IO_DATA_MAX_BYTES] = '\0';
	ck_assert_int_eq(io_append(st, "big", big, 1, NULL), EC_OK);
	big[IO_DATA_MAX_BYTES] = ' ';
	big[IO_DATA_MAX_BYTES + 1] = '\0';
	ck_assert_int_eq(io_append(st, "big", big, 1, NULL), EC_DATA_TOO_LARGE);
	free(big);
	ck_assert_int_eq(last_id(), before + 2);
}
END_TEST

/* ---- the client's names and io_emit_client() (POST /emit) ---- */

static const struct client_name_row {
	const char *event;
	enum ecode want;
} client_name_rows[] = {
	{ "chat", EC_OK },
	{ "user count", EC_RESERVED_EVENT },
	{ "user", EC_RESERVED_EVENT },
	{ "reset", EC_RESERVED_EVENT },
	{ "connect", EC_RESERVED_EVENT },
	{ "disconnect", EC_RESERVED_EVENT },
	{ "error", EC_RESERVED_EVENT },
	{ "User", EC_OK }, /* names compare exactly */
	{ "users", EC_OK },
	{ "", EC_INVALID_EVENT },
	{ "a\nb", EC_INVALID_EVENT },
	{ NULL, EC_INVALID_EVENT },
};

START_TEST(test_client_names)
{
	const struct client_name_row *r = &client_name_rows[_i];

	ck_assert_int_eq(io_check_client_event(r->event), r->want);
	/* the server's own rule allows the reserved names */
	ck_assert_int_eq(io_check_event(r->event),
			 r->want == EC_RESERVED_EVENT ? EC_OK : r->want);
}
END_TEST

START_TEST(test_emit_client)
{
	struct json_object *data;
	struct fixture_evlist l;
	char *text;
	int64_t id = -1;

	data = json_tokener_parse("{\"text\":\"a/b\"}");
	ck_assert_ptr_nonnull(data);
	ck_assert_int_eq(io_emit_client(st, "alice", "chat", data, &id), EC_OK);
	ck_assert_int_eq(io_emit_client(st, "alice", "user", data, &id),
			 EC_RESERVED_EVENT);
	json_object_put(data);
	/* JSON null is json-c's NULL */
	ck_assert_int_eq(io_emit_client(st, "bob", "n", NULL, NULL), EC_OK);
	/* 4096 bytes serialised is the most */
	text = malloc(IO_CLIENT_DATA_MAX_BYTES + 1);
	ck_assert_ptr_nonnull(text);
	memset(text, 'x', IO_CLIENT_DATA_MAX_BYTES - 2);
	text[IO_CLIENT_DATA_MAX_BYTES - 2] = '\0';
	data = json_object_new_string(text); /* + 2 quotes = 4096 */
	ck_assert_int_eq(io_emit_client(st, "bob", "big", data, NULL), EC_OK);
	json_object_put(data);
	memset(text, 'x', IO_CLIENT_DATA_MAX_BYTES - 1);
	text[IO_CLIENT_DATA_MAX_BYTES - 1] = '\0';
	data = json_object_new_string(text);
	ck_assert_int_eq(io_emit_client(st, "bob", "big", data, NULL),
			 EC_DATA_TOO_LARGE);
	json_object_put(data);
	free(text);
	fixture_collect(st, 0, FIXTURE_EVMAX, &l);
	ck_assert_uint_eq(l.n, 3);
	ck_assert_int_eq(l.ev[0].id, id);
	ck_assert_str_eq(l.ev[0].name, "chat");
	ck_assert_str_eq(
		l.ev[0].data,
		"{\"username\":\"alice\",\"message\":{\"text\":\"a/b\"}}");
	ck_assert_str_eq(l.ev[1].data,
			 "{\"username\":\"bob\",\"message\":null}");
	ck_assert_str_eq(l.ev[2].name, "big");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("io");
	TCase *tc = tcase_create("core");

	if (fixture_begin("io") != 0)
		return 1;
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_io_emit_rows, 0,
			    (int)(sizeof(emit_rows) / sizeof(emit_rows[0])));
	tcase_add_test(tc, test_io_emit_format);
	tcase_add_test(tc, test_presence_emit_user);
	tcase_add_test(tc, test_io_emit_joins_transaction);
	tcase_add_loop_test(tc, test_append_checks, 0,
			    (int)(sizeof(json_rows) / sizeof(json_rows[0])));
	tcase_add_test(tc, test_append_limits);
	tcase_add_loop_test(
		tc, test_client_names, 0,
		(int)(sizeof(client_name_rows) / sizeof(client_name_rows[0])));
	tcase_add_test(tc, test_emit_client);
	suite_add_tcase(s, tc);
	return fixture_run(s);
}
