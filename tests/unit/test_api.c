/* test_api.c -- api.c through api_serve(): what no front server can show
 * from 127.0.0.1 (metrics from afar, the token, HTTPS) and /health when
 * the database is unusable.  The walkthrough itself is in tests/integ/. */
#include "autoconfig.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "config.h"
#include "fixture.h"
#include "store.h"

static struct store *st;
static const char *token_value;

static const char *fake_getenv(const char *name)
{
	if (strcmp(name, "EMITCGI_METRICS_TOKEN") == 0)
		return token_value;
	if (strcmp(name, "EMITCGI_DB") == 0)
		return fixture_db;
	return NULL;
}

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

static long read_nothing(void *io, char *data, size_t len)
{
	return 0;
}

/* POST uri with a body of the given type; extra is one more CGI variable
 * (or NULL). */
static void post(const char *uri, const char *type, const char *data,
		 const char *extra, struct response *res)
{
	struct config cfg;
	struct api_ctx ctx = { .cfg = &cfg, .st = st };
	struct fixture_body body = { .data = data, .len = strlen(data) };
	struct api_wait wait = { 0 };
	struct request req;
	char u[256], t[128], l[64], msg[256];
	char *envp[] = { "REQUEST_METHOD=POST", u, t, l, "HTTP_HOST=localhost",
			 "REMOTE_ADDR=127.0.0.1", (char *)extra, NULL };

	ck_assert_int_eq(config_load(&cfg, fake_getenv, msg, sizeof(msg)), EC_OK);
	snprintf(u, sizeof(u), "REQUEST_URI=%s", uri);
	snprintf(t, sizeof(t), "CONTENT_TYPE=%s", type);
	snprintf(l, sizeof(l), "CONTENT_LENGTH=%zu", body.len);
	request_init(&req);
	response_init(res);
	ck_assert_int_eq(api_serve(&ctx, &req, envp, fixture_read_body, &body,
				   res, &wait), API_FINISHED);
	request_release(&req);
}

/* GET uri from remote with an optional Authorization header. */
static void get(const char *uri, const char *remote, const char *auth,
		struct response *res)
{
	struct config cfg;
	struct api_ctx ctx = { .cfg = &cfg, .st = st };
	struct api_wait wait = { 0 };
	struct request req;
	char u[256], r[64], a[256];
	char msg[256];
	char *envp[] = { "REQUEST_METHOD=GET", u, r, "HTTP_HOST=localhost",
			 auth ? a : NULL, NULL };

	ck_assert_int_eq(config_load(&cfg, fake_getenv, msg, sizeof(msg)), EC_OK);
	snprintf(u, sizeof(u), "REQUEST_URI=%s", uri);
	snprintf(r, sizeof(r), "REMOTE_ADDR=%s", remote);
	snprintf(a, sizeof(a), "HTTP_AUTHORIZATION=%s", auth ? auth : "");
	request_init(&req);
	response_init(res);
	ck_assert_int_eq(api_serve(&ctx, &req, envp, read_nothing, NULL, res,
				   &wait), API_FINISHED);
	request_release(&req);
}

static const struct metrics_row {
	const char *remote, *token, *auth;
	int status;
} metrics_rows[] = {
	{ "127.0.0.1", NULL, NULL, 200 },
	{ "::1", NULL, NULL, 200 },
	{ "127.0.0.53", NULL, NULL, 200 },
	{ "10.1.2.3", NULL, NULL, 403 },          /* loopback only by default */
	{ "10.1.2.3", NULL, "Bearer x", 403 },    /* no token configured */
	{ "10.1.2.3", "s3cret", NULL, 403 },
	{ "10.1.2.3", "s3cret", "Bearer s3cre", 403 },
	{ "10.1.2.3", "s3cret", "Bearer s3cret!", 403 },
	{ "10.1.2.3", "s3cret", "Basic s3cret", 403 },
	{ "10.1.2.3", "s3cret", "Bearer s3cret", 200 },
	{ "10.1.2.3", "s3cret", "bearer s3cret", 200 },
	{ "127.0.0.1", "s3cret", NULL, 200 },
};

START_TEST(test_metrics_access)
{
	const struct metrics_row *row = &metrics_rows[_i];
	struct response res;

	token_value = row->token;
	get("/api/metrics", row->remote, row->auth, &res);
	ck_assert_int_eq(res.status, row->status);
	if (row->status == 200) {
		ck_assert_ptr_nonnull(strstr(buf_str(&res.headers),
					     "Content-Type: text/plain; version=0.0.4"));
		ck_assert_ptr_nonnull(strstr(buf_str(&res.body),
					     "emitcgi_subscribers{transport=\"sse\"} 0\n"));
		ck_assert_ptr_nonnull(strstr(buf_str(&res.body),
					     "# TYPE emitcgi_logins_total counter\n"));
		ck_assert_ptr_nonnull(strstr(buf_str(&res.body),
					     "emitcgi_current_users 0\n"));
	} else {
		ck_assert_str_eq(buf_str(&res.body),
				 "{\"error\":\"forbidden\",\"message\":\"forbidden\"}");
	}
	response_release(&res);
	token_value = NULL;
}
END_TEST

START_TEST(test_health_ok_then_unusable)
{
	struct response res;

	get("/api/health", "127.0.0.1", NULL, &res);
	ck_assert_int_eq(res.status, 200);
	ck_assert_ptr_nonnull(strstr(buf_str(&res.body), "\"status\":\"ok\""));
	ck_assert_ptr_nonnull(strstr(buf_str(&res.body), "\"database\":\"ok\""));
	ck_assert_ptr_nonnull(strstr(buf_str(&res.body),
				     "\"subscribers\":{\"sse\":0,\"poll\":0,"));
	response_release(&res);

	/* Someone replaces the schema under the running program. */
	fixture_sql_exec(fixture_pg ? "UPDATE emitcgi_schema SET version = 99"
				    : "PRAGMA user_version = 99");
	get("/api/health", "127.0.0.1", NULL, &res);
	ck_assert_int_eq(res.status, 503);
	ck_assert_ptr_nonnull(strstr(buf_str(&res.body),
				     "\"status\":\"unavailable\""));
	ck_assert_ptr_nonnull(strstr(buf_str(&res.body), "\"error\":"));
	ck_assert_ptr_nonnull(strstr(buf_str(&res.body), "\"message\":"));
	response_release(&res);
}
END_TEST

/* SPEC: the cookie is HttpOnly, SameSite=Lax, Path=/, and Secure under
 * HTTPS; form bodies work as JSON ones do. */
START_TEST(test_login_cookie_secure_under_https)
{
	static const char form[] = "username=erin&password=correct+horse";
	struct response res;
	const char *h;

	post("/api/register", "application/x-www-form-urlencoded", form, NULL,
	     &res);
	ck_assert_int_eq(res.status, 201);
	response_release(&res);

	post("/api/login", "application/x-www-form-urlencoded", form, NULL, &res);
	ck_assert_int_eq(res.status, 200);
	h = buf_str(&res.headers);
	ck_assert_ptr_nonnull(strstr(h, "; HttpOnly; SameSite=Lax; Path=/"));
	ck_assert_ptr_null(strstr(h, "Secure"));
	response_release(&res);

	post("/api/login", "application/x-www-form-urlencoded", form,
	     "HTTPS=on", &res);
	ck_assert_int_eq(res.status, 200);
	ck_assert_ptr_nonnull(strstr(buf_str(&res.headers), "; Secure\r\n"));
	ck_assert_str_eq(buf_str(&res.body),
			 "{\"username\":\"erin\",\"currentUsers\":2}");
	response_release(&res);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("api");
	TCase *tc = tcase_create("core");

	if (fixture_begin("api") != 0)
		return 1;
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_metrics_access, 0,
			    sizeof(metrics_rows) / sizeof(metrics_rows[0]));
	tcase_add_test(tc, test_health_ok_then_unusable);
	tcase_add_test(tc, test_login_cookie_secure_under_https);
	suite_add_tcase(s, tc);
	return fixture_run(s);
}
