/* fixture.h -- temporary directories and databases for the unit tests.
 *
 * main() calls fixture_begin("store") once: it makes
 * /tmp/emitcgi-store-XXXXXX.  Each test (Check runs each in its own process)
 * gets a directory of its own inside it from fixture_setup(), with
 * fixture_db naming test.db there; fixture_teardown() removes it, and
 * fixture_end() in main() removes everything, even after a failed test.
 *
 * The store under test: SQLite (a file) by default.  With
 * EMITCGI_TEST_PG set to a libpq connection string (keyword=value form, as
 * tests/integ/pg_unit.sh sets it, or a postgresql:// URL) and a build with
 * PostgreSQL, fixture_pg is true and fixture_db is that string plus
 * options='-c search_path=<a schema of this test's own>' (in a URL:
 * ?options=...): every test gets
 * an empty PostgreSQL schema just as it would get an empty file.  Tests
 * that look inside an SQLite file are registered only when !fixture_pg.
 */
#ifndef EMITCGI_TEST_FIXTURE_H
#define EMITCGI_TEST_FIXTURE_H

#include <check.h>
#include <stdbool.h>
#include <stdint.h>

struct store;

extern char fixture_dir[128]; /* this test's directory */
extern char fixture_db[512];  /* fixture_dir/test.db (not created), or the
				 PostgreSQL string with this test's schema */
extern bool fixture_pg;	      /* the store under test is PostgreSQL */

/* 0, or -1 after printing why. */
int fixture_begin(const char *name);
void fixture_end(void);

/* Runs the suite with TAP output (automake's tap-driver reads the
 * results), removes fixture_begin()'s directory if there is one, and
 * returns main()'s status: 0, the failures are in the TAP. */
int fixture_run(Suite *s);

/* For tcase_add_checked_fixture(); also quiets the log to errors. */
void fixture_setup(void);
void fixture_teardown(void);

/* Migrates fixture_db and opens a connection to it (asserts). */
struct store *fixture_store(void);

/* SQL straight to the database under test (SQLite or PostgreSQL), only to
 * look at what the store wrote or to break it on purpose: the first column
 * of the first row as an integer; or no result (asserts success). */
int64_t fixture_sql_i64(const char *sql);
void fixture_sql_exec(const char *sql);

/* A request body for api_serve(): fixture_read_body is its api_read_fn. */
struct fixture_body {
	const char *data;
	size_t len, off;
};
long fixture_read_body(void *io, char *data, size_t len);

#endif
