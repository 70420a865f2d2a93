/* test_store_order.c -- one order of events under concurrent plain emits.
 *
 * Several processes append at once through store_event_append() (a plain
 * emit: on PostgreSQL it takes no exclusive lock, so the appends commit
 * side by side and may commit in another order than they drew their ids;
 * docs/STORE.md, "One order, one count").  A reader walks the log by
 * cursor as the hub does (store_events_after(cursor)) while they run.
 * It must never see a smaller id after a larger one, and must see every
 * acknowledged event: an id that commits below a cursor already passed
 * would be missed for good.
 *
 * Runs on SQLite (where writers are serial anyway) and, with
 * EMITCGI_TEST_PG (tests/integ/pg_unit.sh), on PostgreSQL.  To see that
 * it can fail there, EMITCGI_TEST_NO_HORIZON=1 replaces the reader's
 * function by one that skips the horizon step (reads everything after the
 * cursor that is visible now): then it misses events.
 *
 * test_pairs_among_appends: logins from two processes while others
 * append: every "user count" is followed by its "user" at the next id
 * (nobody draws an id between them) and the counts, in id order, are
 * 1, 2, 3, ... (each is the count at its commit).  With
 * EMITCGI_TEST_SHARED_IDS=1 (PostgreSQL) the logins draw their ids with
 * the id lock shared, as plain appends do: then appends land between the
 * two events of a pair.
 */
#include "autoconfig.h"

#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "fixture.h"
#include "presence.h"
#include "store.h"

enum { WRITERS = 4, PER_WRITER = 300, TOTAL = WRITERS * PER_WRITER };

struct order_reader {
	int64_t cursor;
	int64_t seen[TOTAL + 16];
	size_t n;
	size_t backwards; /* ids at or below the cursor: never allowed */
};

static enum ecode order_on_event(void *ctx, const struct store_event *e)
{
	struct order_reader *r = ctx;

	if (e->id <= r->cursor)
		r->backwards++;
	else
		r->cursor = e->id;
	if (r->n < sizeof(r->seen) / sizeof(r->seen[0]))
		r->seen[r->n++] = e->id;
	return EC_OK;
}

/* One writer process: PER_WRITER plain appends; each acknowledged id
 * goes to fd. */
static void order_writer(int k, int go, int fd)
{
	struct store *st = NULL;
	char data[32];
	char c;

	if (store_open(fixture_db, &st) != EC_OK)
		_exit(100);
	if (read(go, &c, 1) != 0)
		_exit(101);
	for (int i = 0; i < PER_WRITER; i++) {
		int64_t id = 0;
		enum ecode rc;

		snprintf(data, sizeof(data), "%d", k * 1000 + i);
		/* SQLite's writers wait in turn (busy timeout); a rare
		 * EC_DB_BUSY is retried, never acknowledged. */
		for (int t = 0; t < 20; t++) {
			rc = store_event_append(st, "order", data,
						clock_wall_ms(), &id);
			if (rc != EC_DB_BUSY)
				break;
		}
		if (rc != EC_OK)
			_exit(102);
		if (write(fd, &id, sizeof(id)) != (ssize_t)sizeof(id))
			_exit(103);
	}
	store_close(st);
	_exit(0);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

START_TEST(test_order_concurrent_appends)
{
	static struct order_reader rd, all;
	static int64_t acked[TOTAL];
	struct store *st = fixture_store();
	pid_t pid[WRITERS];
	int go[2], ids[2], status, running = WRITERS;
	int64_t deadline = clock_mono_ms() + 60000;
	size_t n_acked = 0, missed = 0, j = 0;
	const char *skip = getenv("EMITCGI_TEST_NO_HORIZON");

	memset(&rd, 0, sizeof(rd));
	memset(&all, 0, sizeof(all));
	if (fixture_pg && skip && strcmp(skip, "1") == 0)
		fixture_sql_exec(
			"CREATE OR REPLACE FUNCTION emitcgi_events_after("
			"after_id bigint, lim bigint) RETURNS TABLE (id "
			"bigint, name text, data text) LANGUAGE sql AS $$ "
			"SELECT e.id, e.name, e.data FROM events e WHERE "
			"e.id > after_id ORDER BY e.id LIMIT lim $$");
	ck_assert_int_eq(pipe(go), 0);
	ck_assert_int_eq(pipe(ids), 0);
	for (int k = 0; k < WRITERS; k++) {
		pid[k] = fork();
		ck_assert_int_ge(pid[k], 0);
		if (pid[k] == 0) {
			close(go[1]);
			close(ids[0]);
			order_writer(k, go[0], ids[1]);
		}
	}
	close(go[0]);
	close(ids[1]);
	close(go[1]); /* all start now */
	/* Read as the hub does, by cursor, while they write (bounded). */
	while (running > 0 && clock_mono_ms() < deadline) {
		ck_assert_int_eq(store_events_after(st, rd.cursor, 64,
						    order_on_event, &rd),
				 EC_OK);
		for (int k = 0; k < WRITERS; k++)
			if (pid[k] > 0 &&
			    waitpid(pid[k], &status, WNOHANG) == pid[k]) {
				ck_assert(WIFEXITED(status));
				ck_assert_int_eq(WEXITSTATUS(status), 0);
				pid[k] = 0;
				running--;
			}
	}
	ck_assert_int_eq(running, 0);
	/* The last ones, after every writer finished. */
	for (int i = 0; i < 64; i++) {
		size_t before = rd.n;

		ck_assert_int_eq(store_events_after(st, rd.cursor, 64,
						    order_on_event, &rd),
				 EC_OK);
		if (rd.n == before)
			break;
	}
	for (;;) {
		ssize_t got = read(ids[0], &acked[n_acked],
				   sizeof(acked[0]) * (TOTAL - n_acked));

		if (got < 0 && errno == EINTR)
			continue;
		ck_assert_int_ge(got, 0);
		if (got == 0 ||
		    (n_acked += (size_t)got / sizeof(acked[0])) == TOTAL)
			break;
	}
	close(ids[0]);
	ck_assert_uint_eq(n_acked, TOTAL);
	ck_assert_int_eq(
		store_events_after(st, 0, TOTAL + 8, order_on_event, &all),
		EC_OK);
	ck_assert_uint_eq(all.n, TOTAL);

	/* Never backwards, and every acknowledged id seen by the walk. */
	ck_assert_uint_eq(rd.backwards, 0);
	qsort(acked, n_acked, sizeof(acked[0]), cmp_i64);
	for (size_t i = 0; i < n_acked; i++) {
		while (j < rd.n && rd.seen[j] < acked[i])
			j++;
		if (j == rd.n || rd.seen[j] != acked[i])
			missed++;
	}
	ck_assert_msg(
		missed == 0,
		"the walk missed %zu of %zu acknowledged events (saw %zu)",
		missed, n_acked, rd.n);
	ck_assert_uint_eq(rd.n, TOTAL);
	store_close(st);
}
END_TEST

/* LOGINS sessions of USERS users (the fixture keeps 8 at most). */
enum { LOGINS = 40, USERS = 8, LOGGERS = 2, APPENDERS = 2, APPENDS = 150 };

struct pair_log {
	size_t n;
	int64_t id[LOGINS * 2 + APPENDERS * APPENDS + 8];
	char kind[LOGINS * 2 + APPENDERS * APPENDS + 8]; /* c, u, o(ther) */
	int64_t count[LOGINS * 2 + APPENDERS * APPENDS + 8];
};

static enum ecode pair_on_event(void *ctx, const struct store_event *e)
{
	struct pair_log *l = ctx;

	if (l->n == sizeof(l->id) / sizeof(l->id[0]))
		return EC_INTERNAL;
	l->id[l->n] = e->id;
	l->count[l->n] = 0;
	if (strcmp(e->name, PRESENCE_EVENT_USER_COUNT) == 0) {
		l->kind[l->n] = 'c';
		l->count[l->n] = strtoll(e->data, NULL, 10);
	} else {
		l->kind[l->n] =
			strcmp(e->name, PRESENCE_EVENT_USER) == 0 ? 'u' : 'o';
	}
	l->n++;
	return EC_OK;
}

START_TEST(test_pairs_among_appends)
{
	static struct pair_log l;
	struct store *st = fixture_store();
	struct presence_change p;
	pid_t pid[LOGGERS + APPENDERS];
	int64_t uid[USERS];
	int go[2], status;
	char c, name[16];
	int64_t want = 1;

	const char *shared = getenv("EMITCGI_TEST_SHARED_IDS");

	memset(&l, 0, sizeof(l));
	/* To see it fail: the logins draw their ids with the id lock shared,
	 * as plain appends do. */
	if (fixture_pg && shared && strcmp(shared, "1") == 0)
		fixture_sql_exec(
			"CREATE OR REPLACE FUNCTION emitcgi_event_id() "
			"RETURNS bigint LANGUAGE plpgsql AS $$ BEGIN "
			"PERFORM pg_advisory_xact_lock_shared("
			"1701669236); RETURN nextval('events_id_seq'); "
			"END $$");
	for (int i = 0; i < USERS; i++) {
		snprintf(name, sizeof(name), "u%d", i);
		uid[i] = fixture_add_user(st, name);
	}
	ck_assert_int_eq(pipe(go), 0);
	for (int k = 0; k < LOGGERS + APPENDERS; k++) {
		pid[k] = fork();
		ck_assert_int_ge(pid[k], 0);
		if (pid[k] == 0) {
			struct store *mine = NULL;
			char sid[65];

			close(go[1]);
			if (store_open(fixture_db, &mine) != EC_OK)
				_exit(100);
			if (read(go[0], &c, 1) != 0)
				_exit(101);
			for (int i = k; k < LOGGERS && i < LOGINS;
			     i += LOGGERS) {
				snprintf(sid, sizeof(sid), "%064x", i + 1);
				if (fixture_login_as(mine, sid, uid[i % USERS],
						     1000, 1000 + 86400000LL,
						     &p) != EC_OK)
					_exit(102);
			}
			for (int i = 0; k >= LOGGERS && i < APPENDS; i++)
				if (store_event_append(mine, "order", "1",
						       clock_wall_ms(),
						       NULL) != EC_OK)
					_exit(103);
			store_close(mine);
			_exit(0);
		}
	}
	close(go[0]);
	close(go[1]);
	for (int k = 0; k < LOGGERS + APPENDERS; k++) {
		ck_assert_int_eq(waitpid(pid[k], &status, 0), pid[k]);
		ck_assert(WIFEXITED(status));
		ck_assert_int_eq(WEXITSTATUS(status), 0);
	}
	ck_assert_int_eq(
		store_events_after(st, 0, sizeof(l.id), pair_on_event, &l),
		EC_OK);
	ck_assert_uint_eq(l.n, LOGINS * 2 + APPENDERS * APPENDS);
	for (size_t i = 0; i < l.n; i++) {
		if (l.kind[i] != 'c')
			continue;
		ck_assert_uint_lt(i + 1, l.n);
		ck_assert_msg(l.kind[i + 1] == 'u' &&
				      l.id[i + 1] == l.id[i] + 1,
			      "user count at id %" PRId64 " not followed by "
			      "its user at the next id",
			      l.id[i]);
		ck_assert_int_eq(l.count[i], want);
		want++;
	}
	ck_assert_int_eq(want, LOGINS + 1);
	store_close(st);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("store_order");
	TCase *tc = tcase_create("order");

	if (fixture_begin("store_order") != 0)
		return 1;
	tcase_add_checked_fixture(tc, fixture_setup, fixture_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_order_concurrent_appends);
	tcase_add_test(tc, test_pairs_among_appends);
	suite_add_tcase(s, tc);
	return fixture_run(s);
}
