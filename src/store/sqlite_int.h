/* sqlite_int.h -- what the two files of the SQLite backend share:
 * sqlite.c (the connection, statements, transactions, migrations) and
 * sqlite_ops.c (the primitives and the struct store_backend table).
 * Not for any other file: the rest of the program sees store.h only.
 */
#ifndef EMITCGI_STORE_SQLITE_INT_H
#define EMITCGI_STORE_SQLITE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "backend.h"
#include "sqlite_stmt.h"

/* sessions_stale collects this many sessions per allocation step. */
#define STORE_SQLITE_STALE_CHUNK 16

struct store_sqlite {
	sqlite3 *db;
	sqlite3_stmt *stmt[STMT__COUNT];
};

static inline struct store_sqlite *sqlite_conn_of(struct store_conn *c)
{
	return (struct store_sqlite *)c;
}

enum ecode sqlite_db_error(struct store_sqlite *q, int rc, const char *what);
void sqlite_stmt_done(sqlite3_stmt *s);
enum ecode sqlite_stmt_bind(struct store_sqlite *q, enum stmt_id id,
			    sqlite3_stmt **out, const char *types, ...);
enum ecode sqlite_stmt_step(struct store_sqlite *q, sqlite3_stmt *s, bool *row);
enum ecode sqlite_stmt_exec(struct store_sqlite *q, sqlite3_stmt *s);
enum ecode sqlite_stmt_row(struct store_sqlite *q, sqlite3_stmt *s);
enum ecode sqlite_query_i64s(struct store_sqlite *q, enum stmt_id id,
			     int64_t *a, int64_t *b);
enum ecode sqlite_column_copy(sqlite3_stmt *s, int col, char *dst, size_t size);
enum ecode sqlite_column_session(sqlite3_stmt *s, struct store_session *out);
enum ecode sqlite_begin(struct store_conn *c, bool write);
void sqlite_rollback(struct store_conn *c);
enum ecode sqlite_commit(struct store_conn *c);
int sqlite_schema_version(void);
enum ecode sqlite_read_version(struct store_conn *c, int *version);
enum ecode sqlite_migrate(const char *path, int *from, int *to);
enum ecode sqlite_open(const char *path, struct store_conn **out);
void sqlite_close(struct store_conn *c);

#endif
