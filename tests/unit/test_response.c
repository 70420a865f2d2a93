/* test_response.c -- the exact bytes a response serialises to. */
#include "autoconfig.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "response.h"
#include "fixture.h"

static char *serialize(const struct response *res, struct buf *out)
{
	buf_reset(out);
	ck_assert_int_eq(response_serialize(res, out), EC_OK);
	return (char *)buf_str(out);
}

START_TEST(test_response_json)
{
	struct response res;
	struct buf out;
	struct json_object *obj = json_object_new_object();

	json_object_object_add(obj, "username", json_object_new_string("a/b"));
	json_object_object_add(obj, "currentUsers", json_object_new_int(3));
	buf_init(&out, 4096);
	response_init(&res);
	ck_assert_int_eq(response_json(&res, 200, obj), EC_OK);
	ck_assert_str_eq(serialize(&res, &out),
			 "Status: 200 OK\r\n"
			 "Content-Type: application/json\r\n"
			 "Cache-Control: no-store\r\n"
			 "\r\n"
			 "{\"username\":\"a/b\",\"currentUsers\":3}");
	/* Borrowed: obj is still ours. */
	ck_assert_int_eq(json_object_put(obj), 1);

	/* HEAD: same head, no body. */
	res.head_only = true;
	ck_assert_str_eq(serialize(&res, &out),
			 "Status: 200 OK\r\n"
			 "Content-Type: application/json\r\n"
			 "Cache-Control: no-store\r\n"
			 "\r\n");
	buf_reset(&out);
	ck_assert_int_eq(response_head(&res, &out), EC_OK);
	ck_assert_str_eq(buf_str(&out), "Status: 200 OK\r\n"
					"Content-Type: application/json\r\n"
					"Cache-Control: no-store\r\n"
					"\r\n");
	response_release(&res);
	buf_release(&out);
}
END_TEST

START_TEST(test_response_error)
{
	struct response res;
	struct buf out;

	buf_init(&out, 4096);
	response_init(&res);
	ck_assert_int_eq(response_error(&res, 405, "method_not_allowed",
					"use \"GET\"\n"),
			 EC_OK);
	ck_assert_int_eq(response_header(&res, "Allow", "GET, HEAD"), EC_OK);
	ck_assert_str_eq(serialize(&res, &out),
			 "Status: 405 Method Not Allowed\r\n"
			 "Content-Type: application/json\r\n"
			 "Allow: GET, HEAD\r\n"
			 "Cache-Control: no-store\r\n"
			 "\r\n"
			 "{\"error\":\"method_not_allowed\","
			 "\"message\":\"use \\\"GET\\\"\\n\"}");
	response_release(&res);
	buf_release(&out);
}
END_TEST

/* A later response_error() replaces body and Content-Type, keeps the rest. */
START_TEST(test_response_replace)
{
	struct response res;
	struct buf out;
	struct json_object *obj = json_object_new_object();

	buf_init(&out, 4096);
	response_init(&res);
	ck_assert_int_eq(response_header(&res, "Set-Cookie", "emitcgi_sid=x"),
			 EC_OK);
	ck_assert_int_eq(response_json(&res, 200, obj), EC_OK);
	ck_assert_int_eq(response_header(&res, "Retry-After", "5"), EC_OK);
	ck_assert_int_eq(response_error(&res, 429, "throttled", "slow down"),
			 EC_OK);
	ck_assert_str_eq(serialize(&res, &out),
			 "Status: 429 Too Many Requests\r\n"
			 "Set-Cookie: emitcgi_sid=x\r\n"
			 "Retry-After: 5\r\n"
			 "Content-Type: application/json\r\n"
			 "Cache-Control: no-store\r\n"
			 "\r\n"
			 "{\"error\":\"throttled\",\"message\":\"slow down\"}");
	/* And response_empty() drops both. */
	ck_assert_int_eq(response_empty(&res, 204), EC_OK);
	ck_assert_str_eq(serialize(&res, &out),
			 "Status: 204 No Content\r\n"
			 "Set-Cookie: emitcgi_sid=x\r\n"
			 "Retry-After: 5\r\n"
			 "Cache-Control: no-store\r\n"
			 "\r\n");
	json_object_put(obj);
	response_release(&res);
	buf_release(&out);
}
END_TEST

START_TEST(test_response_cache_control)
{
	struct response res;
	struct buf out;

	buf_init(&out, 4096);
	response_init(&res);
	response_status(&res, 200);
	ck_assert_int_eq(response_header(&res, "Content-Type",
					 "text/event-stream"),
			 EC_OK);
	ck_assert_int_eq(response_header(&res, "cache-control",
					 "no-cache, no-transform"),
			 EC_OK);
	ck_assert(res.has_cache_control);
	ck_assert_int_eq(response_header(&res, "X-Accel-Buffering", "no"),
			 EC_OK);
	ck_assert_str_eq(serialize(&res, &out),
			 "Status: 200 OK\r\n"
			 "Content-Type: text/event-stream\r\n"
			 "cache-control: no-cache, no-transform\r\n"
			 "X-Accel-Buffering: no\r\n"
			 "\r\n");
	response_release(&res);
	ck_assert(!res.has_cache_control);
	ck_assert_int_eq(res.status, 0);
	buf_release(&out);
}
END_TEST

struct header_row {
	const char *name;
	const char *value;
	enum ecode rc;
};

static const struct header_row header_rows[] = {
	{"X-Ok", "fine value", EC_OK},
	{"X-Ok", "", EC_OK},
	{"X-Ok", "caf\xc3\xa9", EC_OK},
	{"X-Bad", "a\r\nSet-Cookie: evil=1", EC_INTERNAL},
	{"X-Bad", "a\nb", EC_INTERNAL},
	{"X-Bad", "a\rb", EC_INTERNAL},
	{"X-Bad", "\r\n", EC_INTERNAL},
	{"X-Bad\r\nEvil", "1", EC_INTERNAL},
	{"X-Bad\n", "1", EC_INTERNAL},
	{"", "1", EC_INTERNAL},
	{"X Bad", "1", EC_INTERNAL},
	{"X-Bad:", "1", EC_INTERNAL},
	{"X-\xc3\xa9", "1", EC_INTERNAL},
};

#define N_HEADER_ROWS (sizeof(header_rows) / sizeof(header_rows[0]))

START_TEST(test_response_header_rows)
{
	const struct header_row *r = &header_rows[_i];
	struct response res;
	struct buf out;

	buf_init(&out, 4096);
	response_init(&res);
	ck_assert_int_eq(response_empty(&res, 204), EC_OK);
	ck_assert_int_eq(response_header(&res, r->name, r->value), r->rc);
	serialize(&res, &out);
	if (r->rc != EC_OK)
		/* Refused: nothing was added. */
		ck_assert_str_eq(buf_str(&out), "Status: 204 No Content\r\n"
						"Cache-Control: no-store\r\n"
						"\r\n");
	else
		ck_assert_ptr_nonnull(strstr(buf_str(&out), r->value));
	response_release(&res);
	buf_release(&out);
}
END_TEST

struct reason_row {
	int status;
	const char *reason;
};

static const struct reason_row reason_rows[] = {
	{200, "OK"},
	{201, "Created"},
	{204, "No Content"},
	{304, "Not Modified"},
	{400, "Bad Request"},
	{401, "Unauthorized"},
	{403, "Forbidden"},
	{404, "Not Found"},
	{405, "Method Not Allowed"},
	{409, "Conflict"},
	{413, "Content Too Large"},
	{415, "Unsupported Media Type"},
	{429, "Too Many Requests"},
	{431, "Request Header Fields Too Large"},
	{500, "Internal Server Error"},
	{503, "Service Unavailable"},
	{299, "Unknown"},
	{0, "Unknown"},
	{-1, "Unknown"},
};

#define N_REASON_ROWS (sizeof(reason_rows) / sizeof(reason_rows[0]))

START_TEST(test_response_reason_rows)
{
	const struct reason_row *r = &reason_rows[_i];
	struct response res;
	struct buf out;
	char want[128];

	ck_assert_str_eq(response_reason(r->status), r->reason);
	if (r->status < 100)
		return;
	buf_init(&out, 4096);
	response_init(&res);
	ck_assert_int_eq(response_empty(&res, r->status), EC_OK);
	snprintf(want, sizeof(want),
		 "Status: %d %s\r\nCache-Control: no-store\r\n\r\n",
		 r->status, r->reason);
	ck_assert_str_eq(serialize(&res, &out), want);
	response_release(&res);
	buf_release(&out);
}
END_TEST

START_TEST(test_response_no_status)
{
	struct response res;
	struct buf out;

	buf_init(&out, 4096);
	ck_assert_int_eq(buf_adds(&out, "keep"), EC_OK);
	response_init(&res);
	ck_assert_int_eq(response_head(&res, &out), EC_INTERNAL);
	ck_assert_int_eq(response_serialize(&res, &out), EC_INTERNAL);
	ck_assert_str_eq(buf_str(&out), "keep");
	response_release(&res);
	buf_release(&out);
}
END_TEST

/* Output that does not fit leaves out as it was. */
START_TEST(test_response_out_cap)
{
	struct response res;
	struct buf out;
	struct json_object *obj = json_object_new_string("0123456789");

	buf_init(&out, 85);
	ck_assert_int_eq(buf_adds(&out, "x"), EC_OK);
	response_init(&res);
	ck_assert_int_eq(response_json(&res, 200, obj), EC_OK);
	/* "x" and the head (75 bytes) fit in 85, the body (12) does not. */
	ck_assert_int_eq(response_serialize(&res, &out), EC_TOO_LARGE);
	ck_assert_str_eq(buf_str(&out), "x");
	res.head_only = true;
	ck_assert_int_eq(response_serialize(&res, &out), EC_OK);
	json_object_put(obj);
	response_release(&res);
	buf_release(&out);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("response");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_response_json);
	tcase_add_test(tc, test_response_error);
	tcase_add_test(tc, test_response_replace);
	tcase_add_test(tc, test_response_cache_control);
	tcase_add_loop_test(tc, test_response_header_rows, 0,
			    (int)N_HEADER_ROWS);
	tcase_add_loop_test(tc, test_response_reason_rows, 0,
			    (int)N_REASON_ROWS);
	tcase_add_test(tc, test_response_no_status);
	tcase_add_test(tc, test_response_out_cap);
	suite_add_tcase(s, tc);
	return fixture_run(s);
}
