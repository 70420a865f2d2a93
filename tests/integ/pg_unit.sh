#!/bin/sh
# pg_unit.sh -- the store's unit suites (test_store, test_presence,
# test_store_order, test_login, test_io, test_api, test_sio_session),
# unchanged, against the PostgreSQL store.
#
# Starts a real PostgreSQL (lib.sh integ_pg_start), makes one database and
# runs each suite's binary with EMITCGI_TEST_PG naming it: the fixture
# (tests/unit/fixture.c) then gives every test an empty schema of its own
# instead of an SQLite file.  Each suite's TAP lines are passed on, renamed
# "SUITE: ...", under one plan.  Skips where PostgreSQL is missing.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
. "${top_srcdir:-.}/tests/integ/lib.sh"
integ_init pg_unit
integ_pg_require
integ_pg_start || bail_out "PostgreSQL did not start"
integ_pg_createdb emitcgi_unit >/dev/null || bail_out "createdb failed"
export EMITCGI_TEST_PG="host=127.0.0.1 port=$INTEG_PG_PORT user=postgres dbname=emitcgi_unit"

for suite in store store_order presence login io api sio_session; do
	bin=$top_builddir/tests/unit/test_$suite
	[ -x "$bin" ] || { tap_fail "test_$suite: not built (no Check?)"; continue; }
	out=$T/$suite.tap
	(cd "$top_builddir" && "$bin") >"$out" 2>"$T/$suite.err"
	rc=$?
	n=0
	while IFS= read -r line; do
		case $line in
		"ok "*) n=$((n + 1)); tap_pass "$suite: ${line#ok * - }" ;;
		"not ok "*) n=$((n + 1)); tap_fail "$suite: ${line#not ok * - }" ;;
		esac
	done <"$out"
	check_eq "test_$suite exits 0 and ran tests" "0 yes" "$rc $([ "$n" -gt 0 ] && echo yes)"
	[ -s "$T/$suite.err" ] && diag "test_$suite stderr: $(tail -n 5 "$T/$suite.err")"
done
tap_done
