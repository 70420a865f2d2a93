#!/bin/sh
# tests/bench/run.sh -- `make bench`: how many waiting clients one emitcgi
# process holds, how fast it delivers to them, across processes, by
# long-poll, and what a login costs.  Prints the figures and rewrites the
# figures section of docs/BENCH.md (between the bench:begin/bench:end
# markers) in the source tree.
#
# Run by make in the build directory (./emitcgi exists there); the source
# directory is this script's ../..  No arguments.  The client,
# tests/bench/fcgi_fanout, is built by make (the bench target depends on
# it) from tests/bench/*.c with the project's flags.
#
# Only unix sockets in a temp dir; every server is started here and stopped
# here by PID (SIGTERM, then SIGKILL after 8 s); the temp dir is removed on
# exit.  Every wait is bounded; a full run takes about two minutes.
#
# Knobs (environment, for a quick look; the documented run uses defaults):
#   BENCH_NS="1000 5000 15000"  fan-out sizes      BENCH_K=100  timed emits
#   BENCH_BURST=300             back-to-back emits BENCH_CROSS_N=10000
#   BENCH_CAP_N=19000           streams against the default cap (16000)
#   BENCH_POLLERS=1000 BENCH_POLL_RATE=20 BENCH_POLL_SECS=10
#   BENCH_LOGIN_SECS=5          BENCH_WRITE_DOC=0  leave docs/BENCH.md alone
#
# To add a measurement: a mode of the client printing a "result:" line
# (tests/bench/bench.h says how), a section below that runs it, and a
# table in bench_report().
set -u

build=$(pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
if [ ! -x "$build/emitcgi" ]; then
	echo "bench: run from the build directory (make bench): no ./emitcgi" >&2
	exit 1
fi

BENCH_NS=${BENCH_NS:-"1000 5000 15000"}
BENCH_K=${BENCH_K:-100}
BENCH_BURST=${BENCH_BURST:-300}
BENCH_CROSS_N=${BENCH_CROSS_N:-10000}
BENCH_CAP_N=${BENCH_CAP_N:-19000}
BENCH_POLLERS=${BENCH_POLLERS:-1000}
BENCH_POLL_RATE=${BENCH_POLL_RATE:-20}
BENCH_POLL_SECS=${BENCH_POLL_SECS:-10}
BENCH_LOGIN_SECS=${BENCH_LOGIN_SECS:-5}
BENCH_WRITE_DOC=${BENCH_WRITE_DOC:-1}

T=$(mktemp -d "${TMPDIR:-/tmp}/emitcgi-bench.XXXXXX") || exit 1
PIDS=""
RESULTS="$T/results"
: >"$RESULTS"

# ---- processes ----

. "$src/tests/bench/lib.sh"

# shellcheck disable=SC2317 # called by the trap
bench_cleanup() {
	bench_stop_all
	rm -rf "$T"
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

# stop_server PID NAME: SIGTERM; records how long the exit took and its
# status as a "result: mode=stop" line.
stop_server() {
	t0=$(date +%s%N)
	kill -TERM "$1" 2>/dev/null
	if bench_wait_gone "$1" 8; then
		wait "$1"
		st=$?
	else
		kill -KILL "$1" 2>/dev/null
		wait "$1"
		st=killed
	fi
	t1=$(date +%s%N)
	PIDS=$(echo "$PIDS" | tr ' ' '\n' | grep -vx "$1" | tr '\n' ' ')
	warns=$(grep -c 'warn\|error' "$T/$2.log" 2>/dev/null)
	echo "result: mode=stop name=$2 exit=$st stop_ms=$(((t1 - t0) / 1000000)) log_warnings=${warns:-0}" |
		tee -a "$RESULTS"
	if [ "${warns:-0}" -gt 0 ]; then
		echo "  $2 log (first lines):"
		head -5 "$T/$2.log" | sed 's/^/    /'
	fi
}

new_db() { # PATH
	EMITCGI_DB=$1 "$build/emitcgi" init >/dev/null 2>"$T/init.log" || {
		cat "$T/init.log" >&2
		echo "bench: emitcgi init failed" >&2
		exit 1
	}
}

client() { # ARGS...: runs the client, keeps its result lines
	"$CLIENT" "$@" >"$T/client.out" 2>"$T/client.err"
	st=$?
	grep -v '^result:' "$T/client.out"
	sed 's/^/  client: /' "$T/client.err" | head -8
	grep '^result:' "$T/client.out" | tee -a "$RESULTS"
	if [ "$st" -ne 0 ] || ! grep -q '^result:' "$T/client.out"; then
		echo "  (client exit status $st)"
		echo "result: mode=failed run=$1 status=$st" >>"$RESULTS"
	fi
}

# ---- the client ----

CLIENT="$build/tests/bench/fcgi_fanout"
if [ ! -x "$CLIENT" ]; then
	echo "bench: no $CLIENT: run make bench (it builds the client)" >&2
	exit 1
fi

# shellcheck disable=SC3045 # dash and bash both have ulimit -n and -H
nofile=$(ulimit -n)
# shellcheck disable=SC3045
hard=$(ulimit -Hn)
echo "bench: emitcgi $("$build/emitcgi" --version | sed 's/^emitcgi //'), $(nproc) cores, fd limit $nofile (hard $hard)"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- 1. fan-out in one process ----

for n in $BENCH_NS; do
	echo "== fan-out: $n streams in one process"
	new_db "$T/f$n.db"
	bench_start_server "f$n" "$T/f$n.db" 5
	pid=$SPID
	client fanout -s "$T/f$n.sock" -n "$n" -k "$BENCH_K" -b "$BENCH_BURST" -w 2
	stop_server "$pid" "f$n"
done

# The same past the default EMITCGI_MAX_SUBSCRIBERS (16000): the rest must
# get 503 at once, and the process must keep serving.
# Then SIGTERM with all of them parked (-x 1): every stream must be ended
# and the process gone within 5 s.
echo "== capacity: $BENCH_CAP_N streams against the default EMITCGI_MAX_SUBSCRIBERS, then SIGTERM"
new_db "$T/cap.db"
bench_start_server cap "$T/cap.db" 5 EMITCGI_MAX_SUBSCRIBERS=16000
pid=$SPID
client fanout -s "$T/cap.sock" -n "$BENCH_CAP_N" -k 20 -b 0 -x 1
stop_server "$pid" cap

# ---- 2. across processes ----

echo "== across processes: $BENCH_CROSS_N streams, half on each of two processes, emits through A"
new_db "$T/x.db"
bench_start_server xa "$T/x.db" 5
pa=$SPID
bench_start_server xb "$T/x.db" 5
pb=$SPID
client fanout -s "$T/xa.sock" -s "$T/xb.sock" -n "$BENCH_CROSS_N" \
	-k "$BENCH_K" -b "$BENCH_BURST" -w 2
stop_server "$pa" xa
stop_server "$pb" xb

# ---- 3. long-poll ----

echo "== long-poll: $BENCH_POLLERS pollers, $BENCH_POLL_RATE events/s for $BENCH_POLL_SECS s"
new_db "$T/p.db"
bench_start_server p "$T/p.db" 5
pid=$SPID
client poll -s "$T/p.sock" -m "$BENCH_POLLERS" -r "$BENCH_POLL_RATE" \
	-t "$BENCH_POLL_SECS"
stop_server "$pid" p

# ---- 4. login ----

echo "== login: 2 concurrent clients for $BENCH_LOGIN_SECS s"
new_db "$T/l.db"
bench_start_server l "$T/l.db" 5
pid=$SPID
client login -s "$T/l.sock" -c 2 -t "$BENCH_LOGIN_SECS"
stop_server "$pid" l

# ---- report ----

# v LINE KEY: the value of KEY=... in a result line
v() {
	echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1
}

# dmo LINE: "dup / miss / order" (order: ids that went back, or one event
# seen under two ids by different receivers)
dmo() {
	echo "$(v "$1" dups) / $(v "$1" misses) / $(($(v "$1" disorder) + $(v "$1" mismatch)))"
}

mib() { # KiB -> MiB, one decimal
	awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'
}

fanout_row() { # one result line -> one table row
	l=$1
	n=$(v "$l" waiters)
	[ "$(v "$l" failed)" != 0 ] && n="$n (+$(v "$l" failed) refused)"
	[ "$(v "$l" ended)" != 0 ] && n="$n ($(v "$l" ended) closed after the snapshot)"
	if [ "$(v "$l" burst)" = 0 ]; then
		b="– | – | –"
	else
		b="$(v "$l" rate_per_s) | $(v "$l" emit_per_s) | $(v "$l" server_us_per_delivery) µs"
	fi
	fa=$(v "$l" fds_after)
	[ "$fa" = -1 ] && fa="– (SIGTERM)"
	echo "| $n | $(v "$l" ready_s) s | $(mib "$(v "$l" rss0_kb)") → $(mib "$(v "$l" rssn_kb)") MiB | $(v "$l" per_waiter_b) B | $(v "$l" slab_per_conn_b) B | $(v "$l" threads0) → $(v "$l" threadsn) | $(v "$l" fdsn) / $fa | $(v "$l" lat_p50_ms) / $(v "$l" lat_p99_ms) / $(v "$l" lat_max_ms) ms | $b | $(dmo "$l") |"
}

bench_report() {
	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
	mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
	rev=$(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo unknown)
	echo "Run of $(date -u '+%Y-%m-%d %H:%M UTC'): emitcgi $("$build/emitcgi" --version | sed 's/^emitcgi //') (git $rev), $(nproc) cores ($cpu), $mem, Linux $(uname -r), fd limit $nofile (hard $hard); load average $LOAD0 at the start and $(cut -d' ' -f1-3 /proc/loadavg) at the end (anything else running shares the two cores); client and servers on the same machine."
	echo
	echo "### 1. Fan-out in one process (SSE streams over FastCGI, unix socket)"
	echo
	echo "| waiters | parked in | RSS idle → with waiters | RSS per waiter | kernel per connection | threads | fds with waiters / after close | emit → all have it p50 / p99 / max | burst: deliveries/s | burst: emits/s | server CPU per delivery | dup / miss / order |"
	echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	grep '^result: mode=fanout' "$RESULTS" | while read -r l; do
		fanout_row "$l"
	done
	echo
	echo "### 2. Across two processes on one database (emits through A)"
	echo
	echo "| server | waiters | emit → all have it p50 / p99 / max | burst: deliveries/s (both) | RSS with waiters | dup / miss / order (both) |"
	echo "|---|---:|---:|---:|---:|---:|"
	grep '^result: mode=cross' "$RESULTS" | while read -r l; do
		g=$(v "$l" group)
		if [ "$g" = 0 ]; then
			name="A (emits here)"
		else
			name="B (woken by the notify file)"
		fi
		echo "| $name | $(v "$l" waiters) | $(v "$l" lat_p50_ms) / $(v "$l" lat_p99_ms) / $(v "$l" lat_max_ms) ms | $(v "$l" rate_per_s) | $(mib "$(v "$l" rssn_kb)") MiB | $(dmo "$l") |"
	done
	echo
	echo "### 3. Long-poll (re-poll with since=lastEventId, one FastCGI connection per poll)"
	echo
	echo "| pollers | events | answers/s | deliveries / expected | events per answer | emit → all have it p50 / p99 | dup / miss / order | errors | fds before / after |"
	echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	grep '^result: mode=poll' "$RESULTS" | while read -r l; do
		echo "| $(v "$l" m) | $(v "$l" events) at $(v "$l" rate)/s | $(v "$l" polls_per_s) | $(v "$l" deliveries) / $(v "$l" expected) | $(v "$l" per_poll) | $(v "$l" lat_p50_ms) / $(v "$l" lat_p99_ms) ms | $(dmo "$l") | $(v "$l" errors) | $(v "$l" fds0) / $(v "$l" fds_after) |"
	done
	echo
	echo "### 4. Login (yescrypt)"
	echo
	echo "| concurrent clients | logins | logins/s | latency p50 / p99 | errors |"
	echo "|---:|---:|---:|---:|---:|"
	grep '^result: mode=login' "$RESULTS" | while read -r l; do
		echo "| $(v "$l" clients) | $(v "$l" logins) | $(v "$l" per_s) | $(v "$l" lat_p50_ms) / $(v "$l" lat_p99_ms) ms | $(v "$l" errors) |"
	done
	echo
	echo "### Shutdown"
	echo
	grep '^result: mode=fanout.* stop=1' "$RESULTS" | while read -r l; do
		echo "SIGTERM with $(v "$l" waiters) streams parked: $(v "$l" stop_clean) ended cleanly (END_REQUEST), $(v "$l" stop_abrupt) just closed; the last stream ended after $(v "$l" stop_streams_ms) ms, the process $( [ "$(v "$l" stop_exited)" = 1 ] && echo "exited after $(v "$l" stop_exit_ms) ms" || echo "had NOT exited after $(v "$l" stop_exit_ms) ms")."
		echo
	done
	echo "| server | exit status | SIGTERM to exit (run.sh) | warnings in its log |"
	echo "|---|---:|---:|---:|"
	grep '^result: mode=stop' "$RESULTS" | while read -r l; do
		echo "| $(v "$l" name) | $(v "$l" exit) | $(v "$l" stop_ms) ms | $(v "$l" log_warnings) |"
	done
	echo
	echo "### Checks"
	echo
	bench_checks
}

# bench_checks: one line per thing that must not happen, or "none".
bench_checks() {
	found=0
	while read -r l; do
		mode=$(v "$l" mode)
		what="$mode"
		case $mode in
		fanout | cross) what="$mode $(v "$l" waiters) (server $(v "$l" group))" ;;
		poll) what="long-poll" ;;
		login) what="login" ;;
		stop) what="server $(v "$l" name)" ;;
		failed)
			echo "- the $(v "$l" run) client failed (exit status $(v "$l" status)): its figures are missing or incomplete"
			found=1
			continue
			;;
		esac
		p=""
		case $mode in
		fanout | cross | poll)
			[ "$(v "$l" dups)" = 0 ] || p="$p $(v "$l" dups) duplicate deliveries;"
			[ "$(v "$l" misses)" = 0 ] || p="$p $(v "$l" misses) missed deliveries;"
			[ "$(v "$l" disorder)" = 0 ] || p="$p $(v "$l" disorder) ids out of order;"
			[ "$(v "$l" mismatch)" = 0 ] || p="$p $(v "$l" mismatch) events seen under different ids;"
			;;
		esac
		case $mode in
		fanout | cross)
			[ "$(v "$l" parked_ok)" = 1 ] || p="$p /api/health did not report every stream parked;"
			[ "$(v "$l" lat_timeouts)" = 0 ] || p="$p $(v "$l" lat_timeouts) events not everywhere after 10 s;"
			if [ "$(v "$l" stop)" = 1 ]; then
				[ "$(v "$l" stop_exited)" = 1 ] || p="$p did not exit after SIGTERM;"
				[ "$(v "$l" stop_abrupt)" = 0 ] || p="$p $(v "$l" stop_abrupt) streams closed without END_REQUEST at SIGTERM;"
				awk -v t="$(v "$l" stop_exit_ms)" 'BEGIN { exit !(t > 5000) }' &&
					p="$p took $(v "$l" stop_exit_ms) ms to exit after SIGTERM (SPEC: within 5 s);"
			else
				[ "$(v "$l" drained)" = 1 ] || p="$p streams still parked after the client hung up;"
				[ "$(v "$l" fds_after)" -le "$(v "$l" fds0)" ] || p="$p fds $(v "$l" fds0) before, $(v "$l" fds_after) after (leak?);"
			fi
			;;
		poll)
			[ "$(v "$l" errors)" = 0 ] || p="$p $(v "$l" errors) polls answered with an error status (the figures above are not valid);"
			[ "$(v "$l" drained)" = 1 ] || p="$p polls still parked after the client hung up;"
			[ "$(v "$l" fds_after)" -le "$(v "$l" fds0)" ] || p="$p fds $(v "$l" fds0) before, $(v "$l" fds_after) after (leak?);"
			[ "$(v "$l" all_have)" = 1 ] || p="$p not every poller had every event 30 s after the last emit;"
			;;
		login)
			[ "$(v "$l" errors)" = 0 ] || p="$p $(v "$l" errors) failed logins;"
			;;
		stop)
			[ "$(v "$l" exit)" = 0 ] || p="$p exit status $(v "$l" exit);"
			;;
		esac
		if [ -n "$p" ]; then
			echo "- $what:$p"
			found=1
		fi
	done <"$RESULTS"
	[ "$found" = 0 ] && echo "None: no duplicate, missed or reordered event, no leaked fd or waiter, every exit clean."
	return 0
}

bench_report >"$T/report.md"
echo
cat "$T/report.md"

doc="$src/docs/BENCH.md"
if [ "$BENCH_WRITE_DOC" = 1 ] && [ -f "$doc" ] && [ -w "$doc" ] &&
	grep -q '<!-- bench:begin -->' "$doc"; then
	awk -v rep="$T/report.md" '
		/<!-- bench:begin -->/ { print; while ((getline l < rep) > 0) print l; skip = 1; next }
		/<!-- bench:end -->/ { skip = 0 }
		!skip { print }' "$doc" >"$T/BENCH.md" &&
		cat "$T/BENCH.md" >"$doc" &&
		echo "bench: figures written to $doc"
else
	cp "$T/report.md" "$build/bench-results.md" &&
		echo "bench: figures written to $build/bench-results.md"
fi
# The socket.io rows (the real client on long-polling, emitcgi and Node's
# socket.io at the same N): a script of their own.
sh "$src/tests/bench/sio.sh"
exit 0
