#!/bin/sh
# bad_input_pg.sh -- tests/integ/bad_input.sh, unchanged, against the PostgreSQL store:
# lib.sh's integ_init starts a PostgreSQL server (integ_pg_start) and
# integ_db_init makes a new database for every database the suite asks for.
# Skips (with the reason) where PostgreSQL or libpq is missing.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
INTEG_STORE=postgresql
export INTEG_STORE
exec bash "${top_srcdir:-.}/tests/integ/bad_input.sh" "$@"
