/* fixture.c -- temporary directories and databases (see fixture.h). */
#include "autoconfig.h"

#include <check.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>
#include <unistd.h>
#ifdef HAVE_POSTGRESQL
#include <libpq-fe.h>
#endif

#include "fixture.h"
#include "log.h"
#include "login.h"
#include "store.h"

/* The users fixture_add_user() made since fixture_setup(). */
#define FIXTURE_HASH "$y$j9T$salt$hash"
#define FIXTURE_USERS_MAX 8
static struct store_user fixture_users[FIXTURE_USERS_MAX];
static size_t fixture_n_users;

static char fixture_base[64];
char fixture_dir[128];
char fixture_db[512];
bool fixture_pg;
#ifdef HAVE_POSTGRESQL
static const char *fixture_pg_base; /* EMITCGI_TEST_PG */
static int fixture_pg_n;
#endif

static int fixture_remove_cb(const char *path, const struct stat *sb, int flag,
			     struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path) == 0 ? 0 : -1;
}

static void fixture_remove_tree(const char *dir)
{
	(void)nftw(dir, fixture_remove_cb, 8, FTW_DEPTH | FTW_PHYS);
}

int fixture_begin(const char *name)
{
	const char *pg = getenv("EMITCGI_TEST_PG");

	if (pg && *pg) {
#ifdef HAVE_POSTGRESQL
		fixture_pg = true;
		fixture_pg_base = pg;
#else
		fprintf(stderr, "EMITCGI_TEST_PG is set but this build has "
				"no PostgreSQL\n");
		return -1;
#endif
	}
	snprintf(fixture_base, sizeof(fixture_base), "/tmp/emitcgi-%s-XXXXXX",
		 name);
	if (!mkdtemp(fixture_base)) {
		perror("mkdtemp");
		return -1;
	}
	return 0;
}

void fixture_end(void)
{
	if (fixture_base[0])
		fixture_remove_tree(fixture_base);
}

int fixture_run(Suite *s)
{
	SRunner *sr = srunner_create(s);

	srunner_set_tap(sr, "-");
	srunner_run_all(sr, CK_SILENT);
	srunner_free(sr);
	fixture_end();
	return 0;
}

void fixture_setup(void)
{
	fixture_n_users = 0;
	snprintf(fixture_dir, sizeof(fixture_dir), "%s/t-XXXXXX", fixture_base);
	ck_assert_ptr_nonnull(mkdtemp(fixture_dir));
	snprintf(fixture_db, sizeof(fixture_db), "%s/test.db", fixture_dir);
	log_set_level(LOG_LEVEL_ERROR);
#ifdef HAVE_POSTGRESQL
	if (fixture_pg) {
		char schema[64], sql[128];

		/* Unique across the forked test processes of every suite. */
		snprintf(schema, sizeof(schema), "t_%ld_%d", (long)getpid(),
			 fixture_pg_n++);
		if (strncmp(fixture_pg_base, "postgres", 8) == 0)
			/* a URL: options as a percent-encoded parameter */
			snprintf(fixture_db, sizeof(fixture_db),
				 "%s%coptions=-c%%20search_path%%3D%s",
				 fixture_pg_base,
				 strchr(fixture_pg_base, '?') ? '&' : '?',
				 schema);
		else
			snprintf(fixture_db, sizeof(fixture_db),
				 "%s options='-c search_path=%s'",
				 fixture_pg_base, schema);
		snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", schema);
		fixture_sql_exec(sql);
	}
#endif
}

void fixture_teardown(void)
{
	fixture_remove_tree(fixture_dir);
}

long fixture_read_body(void *io, char *data, size_t len)
{
	struct fixture_body *b = io;
	size_t n = b->len - b->off;

	if (n > len)
		n = len;
	memcpy(data, b->data + b->off, n);
	b->off += n;
	return (long)n;
}

struct store *fixture_store(void)
{
	struct store *st = NULL;

	ck_assert_int_eq(store_migrate(fixture_db, NULL, NULL), EC_OK);
	ck_assert_int_eq(store_open(fixture_db, &st), EC_OK);
	return st;
}

#ifdef HAVE_POSTGRESQL
static PGresult *fixture_pg_run(const char *sql, ExecStatusType want)
{
	PGconn *pg = PQconnectdb(fixture_db);
	PGresult *r;

	ck_assert_msg(PQstatus(pg) == CONNECTION_OK, "connect: %s",
		      PQerrorMessage(pg));
	r = PQexec(pg, sql);
	ck_assert_msg(PQresultStatus(r) == want, "%s: %s", sql,
		      PQresultErrorMessage(r));
	PQfinish(pg);
	return r;
}
#endif

int64_t fixture_sql_i64(const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *s;
	int64_t v;

#ifdef HAVE_POSTGRESQL
	if (fixture_pg) {
		PGresult *r = fixture_pg_run(sql, PGRES_TUPLES_OK);

		ck_assert_int_ge(PQntuples(r), 1);
		v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		PQclear(r);
		return v;
	}
#endif
	ck_assert_int_eq(
		sqlite3_open_v2(fixture_db, &db, SQLITE_OPEN_READONLY, NULL),
		SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

void fixture_sql_exec(const char *sql)
{
	sqlite3 *db;

#ifdef HAVE_POSTGRESQL
	if (fixture_pg) {
		PQclear(fixture_pg_run(sql, PGRES_COMMAND_OK));
		return;
	}
#endif
	ck_assert_int_eq(sqlite3_open(fixture_db, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

enum ecode fixture_collect_cb(void *ctx, const struct store_event *e)
{
	struct fixture_evlist *l = ctx;

	ck_assert_uint_lt(l->n, FIXTURE_EVMAX);
	l->ev[l->n].id = e->id;
	snprintf(l->ev[l->n].name, sizeof(l->ev[0].name), "%s", e->name);
	snprintf(l->ev[l->n].data, sizeof(l->ev[0].data), "%s", e->data);
	l->n++;
	if (l->stop_after > 0 && l->n == (size_t)l->stop_after)
		return EC_INTERNAL;
	return EC_OK;
}

const char *fixture_sid_of(int n)
{
	static char sid[4][65];
	static int next;
	char *s = sid[next++ % 4];

	snprintf(s, 65, "%064x", n);
	return s;
}

int64_t fixture_add_user(struct store *st, const char *name)
{
	struct store_user u;

	ck_assert_int_eq(store_user_add(st, name, FIXTURE_HASH, 1), EC_OK);
	ck_assert_int_eq(store_user_find(st, name, &u), EC_OK);
	ck_assert_uint_lt(fixture_n_users, FIXTURE_USERS_MAX);
	fixture_users[fixture_n_users++] = u;
	return u.id;
}

enum ecode fixture_login_as(struct store *st, const char *sid, int64_t uid,
			    int64_t now_ms, int64_t expires_ms,
			    struct presence_change *p)
{
	struct store_user ghost = { .id = uid, .username = "ghost" };
	const struct store_user *u = &ghost;
	int64_t count = -1, last = -1;
	enum ecode rc;

	memset(p, 0, sizeof(*p));
	for (size_t i = 0; i < fixture_n_users; i++)
		if (fixture_users[i].id == uid)
			u = &fixture_users[i];
	rc = login_connect(st, sid, u, now_ms, expires_ms, &count);
	if (rc != EC_OK)
		return rc;
	ck_assert_int_eq(store_last_event_id(st, &last), EC_OK);
	p->changed = true;
	p->current_users = count;
	p->event_id = last - 1;
	return EC_OK;
}

void fixture_collect(struct store *st, int64_t after, size_t limit,
		     struct fixture_evlist *l)
{
	memset(l, 0, sizeof(*l));
	ck_assert_int_eq(
		store_events_after(st, after, limit, fixture_collect_cb, l),
		EC_OK);
}

void fixture_check_pair(const struct fixture_evlist *l, size_t i, int64_t id,
			const char *user, int64_t count, bool connected)
{
	char num[24], json[160];

	snprintf(num, sizeof(num), "%" PRId64, count);
	snprintf(json, sizeof(json),
		 "{\"username\":\"%s\",\"currentUsers\":%" PRId64
		 ",\"connected\":%s}",
		 user, count, connected ? "true" : "false");
	ck_assert_uint_gt(l->n, i + 1);
	ck_assert_int_eq(l->ev[i].id, id);
	ck_assert_str_eq(l->ev[i].name, PRESENCE_EVENT_USER_COUNT);
	ck_assert_str_eq(l->ev[i].data, num);
	ck_assert_int_eq(l->ev[i + 1].id, id + 1);
	ck_assert_str_eq(l->ev[i + 1].name, PRESENCE_EVENT_USER);
	ck_assert_str_eq(l->ev[i + 1].data, json);
}

void fixture_count_hook(void *ctx)
{
	(*(int *)ctx)++;
}
