/* test_request.c -- request_parse_env(), request_parse_body() and the field
 * accessors, plus the strict JSON helpers of json.h they rest on. */
#include "autoconfig.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "json.h"
#include "request.h"
#include "fixture.h"
#include "utf8.h"

#define SID_A "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define SID_B "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

#define MAX_ENV 16

/* Parses a NULL-terminated env list into a fresh request. */
static enum ecode parse(struct request *req, const char *const *env,
			const char *base)
{
	request_init(req);
	return request_parse_env(req, (char *const *)env, base);
}

/* ---- method, path, base, query ---- */

struct path_row {
	const char *env[MAX_ENV];
	const char *base;
	enum ecode rc;
	const char *uri_path;
	const char *path;
	bool in_base;
	const char *query;
};

static const struct path_row path_rows[] = {
	{{"REQUEST_URI=/api/login"}, "/api", EC_OK, "/api/login", "/login",
	 true, ""},
	{{"REQUEST_URI=/api/login/"}, "/api", EC_OK, "/api/login/", "/login/",
	 true, ""},
	{{"REQUEST_URI=/api"}, "/api", EC_OK, "/api", "/", true, ""},
	{{"REQUEST_URI=/api/"}, "/api", EC_OK, "/api/", "/", true, ""},
	{{"REQUEST_URI=/apix"}, "/api", EC_OK, "/apix", "/apix", false, ""},
	{{"REQUEST_URI=/apix/login"}, "/api", EC_OK, "/apix/login",
	 "/apix/login", false, ""},
	{{"REQUEST_URI=/ap"}, "/api", EC_OK, "/ap", "/ap", false, ""},
	{{"REQUEST_URI=/login"}, "/api", EC_OK, "/login", "/login", false, ""},
	{{"REQUEST_URI=/login"}, "", EC_OK, "/login", "/login", true, ""},
	{{"REQUEST_URI=/"}, "", EC_OK, "/", "/", true, ""},
	{{"REQUEST_URI=*"}, "", EC_OK, "*", "*", false, ""},
	{{"REQUEST_URI=/api/login"}, "/api/", EC_OK, "/api/login", "/login",
	 true, ""},
	{{"REQUEST_URI=/login"}, NULL, EC_OK, "/login", "/login", true, ""},
	{{"REQUEST_URI=/a/b/api/login"}, "/a/b/api", EC_OK, "/a/b/api/login",
	 "/login", true, ""},
	{{"REQUEST_URI=/API/login"}, "/api", EC_OK, "/API/login", "/API/login",
	 false, ""},
	/* Query: QUERY_STRING wins; else what follows '?'. */
	{{"REQUEST_URI=/api/poll?since=3&timeout=5"}, "/api", EC_OK,
	 "/api/poll", "/poll", true, "since=3&timeout=5"},
	{{"REQUEST_URI=/api/poll?since=3", "QUERY_STRING=since=4"}, "/api",
	 EC_OK, "/api/poll", "/poll", true, "since=4"},
	{{"REQUEST_URI=/api/poll?since=3", "QUERY_STRING="}, "/api", EC_OK,
	 "/api/poll", "/poll", true, ""},
	{{"REQUEST_URI=/api/poll?"}, "/api", EC_OK, "/api/poll", "/poll", true,
	 ""},
	{{"REQUEST_URI=/api/poll?a?b"}, "/api", EC_OK, "/api/poll", "/poll",
	 true, "a?b"},
	/* No REQUEST_URI: SCRIPT_NAME + PATH_INFO. */
	{{"SCRIPT_NAME=/api", "PATH_INFO=/count", "QUERY_STRING=x=1"}, "/api",
	 EC_OK, "/api/count", "/count", true, "x=1"},
	{{"SCRIPT_NAME=/cgi-bin/emitcgi", "PATH_INFO=/count"},
	 "/cgi-bin/emitcgi", EC_OK, "/cgi-bin/emitcgi/count", "/count", true,
	 ""},
	{{"SCRIPT_NAME=/api/count"}, "/api", EC_OK, "/api/count", "/count",
	 true, ""},
	{{"PATH_INFO=/api/me"}, "/api", EC_OK, "/api/me", "/me", true, ""},
	{{"QUERY_STRING="}, "", EC_OK, "", "/", true, ""},
	/* Bad input. */
	{{"REQUEST_URI=/api/poll?since=%zz"}, "/api", EC_INVALID_PARAM, NULL,
	 NULL, false, NULL},
	{{"REQUEST_URI=/api/poll", "QUERY_STRING=a=%"}, "/api",
	 EC_INVALID_PARAM, NULL, NULL, false, NULL},
	{{"REQUEST_URI=/api/poll", "QUERY_STRING=a=%00"}, "/api",
	 EC_INVALID_PARAM, NULL, NULL, false, NULL},
	{{"REQUEST_URI=/api/poll?a=%ff"}, "/api", EC_INVALID_UTF8, NULL, NULL,
	 false, NULL},
	{{"REQUEST_URI=/api/poll", "QUERY_STRING=a=\xc3"}, "/api",
	 EC_INVALID_UTF8, NULL, NULL, false, NULL},
	{{"REQUEST_URI=/api/poll", "QUERY_STRING=a=%C0%80"}, "/api",
	 EC_INVALID_UTF8, NULL, NULL, false, NULL},
	{{"REQUEST_URI=/api/\xff"}, "/api", EC_INVALID_UTF8, NULL, NULL, false,
	 NULL},
};

#define N_PATH_ROWS (sizeof(path_rows) / sizeof(path_rows[0]))

START_TEST(test_request_path_rows)
{
	const struct path_row *r = &path_rows[_i];
	struct request req;
	enum ecode rc;

	rc = parse(&req, r->env, r->base);
	ck_assert_msg(rc == r->rc, "row %d: rc %d, want %d", _i, rc, r->rc);
	if (rc == EC_OK) {
		ck_assert_str_eq(req.uri_path, r->uri_path);
		ck_assert_str_eq(req.path, r->path);
		ck_assert_msg(req.in_base == r->in_base, "row %d: in_base", _i);
		ck_assert_str_eq(req.query, r->query);
	} else {
		/* Even a failed parse hands out only UTF-8. */
		ck_assert(!req.uri_path ||
			  utf8_valid(req.uri_path, strlen(req.uri_path)));
		ck_assert(!req.path || utf8_valid(req.path, strlen(req.path)));
		ck_assert(!req.query ||
			  utf8_valid(req.query, strlen(req.query)));
	}
	request_release(&req);
}
END_TEST

START_TEST(test_request_params)
{
	static const char *const env[] = {
		"REQUEST_URI=/api/poll?since=7&timeout=&lastEventId=3&since=9"
		"&q=a+b%21&flag",
		NULL};
	struct request req;

	ck_assert_int_eq(parse(&req, env, "/api"), EC_OK);
	ck_assert_uint_eq(req.n_params, 6);
	ck_assert_str_eq(request_param(&req, "since"), "7");
	ck_assert_str_eq(request_param(&req, "timeout"), "");
	ck_assert_str_eq(request_param(&req, "lastEventId"), "3");
	ck_assert_str_eq(request_param(&req, "q"), "a b!");
	ck_assert_str_eq(request_param(&req, "flag"), "");
	ck_assert_ptr_null(request_param(&req, "nope"));
	request_release(&req);

	/* No query at all: no params, query "". */
	static const char *const bare[] = {"REQUEST_URI=/api/count", NULL};
	ck_assert_int_eq(parse(&req, bare, "/api"), EC_OK);
	ck_assert_uint_eq(req.n_params, 0);
	ck_assert_ptr_null(request_param(&req, "since"));
	request_release(&req);
}
END_TEST

/* ---- methods ---- */

struct method_row {
	const char *env;
	enum request_method method;
	const char *name;
};

static const struct method_row method_rows[] = {
	{"REQUEST_METHOD=GET", REQUEST_GET, "GET"},
	{"REQUEST_METHOD=HEAD", REQUEST_HEAD, "HEAD"},
	{"REQUEST_METHOD=POST", REQUEST_POST, "POST"},
	{"REQUEST_METHOD=PUT", REQUEST_OTHER, "PUT"},
	{"REQUEST_METHOD=OPTIONS", REQUEST_OTHER, "OPTIONS"},
	{"REQUEST_METHOD=get", REQUEST_OTHER, "get"},
	{"REQUEST_METHOD=", REQUEST_OTHER, ""},
	{"REQUEST_METHOD=AVERYLONGMETHODNAMEINDEED", REQUEST_OTHER,
	 "AVERYLONGMETHOD"},
	{"REQUEST_METHOD=G T\xff", REQUEST_OTHER, "G?T?"},
	{"NO_METHOD=1", REQUEST_OTHER, ""},
};

#define N_METHOD_ROWS (sizeof(method_rows) / sizeof(method_rows[0]))

START_TEST(test_request_method_rows)
{
	const struct method_row *r = &method_rows[_i];
	const char *env[] = {r->env, "REQUEST_URI=/api/me", NULL};
	struct request req;

	ck_assert_int_eq(parse(&req, env, "/api"), EC_OK);
	ck_assert_int_eq(req.method, r->method);
	ck_assert_str_eq(req.method_name, r->name);
	request_release(&req);
}
END_TEST

/* ---- cookies ---- */

struct cookie_row {
	const char *cookie; /* NULL: no HTTP_COOKIE */
	const char *sid;    /* NULL: has_sid false */
};

static const struct cookie_row cookie_rows[] = {
	{NULL, NULL},
	{"", NULL},
	{"emitcgi_sid=" SID_A, SID_A},
	{"a=1; emitcgi_sid=" SID_A "; b=2", SID_A},
	{"a=1;emitcgi_sid=" SID_A, SID_A},
	{"a=1;\temitcgi_sid=" SID_A " ;", SID_A},
	{"emitcgi_sid = " SID_A, SID_A},
	{"emitcgi_sid=" SID_A "; emitcgi_sid=" SID_B, SID_A},
	{"emitcgi_sid=short; emitcgi_sid=" SID_B, SID_B},
	{"emitcgi_sid=" SID_A "0", NULL},               /* 65 chars */
	{"emitcgi_sid=0123456789ABCDEF0123456789abcdef0123456789abcdef"
	 "0123456789abcdef",
	 NULL},                                          /* upper case */
	{"emitcgi_sid=0123456789abcdeg0123456789abcdef0123456789abcdef"
	 "0123456789abcdef",
	 NULL},                                          /* 'g' */
	{"emitcgi_sid=\"" SID_A "\"", NULL},            /* quoted */
	{"emitcgi_sid=", NULL},
	{"emitcgi_sid", NULL},
	{"xemitcgi_sid=" SID_A, NULL},
	{"emitcgi_sidx=" SID_A, NULL},
	{"EMITCGI_SID=" SID_A, NULL},
	{"other=" SID_A, NULL},
	{";;;; ;", NULL},
	{"===; ;=;emitcgi_sid=" SID_A, SID_A},
	{"garbage \xff\xfe; emitcgi_sid=" SID_B, SID_B},
	{"a=\"b;c\"; emitcgi_sid=" SID_A, SID_A},
	{"emitcgi_sid=" SID_A "=", NULL},
};

#define N_COOKIE_ROWS (sizeof(cookie_rows) / sizeof(cookie_rows[0]))

START_TEST(test_request_cookie_rows)
{
	const struct cookie_row *r = &cookie_rows[_i];
	char cookie[512];
	const char *env[] = {"REQUEST_URI=/api/me", r->cookie ? cookie : NULL,
			     NULL};
	struct request req;

	if (r->cookie)
		snprintf(cookie, sizeof(cookie), "HTTP_COOKIE=%s", r->cookie);
	/* A bad cookie is never an error. */
	ck_assert_int_eq(parse(&req, env, "/api"), EC_OK);
	ck_assert_msg(req.has_sid == (r->sid != NULL), "row %d: has_sid", _i);
	if (r->sid)
		ck_assert_str_eq(req.sid, r->sid);
	request_release(&req);
}
END_TEST

/* ---- headers ---- */

START_TEST(test_request_headers)
{
	static const char *const env[] = {
		"REQUEST_METHOD=GET",
		"REQUEST_URI=/api/events",
		"HTTP_HOST=example.org",
		"HTTP_ORIGIN=https://example.org",
		"HTTP_LAST_EVENT_ID=41",
		"HTTP_AUTHORIZATION=Bearer t0ken",
		"REMOTE_ADDR=127.0.0.1",
		/* A repeated param wins, as in PHP-FPM (nginx overriding
		 * "include fastcgi_params"). */
		"HTTP_LAST_EVENT_ID=42",
		"HTTP_HOST=example.org:8080",
		NULL};
	struct request req;

	ck_assert_int_eq(parse(&req, env, "/api"), EC_OK);
	ck_assert_str_eq(req.host, "example.org:8080");
	ck_assert_str_eq(req.origin, "https://example.org");
	ck_assert_str_eq(req.last_event_id, "42");
	ck_assert_str_eq(req.authorization, "Bearer t0ken");
	ck_assert_str_eq(req.remote_addr, "127.0.0.1");
	ck_assert_ptr_null(req.content_type);
	ck_assert_int_eq(req.content_length, -1);
	ck_assert(!req.https);
	ck_assert(!req.has_sid);
	request_release(&req);

	/* Absent headers are NULL; empty ones are kept empty. */
	static const char *const env2[] = {"REQUEST_URI=/api/events",
					   "HTTP_LAST_EVENT_ID=", NULL};
	ck_assert_int_eq(parse(&req, env2, "/api"), EC_OK);
	ck_assert_ptr_null(req.host);
	ck_assert_ptr_null(req.origin);
	ck_assert_ptr_null(req.authorization);
	ck_assert_ptr_null(req.remote_addr);
	ck_assert_str_eq(req.last_event_id, "");
	request_release(&req);

	/* A prefix of a name is not the name. */
	static const char *const env3[] = {"REQUEST_URI=/api/events",
					   "HTTP_HOSTX=a", "HTTP_HOS=b", NULL};
	ck_assert_int_eq(parse(&req, env3, "/api"), EC_OK);
	ck_assert_ptr_null(req.host);
	request_release(&req);
}
END_TEST

struct bad_header_row {
	const char *env;
	enum ecode rc;
};

static const struct bad_header_row bad_header_rows[] = {
	{"HTTP_LAST_EVENT_ID=4\xff", EC_INVALID_UTF8},
	{"HTTP_ORIGIN=http://\xc0\xaf", EC_INVALID_UTF8},
	{"HTTP_HOST=\xed\xa0\x80", EC_INVALID_UTF8},
	{"HTTP_AUTHORIZATION=\x80", EC_INVALID_UTF8},
	{"REMOTE_ADDR=\xfe", EC_INVALID_UTF8},
	{"CONTENT_TYPE=application/json\xff", EC_INVALID_UTF8},
	/* Bytes after ';' are dropped, never looked at. */
	{"CONTENT_TYPE=application/json; x=\xff", EC_OK},
	{"HTTP_COOKIE=\xff\xff", EC_OK},
	{"HTTP_USER_AGENT=\xff", EC_OK}, /* not a header we keep */
	{"HTTP_LAST_EVENT_ID=caf\xc3\xa9", EC_OK},
};

#define N_BAD_HEADER_ROWS (sizeof(bad_header_rows) / sizeof(bad_header_rows[0]))

START_TEST(test_request_bad_header_rows)
{
	const struct bad_header_row *r = &bad_header_rows[_i];
	const char *env[] = {"REQUEST_URI=/api/me", r->env, NULL};
	struct request req;

	ck_assert_int_eq(parse(&req, env, "/api"), r->rc);
	request_release(&req);
}
END_TEST

struct https_row {
	const char *a, *b;
	bool https;
};

static const struct https_row https_rows[] = {
	{"HTTPS=on", NULL, true},
	{"HTTPS=ON", NULL, true},
	{"HTTPS=On", NULL, true},
	{"HTTPS=1", NULL, true},
	{"HTTPS=off", NULL, false},
	{"HTTPS=", NULL, false},
	{"HTTPS=0", NULL, false},
	{"HTTPS=onx", NULL, false},
	{"REQUEST_SCHEME=https", NULL, true},
	{"REQUEST_SCHEME=HTTPS", NULL, true},
	{"REQUEST_SCHEME=http", NULL, false},
	{"HTTPS=off", "REQUEST_SCHEME=https", true},
	{NULL, NULL, false},
};

#define N_HTTPS_ROWS (sizeof(https_rows) / sizeof(https_rows[0]))

START_TEST(test_request_https_rows)
{
	const struct https_row *r = &https_rows[_i];
	const char *env[] = {"REQUEST_URI=/api/login", r->a, r->b, NULL};
	struct request req;

	if (!r->a)
		env[1] = NULL;
	ck_assert_int_eq(parse(&req, env, "/api"), EC_OK);
	ck_assert_msg(req.https == r->https, "row %d", _i);
	request_release(&req);
}
END_TEST

/* ---- Content-Type and Content-Length ---- */

struct ctype_row {
	const char *env; /* NULL: unset */
	const char *type;
};

static const struct ctype_row ctype_rows[] = {
	{NULL, NULL},
	{"CONTENT_TYPE=", NULL},
	{"CONTENT_TYPE=  ", NULL},
	{"CONTENT_TYPE=;charset=utf-8", NULL},
	{"CONTENT_TYPE=application/json", "application/json"},
	{"CONTENT_TYPE=Application/JSON", "application/json"},
	{"CONTENT_TYPE=application/json; charset=utf-8", "application/json"},
	{"CONTENT_TYPE=application/json;charset=UTF-8", "application/json"},
	{"CONTENT_TYPE= application/json ;x", "application/json"},
	{"CONTENT_TYPE=application/x-www-form-urlencoded",
	 "application/x-www-form-urlencoded"},
	{"CONTENT_TYPE=text/plain", "text/plain"},
};

#define N_CTYPE_ROWS (sizeof(ctype_rows) / sizeof(ctype_rows[0]))

START_TEST(test_request_ctype_rows)
{
	const struct ctype_row *r = &ctype_rows[_i];
	const char *env[] = {"REQUEST_URI=/api/login", r->env, NULL};
	struct request req;

	ck_assert_int_eq(parse(&req, env, "/api"), EC_OK);
	if (r->type)
		ck_assert_str_eq(req.content_type, r->type);
	else
		ck_assert_ptr_null(req.content_type);
	request_release(&req);
}
END_TEST

struct clen_row {
	const char *env;
	enum ecode rc;
	int64_t len;
};

static const struct clen_row clen_rows[] = {
	{NULL, EC_OK, -1},
	{"CONTENT_LENGTH=", EC_OK, -1},
	{"CONTENT_LENGTH=0", EC_OK, 0},
	{"CONTENT_LENGTH=17", EC_OK, 17},
	{"CONTENT_LENGTH=0017", EC_OK, 17},
	{"CONTENT_LENGTH=9223372036854775807", EC_OK, INT64_MAX},
	{"CONTENT_LENGTH=9223372036854775808", EC_INVALID_PARAM, 0},
	{"CONTENT_LENGTH=-1", EC_INVALID_PARAM, 0},
	{"CONTENT_LENGTH=+1", EC_INVALID_PARAM, 0},
	{"CONTENT_LENGTH= 1", EC_INVALID_PARAM, 0},
	{"CONTENT_LENGTH=1 ", EC_INVALID_PARAM, 0},
	{"CONTENT_LENGTH=12abc", EC_INVALID_PARAM, 0},
	{"CONTENT_LENGTH=abc", EC_INVALID_PARAM, 0},
	{"CONTENT_LENGTH=0x10", EC_INVALID_PARAM, 0},
};

#define N_CLEN_ROWS (sizeof(clen_rows) / sizeof(clen_rows[0]))

START_TEST(test_request_clen_rows)
{
	const struct clen_row *r = &clen_rows[_i];
	const char *env[] = {"REQUEST_URI=/api/login", r->env, NULL};
	struct request req;

	ck_assert_int_eq(parse(&req, env, "/api"), r->rc);
	if (r->rc == EC_OK)
		ck_assert_int_eq(req.content_length, r->len);
	request_release(&req);
}
END_TEST

/* ---- size cap ---- */

START_TEST(test_request_env_cap)
{
	static char big[REQUEST_HEADERS_MAX_BYTES + 16];
	const char *env[] = {"REQUEST_URI=/api/me", big, NULL};
	size_t fixed = strlen("REQUEST_URI=/api/me");
	size_t prefix = strlen("HTTP_X=");
	struct request req;

	/* Exactly at the cap: accepted, env_bytes counted. */
	memset(big, 'a', sizeof(big));
	memcpy(big, "HTTP_X=", prefix);
	big[REQUEST_HEADERS_MAX_BYTES - fixed] = '\0';
	ck_assert_int_eq(parse(&req, env, "/api"), EC_OK);
	ck_assert_uint_eq(req.env_bytes, REQUEST_HEADERS_MAX_BYTES);
	request_release(&req);

	/* One byte more: 431. */
	big[REQUEST_HEADERS_MAX_BYTES - fixed] = 'a';
	big[REQUEST_HEADERS_MAX_BYTES - fixed + 1] = '\0';
	ck_assert_int_eq(parse(&req, env, "/api"), EC_HEADERS_TOO_LARGE);
	ck_assert_uint_eq(req.env_bytes, REQUEST_HEADERS_MAX_BYTES + 1);
	request_release(&req);

	/* Many small variables add up the same way. */
	{
		static char items[2000][16];
		static const char *many[2002];
		size_t i;

		for (i = 0; i < 2000; i++) {
			snprintf(items[i], sizeof(items[i]), "HTTP_V%zu=xxxx",
				 i % 1000);
			many[i] = items[i];
		}
		many[2000] = "REQUEST_URI=/api/me";
		many[2001] = NULL;
		ck_assert_int_eq(parse(&req, many, "/api"),
				 EC_HEADERS_TOO_LARGE);
		request_release(&req);
	}
}
END_TEST

START_TEST(test_request_empty_env)
{
	static const char *const env[] = {NULL};
	struct request req;

	ck_assert_int_eq(parse(&req, env, "/api"), EC_OK);
	ck_assert_str_eq(req.uri_path, "");
	ck_assert(!req.in_base);
	ck_assert_str_eq(req.query, "");
	ck_assert_int_eq(req.method, REQUEST_OTHER);
	request_release(&req);

	ck_assert_int_eq(parse(&req, NULL, "/api"), EC_OK);
	request_release(&req);
}
END_TEST

/* ---- bodies ---- */

struct body_row {
	const char *method;
	const char *ctype; /* NULL: no CONTENT_TYPE */
	const char *body;
	size_t len; /* 0: strlen(body) */
	enum ecode rc;
	enum request_body_kind kind;
	const char *username; /* expected field, NULL: EC_MISSING_FIELD */
};

static const struct body_row body_rows[] = {
	{"POST", NULL, "", 0, EC_OK, REQUEST_BODY_NONE, NULL},
	{"GET", NULL, "", 0, EC_OK, REQUEST_BODY_NONE, NULL},
	{"GET", "application/json", "", 0, EC_OK, REQUEST_BODY_NONE, NULL},
	{"POST", "application/json",
	 "{\"username\":\"alice\",\"password\":\"secret12\"}", 0, EC_OK,
	 REQUEST_BODY_JSON, "alice"},
	{"POST", "application/json; charset=utf-8",
	 " {\"username\" : \"b\\u00f6b\"}\r\n", 0, EC_OK, REQUEST_BODY_JSON,
	 "b\xc3\xb6"
	 "b"},
	{"POST", "Application/Json", "{\"username\":\"x\"}", 0, EC_OK,
	 REQUEST_BODY_JSON, "x"},
	{"POST", "application/json", "{\"username\":42}", 0, EC_OK,
	 REQUEST_BODY_JSON, NULL},
	{"POST", "application/json", "{\"username\":null}", 0, EC_OK,
	 REQUEST_BODY_JSON, NULL},
	{"POST", "application/json", "{\"username\":\"a\\u0000b\"}", 0, EC_OK,
	 REQUEST_BODY_JSON, NULL},
	{"POST", "application/json", "{}", 0, EC_OK, REQUEST_BODY_JSON, NULL},
	{"POST", "application/json", "{\"username\":\"a\",\"username\":\"b\"}",
	 0, EC_OK, REQUEST_BODY_JSON, "b"},
	{"POST", "application/json", "", 0, EC_INVALID_JSON, REQUEST_BODY_NONE,
	 NULL},
	{"POST", "application/json", "[1,2]", 0, EC_INVALID_JSON,
	 REQUEST_BODY_NONE, NULL},
	{"POST", "application/json", "\"alice\"", 0, EC_INVALID_JSON,
	 REQUEST_BODY_NONE, NULL},
	{"POST", "application/json", "42", 0, EC_INVALID_JSON,
	 REQUEST_BODY_NONE, NULL},
	{"POST", "application/json", "null", 0, EC_INVALID_JSON,
	 REQUEST_BODY_NONE, NULL},
	{"POST", "application/json", "{\"username\":", 0, EC_INVALID_JSON,
	 REQUEST_BODY_NONE, NULL},
	{"POST", "application/json", "{} {}", 0, EC_INVALID_JSON,
	 REQUEST_BODY_NONE, NULL},
	{"POST", "application/json", "{\"a\":1}\0", 8, EC_INVALID_JSON,
	 REQUEST_BODY_NONE, NULL},
	{"POST", "application/json", "{\"username\":\"\xff\"}", 0,
	 EC_INVALID_UTF8, REQUEST_BODY_NONE, NULL},
	{"POST", "application/json", "{\"username\":\"\xed\xa0\x80\"}", 0,
	 EC_INVALID_UTF8, REQUEST_BODY_NONE, NULL},
	{"POST", "application/x-www-form-urlencoded",
	 "username=alice&password=secret12", 0, EC_OK, REQUEST_BODY_FORM,
	 "alice"},
	{"POST", "application/x-www-form-urlencoded; charset=UTF-8",
	 "username=al+ice%21", 0, EC_OK, REQUEST_BODY_FORM, "al ice!"},
	{"POST", "application/x-www-form-urlencoded", "", 0, EC_OK,
	 REQUEST_BODY_FORM, NULL},
	{"POST", "application/x-www-form-urlencoded", "username=%zz", 0,
	 EC_INVALID_FORM, REQUEST_BODY_NONE, NULL},
	{"POST", "application/x-www-form-urlencoded", "username=%00", 0,
	 EC_INVALID_FORM, REQUEST_BODY_NONE, NULL},
	{"POST", "application/x-www-form-urlencoded", "username=%ff", 0,
	 EC_INVALID_UTF8, REQUEST_BODY_NONE, NULL},
	{"POST", NULL, "{\"username\":\"alice\"}", 0, EC_UNSUPPORTED_MEDIA,
	 REQUEST_BODY_NONE, NULL},
	{"POST", "text/plain", "{\"username\":\"alice\"}", 0,
	 EC_UNSUPPORTED_MEDIA, REQUEST_BODY_NONE, NULL},
	{"POST", "text/plain", "", 0, EC_UNSUPPORTED_MEDIA, REQUEST_BODY_NONE,
	 NULL},
	{"POST", "multipart/form-data", "x", 0, EC_UNSUPPORTED_MEDIA,
	 REQUEST_BODY_NONE, NULL},
	{"POST", "application/jsonx", "{}", 0, EC_UNSUPPORTED_MEDIA,
	 REQUEST_BODY_NONE, NULL},
	{"POST", "application/json-patch+json", "{}", 0, EC_UNSUPPORTED_MEDIA,
	 REQUEST_BODY_NONE, NULL},
};

#define N_BODY_ROWS (sizeof(body_rows) / sizeof(body_rows[0]))

START_TEST(test_request_body_rows)
{
	const struct body_row *r = &body_rows[_i];
	char method[64], ctype[128];
	const char *env[] = {method, "REQUEST_URI=/api/login",
			     r->ctype ? ctype : NULL, NULL};
	size_t len = r->len ? r->len : strlen(r->body);
	struct request req;
	const char *v = (const char *)1;
	enum ecode rc;

	snprintf(method, sizeof(method), "REQUEST_METHOD=%s", r->method);
	if (r->ctype)
		snprintf(ctype, sizeof(ctype), "CONTENT_TYPE=%s", r->ctype);
	ck_assert_int_eq(parse(&req, env, "/api"), EC_OK);
	ck_assert_int_eq(request_set_body(&req, r->body, len), EC_OK);
	rc = request_parse_body(&req);
	ck_assert_msg(rc == r->rc, "row %d: rc %d, want %d", _i, rc, r->rc);
	ck_assert_int_eq(req.body_kind, r->kind);
	if (r->kind == REQUEST_BODY_JSON)
		ck_assert_ptr_nonnull(req.json);
	else
		ck_assert_ptr_null(req.json);
	rc = request_field_string(&req, "username", &v);
	if (r->username) {
		ck_assert_int_eq(rc, EC_OK);
		ck_assert_str_eq(v, r->username);
	} else {
		ck_assert_int_eq(rc, EC_MISSING_FIELD);
		ck_assert_ptr_null(v);
	}
	request_release(&req);
}
END_TEST

START_TEST(test_request_body_cap)
{
	static char body[REQUEST_BODY_MAX_BYTES + 1];
	static const char *const env[] = {
		"REQUEST_METHOD=POST", "REQUEST_URI=/api/emit",
		"CONTENT_TYPE=application/x-www-form-urlencoded", NULL};
	struct request req;

	memset(body, 'a', sizeof(body));
	ck_assert_int_eq(parse(&req, env, "/api"), EC_OK);
	ck_assert_int_eq(request_set_body(&req, body, sizeof(body)),
			 EC_TOO_LARGE);
	ck_assert_int_eq(request_set_body(&req, body, sizeof(body) - 1),
			 EC_OK);
	ck_assert_uint_eq(req.body.len, REQUEST_BODY_MAX_BYTES);
	ck_assert_int_eq(request_parse_body(&req), EC_OK);
	ck_assert_uint_eq(req.n_form, 1);
	ck_assert_uint_eq(strlen(req.form[0].name), REQUEST_BODY_MAX_BYTES);
	/* Parsing again, after a new body, replaces the old result. */
	ck_assert_int_eq(request_set_body(&req, "x=1&y=2", 7), EC_OK);
	ck_assert_int_eq(req.body_kind, REQUEST_BODY_NONE);
	ck_assert_int_eq(request_parse_body(&req), EC_OK);
	ck_assert_uint_eq(req.n_form, 2);
	request_release(&req);
}
END_TEST

START_TEST(test_request_field_json)
{
	static const char *const json_env[] = {
		"REQUEST_METHOD=POST", "REQUEST_URI=/api/emit",
		"CONTENT_TYPE=application/json", NULL};
	static const char *const form_env[] = {
		"REQUEST_METHOD=POST", "REQUEST_URI=/api/emit",
		"CONTENT_TYPE=application/x-www-form-urlencoded", NULL};
	static const char body[] =
		"{\"event\":\"chat\",\"data\":{\"x\":[1,\"a/b\"]},\"n\":null}";
	struct request req;
	struct json_object *v;
	bool owned;
	const char *s;

	ck_assert_int_eq(parse(&req, json_env, "/api"), EC_OK);
	ck_assert_int_eq(request_set_body(&req, body, strlen(body)), EC_OK);
	ck_assert_int_eq(request_parse_body(&req), EC_OK);
	ck_assert_int_eq(request_field_json(&req, "data", &v, &owned), EC_OK);
	ck_assert(!owned);
	ck_assert_str_eq(json_object_to_json_string_ext(
				 v, JSON_C_TO_STRING_PLAIN |
					    JSON_C_TO_STRING_NOSLASHESCAPE),
			 "{\"x\":[1,\"a/b\"]}");
	ck_assert_int_eq(request_field_json(&req, "n", &v, &owned), EC_OK);
	ck_assert_ptr_null(v);
	ck_assert(!owned);
	ck_assert_int_eq(request_field_json(&req, "zz", &v, &owned),
			 EC_MISSING_FIELD);
	ck_assert_int_eq(request_field_string(&req, "event", &s), EC_OK);
	ck_assert_str_eq(s, "chat");
	ck_assert_int_eq(request_field_string(&req, "data", &s),
			 EC_MISSING_FIELD);
	request_release(&req);

	ck_assert_int_eq(parse(&req, form_env, "/api"), EC_OK);
	ck_assert_int_eq(request_set_body(&req, "event=chat&data=hi+there", 24),
			 EC_OK);
	ck_assert_int_eq(request_parse_body(&req), EC_OK);
	ck_assert_int_eq(request_field_json(&req, "data", &v, &owned), EC_OK);
	ck_assert(owned);
	ck_assert(json_object_is_type(v, json_type_string));
	ck_assert_str_eq(json_object_get_string(v), "hi there");
	json_object_put(v);
	ck_assert_int_eq(request_field_json(&req, "zz", &v, &owned),
			 EC_MISSING_FIELD);
	ck_assert(!owned);
	request_release(&req);

	/* No body: every field is missing. */
	ck_assert_int_eq(parse(&req, form_env, "/api"), EC_OK);
	ck_assert_int_eq(request_field_json(&req, "data", &v, &owned),
			 EC_MISSING_FIELD);
	ck_assert_int_eq(request_field_string(&req, "data", &s),
			 EC_MISSING_FIELD);
	request_release(&req);
}
END_TEST

/* ---- json.h ---- */

struct json_row {
	const char *in;
	size_t len; /* 0: strlen(in) */
	enum ecode value_rc;  /* json_parse_value() */
	enum ecode object_rc; /* json_parse_object() */
};

static const struct json_row json_rows[] = {
	{"{}", 0, EC_OK, EC_OK},
	{" \t\r\n{ } \n", 0, EC_OK, EC_OK},
	{"{\"a\":[1,-2.5e+3,true,false,null,\"x\"]}", 0, EC_OK, EC_OK},
	{"{\"a\":{\"b\":{}}}", 0, EC_OK, EC_OK},
	{"{\"\\u00e9\\ud83d\\ude00\\\"\\\\\\/\\b\\f\\n\\r\\t\":0}", 0, EC_OK,
	 EC_OK},
	{"{\"a\":\"\\ud800\"}", 0, EC_OK, EC_OK}, /* lone surrogate: U+FFFD */
	{"{\"caf\xc3\xa9\":1}", 0, EC_OK, EC_OK},
	{"[]", 0, EC_OK, EC_INVALID_JSON},
	{"0", 0, EC_OK, EC_INVALID_JSON},
	{"-0.5E-7", 0, EC_OK, EC_INVALID_JSON},
	{"\"s\"", 0, EC_OK, EC_INVALID_JSON},
	{" true ", 0, EC_OK, EC_INVALID_JSON},
	{"null", 0, EC_OK, EC_INVALID_JSON},
	{"", 0, EC_INVALID_JSON, EC_INVALID_JSON},
	{"   ", 0, EC_INVALID_JSON, EC_INVALID_JSON},
	{"{", 0, EC_INVALID_JSON, EC_INVALID_JSON},
	{"{}}", 0, EC_INVALID_JSON, EC_INVALID_JSON},
	{"{}x", 0, EC_INVALID_JSON, EC_INVALID_JSON},
	{"{},", 0, EC_INVALID_JSON, EC_INVALID_JSON},
	{"{\"a\":1,}", 0, EC_INVALID_JSON, EC_INVALID_JSON},
	{"[1,]", 0, EC_INVALID_JSON, EC_INVALID_JSON},
	{"{'a':1}", 0, EC_INVALID_JSON, EC_INVALID_JSON},
	{"{a:1}", 0, EC_INVALID_JSON, EC_INVALID_JSON},
	{"{\"a\" 1}", 0, EC_INVALID_JSON, EC_INVALID_JSON},
	{"{\"a\":NaN}", 0, EC_INVALID_JSON, EC_INVALID_JSON},
	{"{\"a\":Infinity}", 0, EC_INVALID_JSON, EC_INVALID_JSON},
	{"{\"a\":01}", 0, EC_INVALID_JSON, EC_INVALID_JSON},
	{"{\"a\":1.}", 0, EC_INVALID_JSON, EC_INVALID_JSON},
	{"{\"a\":.5}", 0, EC_INVALID_JSON, EC_INVALID_JSON},
	{"{\"a\":+1}", 0, EC_INVALID_JSON, EC_INVALID_JSON},
	{"{\"a\":1e}", 0, EC_INVALID_JSON, EC_INVALID_JSON},
	{"{\"a\":-}", 0, EC_INVALID_JSON, EC_INVALID_JSON},
	{"{\"a\":0x10}", 0, EC_INVALID_JSON, EC_INVALID_JSON},
	{"{\"a\":tru}", 0, EC_INVALID_JSON, EC_INVALID_JSON},
	{"{\"a\":True}", 0, EC_INVALID_JSON, EC_INVALID_JSON},
	{"{\"a\":\"\x01\"}", 0, EC_INVALID_JSON, EC_INVALID_JSON},
	{"{\"a\":\"\t\"}", 0, EC_INVALID_JSON, EC_INVALID_JSON},
	{"{\"a\":\"\\x\"}", 0, EC_INVALID_JSON, EC_INVALID_JSON},
	{"{\"a\":\"\\u12\"}", 0, EC_INVALID_JSON, EC_INVALID_JSON},
	{"{\"a\":\"\\u12G4\"}", 0, EC_INVALID_JSON, EC_INVALID_JSON},
	{"{\"a\":\"abc}", 0, EC_INVALID_JSON, EC_INVALID_JSON},
	{"{\"a\":1/*c*/}", 0, EC_INVALID_JSON, EC_INVALID_JSON},
	{"{\"a\":1}\0", 8, EC_INVALID_JSON, EC_INVALID_JSON},
	{"{\"a\":\"x\0y\"}", 11, EC_INVALID_JSON, EC_INVALID_JSON},
	{"\xef\xbb\xbf{}", 0, EC_INVALID_JSON, EC_INVALID_JSON}, /* BOM */
	{"{\"a\":\"\xff\"}", 0, EC_INVALID_UTF8, EC_INVALID_UTF8},
	{"{\"a\":\"\xc0\xaf\"}", 0, EC_INVALID_UTF8, EC_INVALID_UTF8},
	{"{\"a\":\"\xed\xa0\x80\"}", 0, EC_INVALID_UTF8, EC_INVALID_UTF8},
	{"{\"a\":\"\xf4\x90\x80\x80\"}", 0, EC_INVALID_UTF8, EC_INVALID_UTF8},
	{"{\"a\":\"\xe2\x82\"}", 0, EC_INVALID_UTF8, EC_INVALID_UTF8},
};

#define N_JSON_ROWS (sizeof(json_rows) / sizeof(json_rows[0]))

START_TEST(test_json_rows)
{
	const struct json_row *r = &json_rows[_i];
	size_t len = r->len ? r->len : strlen(r->in);
	struct json_object *obj = (void *)1;
	enum ecode rc;

	rc = json_parse_value(r->in, len, &obj);
	ck_assert_msg(rc == r->value_rc, "value row %d: rc %d want %d", _i, rc,
		      r->value_rc);
	if (rc != EC_OK)
		ck_assert_ptr_null(obj);
	json_object_put(obj);

	obj = (void *)1;
	rc = json_parse_object(r->in, len, &obj);
	ck_assert_msg(rc == r->object_rc, "object row %d: rc %d want %d", _i,
		      rc, r->object_rc);
	if (rc == EC_OK)
		ck_assert(json_object_is_type(obj, json_type_object));
	else
		ck_assert_ptr_null(obj);
	json_object_put(obj);
}
END_TEST

/* Arrays nested depth deep around a scalar, inside an object. */
static enum ecode json_nested(int depth)
{
	struct buf b;
	struct json_object *obj = NULL;
	enum ecode rc;
	int i;

	buf_init(&b, 1024);
	ck_assert_int_eq(buf_adds(&b, "{\"a\":"), EC_OK);
	for (i = 1; i < depth; i++)
		ck_assert_int_eq(buf_addc(&b, '['), EC_OK);
	ck_assert_int_eq(buf_addc(&b, '1'), EC_OK);
	for (i = 1; i < depth; i++)
		ck_assert_int_eq(buf_addc(&b, ']'), EC_OK);
	ck_assert_int_eq(buf_addc(&b, '}'), EC_OK);
	rc = json_parse_object(buf_str(&b), b.len, &obj);
	json_object_put(obj);
	buf_release(&b);
	return rc;
}

START_TEST(test_json_depth)
{
	ck_assert_int_eq(json_nested(1), EC_OK);
	ck_assert_int_eq(json_nested(JSON_MAX_DEPTH), EC_OK);
	ck_assert_int_eq(json_nested(JSON_MAX_DEPTH + 1), EC_INVALID_JSON);
	ck_assert_int_eq(json_nested(200), EC_INVALID_JSON);
}
END_TEST

START_TEST(test_json_serialise)
{
	struct json_object *obj;
	struct buf b;
	char *s;
	size_t len;
	static const char in[] =
		"{ \"url\" : \"http://x/y\", \"n\" : [1, 2.5, null],"
		" \"s\" : \"caf\xc3\xa9\\n\\u0001\" }";

	ck_assert_int_eq(json_parse_object(in, strlen(in), &obj), EC_OK);
	ck_assert_int_eq(json_to_string_compact(obj, &s, &len), EC_OK);
	ck_assert_str_eq(s, "{\"url\":\"http://x/y\",\"n\":[1,2.5,null],"
			    "\"s\":\"caf\xc3\xa9\\n\\u0001\"}");
	ck_assert_uint_eq(len, strlen(s));
	free(s);

	buf_init(&b, 64);
	ck_assert_int_eq(buf_adds(&b, "data: "), EC_OK);
	ck_assert_int_eq(json_append_compact(&b, obj), EC_OK);
	ck_assert_str_eq(buf_str(&b), "data: {\"url\":\"http://x/y\","
				      "\"n\":[1,2.5,null],"
				      "\"s\":\"caf\xc3\xa9\\n\\u0001\"}");
	json_object_put(obj);
	buf_release(&b);

	/* NULL is JSON null. */
	ck_assert_int_eq(json_to_string_compact(NULL, &s, NULL), EC_OK);
	ck_assert_str_eq(s, "null");
	free(s);

	/* Over the cap: EC_TOO_LARGE and the buf as it was. */
	buf_init(&b, 8);
	ck_assert_int_eq(buf_adds(&b, "ab"), EC_OK);
	obj = json_object_new_string("0123456789");
	ck_assert_int_eq(json_append_compact(&b, obj), EC_TOO_LARGE);
	ck_assert_str_eq(buf_str(&b), "ab");
	json_object_put(obj);
	buf_release(&b);
}
END_TEST

struct escape_row {
	const char *in;
	size_t len; /* 0: strlen */
	enum ecode rc;
	const char *out;
};

static const struct escape_row escape_rows[] = {
	{"", 0, EC_OK, "\"\""},
	{"plain", 0, EC_OK, "\"plain\""},
	{"a\"b\\c/d", 0, EC_OK, "\"a\\\"b\\\\c/d\""},
	{"\b\f\n\r\t", 0, EC_OK, "\"\\b\\f\\n\\r\\t\""},
	{"\x01\x1f\x7f", 0, EC_OK, "\"\\u0001\\u001f\x7f\""},
	{"a\0b", 3, EC_OK, "\"a\\u0000b\""},
	{"caf\xc3\xa9 \xf0\x9f\x98\x80", 0, EC_OK,
	 "\"caf\xc3\xa9 \xf0\x9f\x98\x80\""},
	{"bad\xff", 0, EC_INVALID_UTF8, ""},
};

#define N_ESCAPE_ROWS (sizeof(escape_rows) / sizeof(escape_rows[0]))

START_TEST(test_json_escape_rows)
{
	const struct escape_row *r = &escape_rows[_i];
	size_t len = r->len ? r->len : strlen(r->in);
	struct buf b;
	struct json_object *back;

	buf_init(&b, 256);
	ck_assert_int_eq(json_append_string(&b, r->in, len), r->rc);
	ck_assert_str_eq(buf_str(&b), r->out);
	if (r->rc == EC_OK) {
		/* What we write, json-c reads back as the same bytes. */
		ck_assert_int_eq(json_parse_value(buf_str(&b), b.len, &back),
				 EC_OK);
		ck_assert_uint_eq((size_t)json_object_get_string_len(back),
				  len);
		ck_assert_mem_eq(json_object_get_string(back), r->in, len);
		json_object_put(back);
	}
	buf_release(&b);
}
END_TEST

START_TEST(test_json_escape_cap)
{
	struct buf b;

	buf_init(&b, 10);
	ck_assert_int_eq(buf_adds(&b, "x="), EC_OK);
	ck_assert_int_eq(json_append_string(&b, "\n\n\n\n", 4), EC_TOO_LARGE);
	ck_assert_str_eq(buf_str(&b), "x=");
	ck_assert_uint_eq(b.len, 2);
	ck_assert_int_eq(json_append_string(&b, "abc", 3), EC_OK);
	ck_assert_str_eq(buf_str(&b), "x=\"abc\"");
	buf_release(&b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("request");
	TCase *tc = tcase_create("env");
	TCase *tb = tcase_create("body");
	TCase *tj = tcase_create("json");

	tcase_add_loop_test(tc, test_request_path_rows, 0, (int)N_PATH_ROWS);
	tcase_add_test(tc, test_request_params);
	tcase_add_loop_test(tc, test_request_method_rows, 0,
			    (int)N_METHOD_ROWS);
	tcase_add_loop_test(tc, test_request_cookie_rows, 0,
			    (int)N_COOKIE_ROWS);
	tcase_add_test(tc, test_request_headers);
	tcase_add_loop_test(tc, test_request_bad_header_rows, 0,
			    (int)N_BAD_HEADER_ROWS);
	tcase_add_loop_test(tc, test_request_https_rows, 0, (int)N_HTTPS_ROWS);
	tcase_add_loop_test(tc, test_request_ctype_rows, 0, (int)N_CTYPE_ROWS);
	tcase_add_loop_test(tc, test_request_clen_rows, 0, (int)N_CLEN_ROWS);
	tcase_add_test(tc, test_request_env_cap);
	tcase_add_test(tc, test_request_empty_env);
	suite_add_tcase(s, tc);

	tcase_add_loop_test(tb, test_request_body_rows, 0, (int)N_BODY_ROWS);
	tcase_add_test(tb, test_request_body_cap);
	tcase_add_test(tb, test_request_field_json);
	suite_add_tcase(s, tb);

	tcase_add_loop_test(tj, test_json_rows, 0, (int)N_JSON_ROWS);
	tcase_add_test(tj, test_json_depth);
	tcase_add_test(tj, test_json_serialise);
	tcase_add_loop_test(tj, test_json_escape_rows, 0, (int)N_ESCAPE_ROWS);
	tcase_add_test(tj, test_json_escape_cap);
	suite_add_tcase(s, tj);

	return fixture_run(s);
}
