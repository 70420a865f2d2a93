/* test_router.c -- every route × every method, trailing slashes, 404s, the
 * Allow values; through request_parse_env() so base stripping is included. */
#include "autoconfig.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "router.h"
#include "fixture.h"

static const char *const methods[] = {"GET", "HEAD", "POST", "PUT",
				      "DELETE", "OPTIONS"};
#define N_METHODS (sizeof(methods) / sizeof(methods[0]))

struct route_row {
	const char *path; /* under the base */
	enum route route;
	const char *name;
	const char *allow;       /* Allow on 405 */
	bool get, head, post;    /* methods that match */
};

static const struct route_row route_rows[] = {
	{"/register", ROUTE_REGISTER, "register", "POST", false, false, true},
	{"/login", ROUTE_LOGIN, "login", "POST", false, false, true},
	{"/logout", ROUTE_LOGOUT, "logout", "POST", false, false, true},
	{"/me", ROUTE_ME, "me", "GET, HEAD", true, true, false},
	{"/count", ROUTE_COUNT, "count", "GET, HEAD", true, true, false},
	{"/events", ROUTE_EVENTS, "events", "GET", true, false, false},
	{"/poll", ROUTE_POLL, "poll", "GET", true, false, false},
	{"/health", ROUTE_HEALTH, "health", "GET, HEAD", true, true, false},
	{"/metrics", ROUTE_METRICS, "metrics", "GET, HEAD", true, true, false},
	{"/emit", ROUTE_EMIT, "emit", "POST", false, false, true},
};

#define N_ROUTE_ROWS (sizeof(route_rows) / sizeof(route_rows[0]))

static enum ecode match(const char *method, const char *uri, const char *base,
			enum route *route, const char **allow)
{
	char m[64], u[256];
	const char *env[] = {m, u, NULL};
	struct request req;
	enum ecode rc;

	snprintf(m, sizeof(m), "REQUEST_METHOD=%s", method);
	snprintf(u, sizeof(u), "REQUEST_URI=%s", uri);
	request_init(&req);
	ck_assert_int_eq(request_parse_env(&req, (char *const *)env, base),
			 EC_OK);
	rc = router_match(&req, route, allow);
	request_release(&req);
	return rc;
}

static bool row_allows(const struct route_row *r, const char *method)
{
	return (r->get && strcmp(method, "GET") == 0) ||
	       (r->head && strcmp(method, "HEAD") == 0) ||
	       (r->post && strcmp(method, "POST") == 0);
}

/* _i walks routes × methods × {"/api" base, "" base} × {no slash, slash}. */
START_TEST(test_router_matrix)
{
	size_t i = (size_t)_i;
	const struct route_row *r = &route_rows[i % N_ROUTE_ROWS];
	const char *method = methods[(i / N_ROUTE_ROWS) % N_METHODS];
	bool api = (i / (N_ROUTE_ROWS * N_METHODS)) % 2 == 0;
	bool slash = i / (N_ROUTE_ROWS * N_METHODS * 2) == 1;
	char uri[128];
	enum route route = (enum route)-1;
	const char *allow = "unset";
	enum ecode rc;

	snprintf(uri, sizeof(uri), "%s%s%s?x=1", api ? "/api" : "", r->path,
		 slash ? "/" : "");
	rc = match(method, uri, api ? "/api" : "", &route, &allow);
	if (slash && r->route == ROUTE_METRICS) {
		/* issue 9: no /metrics/ alias (test_router_miss_rows) */
		ck_assert_int_eq(rc, EC_NOT_FOUND);
		return;
	}
	if (row_allows(r, method)) {
		ck_assert_msg(rc == EC_OK, "%s %s: rc %d", method, uri, rc);
		ck_assert_int_eq(route, r->route);
		ck_assert_ptr_null(allow);
	} else {
		ck_assert_msg(rc == EC_METHOD_NOT_ALLOWED, "%s %s: rc %d",
			      method, uri, rc);
		ck_assert_int_eq(route, ROUTE_NONE);
		ck_assert_str_eq(allow, r->allow);
	}
	ck_assert_str_eq(router_name(r->route), r->name);
}
END_TEST

struct miss_row {
	const char *method;
	const char *uri;
	const char *base;
};

static const struct miss_row miss_rows[] = {
	{"GET", "/api", "/api"},
	{"GET", "/api/", "/api"},
	{"GET", "/", ""},
	{"GET", "/count", "/api"},    /* outside the base */
	{"POST", "/login", "/api"},
	{"GET", "/apix/count", "/api"},
	{"GET", "/apicount", "/api"},
	{"GET", "/api/count//", "/api"},
	{"GET", "/api//count", "/api"},
	{"GET", "/api/count/x", "/api"},
	{"GET", "/api/counts", "/api"},
	{"GET", "/api/coun", "/api"},
	{"GET", "/api/Count", "/api"},
	{"GET", "/api/COUNT", "/api"},
	{"GET", "/api/count.json", "/api"},
	{"GET", "/api/%63ount", "/api"}, /* no percent-decoding */
	{"GET", "/api/api/count", "/api"},
	{"PUT", "/api/nothing", "/api"},
	{"GET", "/api/_api/server.js", "/api"},
	{"GET", "/_api/server.js/", "/api"},
	{"GET", "/_api/server.jsx", "/api"},
	{"GET", "/_api/", "/api"},
	{"GET", "*", ""},
	{"GET", "/api/metrics/", "/api"}, /* issue 9: the alias is closed */
	{"HEAD", "/metrics/", ""},
};

#define N_MISS_ROWS (sizeof(miss_rows) / sizeof(miss_rows[0]))

START_TEST(test_router_miss_rows)
{
	const struct miss_row *r = &miss_rows[_i];
	enum route route = (enum route)-1;
	const char *allow = "unset";

	ck_assert_msg(match(r->method, r->uri, r->base, &route, &allow) ==
			      EC_NOT_FOUND,
		      "%s %s base %s", r->method, r->uri, r->base);
	ck_assert_int_eq(route, ROUTE_NONE);
	ck_assert_ptr_null(allow);
}
END_TEST

/* /_api/server.js is matched on uri_path, whatever the base. */
START_TEST(test_router_server_js)
{
	static const char *const bases[] = {"/api", "", "/_api", "/other"};
	enum route route;
	const char *allow;
	size_t i;

	for (i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		ck_assert_int_eq(match("GET", "/_api/server.js?v=2", bases[i],
				       &route, &allow),
				 EC_OK);
		ck_assert_int_eq(route, ROUTE_FCC_SERVER_JS);
		ck_assert_int_eq(match("HEAD", "/_api/server.js", bases[i],
				       &route, &allow),
				 EC_OK);
		ck_assert_int_eq(route, ROUTE_FCC_SERVER_JS);
		ck_assert_int_eq(match("POST", "/_api/server.js", bases[i],
				       &route, &allow),
				 EC_METHOD_NOT_ALLOWED);
		ck_assert_str_eq(allow, "GET, HEAD");
	}
	ck_assert_str_eq(router_name(ROUTE_FCC_SERVER_JS), "server_js");
	ck_assert_str_eq(router_name(ROUTE_NONE), "none");
}
END_TEST

/* Without REQUEST_URI the server's split does not matter. */
START_TEST(test_router_script_name_split)
{
	static const char *const splits[][2] = {
		{"SCRIPT_NAME=/api", "PATH_INFO=/count"},
		{"SCRIPT_NAME=/api/count", "PATH_INFO="},
		{"SCRIPT_NAME=", "PATH_INFO=/api/count"},
	};
	size_t i;

	for (i = 0; i < sizeof(splits) / sizeof(splits[0]); i++) {
		const char *env[] = {"REQUEST_METHOD=GET", splits[i][0],
				     splits[i][1], NULL};
		struct request req;
		enum route route;
		const char *allow;

		request_init(&req);
		ck_assert_int_eq(request_parse_env(&req, (char *const *)env,
						   "/api"),
				 EC_OK);
		ck_assert_int_eq(router_match(&req, &route, &allow), EC_OK);
		ck_assert_int_eq(route, ROUTE_COUNT);
		request_release(&req);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("router");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_router_matrix, 0,
			    (int)(N_ROUTE_ROWS * N_METHODS * 2 * 2));
	tcase_add_loop_test(tc, test_router_miss_rows, 0, (int)N_MISS_ROWS);
	tcase_add_test(tc, test_router_server_js);
	tcase_add_test(tc, test_router_script_name_split);
	suite_add_tcase(s, tc);
	return fixture_run(s);
}
