/* postgresql_migrations.h -- the PostgreSQL schema, embedded.
 *
 * Generated into postgresql_migrations.c by build-aux/sql2c.sh from
 * sql/postgresql/ (NNN-*.sql in order, and schema.sql for reading).
 */
#ifndef EMITCGI_STORE_POSTGRESQL_MIGRATIONS_H
#define EMITCGI_STORE_POSTGRESQL_MIGRATIONS_H

extern const char *const postgresql_migrations[];
extern const int postgresql_migrations_count;
extern const char *const postgresql_schema;

#endif
