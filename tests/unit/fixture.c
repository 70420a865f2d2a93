/* fixture.c -- temporary directories and databases (see fixture.h). */
#include "autoconfig.h"

#include <check.h>
#include <ftw.h>
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
#include "store.h"

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
