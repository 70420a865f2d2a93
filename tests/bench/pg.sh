#!/bin/sh
# tests/bench/pg.sh -- `make bench`, PostgreSQL rows: the same client
# (tests/bench/fcgi_fanout.c, as run.sh builds it) against emitcgi on a
# PostgreSQL started here, and the same runs on SQLite beside them:
#   1. commit rate of emit: a burst of emits by BENCH_PG_W concurrent
#      emitters into one process with 10 streams (every emit is one write
#      transaction: on PostgreSQL a plain append that holds the write lock
#      shared, so concurrent commits share WAL flushes; BEGIN IMMEDIATE,
#      one at a time, on SQLite);
#   2. fan-out across two processes on one database: N streams, half on
#      each; K emits through A timed until every stream has them (group A:
#      the committing process, group B: woken by NOTIFY resp. the notify
#      file), then a burst (deliveries/s, emits/s; dup / miss / order);
#   3. login: 2 concurrent clients (yescrypt dominates).
# PostgreSQL runs with its defaults (synchronous_commit on, fsync on) but
# listen_addresses=127.0.0.1, a free port and its socket in the temp dir;
# as root it runs as the `postgres` user.  Prints the figures and rewrites
# the section between bench-pg:begin and bench-pg:end in docs/BENCH.md
# (or writes bench-pg-results.md in the build directory).  Skips (exit 0,
# one line) without PostgreSQL.  Everything started here is stopped by PID.
#
# Knobs: BENCH_PG_N=1000 BENCH_PG_K=100 BENCH_PG_BURST=2000 BENCH_PG_STORES="pg sqlite"
#        BENCH_PG_EMITS=3000 BENCH_PG_W=16 (concurrent emitters) BENCH_PG_LOGIN_SECS=5
#        BENCH_PG_PGBENCH_CLIENTS=8 BENCH_PG_PGBENCH_SECS=5 BENCH_WRITE_DOC=1
set -u

build=$(pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
BENCH_PG_N=${BENCH_PG_N:-1000}
BENCH_PG_K=${BENCH_PG_K:-100}
BENCH_PG_BURST=${BENCH_PG_BURST:-2000}
BENCH_PG_EMITS=${BENCH_PG_EMITS:-3000}
BENCH_PG_LOGIN_SECS=${BENCH_PG_LOGIN_SECS:-5}
BENCH_PG_W=${BENCH_PG_W:-16}
BENCH_WRITE_DOC=${BENCH_WRITE_DOC:-1}

pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ ! -x "$build/emitcgi" ]; then
	echo "bench-pg: run from the build directory (make bench)" >&2
	exit 1
fi
if ! grep -q '^#define HAVE_POSTGRESQL 1' "$build/autoconfig.h" 2>/dev/null; then
	echo "bench-pg: skipped: emitcgi built without PostgreSQL"
	exit 0
fi
if [ -z "$pgbin" ] || ! command -v psql >/dev/null 2>&1; then
	echo "bench-pg: skipped: PostgreSQL not installed (apt-get install postgresql)"
	exit 0
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/emitcgi-bench-pg.XXXXXX") || exit 1
PIDS=""
RESULTS="$T/results"
: >"$RESULTS"

. "$src/tests/bench/lib.sh"

# shellcheck disable=SC2317 # the trap
cleanup() {
	bench_stop_all
	if [ -n "${PGPID:-}" ]; then
		kill -INT "$PGPID" 2>/dev/null
		bench_wait_gone "$PGPID" 30 || kill -KILL "$PGPID" 2>/dev/null
	fi
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- PostgreSQL ----

as_pg() {
	if [ "$(id -u)" = 0 ]; then
		setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"
	else
		"$@"
	fi
}
chmod 711 "$T"
mkdir "$T/pg"
[ "$(id -u)" = 0 ] && chown postgres: "$T/pg"
as_pg "$pgbin/initdb" -D "$T/pg/data" -U postgres --auth=trust -E UTF8 \
	--locale=C.UTF-8 >"$T/initdb.log" 2>&1 || {
	cat "$T/initdb.log" >&2
	exit 1
}
port=$((20000 + $$ % 10000))
as_pg "$pgbin/postgres" -D "$T/pg/data" -c listen_addresses=127.0.0.1 \
	-p "$port" -k "$T/pg" >"$T/pg.log" 2>&1 &
PGPID=$!
i=0
until psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -Atqc 'SELECT 1' >/dev/null 2>&1; do
	i=$((i + 1))
	if [ "$i" -ge 600 ] || ! kill -0 "$PGPID" 2>/dev/null; then
		echo "bench-pg: postgres did not start" >&2
		cat "$T/pg.log" >&2
		exit 1
	fi
	sleep 0.05
done
PGVER=$(psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -Atqc 'SHOW server_version')

new_db() { # NAME KIND -> sets DB
	if [ "$2" = pg ]; then
		psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -qc "CREATE DATABASE $1" >/dev/null || exit 1
		DB="postgresql://postgres@127.0.0.1:$port/$1"
	else
		DB="$T/$1.db"
	fi
	EMITCGI_DB=$DB "$build/emitcgi" init >/dev/null 2>"$T/init.log" || {
		cat "$T/init.log" >&2
		exit 1
	}
}

CLIENT="$build/tests/bench/fcgi_fanout"
if [ ! -x "$CLIENT" ]; then
	echo "bench-pg: $CLIENT missing: run \`make bench\` (or make tests/bench/fcgi_fanout)" >&2
	exit 1
fi

client() { # TAG ARGS...: the client's result lines, tagged
	tag=$1
	shift
	"$CLIENT" "$@" >"$T/client.out" 2>"$T/client.err"
	st=$?
	grep -v '^result:' "$T/client.out" | sed 's/^/  /'
	head -5 "$T/client.err" | sed 's/^/  client: /'
	grep '^result:' "$T/client.out" | sed "s/^result: /result: store=$tag /" | tee -a "$RESULTS"
	[ "$st" -eq 0 ] || echo "result: store=$tag mode=failed status=$st" >>"$RESULTS"
}

echo "bench-pg: emitcgi $("$build/emitcgi" --version | sed 's/^emitcgi //'), PostgreSQL $PGVER, $(nproc) cores"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- 0. what the write lock costs, in the database alone (pgbench) ----
# The append transaction of a plain emit as emitcgi runs it now (the id
# from emitcgi_event_id(): the write lock SHARED, then the sequence; its
# NOTIFY in a transaction of its own after the COMMIT, without waiting
# for its flush), against the one of before (the lock EXCLUSIVE through
# COMMIT, a counter row, the NOTIFY inside the transaction), against an
# insert with a plain sequence and no lock, no NOTIFY (what unordered
# appends could reach: concurrent commits share WAL flushes), and the
# exclusive one once more without waiting for the flush.
if [ -x "$pgbin/pgbench" ]; then
	new_db lockcost pg
	cat >"$T/shared.sql" <<'SQL'
BEGIN;
INSERT INTO events (name, data, created_ms) VALUES ('bench', '1', 0);
COMMIT;
BEGIN;
SET LOCAL synchronous_commit = off;
SELECT pg_notify('emitcgi_events', '');
COMMIT;
SQL
	cat >"$T/lock.sql" <<'SQL'
BEGIN;
SELECT pg_advisory_xact_lock(1701669236);
WITH n AS (UPDATE old_counter SET last_id = last_id + 1 RETURNING last_id)
INSERT INTO old_events (id, name, data, created_ms) SELECT last_id, 'bench', '1', 0 FROM n;
SELECT pg_notify('emitcgi_events', '');
COMMIT;
SQL
	cat >"$T/free.sql" <<'SQL'
INSERT INTO free_events (name, data, created_ms) VALUES ('bench', '1', 0);
SQL
	{ echo 'BEGIN;'; echo 'SET LOCAL synchronous_commit = off;'; sed '1d' "$T/lock.sql"; } >"$T/lockasync.sql"
	psql -h 127.0.0.1 -p "$port" -U postgres -d lockcost -qc \
		"CREATE TABLE free_events (id bigserial PRIMARY KEY, name text, data text, created_ms bigint);
		 CREATE TABLE old_events (id bigint PRIMARY KEY, name text, data text, created_ms bigint);
		 CREATE TABLE old_counter (last_id bigint NOT NULL); INSERT INTO old_counter VALUES (0);" >/dev/null
	for f in shared lock free lockasync; do
		tps=$("$pgbin/pgbench" -h 127.0.0.1 -p "$port" -U postgres -n -c "${BENCH_PG_PGBENCH_CLIENTS:-8}" -j 2 \
			-T "${BENCH_PG_PGBENCH_SECS:-5}" -f "$T/$f.sql" lockcost 2>/dev/null |
			sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -1)
		echo "result: store=pg-lock mode=pgbench script=$f tps=${tps:-0}" | tee -a "$RESULTS"
	done
fi

for kind in ${BENCH_PG_STORES-pg sqlite}; do
	echo "== $kind: commit rate of emit ($BENCH_PG_EMITS emits, $BENCH_PG_W emitters, 10 streams)"
	new_db "c_$kind" "$kind"
	bench_start_server "c$kind" "$DB" 10
	client "$kind-commit" fanout -s "$T/c$kind.sock" -n 10 -k 10 \
		-b "$BENCH_PG_EMITS" -w "$BENCH_PG_W"
	bench_stop_all

	echo "== $kind: fan-out across two processes ($BENCH_PG_N streams, emits through A)"
	new_db "x_$kind" "$kind"
	bench_start_server "xa$kind" "$DB" 10
	bench_start_server "xb$kind" "$DB" 10
	client "$kind-cross" fanout -s "$T/xa$kind.sock" -s "$T/xb$kind.sock" \
		-n "$BENCH_PG_N" -k "$BENCH_PG_K" -b "$BENCH_PG_BURST" -w "$BENCH_PG_W"
	bench_stop_all

	echo "== $kind: login (2 concurrent clients, $BENCH_PG_LOGIN_SECS s)"
	new_db "l_$kind" "$kind"
	bench_start_server "l$kind" "$DB" 10
	client "$kind-login" login -s "$T/l$kind.sock" -c 2 -t "$BENCH_PG_LOGIN_SECS"
	bench_stop_all
done

# ---- report ----

v() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1; }
line() { grep "^result: store=$1 mode=$2" "$RESULTS" | { if [ -n "${3:-}" ]; then grep " group=$3 "; else cat; fi; } | head -1; }
dmo() { echo "$(v "$1" dups) / $(v "$1" misses) / $(($(v "$1" disorder) + $(v "$1" mismatch)))"; }
name() { [ "$1" = pg ] && echo "PostgreSQL $PGVER" || echo SQLite; }

report() {
	rev=$(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo unknown)
	echo "Run of $(date -u '+%Y-%m-%d %H:%M UTC'): emitcgi (git $rev), PostgreSQL $PGVER with its defaults (synchronous_commit on, fsync on) on 127.0.0.1, $(nproc) cores, load average $LOAD0 at the start and $(cut -d' ' -f1-3 /proc/loadavg) at the end; client, emitcgi and the database server on the same machine."
	echo
	echo "| store | emit commit rate ($BENCH_PG_W emitters, one process) | 2 processes, $BENCH_PG_N streams: emit → all have it, A (committing) p50 / p99 | B (woken by the other process) p50 / p99 | extra delay of B, p50 / p99 (difference of the percentiles) | extra delay of B's wake-up, paired per event, p50 / p99 / max | burst of $BENCH_PG_BURST: emits/s / deliveries/s (both processes) | dup / miss / order | logins/s (p50 / p99) |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	for kind in pg sqlite; do
		c=$(line "$kind-commit" fanout)
		a=$(line "$kind-cross" cross 0)
		b=$(line "$kind-cross" cross 1)
		l=$(line "$kind-login" login)
		wk=$(grep "^result: store=$kind-cross mode=wake group=1 " "$RESULTS" | head -1)
		ext50=$(awk -v a="$(v "$a" lat_p50_ms)" -v b="$(v "$b" lat_p50_ms)" 'BEGIN { printf "%.2f", b - a }')
		ext99=$(awk -v a="$(v "$a" lat_p99_ms)" -v b="$(v "$b" lat_p99_ms)" 'BEGIN { printf "%.2f", b - a }')
		echo "| $(name "$kind") | $(v "$c" emit_per_s)/s | $(v "$a" lat_p50_ms) / $(v "$a" lat_p99_ms) ms | $(v "$b" lat_p50_ms) / $(v "$b" lat_p99_ms) ms | $ext50 / $ext99 ms | $(v "$wk" extra_p50_ms) / $(v "$wk" extra_p99_ms) / $(v "$wk" extra_max_ms) ms | $(v "$a" emit_per_s) / $(v "$a" rate_per_s) | $(dmo "$a"), $(dmo "$b") | $(v "$l" per_s) ($(v "$l" lat_p50_ms) / $(v "$l" lat_p99_ms) ms) |"
	done
	echo
	if grep -q 'mode=pgbench' "$RESULTS"; then
		ts=$(v "$(grep 'script=shared ' "$RESULTS")" tps)
		tl=$(v "$(grep 'script=lock ' "$RESULTS")" tps)
		tf=$(v "$(grep 'script=free ' "$RESULTS")" tps)
		ta=$(v "$(grep 'script=lockasync ' "$RESULTS")" tps)
		echo "The append transaction in the database alone (pgbench, ${BENCH_PG_PGBENCH_CLIENTS:-8} clients, ${BENCH_PG_PGBENCH_SECS:-5} s): emitcgi's plain emit now (the id lock shared, the id from a sequence, the NOTIFY after the COMMIT in its own transaction) $ts/s; the one of before (the lock exclusive through COMMIT, a counter row, NOTIFY inside) $tl/s; an insert with a plain sequence, no lock and no NOTIFY $tf/s; the one of before with \`synchronous_commit = off\` $ta/s."
		echo
	fi
	if grep -q 'mode=failed' "$RESULTS"; then
		echo "A client run failed: $(grep 'mode=failed' "$RESULTS" | sed 's/^result: //' | tr '\n' ';')"
	fi
}

report >"$T/report.md"
echo
cat "$T/report.md"
doc="$src/docs/BENCH.md"
if [ "$BENCH_WRITE_DOC" = 1 ] && [ -w "$doc" ] && grep -q '<!-- bench-pg:begin -->' "$doc"; then
	awk -v rep="$T/report.md" '
		/<!-- bench-pg:begin -->/ { print; while ((getline l < rep) > 0) print l; skip = 1; next }
		/<!-- bench-pg:end -->/ { skip = 0 }
		!skip { print }' "$doc" >"$T/BENCH.md" && cat "$T/BENCH.md" >"$doc" &&
		echo "bench-pg: figures written to $doc"
else
	cp "$T/report.md" "$build/bench-pg-results.md" &&
		echo "bench-pg: figures written to $build/bench-pg-results.md"
fi
exit 0
