# tests/bench/lib.sh -- what the bench scripts share (sourced by run.sh,
# pg.sh, peers.sh): the settings every bench server runs with, and the
# emitcgi processes a script starts, stops and cleans up.  POSIX sh.
#
#   . "$src/tests/bench/lib.sh"          # needs $build, $T, PIDS=""
#   bench_start_server NAME DB SECS [VAR=VALUE...]   # sets SPID
#   bench_wait_gone PID SECS
#   bench_stop_all                       # every PID in $PIDS, then PIDS=""

# Every client of a bench is one session of one user and the emits come
# back to back: the per-session and per-user caps and the rate limits
# (issue 9) are for real users, so they are off.
BENCH_CAPS_OFF="EMITCGI_MAX_WAITERS_PER_SESSION=1000000 EMITCGI_MAX_WAITERS_PER_USER=1000000 EMITCGI_RATE_EMIT=0 EMITCGI_RATE_LOGIN=0 EMITCGI_RATE_REGISTER=0 EMITCGI_METRICS_LOOPBACK=1"

bench_wait_gone() { # PID SECS: 0 when PID exited within SECS
	i=0
	while kill -0 "$1" 2>/dev/null; do
		[ "$i" -ge $(($2 * 20)) ] && return 1
		sleep 0.05
		i=$((i + 1))
	done
	return 0
}

# SIGTERM to every process in $PIDS, SIGKILL to one still there after 8 s.
bench_stop_all() {
	for p in $PIDS; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in $PIDS; do
		bench_wait_gone "$p" 8 || kill -KILL "$p" 2>/dev/null
	done
	PIDS=""
}

# emitcgi --listen unix:$T/NAME.sock on database DB in the background,
# with BENCH_CAPS_OFF and the VAR=VALUE given; waits up to SECS for its
# socket (exits the script if it does not come).  Sets SPID; its stderr
# goes to $T/NAME.log.
bench_start_server() {
	name=$1 db=$2 secs=$3
	shift 3
	rm -f "$T/$name.sock"
	# shellcheck disable=SC2086 # BENCH_CAPS_OFF is a list of words
	env EMITCGI_DB="$db" EMITCGI_LOG_LEVEL=warn \
		EMITCGI_MAX_SUBSCRIBERS=19500 $BENCH_CAPS_OFF "$@" \
		"$build/emitcgi" --listen "unix:$T/$name.sock" \
		2>>"$T/$name.log" &
	SPID=$!
	PIDS="$PIDS $SPID"
	i=0
	while [ ! -S "$T/$name.sock" ]; do
		if [ "$i" -ge $((secs * 20)) ] || ! kill -0 "$SPID" 2>/dev/null; then
			echo "bench: emitcgi did not start:" >&2
			cat "$T/$name.log" >&2
			exit 1
		fi
		sleep 0.05
		i=$((i + 1))
	done
}
