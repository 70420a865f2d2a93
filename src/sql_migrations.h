/* sql_migrations.h -- the SQL of sql/ compiled into the program.
 *
 * src/sql_migrations.c is generated at build time by build-aux/sql2c.sh
 * from sql/NNN-*.sql (NNN = 001, 002, ... with no gaps) and sql/schema.sql.
 * Migration N (1-based) is sql_migrations[N - 1]; store_migrate() runs it
 * when PRAGMA user_version < N and then sets user_version = N in the same
 * transaction, so sql_migrations_count is the schema version this program
 * was built for.  The array ends with a NULL after the last migration.
 *
 * sql_schema is sql/schema.sql, the whole current schema for reading; the
 * program never runs it on a real database -- test_store checks that it
 * builds the same sqlite_master as all migrations.
 *
 * To add a migration: write sql/00N-what.sql, update sql/schema.sql, add
 * both to SQL_FILES in Makefile.am.  Never edit a shipped migration.
 */
#ifndef EMITCGI_SQL_MIGRATIONS_H
#define EMITCGI_SQL_MIGRATIONS_H

extern const char *const sql_migrations[];
extern const int sql_migrations_count;
extern const char *const sql_schema;

#endif
