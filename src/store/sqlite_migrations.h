/* sqlite_migrations.h -- the SQL of sql/sqlite/ compiled into the program.
 *
 * src/store/sqlite_migrations.c is generated at build time by
 * build-aux/sql2c.sh from sql/sqlite/NNN-*.sql (NNN = 001, 002, ...; a gap
 * becomes an empty migration) and sql/sqlite/schema.sql.  Migration N (1-based)
 * is sqlite_migrations[N - 1]; the SQLite backend's migrate (sqlite.c) runs it
 * when PRAGMA user_version < N and then sets user_version = N in the same
 * transaction, so sqlite_migrations_count is the schema version this
 * program was built for.  The array ends with a NULL after the last
 * migration.
 *
 * sqlite_schema is sql/sqlite/schema.sql, the whole current schema for
 * reading; the program never runs it on a real database -- test_store
 * checks that it builds the same sqlite_master as all migrations.
 *
 * To add a migration: write sql/sqlite/00N-what.sql, update
 * sql/sqlite/schema.sql, add both to SQLITE_SQL_FILES in Makefile.am.
 * Never edit a shipped migration.  Another backend gets its own directory
 * sql/NAME/ and its own generated file (sql2c.sh DIR NAME).
 */
#ifndef EMITCGI_STORE_SQLITE_MIGRATIONS_H
#define EMITCGI_STORE_SQLITE_MIGRATIONS_H

extern const char *const sqlite_migrations[];
extern const int sqlite_migrations_count;
extern const char *const sqlite_schema;

#endif
