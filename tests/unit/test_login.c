/* test_login.c -- the login step (login.c) and what GET /_api/server.js
 * serves, on a real store in a temporary directory.
 *
 * Covers: login_connect()'s numbers and event pairs, alone,
 * with the commit hook, and from several processes at once; the embedded
 * text of login.c against the file (LOGIN_SOURCE_PATH, set by Makefile.am)
 * and against freeCodeCamp's regular expressions; and the two routes
 * through api_serve(): /_api/server.js on and off, and POST /login.
 * io_emit()'s rules moved to test_io.c with io.c.
 */
#include "autoconfig.h"

#include <check.h>
#include <inttypes.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "api.h"
#include "auth.h"
#include "buf.h"
#include "clock.h"
#include "config.h"
#include "fcc_source.h"
#include "fixture.h"
#include "io.h"
#include "log.h"
#include "login.h"
#include "request.h"
#include "response.h"
#include "store.h"

#ifndef LOGIN_SOURCE_PATH
#error "LOGIN_SOURCE_PATH must name src/login.c (see Makefile.am)"
#endif

#define DAY_MS (24 * 3600 * 1000LL)

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

static struct store_user add_user(const char *name)
{
	struct store_user u;

	ck_assert_int_eq(store_user_add(st, name, "$y$x", 1), EC_OK);
	ck_assert_int_eq(store_user_find(st, name, &u), EC_OK);
	return u;
}

/* Events i and i+1 are the pair of one login: "user count" with count,
 * then "user" with the same count, connected, and (if user) that name. */
static void check_login_pair(const struct fixture_evlist *l, size_t i,
			     const char *user, int64_t count)
{
	struct json_object *obj, *v;
	char num[24];

	ck_assert_uint_gt(l->n, i + 1);
	snprintf(num, sizeof(num), "%" PRId64, count);
	ck_assert_str_eq(l->ev[i].name, "user count");
	ck_assert_str_eq(l->ev[i].data, num);
	ck_assert_int_eq(l->ev[i + 1].id, l->ev[i].id + 1);
	ck_assert_str_eq(l->ev[i + 1].name, "user");
	obj = json_tokener_parse(l->ev[i + 1].data);
	ck_assert_ptr_nonnull(obj);
	ck_assert_int_eq(json_object_object_length(obj), 3);
	ck_assert(json_object_object_get_ex(obj, "currentUsers", &v));
	ck_assert_int_eq(json_object_get_int64(v), count);
	ck_assert(json_object_object_get_ex(obj, "connected", &v));
	ck_assert(json_object_is_type(v, json_type_boolean));
	ck_assert(json_object_get_boolean(v));
	ck_assert(json_object_object_get_ex(obj, "username", &v));
	if (user)
		ck_assert_str_eq(json_object_get_string(v), user);
	json_object_put(obj);
}

/* ---- login_connect() ---- */

START_TEST(test_login_three_count_up)
{
	struct store_user alice = add_user("alice"), bob = add_user("bob");
	const struct store_user *who[] = { &alice, &bob, &alice };
	struct store_session s;
	struct fixture_evlist l;
	int64_t n = -1;
	int calls = 0;

	store_set_commit_hook(st, fixture_count_hook, &calls);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(login_connect(st, fixture_sid_of(i + 1),
					       who[i], 1000 + i, 1000 + DAY_MS,
					       &n),
				 EC_OK);
		ck_assert_int_eq(n, i + 1);
		ck_assert_int_eq(calls, i + 1); /* once per login */
	}
	fixture_collect(st, 0, FIXTURE_EVMAX, &l);
	ck_assert_uint_eq(l.n, 6);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(l.ev[2 * i].id, 2 * i + 1);
		check_login_pair(&l, 2 * (size_t)i, who[i]->username, i + 1);
	}
	ck_assert_int_eq(store_session_find(st, fixture_sid_of(2), 1001, &s),
			 EC_OK);
	ck_assert_int_eq(s.user_id, bob.id);
	ck_assert(s.online);
	ck_assert_int_eq(s.last_seen_ms, 1001);
	ck_assert_int_eq(s.expires_ms, 1000 + DAY_MS);
}
END_TEST

START_TEST(test_login_failure_stores_nothing)
{
	struct store_user alice = add_user("alice");
	struct store_user ghost = { .id = alice.id + 100, .username = "ghost" };
	struct store_snapshot snap;
	int64_t n = -1;
	int calls = 0;

	store_set_commit_hook(st, fixture_count_hook, &calls);
	ck_assert_int_eq(
		login_connect(st, fixture_sid_of(1), &alice, 1000, DAY_MS, &n),
		EC_OK);
	n = -1;
	/* a user deleted meanwhile */
	ck_assert_int_eq(
		login_connect(st, fixture_sid_of(2), &ghost, 1000, DAY_MS, &n),
		EC_NOT_FOUND);
	/* the same session id twice */
	ck_assert_int_eq(
		login_connect(st, fixture_sid_of(1), &alice, 1000, DAY_MS, &n),
		EC_DB);
	ck_assert_int_eq(n, -1);
	ck_assert_int_eq(calls, 1);
	ck_assert_int_eq(store_snapshot(st, &snap), EC_OK);
	ck_assert_int_eq(snap.current_users, 1);
	ck_assert_int_eq(snap.last_id, 2);
}
END_TEST

/* Several processes log in at once, each on its own connection: in log
 * order the "user count" numbers are exactly 1, 2, ... N, each followed by
 * its "user" event with the same number -- every number is the count at
 * its commit. */
START_TEST(test_login_concurrent)
{
	enum { KIDS = 4, EACH = 12 };
	pid_t pid[KIDS];
	struct fixture_evlist l;
	int status;

	for (int k = 0; k < KIDS; k++) {
		char name[16];

		snprintf(name, sizeof(name), "user%d", k);
		add_user(name);
	}
	for (int k = 0; k < KIDS; k++) {
		pid[k] = fork();
		ck_assert_int_ge(pid[k], 0);
		if (pid[k] == 0) {
			struct store *mine = NULL;
			struct store_user u;
			char name[16];
			int64_t n;
			int bad = 0;

			snprintf(name, sizeof(name), "user%d", k);
			if (store_open(fixture_db, &mine) != EC_OK ||
			    store_user_find(mine, name, &u) != EC_OK)
				_exit(2);
			for (int i = 0; i < EACH; i++)
				bad |= login_connect(
					       mine,
					       fixture_sid_of(1000 * (k + 1) +
							      i),
					       &u, 1000, DAY_MS, &n) != EC_OK;
			store_close(mine);
			_exit(bad);
		}
	}
	for (int k = 0; k < KIDS; k++) {
		ck_assert_int_eq(waitpid(pid[k], &status, 0), pid[k]);
		ck_assert(WIFEXITED(status));
		ck_assert_int_eq(WEXITSTATUS(status), 0);
	}
	fixture_collect(st, 0, FIXTURE_EVMAX, &l);
	ck_assert_uint_eq(l.n, 2 * KIDS * EACH);
	for (size_t i = 0; i < KIDS * EACH; i++) {
		ck_assert_int_eq(l.ev[2 * i].id, 2 * (int64_t)i + 1);
		check_login_pair(&l, 2 * i, NULL, (int64_t)i + 1);
	}
}
END_TEST

/* ---- the text GET /_api/server.js serves ---- */

static char *read_file(const char *path, size_t *len)
{
	struct buf b;
	char chunk[4096];
	size_t n;
	FILE *f = fopen(path, "rb");

	ck_assert_msg(f != NULL, "%s", path);
	buf_init(&b, 1 << 20);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		ck_assert_int_eq(buf_add(&b, chunk, n), EC_OK);
	ck_assert(!ferror(f));
	fclose(f);
	return buf_detach(&b, len);
}

START_TEST(test_fcc_source_is_login_c)
{
	size_t len = 0;
	char *text = read_file(LOGIN_SOURCE_PATH, &len);

	ck_assert_ptr_nonnull(text);
	ck_assert_uint_eq(fcc_source_len, len);
	ck_assert_uint_eq(strlen(fcc_source), len);
	ck_assert(memcmp(fcc_source, text, len) == 0);
	free(text);
}
END_TEST

/* freeCodeCamp's checks for "Communicate by Emitting", as regex.h
 * extended expressions (JavaScript's /gi; with REG_NEWLINE "." does not
 * cross lines, as in JavaScript without /s).  The match must be code, not
 * a comment: the line may not start with a comment. */
static const struct fcc_row {
	const char *what;
	const char *re;
} fcc_rows[] = {
	{ "currentUsers should be defined", "currentUsers" },
	{ "emit \"user count\" with data currentUsers",
	  "io.emit.*('|\")user count('|\").*currentUsers" },
};

START_TEST(test_fcc_source_passes_checks)
{
	const struct fcc_row *r = &fcc_rows[_i];
	const char *p = fcc_source, *line, *q;
	regmatch_t m;
	regex_t re;
	bool code = false;

	ck_assert_int_eq(
		regcomp(&re, r->re, REG_EXTENDED | REG_ICASE | REG_NEWLINE), 0);
	while (!code && regexec(&re, p, 1, &m, 0) == 0) {
		line = p + m.rm_so;
		while (line > fcc_source && line[-1] != '\n')
			line--;
		q = line + strspn(line, " \t");
		code = !(q[0] == '*' || (q[0] == '/' && q[1] == '*') ||
			 (q[0] == '/' && q[1] == '/'));
		p += m.rm_eo;
	}
	regfree(&re);
	ck_assert_msg(code, "%s: no line of code matches /%s/", r->what, r->re);
}
END_TEST

/* ---- through api_serve() ---- */

static const char *fcc_env_value;

static const char *fake_getenv(const char *name)
{
	if (strcmp(name, "EMITCGI_FCC_TESTING") == 0)
		return fcc_env_value;
	return NULL;
}

/* One request: method, REQUEST_URI, JSON body or NULL; res is init'ed. */
static void serve(const struct config *cfg, const char *method, const char *uri,
		  const char *json, struct response *res)
{
	struct api_ctx ctx = { .cfg = cfg, .st = st, .hub = NULL };
	struct fixture_body body = { .data = json,
				     .len = json ? strlen(json) : 0 };
	struct api_wait wait = { 0 };
	struct request req;
	char m[32], u[256], cl[48];
	char *envp[] = {
		m,
		u,
		cl,
		"HTTP_HOST=localhost",
		"REMOTE_ADDR=127.0.0.1",
		"SCRIPT_NAME=",
		json ? "CONTENT_TYPE=application/json" : NULL,
		NULL,
	};

	snprintf(m, sizeof(m), "REQUEST_METHOD=%s", method);
	snprintf(u, sizeof(u), "REQUEST_URI=%s", uri);
	snprintf(cl, sizeof(cl), "CONTENT_LENGTH=%zu", body.len);
	request_init(&req);
	response_init(res);
	ck_assert_int_eq(api_serve(&ctx, &req, envp, fixture_read_body, &body,
				   res, &wait),
			 API_FINISHED);
	request_release(&req);
}

static void load_config(struct config *cfg, const char *fcc_testing)
{
	char msg[256];

	fcc_env_value = fcc_testing;
	ck_assert_int_eq(config_load(cfg, fake_getenv, msg, sizeof(msg)),
			 EC_OK);
}

static const char *head_of(const struct response *res, struct buf *out)
{
	buf_reset(out);
	ck_assert_int_eq(response_head(res, out), EC_OK);
	return buf_str(out);
}

START_TEST(test_api_server_js)
{
	struct config cfg;
	struct response res;
	struct buf head;
	const char *h;

	buf_init(&head, RESPONSE_HEAD_MAX_BYTES);
	load_config(&cfg, "1");
	ck_assert_int_eq(cfg.fcc_testing, 1);
	serve(&cfg, "GET", "/_api/server.js", NULL, &res);
	ck_assert_int_eq(res.status, 200);
	h = head_of(&res, &head);
	ck_assert_ptr_nonnull(strstr(h, "\r\nContent-Type: application/"
					"javascript; charset=utf-8\r\n"));
	ck_assert_ptr_nonnull(strstr(h, "\r\nCache-Control: no-store\r\n"));
	ck_assert_ptr_nonnull(strstr(h, "\r\nAccess-Control-Allow-Origin: "
					"*\r\n"));
	ck_assert_ptr_null(
		strstr(strstr(h, "Cache-Control") + 1, "Cache-Control"));
	ck_assert_uint_eq(res.body.len, fcc_source_len);
	ck_assert(memcmp(res.body.data, fcc_source, fcc_source_len) == 0);
	response_release(&res);

	serve(&cfg, "HEAD", "/_api/server.js", NULL, &res);
	ck_assert_int_eq(res.status, 200);
	ck_assert(res.head_only);
	response_release(&res);

	/* outside the base only: /api/_api/server.js is no such route */
	serve(&cfg, "GET", "/api/_api/server.js", NULL, &res);
	ck_assert_int_eq(res.status, 404);
	response_release(&res);

	/* off (the default): the usual JSON 404 */
	load_config(&cfg, NULL);
	ck_assert_int_eq(cfg.fcc_testing, 0);
	serve(&cfg, "GET", "/_api/server.js", NULL, &res);
	ck_assert_int_eq(res.status, 404);
	ck_assert_ptr_nonnull(
		strstr(head_of(&res, &head), "Content-Type: application/json"));
	ck_assert_ptr_nonnull(
		strstr(buf_str(&res.body), "\"error\":\"not_found\""));
	ck_assert_ptr_null(strstr(buf_str(&res.body), "currentUsers"));
	response_release(&res);
	buf_release(&head);
}
END_TEST

/* POST /login goes through login_connect(): currentUsers in the answer,
 * the pair in the log, a session behind the cookie. */
START_TEST(test_api_login)
{
	static const char cred[] =
		"{\"username\":\"alice\",\"password\":\"correct horse\"}";
	struct config cfg;
	struct response res;
	struct buf head;
	struct fixture_evlist l;
	struct store_session s;
	const char *h, *cookie;
	char sid[65], key[65];

	buf_init(&head, RESPONSE_HEAD_MAX_BYTES);
	load_config(&cfg, NULL);
	serve(&cfg, "POST", "/api/register", cred, &res);
	ck_assert_int_eq(res.status, 201);
	response_release(&res);
	for (int i = 1; i <= 2; i++) {
		char want[64];

		serve(&cfg, "POST", "/api/login", cred, &res);
		ck_assert_int_eq(res.status, 200);
		snprintf(want, sizeof(want),
			 "{\"username\":\"alice\",\"currentUsers\":%d}", i);
		ck_assert_str_eq(buf_str(&res.body), want);
		h = head_of(&res, &head);
		cookie = strstr(h, "Set-Cookie: " REQUEST_SID_COOKIE "=");
		ck_assert_ptr_nonnull(cookie);
		cookie += strlen("Set-Cookie: " REQUEST_SID_COOKIE "=");
		ck_assert_uint_ge(strlen(cookie), 64);
		memcpy(sid, cookie, 64);
		sid[64] = '\0';
		/* issue 9: the store knows the session by the cookie's hash,
		 * never by the cookie */
		ck_assert_int_eq(
			store_session_find(st, sid, clock_wall_ms(), &s),
			EC_NOT_FOUND);
		ck_assert_int_eq(auth_sid_hash(sid, key), EC_OK);
		ck_assert_str_ne(key, sid);
		ck_assert_int_eq(
			store_session_find(st, key, clock_wall_ms(), &s),
			EC_OK);
		ck_assert(s.online);
		response_release(&res);
	}
	fixture_collect(st, 0, FIXTURE_EVMAX, &l);
	ck_assert_uint_eq(l.n, 4);
	check_login_pair(&l, 0, "alice", 1);
	check_login_pair(&l, 2, "alice", 2);

	/* a wrong password emits nothing */
	serve(&cfg, "POST", "/api/login",
	      "{\"username\":\"alice\",\"password\":\"wrong horse\"}", &res);
	ck_assert_int_eq(res.status, 401);
	response_release(&res);
	fixture_collect(st, 0, FIXTURE_EVMAX, &l);
	ck_assert_uint_eq(l.n, 4);
	buf_release(&head);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("login");
	TCase *tc = tcase_create("core");

	if (fixture_begin("login") != 0)
		return 1;
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_login_three_count_up);
	tcase_add_test(tc, test_login_failure_stores_nothing);
	tcase_add_test(tc, test_login_concurrent);
	tcase_add_test(tc, test_fcc_source_is_login_c);
	tcase_add_loop_test(tc, test_fcc_source_passes_checks, 0,
			    (int)(sizeof(fcc_rows) / sizeof(fcc_rows[0])));
	tcase_add_test(tc, test_api_server_js);
	tcase_add_test(tc, test_api_login);
	suite_add_tcase(s, tc);
	return fixture_run(s);
}
