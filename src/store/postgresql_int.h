/* postgresql_int.h -- what the two files of the PostgreSQL backend share.
 *
 * postgresql.c owns the connection (connect, reconnect with back-off,
 * errors, transactions, migrations, the LISTEN connection); postgresql_ops.c
 * the primitives and the table store_backend_postgresql.  Nothing outside
 * src/store/postgresql*.c includes this file or libpq-fe.h.
 */
#ifndef EMITCGI_STORE_POSTGRESQL_INT_H
#define EMITCGI_STORE_POSTGRESQL_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "backend.h"
#include "postgresql_stmt.h"

/* One connection of one thread. */
struct store_pg {
	PGconn *pg;
	bool prepared[PGS__COUNT]; /* on this connection (cleared on reset) */
	int64_t retry_at_ms;	   /* monotonic: no reconnect before this */
	int backoff_ms;		   /* next pause after a failed reconnect */
	bool in_tx;		   /* between begin and commit/rollback */
	bool notify_due;	   /* the commit wakes the hubs (pg_commit()) */
	bool autocommit;  /* a plain append: its INSERT commits alone */
	char sqlstate[6]; /* of the last failed pg_run() */
};

static inline struct store_pg *pg_of(struct store_conn *c)
{
	return (struct store_pg *)c;
}

/* Runs prepared statement id with the arguments as its types say ('t' a
 * const char *, 'i' an int64_t).  *out gets a PGRES_TUPLES_OK or
 * PGRES_COMMAND_OK result to PQclear(); on failure NULL and the ecode
 * (logged).  *sqlstate (may be NULL) gets the SQLSTATE of a failure, or
 * "" -- valid until the next call on q. */
enum ecode pg_run(struct store_pg *q, enum pg_stmt_id id, PGresult **out,
		  const char **sqlstate, ...);

/* An int8 column of a result row (0 for NULL). */
int64_t pg_int(const PGresult *r, int row, int col);

enum ecode pg_begin(struct store_conn *c, bool write);
enum ecode pg_begin_append(struct store_conn *c);
enum ecode pg_commit(struct store_conn *c);
void pg_rollback(struct store_conn *c);
int pg_schema_version(void);
enum ecode pg_migrate(const char *db, int *from, int *to);
enum ecode pg_open(const char *db, struct store_conn **out);
void pg_close(struct store_conn *c);
enum ecode pg_read_version(struct store_conn *c, int *version);
bool pg_claims(const char *db);

enum ecode pg_listen_open(const char *db, struct store_listen_conn **out);
int pg_listen_fd(struct store_listen_conn *l);
enum ecode pg_listen_drain(struct store_listen_conn *l, bool *lost);
enum ecode pg_listen_reconnect(struct store_listen_conn *l);
void pg_listen_close(struct store_listen_conn *l);

#endif
