/* test_store.c -- the SQLite store on a real file in a temporary directory.
 *
 * Each test gets a fresh directory under /tmp (mkdtemp, removed after) and
 * explicit now_ms values, so nothing depends on the clock.  sqlite3 is used
 * directly only to look at what the store wrote (sqlite_master, row counts)
 * or to fake a foreign database; everything else goes through store.h.
 */
#include "autoconfig.h"

#include <check.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "backend.h"
#include "buf.h"
#include "io.h"
#include "log.h"
#include "login.h"
#include "notify.h"
#include "presence.h"
#include "sqlite_migrations.h"
#ifdef HAVE_POSTGRESQL
#include "postgresql_migrations.h"
#endif
#include "fixture.h"
#include "store.h"

#define HASH "$y$j9T$salt$hash"
#define DAY_MS (24 * 3600 * 1000LL)

static void setup(void)
{
	fixture_setup();
}

/* ---- collecting events ---- */

/* ---- looking underneath ---- */

/* SQLite or PostgreSQL, whichever is under test (fixture.h). */
static int64_t sql_int(const char *sql)
{
	return fixture_sql_i64(sql);
}

/* The schema version the database under test has, set by hand. */
static void set_version(int v)
{
	char sql[64];

	snprintf(sql, sizeof(sql),
		 fixture_pg ? "UPDATE emitcgi_schema SET version = %d"
			    : "PRAGMA user_version = %d",
		 v);
	fixture_sql_exec(sql);
}

static int schema_version(void)
{
	return store_backend_for(fixture_db)->schema_version();
}

static void sql_exec(const char *path, const char *sql)
{
	sqlite3 *db;

	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK,
		      "%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_close(db);
}

/* SQL text without comments and with whitespace normalised, so that
 * schema.sql may carry comments inside CREATE TABLE. */
static void sql_normalise(const char *in, struct buf *out)
{
	bool space = false;

	for (const char *p = in; *p; p++) {
		if (p[0] == '-' && p[1] == '-') {
			while (*p && *p != '\n')
				p++;
			if (!*p)
				break;
		}
		if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
			space = true;
			continue;
		}
		if (space && out->len > 0 && *p != ')' && *p != ',' &&
		    buf_str(out)[out->len - 1] != '(')
			ck_assert_int_eq(buf_addc(out, ' '), EC_OK);
		space = false;
		ck_assert_int_eq(buf_addc(out, *p), EC_OK);
	}
}

/* sqlite_master of a database, one normalised line per object. */
static void schema_dump(const char *path, struct buf *out)
{
	sqlite3 *db;
	sqlite3_stmt *s;

	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	ck_assert_int_eq(
		sqlite3_prepare_v2(
			db,
			"SELECT type, name, tbl_name, sql FROM sqlite_master "
			"ORDER BY type, name",
			-1, &s, NULL),
		SQLITE_OK);
	while (sqlite3_step(s) == SQLITE_ROW) {
		const char *sql = (const char *)sqlite3_column_text(s, 3);

		ck_assert_int_eq(buf_printf(out, "%s|%s|%s|",
					    sqlite3_column_text(s, 0),
					    sqlite3_column_text(s, 1),
					    sqlite3_column_text(s, 2)),
				 EC_OK);
		sql_normalise(sql ? sql : "", out);
		ck_assert_int_eq(buf_addc(out, '\n'), EC_OK);
	}
	sqlite3_finalize(s);
	ck_assert_int_eq(
		sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL),
		SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	ck_assert_int_eq(
		buf_printf(out, "user_version=%d\n", sqlite3_column_int(s, 0)),
		EC_OK);
	sqlite3_finalize(s);
	sqlite3_close(db);
}

/* ---- migrations and opening ---- */

START_TEST(test_migrate_fresh_and_again)
{
	struct store *st = NULL;
	int from = -1, to = -1, v = -1;

	ck_assert_int_ge(schema_version(), 1);
	ck_assert_int_eq(store_schema_version(), sqlite_migrations_count);
	ck_assert_int_eq(store_migrate(fixture_db, &from, &to), EC_OK);
	ck_assert_int_eq(from, 0);
	ck_assert_int_eq(to, schema_version());
	ck_assert_int_eq(store_migrate(fixture_db, &from, &to), EC_OK);
	ck_assert_int_eq(from, schema_version());
	ck_assert_int_eq(to, schema_version());
	ck_assert_int_eq(sql_int(fixture_pg
					 ? "SELECT version FROM emitcgi_schema"
					 : "PRAGMA user_version"),
			 schema_version());
	ck_assert_int_eq(store_open(fixture_db, &st), EC_OK);
	ck_assert_int_eq(store_health(st, &v), EC_OK);
	ck_assert_int_eq(v, schema_version());
	store_close(st);
	ck_assert_int_eq(store_migrate(fixture_db, NULL, NULL), EC_OK);
}
END_TEST

START_TEST(test_migrate_concurrent)
{
	enum { KIDS = 4 };
	pid_t pid[KIDS];
	int status;
	struct store *st = NULL;

	/* Several processes starting at once on a missing file: every one
	 * succeeds and each migration runs once (the version is re-read
	 * under the lock). */
	for (int i = 0; i < KIDS; i++) {
		pid[i] = fork();
		ck_assert_int_ge(pid[i], 0);
		if (pid[i] == 0)
			_exit(store_migrate(fixture_db, NULL, NULL) == EC_OK
				      ? 0
				      : 1);
	}
	for (int i = 0; i < KIDS; i++) {
		ck_assert_int_eq(waitpid(pid[i], &status, 0), pid[i]);
		ck_assert(WIFEXITED(status));
		ck_assert_int_eq(WEXITSTATUS(status), 0);
	}
	ck_assert_int_eq(store_open(fixture_db, &st), EC_OK);
	store_close(st);
	ck_assert_int_eq(
		sql_int(fixture_pg ? "SELECT count(*) FROM pg_tables WHERE "
				     "schemaname = current_schema() AND "
				     "tablename = 'users'"
				   : "SELECT count(*) FROM sqlite_master "
				     "WHERE name = 'users'"),
		1);
}
END_TEST

START_TEST(test_schema_sql_equals_migrations)
{
	char other[160];
	struct buf a, b;

	buf_init(&a, 1 << 20);
	buf_init(&b, 1 << 20);
	ck_assert_int_eq(store_migrate(fixture_db, NULL, NULL), EC_OK);
	snprintf(other, sizeof(other), "%s/schema.db", fixture_dir);
	ck_assert_ptr_nonnull(strstr(sqlite_schema, "CREATE TABLE"));
	sql_exec(other, sqlite_schema);
	schema_dump(fixture_db, &a);
	schema_dump(other, &b);
	ck_assert_ptr_nonnull(strstr(buf_str(&a), "table|events|events|"));
	ck_assert_str_eq(buf_str(&a), buf_str(&b));
	buf_release(&a);
	buf_release(&b);
}
END_TEST

START_TEST(test_open_unusable)
{
	char path[160], sql[64];
	struct store *st = (struct store *)1;
	struct stat sb;
	int fd, from = -1, to = -1;

	/* missing file */
	ck_assert_int_eq(store_open(fixture_db, &st), EC_DB_SCHEMA);
	ck_assert_ptr_null(st);
	ck_assert_int_ne(access(fixture_db, F_OK), 0);

	/* empty file: refused and left untouched */
	snprintf(path, sizeof(path), "%s/empty.db", fixture_dir);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(store_open(path, &st), EC_DB_SCHEMA);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(sb.st_size, 0);

	/* not a database */
	snprintf(path, sizeof(path), "%s/junk.db", fixture_dir);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	ck_assert_int_ge(fd, 0);
	for (int i = 0; i < 64; i++)
		ck_assert_int_eq(write(fd, "this is not sqlite at all\n", 26),
				 26);
	close(fd);
	/* issue 9: a damaged file is a fault (503 + Retry-After), not
	 * "run emitcgi init" */
	ck_assert_int_eq(store_open(path, &st), EC_DB_CORRUPT);
	ck_assert_int_eq(store_migrate(path, NULL, NULL), EC_DB_CORRUPT);

	/* newer than this program */
	ck_assert_int_eq(store_migrate(fixture_db, NULL, NULL), EC_OK);
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
		 store_schema_version() + 1);
	sql_exec(fixture_db, sql);
	ck_assert_int_eq(store_open(fixture_db, &st), EC_DB_SCHEMA);
	ck_assert_int_eq(store_migrate(fixture_db, &from, &to), EC_DB_SCHEMA);
	ck_assert_int_eq(from, store_schema_version() + 1);
	ck_assert_int_eq(to, store_schema_version() + 1);
}
END_TEST

START_TEST(test_health_sees_replaced_schema)
{
	struct store *st = fixture_store();
	int v = 0;

	set_version(schema_version() + 1);
	ck_assert_int_eq(store_health(st, &v), EC_DB_SCHEMA);
	ck_assert_int_eq(v, schema_version() + 1);
	store_close(st);
}
END_TEST

#ifdef HAVE_POSTGRESQL
/* A fingerprint of schema <current_schema()><suffix>: columns, indexes and
 * triggers, names of the schema removed. */
static int64_t pg_schema_hash(const char *suffix)
{
	char sql[1536];

	snprintf(
		sql, sizeof(sql),
		"WITH s(n) AS (SELECT current_schema() || '%s') "
		"SELECT ('x' || substr(md5(coalesce(string_agg(x, '|' "
		"ORDER BY x), '')), 1, 15))::bit(60)::bigint FROM ("
		"SELECT table_name || '.' || column_name || ':' || data_type "
		"|| ':' || is_nullable || ':' || replace(coalesce("
		"column_default, ''), s.n || '.', '') "
		"|| ':' || is_identity FROM information_schema.columns, s "
		"WHERE table_schema = s.n "
		"UNION ALL SELECT indexname || ':' || replace(indexdef, "
		"s.n || '.', '') FROM pg_indexes, s WHERE schemaname = s.n "
		"UNION ALL SELECT c.relname || ':' || t.tgname FROM pg_trigger "
		"t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace ns "
		"ON ns.oid = c.relnamespace, s WHERE ns.nspname = s.n AND NOT "
		"t.tgisinternal) t(x)",
		suffix);
	return fixture_sql_i64(sql);
}

/* sql/postgresql/schema.sql builds what the migrations build. */
START_TEST(test_schema_sql_equals_migrations_pg)
{
	struct buf sql;

	buf_init(&sql, 1 << 20);
	ck_assert_int_eq(store_migrate(fixture_db, NULL, NULL), EC_OK);
	buf_adds(&sql, "DO $$ BEGIN EXECUTE format('CREATE SCHEMA %I', "
		       "current_schema() || '_b'); PERFORM "
		       "set_config('search_path', current_schema() || '_b', "
		       "false); END $$;\n");
	buf_adds(&sql, postgresql_schema);
	fixture_sql_exec(buf_str(&sql));
	ck_assert_int_ne(pg_schema_hash(""), pg_schema_hash("_none"));
	ck_assert_int_eq(pg_schema_hash(""), pg_schema_hash("_b"));
	buf_release(&sql);
}
END_TEST
#endif

/* PostgreSQL: an uninitialised schema is refused and left unwritten; a
 * newer one is refused by open and by migrate. */
START_TEST(test_open_unusable_pg)
{
	struct store *st = (struct store *)1;
	int from = -1, to = -1;

	ck_assert_int_eq(store_open(fixture_db, &st), EC_DB_SCHEMA);
	ck_assert_ptr_null(st);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM pg_tables WHERE "
				 "schemaname = current_schema()"),
			 0);
	ck_assert_int_eq(store_migrate(fixture_db, NULL, NULL), EC_OK);
	set_version(schema_version() + 1);
	ck_assert_int_eq(store_open(fixture_db, &st), EC_DB_SCHEMA);
	ck_assert_int_eq(store_migrate(fixture_db, &from, &to), EC_DB_SCHEMA);
	ck_assert_int_eq(from, schema_version() + 1);
	ck_assert_int_eq(to, schema_version() + 1);
}
END_TEST

/* ---- users ---- */

START_TEST(test_users)
{
	struct store *st = fixture_store();
	struct store_user u;
	char long_name[STORE_USERNAME_MAX + 2];

	ck_assert_int_eq(store_user_add(st, "alice", HASH, 1000), EC_OK);
	ck_assert_int_eq(store_user_add(st, "alice", HASH, 1001),
			 EC_USERNAME_TAKEN);
	ck_assert_int_eq(store_user_add(st, "ALICE", HASH, 1002),
			 EC_USERNAME_TAKEN);
	ck_assert_int_eq(store_user_add(st, "Bob.b-1_", "$y$other", 1003),
			 EC_OK);

	ck_assert_int_eq(store_user_find(st, "aLiCe", &u), EC_OK);
	ck_assert_str_eq(u.username, "alice");
	ck_assert_str_eq(u.password_hash, HASH);
	ck_assert_int_gt(u.id, 0);
	ck_assert_int_eq(store_user_find(st, "bob.B-1_", &u), EC_OK);
	ck_assert_str_eq(u.username, "Bob.b-1_");
	ck_assert_str_eq(u.password_hash, "$y$other");
	ck_assert_int_eq(store_user_find(st, "carol", &u), EC_NOT_FOUND);
	ck_assert_int_eq(store_user_find(st, "", &u), EC_NOT_FOUND);

	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	ck_assert_int_eq(store_user_add(st, long_name, HASH, 1),
			 EC_INVALID_USERNAME);
	ck_assert_int_eq(store_user_add(st, "", HASH, 1), EC_INVALID_USERNAME);
	long_name[STORE_USERNAME_MAX] = '\0';
	ck_assert_int_eq(store_user_add(st, long_name, HASH, 1), EC_OK);
	ck_assert_int_eq(store_user_find(st, long_name, &u), EC_OK);
	ck_assert_str_eq(u.username, long_name);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM users"), 3);
	store_close(st);
}
END_TEST

/* ---- login throttling ---- */

enum fail_op { F_GET, F_ADD, F_CLEAR };

static const struct fail_row {
	enum fail_op op;
	const char *name;
	int64_t now_ms;
	int want_failures;   /* F_GET */
	int64_t want_end_ms; /* F_GET */
} fail_rows[] = {
	{ F_GET, "alice", 0, 0, 0 },
	{ F_ADD, "alice", 100, 0, 0 },
	{ F_GET, "alice", 100, 1, 1100 },
	{ F_ADD, "ALICE", 500, 0, 0 }, /* same name, other case */
	{ F_GET, "Alice", 1099, 2, 1100 },
	{ F_GET, "bob", 1099, 0, 0 },
	{ F_GET, "alice", 1100, 0, 0 }, /* the window has ended */
	{ F_ADD, "alice", 1100, 0, 0 }, /* a new one starts */
	{ F_GET, "alice", 1100, 1, 2100 },
	{ F_ADD, "alice", 2099, 0, 0 },
	{ F_ADD, "alice", 2099, 0, 0 },
	{ F_GET, "alice", 2099, 3, 2100 },
	{ F_CLEAR, "alice", 0, 0, 0 },
	{ F_GET, "alice", 2099, 0, 0 },
	{ F_CLEAR, "nobody", 0, 0, 0 },
};

START_TEST(test_login_failures)
{
	struct store *st = fixture_store();
	int failures;
	int64_t end;

	for (size_t i = 0; i < sizeof(fail_rows) / sizeof(fail_rows[0]); i++) {
		const struct fail_row *r = &fail_rows[i];

		switch (r->op) {
		case F_GET:
			failures = -1;
			end = -1;
			ck_assert_int_eq(store_login_failures(st, r->name,
							      r->now_ms,
							      &failures, &end),
					 EC_OK);
			ck_assert_msg(failures == r->want_failures &&
					      end == r->want_end_ms,
				      "row %zu: %d failures until %" PRId64, i,
				      failures, end);
			break;
		case F_ADD:
			ck_assert_int_eq(store_login_failure_add(
						 st, r->name, r->now_ms, 1000),
					 EC_OK);
			break;
		case F_CLEAR:
			ck_assert_int_eq(
				store_login_failures_clear(st, r->name), EC_OK);
			break;
		}
	}
	/* The reaper drops ended windows and keeps open ones. */
	ck_assert_int_eq(store_login_failure_add(st, "bob", 0, 10), EC_OK);
	ck_assert_int_eq(store_login_failure_add(st, "carol", 0, 1000), EC_OK);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM login_failures"), 2);
	ck_assert_int_eq(presence_reap(st, 10, 60000, NULL), EC_OK);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM login_failures"), 1);
	ck_assert_int_eq(store_login_failures(st, "carol", 10, &failures, &end),
			 EC_OK);
	ck_assert_int_eq(failures, 1);
	store_close(st);
}
END_TEST

/* ---- sessions and presence ---- */

START_TEST(test_find_expired)
{
	struct store *st = fixture_store();
	struct presence_change p;
	struct store_session s;
	int64_t uid = fixture_add_user(st, "alice");

	ck_assert_int_eq(
		fixture_login_as(st, fixture_sid_of(1), uid, 1000, 9000, &p),
		EC_OK);
	ck_assert_int_eq(store_session_find(st, fixture_sid_of(1), 8999, &s),
			 EC_OK);
	ck_assert_int_eq(store_session_find(st, fixture_sid_of(1), 9000, &s),
			 EC_NOT_FOUND);
	ck_assert_int_eq(store_session_find(st, fixture_sid_of(1), 20000, &s),
			 EC_NOT_FOUND);
	ck_assert_int_eq(store_session_find(st, "", 0, &s), EC_NOT_FOUND);
	store_close(st);
}
END_TEST

/* ---- store_transaction() and the functions that join it ---- */

/* What tx_script() does inside store_transaction(), and what it saw. */
struct script {
	int64_t uid;
	const char *sid;
	enum ecode fail;     /* returned at the end instead of EC_OK */
	bool misuse;	     /* also call what may not be called inside */
	int64_t count;	     /* from store_session_insert() */
	int64_t ids[2];	     /* from store_event_append() */
	int64_t last_inside; /* store_last_event_id() inside */
	bool session_inside; /* store_session_find() inside saw it */
};

static enum ecode tx_script(struct store *st, void *arg)
{
	struct script *x = arg;
	struct store_session s;
	struct store_snapshot snap;
	struct presence_change p;
	enum ecode rc;

	rc = store_session_insert(st, x->sid, x->uid, 1000, DAY_MS, &x->count);
	if (rc != EC_OK)
		return rc;
	ck_assert_int_eq(store_event_append(st, "a", "1", 1000, &x->ids[0]),
			 EC_OK);
	/* validation (io.c's now) still applies, and leaves the transaction
	 * usable */
	ck_assert_int_eq(io_append(st, "a", "{", 1000, NULL), EC_INVALID_JSON);
	ck_assert_int_eq(store_event_append(st, "b", "[2]", 1000, &x->ids[1]),
			 EC_OK);
	/* plain reads see the transaction's own writes */
	ck_assert_int_eq(store_last_event_id(st, &x->last_inside), EC_OK);
	x->session_inside = store_session_find(st, x->sid, 1000, &s) == EC_OK;
	if (x->misuse) {
		ck_assert_int_eq(store_transaction(st, tx_script, x),
				 EC_INTERNAL);
		ck_assert_int_eq(store_user_add(st, "eve", HASH, 1),
				 EC_INTERNAL);
		ck_assert_int_eq(presence_logout(st, x->sid, &p), EC_INTERNAL);
		ck_assert_int_eq(store_snapshot(st, &snap), EC_INTERNAL);
	}
	return x->fail;
}

static const struct tx_row {
	const char *what;
	bool known_user;
	enum ecode fail;
	bool misuse;
	enum ecode want;
} tx_rows[] = {
	{ "commits", true, EC_OK, false, EC_OK },
	{ "misuse inside is refused, the rest commits", true, EC_OK, true,
	  EC_OK },
	{ "fn fails: all rolled back", true, EC_INTERNAL, false, EC_INTERNAL },
	{ "fn fails after misuse", true, EC_DB_BUSY, true, EC_DB_BUSY },
	{ "unknown user", false, EC_OK, false, EC_NOT_FOUND },
};

START_TEST(test_transaction)
{
	const struct tx_row *r = &tx_rows[_i];
	struct store *st = fixture_store();
	struct store_session s;
	struct store_snapshot snap;
	struct fixture_evlist l = { 0 };
	int64_t uid = fixture_add_user(st, "alice"), before, count = -1;
	struct script x = {
		.uid = r->known_user ? uid : uid + 100,
		.sid = fixture_sid_of(1),
		.fail = r->fail,
		.misuse = r->misuse,
	};
	bool ok = r->want == EC_OK;
	int calls = 0;

	/* one event before, so that ids are not all 1 and 2 */
	ck_assert_int_eq(store_event_append(st, "x", "0", 1, &before), EC_OK);
	store_set_commit_hook(st, fixture_count_hook, &calls);
	ck_assert_msg(store_transaction(st, tx_script, &x) == r->want, "%s",
		      r->what);
	ck_assert_int_eq(calls, ok ? 1 : 0);
	if (r->known_user) {
		ck_assert_int_eq(x.count, 1);
		ck_assert_int_eq(x.ids[0], before + 1);
		ck_assert_int_eq(x.ids[1], before + 2);
		ck_assert_int_eq(x.last_inside, before + 2);
		ck_assert(x.session_inside);
	}
	fixture_collect(st, before, 100, &l);
	ck_assert_uint_eq(l.n, ok ? 2 : 0);
	if (ok) {
		ck_assert_int_eq(l.ev[0].id, x.ids[0]);
		ck_assert_str_eq(l.ev[0].name, "a");
		ck_assert_str_eq(l.ev[1].data, "[2]");
	}
	ck_assert_int_eq(store_session_find(st, x.sid, 1000, &s),
			 ok ? EC_OK : EC_NOT_FOUND);
	ck_assert_int_eq(store_snapshot(st, &snap), EC_OK);
	ck_assert_int_eq(snap.current_users, ok ? 1 : 0);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM users"), 1);

	/* the connection is usable afterwards, and outside a transaction
	 * store_session_insert() is refused */
	ck_assert_int_eq(store_session_insert(st, fixture_sid_of(2), uid, 1,
					      DAY_MS, &count),
			 EC_INTERNAL);
	ck_assert_int_eq(count, -1);
	ck_assert_int_eq(store_event_append(st, "x", "3", 1, NULL), EC_OK);
	ck_assert_int_eq(calls, ok ? 2 : 1);
	store_close(st);
}
END_TEST

static enum ecode tx_insert_one(struct store *st, void *arg)
{
	struct script *x = arg;

	return store_session_insert(st, x->sid, x->uid, 1000, DAY_MS,
				    &x->count);
}

START_TEST(test_session_insert_counts)
{
	struct store *a = fixture_store(), *b = NULL;
	struct script x = { 0 };
	struct fixture_evlist l = { 0 };
	int64_t uid = fixture_add_user(a, "alice");
	int calls = 0;

	ck_assert_int_eq(store_open(fixture_db, &b), EC_OK);
	store_set_commit_hook(a, fixture_count_hook, &calls);
	/* every connection's sessions count; no events of its own, so no
	 * hook either */
	x.uid = uid;
	for (int i = 0; i < 4; i++) {
		x.sid = fixture_sid_of(i + 1);
		ck_assert_int_eq(
			store_transaction(i % 2 ? b : a, tx_insert_one, &x),
			EC_OK);
		ck_assert_int_eq(x.count, i + 1);
	}
	ck_assert_int_eq(calls, 0);
	fixture_collect(a, 0, 100, &l);
	ck_assert_uint_eq(l.n, 0);
	/* a token is unique: the second insert fails, nothing changes */
	x.sid = fixture_sid_of(1);
	ck_assert_int_eq(store_transaction(a, tx_insert_one, &x), EC_DB);
	ck_assert_int_eq(sql_int("SELECT count(*) FROM sessions"), 4);
	/* a session that is offline does not count */
	ck_assert_int_eq(presence_reap(a, 1000 + 61000, 60000, NULL), EC_OK);
	x.sid = fixture_sid_of(5);
	ck_assert_int_eq(store_transaction(a, tx_insert_one, &x), EC_OK);
	ck_assert_int_eq(x.count, 1);
	store_close(b);
	store_close(a);
}
END_TEST

/* ---- the event log ---- */

START_TEST(test_snapshot)
{
	struct store *st = fixture_store();
	struct presence_change p;
	struct store_snapshot snap;
	int64_t alice = fixture_add_user(st, "alice");
	int64_t bob = fixture_add_user(st, "bob");
	int64_t last = -1;

	ck_assert_int_eq(store_snapshot(st, &snap), EC_OK);
	ck_assert_int_eq(snap.current_users, 0);
	ck_assert_int_eq(snap.unique_users, 0);
	ck_assert_int_eq(snap.last_id, 0);
	ck_assert_int_eq(snap.first_id, 0);
	ck_assert_int_eq(store_last_event_id(st, &last), EC_OK);
	ck_assert_int_eq(last, 0);

	ck_assert_int_eq(fixture_login_as(st, fixture_sid_of(1), alice, 1000,
					  DAY_MS, &p),
			 EC_OK);
	ck_assert_int_eq(fixture_login_as(st, fixture_sid_of(2), alice, 1000,
					  DAY_MS, &p),
			 EC_OK);
	ck_assert_int_eq(
		fixture_login_as(st, fixture_sid_of(3), bob, 1000, DAY_MS, &p),
		EC_OK);
	ck_assert_int_eq(store_snapshot(st, &snap), EC_OK);
	ck_assert_int_eq(snap.current_users, 3);
	ck_assert_int_eq(snap.unique_users, 2);
	ck_assert_int_eq(snap.last_id, 6);
	ck_assert_int_eq(snap.first_id, 1);
	ck_assert_int_eq(store_last_event_id(st, &last), EC_OK);
	ck_assert_int_eq(last, 6);

	ck_assert_int_eq(presence_logout(st, fixture_sid_of(3), &p), EC_OK);
	ck_assert_int_eq(store_snapshot(st, &snap), EC_OK);
	ck_assert_int_eq(snap.current_users, 2);
	ck_assert_int_eq(snap.unique_users, 1);
	ck_assert_int_eq(snap.last_id, 8);
	store_close(st);
}
END_TEST

static void append_n(struct store *st, int n)
{
	char data[32];
	int64_t id;

	for (int i = 0; i < n; i++) {
		snprintf(data, sizeof(data), "{\"i\":%d}", i);
		ck_assert_int_eq(
			store_event_append(st, "chat", data, 1000 + i, &id),
			EC_OK);
	}
}

START_TEST(test_events_after_limit)
{
	struct store *st = fixture_store();
	struct fixture_evlist l = { 0 };

	append_n(st, 10);
	fixture_collect(st, 3, 4, &l);
	ck_assert_uint_eq(l.n, 4);
	for (size_t i = 0; i < 4; i++)
		ck_assert_int_eq(l.ev[i].id, 4 + (int64_t)i);
	ck_assert_str_eq(l.ev[0].name, "chat");
	ck_assert_str_eq(l.ev[0].data, "{\"i\":3}");
	fixture_collect(st, 0, 100, &l);
	ck_assert_uint_eq(l.n, 10);
	fixture_collect(st, 9, 100, &l);
	ck_assert_uint_eq(l.n, 1);
	ck_assert_int_eq(l.ev[0].id, 10);
	fixture_collect(st, 10, 100, &l);
	ck_assert_uint_eq(l.n, 0);
	fixture_collect(st, 0, 0, &l);
	ck_assert_uint_eq(l.n, 0);
	fixture_collect(st, -5, (size_t)-1, &l);
	ck_assert_uint_eq(l.n, 10);

	/* a callback's error stops the walk and is returned */
	memset(&l, 0, sizeof(l));
	l.stop_after = 3;
	ck_assert_int_eq(store_events_after(st, 0, 100, fixture_collect_cb, &l),
			 EC_INTERNAL);
	ck_assert_uint_eq(l.n, 3);
	store_close(st);
}
END_TEST

/* What data may be appended is io.c's rule now: the rows that were here
 * (store_event_append()'s checks) are test_io.c's test_append_checks.  The
 * primitive appends what it is given. */
START_TEST(test_event_append_raw)
{
	struct store *st = fixture_store();
	struct fixture_evlist l = { 0 };
	int64_t id = -1;

	ck_assert_int_eq(store_event_append(st, "x", "{", 1, &id), EC_OK);
	ck_assert_int_eq(id, 1);
	ck_assert_int_eq(store_event_append(st, NULL, "1", 1, NULL),
			 EC_INTERNAL);
	ck_assert_int_eq(store_event_append(st, "x", NULL, 1, NULL),
			 EC_INTERNAL);
	fixture_collect(st, 0, 100, &l);
	ck_assert_uint_eq(l.n, 1);
	ck_assert_str_eq(l.ev[0].data, "{");
	store_close(st);
}
END_TEST

/* Every backend fills every entry of its table (backend.h); the default
 * (prefix NULL) is last and takes any EMITCGI_DB. */
/* Readable within 10 s (a bound on waiting for a condition, not a timing
 * check: the notification is expected at once). */
static bool readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 10000) == 1;
}

/* An append inside a transaction of the exclusive kind (as a login's). */
static enum ecode tx_append(struct store *st, void *ctx)
{
	(void)ctx;
	return store_event_append(st, "y", "3", 1, NULL);
}

/* PostgreSQL: the hub's wake-up across processes is the store's LISTEN
 * connection behind notify.h.  A commit with events on another connection
 * makes notify_fd() readable; after the listening connection is killed
 * (as a server restart would), notify_drain() reconnects and the same
 * descriptor keeps working. */
START_TEST(test_notify_listen_pg)
{
	struct store *st = fixture_store();
	struct notify *n = NULL, *poker = NULL;
	int fd;

	ck_assert(store_db_listens(fixture_db));
	ck_assert(!store_db_listens("/tmp/x.db"));
	ck_assert_int_eq(notify_open(fixture_db, true, &n), EC_OK);
	ck_assert_int_eq(notify_open(fixture_db, false, &poker), EC_OK);
	notify_poke(poker); /* nothing: the server notifies */
	fd = notify_fd(n);
	ck_assert_int_ge(fd, 0);

	ck_assert_int_eq(store_event_append(st, "x", "1", 1, NULL), EC_OK);
	ck_assert(readable(fd));
	notify_drain(n);

	/* The listener is killed: the descriptor reports it, the drain
	 * reconnects. */
	ck_assert_int_eq(
		fixture_sql_i64("SELECT count(pg_terminate_backend(pid)) "
				"FROM pg_stat_activity WHERE query = "
				"'LISTEN emitcgi_events' AND "
				"pid <> pg_backend_pid()"),
		1);
	ck_assert(readable(fd));
	notify_drain(n);
	ck_assert_int_eq(notify_fd(n), fd);
	ck_assert_int_eq(store_user_add(st, "quiet", "$y$h", 1), EC_OK);
	ck_assert_int_eq(store_event_append(st, "x", "2", 1, NULL), EC_OK);
	ck_assert(readable(fd));
	notify_drain(n);
	/* The NOTIFY after a COMMIT of store_transaction() (migration 4:
	 * no trigger; pg_commit() sends it in the COMMIT's round trip). */
	ck_assert_int_eq(store_transaction(st, tx_append, NULL), EC_OK);
	ck_assert(readable(fd));
	notify_drain(n);
	/* A row inserted by hand takes its id the same way (the column
	 * default) and comes after the others. */
	fixture_sql_exec("INSERT INTO events (name, data, created_ms) "
			 "VALUES ('h', '4', 1)");
	ck_assert_int_eq(fixture_sql_i64("SELECT max(id) FROM events WHERE "
					 "name = 'h'"),
			 fixture_sql_i64("SELECT max(id) FROM events"));
	notify_close(poker);
	notify_close(n);
	store_close(st);
}
END_TEST

START_TEST(test_backend_tables)
{
	const struct store_backend *const *b;
	size_t n = 0;

	for (b = store_backends; *b; b++, n++) {
		const struct store_backend *be = *b;
		const void *const entries[] = {
			(const void *)be->name,
			(const void *)(uintptr_t)be->schema_version,
			(const void *)(uintptr_t)be->migrate,
			(const void *)(uintptr_t)be->open,
			(const void *)(uintptr_t)be->close,
			(const void *)(uintptr_t)be->read_version,
			(const void *)(uintptr_t)be->begin,
			(const void *)(uintptr_t)be->commit,
			(const void *)(uintptr_t)be->rollback,
			(const void *)(uintptr_t)be->user_add,
			(const void *)(uintptr_t)be->user_find,
			(const void *)(uintptr_t)be->login_failures_get,
			(const void *)(uintptr_t)be->login_failure_add,
			(const void *)(uintptr_t)be->login_failures_clear,
			(const void *)(uintptr_t)be->login_failures_expire,
			(const void *)(uintptr_t)be->session_insert,
			(const void *)(uintptr_t)be->session_find,
			(const void *)(uintptr_t)be->session_delete,
			(const void *)(uintptr_t)be->session_seen,
			(const void *)(uintptr_t)be->session_offline,
			(const void *)(uintptr_t)be->sessions_stale,
			(const void *)(uintptr_t)be->housekeeping_due,
			(const void *)(uintptr_t)be->sessions_delete_expired,
			(const void *)(uintptr_t)be->online_count,
			(const void *)(uintptr_t)be->online_users,
			(const void *)(uintptr_t)be->event_insert,
			(const void *)(uintptr_t)be->events_after,
			(const void *)(uintptr_t)be->event_bounds,
			(const void *)(uintptr_t)be->events_trim,
			(const void *)(uintptr_t)be->probe_write,
			(const void *)(uintptr_t)be->user_sessions_cap,
			(const void *)(uintptr_t)be->sio_insert,
			(const void *)(uintptr_t)be->sio_get,
			(const void *)(uintptr_t)be->sio_update,
			(const void *)(uintptr_t)be->sio_expire,
			(const void *)(uintptr_t)be->sio_pending,
		};
		/* optional: claims; listen_* all or none */
		const void *const listen[] = {
			(const void *)(uintptr_t)be->listen_open,
			(const void *)(uintptr_t)be->listen_fd,
			(const void *)(uintptr_t)be->listen_drain,
			(const void *)(uintptr_t)be->listen_reconnect,
			(const void *)(uintptr_t)be->listen_close,
		};
		/* optional: claims, begin_append */
		const size_t n_opt = 2 + sizeof(listen) / sizeof(listen[0]);

		/* a new entry in backend.h needs a line above */
		ck_assert_uint_eq(sizeof(entries) / sizeof(entries[0]) + n_opt,
				  (sizeof(*be) - sizeof(be->prefix)) /
					  sizeof(void *));
		for (size_t i = 1; i < sizeof(listen) / sizeof(listen[0]); i++)
			ck_assert((listen[i] != NULL) == (listen[0] != NULL));
		for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]);
		     i++)
			ck_assert_msg(entries[i] != NULL, "%s: entry %zu empty",
				      be->name ? be->name : "?", i);
		if (!b[1])
			ck_assert_ptr_null(be->prefix);
		else
			ck_assert_ptr_nonnull(be->prefix);
	}
	ck_assert_uint_ge(n, 1);
	ck_assert_ptr_eq(store_backend_for("/var/lib/emitcgi/emitcgi.db"),
			 &store_backend_sqlite);
	ck_assert_ptr_eq(store_backend_for("emitcgi.db"),
			 &store_backend_sqlite);
	ck_assert_ptr_eq(store_backend_for("./a=b.db"), &store_backend_sqlite);
	ck_assert_ptr_eq(store_backend_for(NULL), &store_backend_sqlite);
	ck_assert(store_db_is_postgresql("postgresql://u@h/db"));
	ck_assert(store_db_is_postgresql("postgres://h/db"));
	ck_assert(store_db_is_postgresql("host=/run/postgresql dbname=e"));
	ck_assert(store_db_is_postgresql("dbname = e"));
	ck_assert(!store_db_is_postgresql("/tmp/host=x.db"));
	ck_assert(!store_db_is_postgresql("Host=x"));
	ck_assert(!store_db_is_postgresql("postgresql.db"));
#ifdef HAVE_POSTGRESQL
	ck_assert_ptr_eq(store_backend_for("postgresql://x"),
			 &store_backend_postgresql);
	ck_assert_ptr_eq(store_backend_for("postgres://x"),
			 &store_backend_postgresql);
	ck_assert_ptr_eq(store_backend_for("host=x dbname=y"),
			 &store_backend_postgresql);
	ck_assert_ptr_null(store_backend_sqlite.listen_open);
	ck_assert_ptr_nonnull(store_backend_postgresql.listen_open);
#else
	/* a clear refusal, never an SQLite file named "postgresql:..." */
	ck_assert_int_eq(store_migrate("postgresql://x", NULL, NULL),
			 EC_CONFIG);
#endif
	ck_assert_int_eq(store_schema_version(),
			 store_backend_sqlite.schema_version());
}
END_TEST

START_TEST(test_trim)
{
	struct store *st = fixture_store();
	struct store_snapshot snap;
	struct fixture_evlist l = { 0 };
	int64_t deleted = -1, last, id;

	append_n(st, 10);
	ck_assert_int_eq(store_trim(st, 3, &deleted), EC_OK);
	ck_assert_int_eq(deleted, 7);
	fixture_collect(st, 0, 100, &l);
	ck_assert_uint_eq(l.n, 3);
	ck_assert_int_eq(l.ev[0].id, 8);
	ck_assert_int_eq(l.ev[2].id, 10);
	ck_assert_int_eq(store_snapshot(st, &snap), EC_OK);
	ck_assert_int_eq(snap.first_id, 8);
	ck_assert_int_eq(snap.last_id, 10);

	ck_assert_int_eq(store_trim(st, 3, &deleted), EC_OK);
	ck_assert_int_eq(deleted, 0);
	ck_assert_int_eq(store_trim(st, 100, NULL), EC_OK);
	ck_assert_int_eq(store_event_append(st, "x", "1", 1, &id), EC_OK);
	ck_assert_int_eq(id, 11); /* ids never restart */

	/* keep 0 empties the log; the last id stays */
	ck_assert_int_eq(store_trim(st, 0, &deleted), EC_OK);
	ck_assert_int_eq(deleted, 4);
	fixture_collect(st, 0, 100, &l);
	ck_assert_uint_eq(l.n, 0);
	ck_assert_int_eq(store_last_event_id(st, &last), EC_OK);
	ck_assert_int_eq(last, 11);
	ck_assert_int_eq(store_snapshot(st, &snap), EC_OK);
	ck_assert_int_eq(snap.last_id, 11);
	ck_assert_int_eq(snap.first_id, 0);
	ck_assert_int_eq(store_event_append(st, "x", "2", 1, &id), EC_OK);
	ck_assert_int_eq(id, 12);
	ck_assert_int_eq(store_trim(st, -1, &deleted), EC_INTERNAL);
	store_close(st);

	/* ... also for a new connection */
	ck_assert_int_eq(store_open(fixture_db, &st), EC_OK);
	ck_assert_int_eq(store_trim(st, 0, NULL), EC_OK);
	store_close(st);
	ck_assert_int_eq(store_open(fixture_db, &st), EC_OK);
	ck_assert_int_eq(store_last_event_id(st, &last), EC_OK);
	ck_assert_int_eq(last, 12);
	store_close(st);
}
END_TEST

/* ---- Socket.IO sessions (store_sio_*) ---- */

struct sio_ids {
	int64_t v[8];
	int n;
};

static enum ecode sio_collect_id(void *ctx, int64_t id)
{
	struct sio_ids *ids = ctx;

	ck_assert_int_lt(ids->n, 8);
	ids->v[ids->n++] = id;
	return EC_OK;
}

struct sio_script {
	struct store_sio *row;
	int op; /* 0 insert, 1 update, 2 expire */
	int64_t arg;
};

static enum ecode sio_tx(struct store *st, void *ctx)
{
	struct sio_script *s = ctx;

	if (s->op == 0)
		return store_sio_insert(st, s->row, &s->row->id);
	if (s->op == 1)
		return store_sio_update(st, s->row);
	return store_sio_expire(st, s->arg);
}

START_TEST(test_sio_sessions)
{
	struct store *st = fixture_store();
	static struct store_sio a, b, got;
	struct sio_script s = { .row = &a };
	struct sio_ids ids = { 0 };
	int calls = 0;

	store_set_commit_hook(st, fixture_count_hook, &calls);
	snprintf(a.sid, sizeof(a.sid), "sidA");
	a.ping_due_ms = 100;
	a.seen_ms = 10;
	/* joins only */
	ck_assert_int_eq(store_sio_insert(st, &a, &a.id), EC_INTERNAL);
	ck_assert_int_eq(store_transaction(st, sio_tx, &s), EC_OK);
	ck_assert_int_gt(a.id, 0);
	ck_assert_int_eq(calls, 0); /* nothing queued: no wake-up */
	b = a;
	snprintf(b.sid, sizeof(b.sid), "sidB");
	s.row = &b;
	ck_assert_int_eq(store_transaction(st, sio_tx, &s), EC_OK);
	ck_assert_int_ne(a.id, b.id);
	/* the sid is unique */
	s.row = &got;
	got = a;
	ck_assert_int_ne(store_transaction(st, sio_tx, &s), EC_OK);

	ck_assert_int_eq(store_sio_get(st, "sidA", &got), EC_OK);
	ck_assert_int_eq(got.id, a.id);
	ck_assert_int_eq(got.ping_due_ms, 100);
	ck_assert_str_eq(got.outq, "");
	ck_assert_int_eq(store_sio_get(st, "nope", &got), EC_NOT_FOUND);
	ck_assert_int_eq(store_sio_get_pid(st, "", &got), EC_NOT_FOUND);

	/* every column but sid is written back; packets wake the hubs */
	a.session_id = 7;
	snprintf(a.sock, sizeof(a.sock), "sockA");
	snprintf(a.pid, sizeof(a.pid), "pidA");
	a.cursor = 42;
	a.pong_due_ms = 300;
	a.get_ms = 55;
	a.post_ms = 56;
	a.closed_ms = 0;
	a.flags = STORE_SIO_CONNECTED;
	snprintf(a.outq, sizeof(a.outq),
		 "40{}\x1e"
		 "42[]");
	s.row = &a;
	s.op = 1;
	ck_assert_int_eq(store_transaction(st, sio_tx, &s), EC_OK);
	ck_assert_int_eq(calls, 1);
	ck_assert_int_eq(store_sio_get_pid(st, "pidA", &got), EC_OK);
	ck_assert_int_eq(got.id, a.id);
	ck_assert_int_eq(got.session_id, 7);
	ck_assert_str_eq(got.sock, "sockA");
	ck_assert_int_eq(got.cursor, 42);
	ck_assert_int_eq(got.pong_due_ms, 300);
	ck_assert_int_eq(got.get_ms, 55);
	ck_assert_int_eq(got.post_ms, 56);
	ck_assert_int_eq(got.flags, STORE_SIO_CONNECTED);
	ck_assert_str_eq(got.outq, "40{}\x1e"
				   "42[]");
	ck_assert_int_eq(store_sio_get_id(st, b.id, &got), EC_OK);
	ck_assert_str_eq(got.sid, "sidB");

	/* pending: a held GET (get_ms) with packets, only */
	ck_assert_int_eq(store_sio_pending(st, sio_collect_id, &ids), EC_OK);
	ck_assert_int_eq(ids.n, 1);
	ck_assert_int_eq(ids.v[0], a.id);

	/* expire: by seen_ms */
	b.seen_ms = 1000;
	s.row = &b;
	ck_assert_int_eq(store_transaction(st, sio_tx, &s), EC_OK);
	ck_assert_int_eq(calls, 1); /* b has no packets */
	s.op = 2;
	s.arg = 500;
	ck_assert_int_eq(store_transaction(st, sio_tx, &s), EC_OK);
	ck_assert_int_eq(store_sio_get(st, "sidA", &got), EC_NOT_FOUND);
	ck_assert_int_eq(store_sio_get(st, "sidB", &got), EC_OK);
	store_close(st);
}
END_TEST

START_TEST(test_commit_hook)
{
	struct store *st = fixture_store();
	struct presence_change p;
	struct store_session s1, s2;
	struct store_snapshot snap;
	struct fixture_evlist l = { 0 };
	int64_t uid, ids[2], last;
	int calls = 0, n, failures;

	store_set_commit_hook(st, fixture_count_hook, &calls);
#define EXPECT(stmt, want)                                                     \
	do {                                                                   \
		int before_ = calls;                                           \
		ck_assert_int_eq((stmt), EC_OK);                               \
		ck_assert_msg(calls - before_ == (want), "%s: %d calls",       \
			      #stmt, calls - before_);                         \
	} while (0)

	EXPECT(store_user_add(st, "alice", HASH, 1), 0);
	uid = fixture_add_user(st, "bob");
	ck_assert_int_eq(calls, 0);
	EXPECT(store_login_failure_add(st, "alice", 1, 1000), 0);
	EXPECT(store_login_failures(st, "alice", 1, &failures, &last), 0);
	EXPECT(store_login_failures_clear(st, "alice"), 0);
	EXPECT(fixture_login_as(st, fixture_sid_of(1), uid, 1000, DAY_MS, &p),
	       1);
	EXPECT(fixture_login_as(st, fixture_sid_of(2), uid, 1000, DAY_MS, &p),
	       1);
	EXPECT(store_session_find(st, fixture_sid_of(1), 1000, &s1), 0);
	EXPECT(store_session_find(st, fixture_sid_of(2), 1000, &s2), 0);
	EXPECT(presence_touch(st, s1.id, 3000, &p), 0); /* online */
	EXPECT(presence_reap(st, 2000, 60000, &n), 0);	/* nobody */
	EXPECT(presence_reap(st, 62001, 60000, &n), 1); /* s2 */
	ck_assert_int_eq(n, 1);
	EXPECT(presence_touch(st, s2.id, 63000, &p), 1); /* back */
	EXPECT(presence_reap(st, 200000, 60000, &n), 1); /* both */
	ck_assert_int_eq(n, 2);
	ids[0] = s1.id;
	ids[1] = s2.id;
	EXPECT(presence_touch_many(st, ids, 2, 300000, &n, NULL, NULL),
	       1); /* both */
	ck_assert_int_eq(n, 2);
	EXPECT(presence_touch_many(st, ids, 2, 300001, &n, NULL, NULL), 0);
	EXPECT(presence_logout(st, fixture_sid_of(9), &p), 0); /* unknown */
	EXPECT(presence_logout(st, fixture_sid_of(1), &p), 1); /* online */
	EXPECT(presence_reap(st, 400000, 60000, &n), 1);
	EXPECT(presence_logout(st, fixture_sid_of(2), &p), 0); /* offline */
	EXPECT(store_event_append(st, "x", "1", 1, NULL), 1);
	ck_assert_int_eq(io_append(st, "x", "{", 1, NULL), EC_INVALID_JSON);
	ck_assert_int_eq(calls, 9);
	EXPECT(store_events_after(st, 0, 100, fixture_collect_cb, &l), 0);
	EXPECT(store_snapshot(st, &snap), 0);
	EXPECT(store_last_event_id(st, &last), 0);
	EXPECT(store_trim(st, 0, NULL), 0);
	EXPECT(store_health(st, &n), 0);

	/* failed writes never call it */
	EXPECT(presence_touch(st, 424242, 1, &p) == EC_NOT_FOUND ? EC_OK
								 : EC_INTERNAL,
	       0);
	store_set_commit_hook(st, NULL, NULL);
	EXPECT(store_event_append(st, "x", "1", 1, NULL), 0);
#undef EXPECT
	store_close(st);
}
END_TEST

START_TEST(test_two_connections)
{
	struct store *a = fixture_store(), *b = NULL;
	struct presence_change p;
	struct store_snapshot snap;
	struct fixture_evlist l = { 0 };
	int64_t last = -1, id, uid;

	ck_assert_int_eq(store_open(fixture_db, &b), EC_OK);
	ck_assert_int_eq(store_last_event_id(b, &last), EC_OK);
	ck_assert_int_eq(last, 0);
	ck_assert_int_eq(store_event_append(a, "hello", "\"from a\"", 1, &id),
			 EC_OK);
	ck_assert_int_eq(store_last_event_id(b, &last), EC_OK);
	ck_assert_int_eq(last, id);
	fixture_collect(b, 0, 10, &l);
	ck_assert_uint_eq(l.n, 1);
	ck_assert_str_eq(l.ev[0].data, "\"from a\"");

	uid = fixture_add_user(b, "alice");
	ck_assert_int_eq(
		fixture_login_as(b, fixture_sid_of(1), uid, 1000, DAY_MS, &p),
		EC_OK);
	ck_assert_int_eq(store_snapshot(a, &snap), EC_OK);
	ck_assert_int_eq(snap.current_users, 1);
	ck_assert_int_eq(snap.last_id, 3);
	ck_assert_int_eq(
		fixture_login_as(a, fixture_sid_of(2), uid, 1000, DAY_MS, &p),
		EC_OK);
	ck_assert_int_eq(p.current_users, 2); /* a counts b's session */
	ck_assert_int_eq(p.event_id, 4);
	fixture_collect(b, 0, 10, &l);
	ck_assert_uint_eq(l.n, 5);
	fixture_check_pair(&l, 1, 2, "alice", 1, true);
	fixture_check_pair(&l, 3, 4, "alice", 2, true);
	store_close(b);
	store_close(a);
}
END_TEST

/* Issue 9, backend-neutral: store_user_sessions_cap() expires all but the
 * newest N of a user's live sessions (others' untouched); store_health()
 * writes nothing it keeps. */
static enum ecode cap_tx(struct store *st, void *arg)
{
	const int64_t *a = arg;

	return store_user_sessions_cap(st, a[0], a[1], a[2]);
}

START_TEST(test_user_sessions_cap_and_health_probe)
{
	struct store *st = fixture_store();
	int64_t alice = fixture_add_user(st, "alice"),
		bob = fixture_add_user(st, "bob");
	int64_t args[3] = { alice, 1, 5000 };
	struct presence_change p;
	struct store_session s;
	int64_t last_before, last_after;
	int v = 0;

	ck_assert_int_eq(fixture_login_as(st, fixture_sid_of(1), alice, 1000,
					  DAY_MS, &p),
			 EC_OK);
	ck_assert_int_eq(fixture_login_as(st, fixture_sid_of(2), alice, 2000,
					  DAY_MS, &p),
			 EC_OK);
	ck_assert_int_eq(
		fixture_login_as(st, fixture_sid_of(3), bob, 3000, DAY_MS, &p),
		EC_OK);
	ck_assert_int_eq(fixture_login_as(st, fixture_sid_of(4), alice, 4000,
					  DAY_MS, &p),
			 EC_OK);
	ck_assert_int_eq(store_user_sessions_cap(st, alice, 1, 5000),
			 EC_INTERNAL); /* joins only */
	ck_assert_int_eq(store_transaction(st, cap_tx, args), EC_OK);
	ck_assert_int_eq(store_session_find(st, fixture_sid_of(1), 5000, &s),
			 EC_NOT_FOUND);
	ck_assert_int_eq(store_session_find(st, fixture_sid_of(2), 5000, &s),
			 EC_NOT_FOUND);
	ck_assert_int_eq(store_session_find(st, fixture_sid_of(3), 5000, &s),
			 EC_OK);
	ck_assert_int_eq(store_session_find(st, fixture_sid_of(4), 5000, &s),
			 EC_OK);
	ck_assert_int_eq(store_session_find(st, fixture_sid_of(4), 5000, &s),
			 EC_OK);
	/* still online until housekeeping takes them offline with events */
	ck_assert(s.online);

	ck_assert_int_eq(store_last_event_id(st, &last_before), EC_OK);
	ck_assert_int_eq(store_health(st, &v), EC_OK);
	ck_assert_int_eq(v, schema_version());
	ck_assert_int_eq(store_last_event_id(st, &last_after), EC_OK);
	ck_assert_int_eq(last_before, last_after);
	store_close(st);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("core");

	if (fixture_begin("store") != 0)
		return 1;
	tcase_add_checked_fixture(tc, setup, fixture_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_migrate_fresh_and_again);
	tcase_add_test(tc, test_migrate_concurrent);
	if (!fixture_pg) { /* they look inside SQLite files */
		tcase_add_test(tc, test_schema_sql_equals_migrations);
		tcase_add_test(tc, test_open_unusable);
	} else {
		tcase_add_test(tc, test_open_unusable_pg);
#ifdef HAVE_POSTGRESQL
		tcase_add_test(tc, test_schema_sql_equals_migrations_pg);
#endif
	}
	tcase_add_test(tc, test_health_sees_replaced_schema);
	tcase_add_test(tc, test_users);
	tcase_add_test(tc, test_login_failures);
	tcase_add_test(tc, test_find_expired);
	tcase_add_test(tc, test_user_sessions_cap_and_health_probe);
	tcase_add_loop_test(tc, test_transaction, 0,
			    (int)(sizeof(tx_rows) / sizeof(tx_rows[0])));
	tcase_add_test(tc, test_session_insert_counts);
	tcase_add_test(tc, test_snapshot);
	tcase_add_test(tc, test_events_after_limit);
	tcase_add_test(tc, test_event_append_raw);
	tcase_add_test(tc, test_backend_tables);
	tcase_add_test(tc, test_trim);
	tcase_add_test(tc, test_commit_hook);
	tcase_add_test(tc, test_sio_sessions);
	tcase_add_test(tc, test_two_connections);
	if (fixture_pg)
		tcase_add_test(tc, test_notify_listen_pg);
	suite_add_tcase(s, tc);
	return fixture_run(s);
}
