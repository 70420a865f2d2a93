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

#include "presence.h"
#include "store.h"

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

/* ---- events and sessions, for the store-level suites ---- */

/* One event as store_events_after() gave it, copied. */
#define FIXTURE_EVMAX 256
struct fixture_ev {
	int64_t id;
	char name[80];
	char data[256];
};
struct fixture_evlist {
	size_t n;
	struct fixture_ev ev[FIXTURE_EVMAX];
	int stop_after; /* > 0: the callback fails after this many */
};
/* A store_event_fn that appends to the struct fixture_evlist ctx (which
 * must have room: a test fails past FIXTURE_EVMAX). */
enum ecode fixture_collect_cb(void *ctx, const struct store_event *e);

/* A session id of 64 hex chars from a small number, so tests read
 * easily; the last four stay valid. */
const char *fixture_sid_of(int n);

/* A user, by name with a fixed hash; remembered for fixture_login_as()
 * until the next fixture_setup().  Returns its id. */
int64_t fixture_add_user(struct store *st, const char *name);

/* A login as the program makes it, login_connect() (login.h): the session
 * online and the "user count" + "user" pair in one store_transaction().
 * *p as the presence functions report a change: the new count and the id
 * of its "user count" event.  A uid fixture_add_user() did not make
 * stands for a user deleted meanwhile. */
enum ecode fixture_login_as(struct store *st, const char *sid, int64_t uid,
			    int64_t now_ms, int64_t expires_ms,
			    struct presence_change *p);

/* A store commit hook that counts its calls into the int at ctx. */
void fixture_count_hook(void *ctx);

/* The events after `after` (at most limit) into *l, which is cleared. */
void fixture_collect(struct store *st, int64_t after, size_t limit,
		     struct fixture_evlist *l);

/* l->ev[i] and [i + 1] are the "user count" + "user" pair of a presence
 * change: ids id and id + 1, count, user, connected. */
void fixture_check_pair(const struct fixture_evlist *l, size_t i, int64_t id,
			const char *user, int64_t count, bool connected);

#endif
