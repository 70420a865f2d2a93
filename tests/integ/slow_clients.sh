#!/bin/sh
# tests/integ/slow_clients.sh -- clients that stop reading or send slowly
# cost only their own connections (issue 8).
#
# emitcgi --listen unix:SOCK with EMITCGI_THREADS=2, lighttpd in front for
# the well-behaved clients (curl).  The misbehaving ones speak FastCGI to
# the socket directly (tests/integ/fcgi_client), as a web server that
# passes a browser's back-pressure and a slow upload through would:
#   - STALL_POLL signed-in long-polls with since=0 over a log of EVENTS
#     events of ~2 KiB (a replay of megabytes) that never read;
#   - STALL_SSE signed-in streams with Last-Event-ID 0 that never read;
#   - SLOW_BODY POSTs that send their body one byte a second.
# Then, with all of them still connected, every one of these must be
# answered (each awaited with a bounded wait, no time measured): /health,
# a login, an emit, a new stream that gets the emit, a poll.  emitcgi's
# resident memory may grow by no more than what its caps allow per
# connection (SINK_PENDING_MAX per waiter, the params, body and record
# caps per reading connection) plus a fixed slack; and the stalled streams
# are dropped at their deadline (two heartbeats with bytes pending).
#
# Before issue 8 (EMITCGI_BIN=<old build>) the replays pinned the accepting
# threads in blocking writes and the bodies in blocking reads: /health and
# the login time out.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integ/lib.sh"
integ_require lighttpd curl jq
integ_init slow-clients

CLIENT=${top_builddir:-.}/tests/integ/fcgi_client
[ -x "$CLIENT" ] || skip_all "no $CLIENT (make check builds it)"

EVENTS=2000
STALL_POLL=24
STALL_SSE=24
SLOW_BODY=24
PW=correct-horse-battery
SOCK=$T/emitcgi.sock
MIB=1048576

tap_plan 13

integ_db_init || bail_out "emitcgi init failed"
# The stalled clients are one session (the caps per session and user of
# security.sh would refuse most of them: here they must all get in), and
# the log is filled by emits back to back (no rate limit).
# A small ASan quarantine, so that freed memory does not count as held.
integ_start_emitcgi_listen "unix:$SOCK" EMITCGI_THREADS=2 \
	EMITCGI_HEARTBEAT=1 EMITCGI_RETENTION=100000 EMITCGI_METRICS_LOOPBACK=1 \
	EMITCGI_MAX_WAITERS_PER_SESSION=1000 EMITCGI_MAX_WAITERS_PER_USER=1000 \
	EMITCGI_RATE_EMIT=0 \
	"ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=8" ||
	bail_out "emitcgi did not start"
PID=$EMITCGI_PID
integ_start_lighttpd --mode socket --backend "unix:$SOCK" ||
	bail_out "lighttpd did not start"

register alice "$PW"
login alice "$PW" "$T/alice.jar"
check_eq "alice logs in" 200 "$HTTP_STATUS"
SID=$(awk '$6 == "emitcgi_sid" { print $7; exit }' "$T/alice.jar")
[ -n "$SID" ] || bail_out "no session cookie"
COOKIE="HTTP_COOKIE=emitcgi_sid=$SID"

# The log: EVENTS events with ~2 KiB of data each, 4 connections in
# parallel, each keeping its FastCGI connection.
DATA=$(head -c 2000 /dev/zero | tr '\0' x)
BODY="{\"event\":\"blob\",\"data\":\"$DATA\"}"
for i in 1 2 3 4; do
	FCGI_BODY=$BODY "$CLIENT" "$SOCK" keep $((EVENTS / 4)) POST /api/emit \
		"$COOKIE" >"$T/emit-$i.out" 2>&1 &
	integ_track $!
	pids[i]=$!
done
ok_all=1
for i in 1 2 3 4; do
	wait "${pids[i]}" || ok_all=0
	integ_untrack "${pids[i]}"
done
check_eq "the log holds $EVENTS events of 2 KiB" "1 answered $((EVENTS / 4))" \
	"$ok_all $(cat "$T/emit-1.out")"

rss_kib()
{
	awk '/^VmRSS:/ { print $2 }' "/proc/$PID/status"
}

# Warm up the paths the stalled clients will take, then measure.
FCGI_HOLD_S=5 "$CLIENT" "$SOCK" get GET "/api/poll?since=$((EVENTS - 5))" \
	"$COOKIE" >/dev/null
api GET /api/health
RSS0=$(rss_kib)
diag "emitcgi VmRSS before: $RSS0 KiB"

start_stalled()
{
	local name=$1
	shift
	"$CLIENT" "$SOCK" "$@" >"$T/$name.out" 2>&1 &
	integ_track $!
	wait_for "$name connected" 20 grep -q ready "$T/$name.out"
}

start_stalled stall-poll stall "$STALL_POLL" GET "/api/poll?since=0" "$COOKIE"
check_eq "$STALL_POLL long replays asked for and not read" 0 $?
start_stalled stall-sse stall "$STALL_SSE" GET /api/events "$COOKIE" \
	HTTP_LAST_EVENT_ID=0
check_eq "$STALL_SSE stream replays asked for and not read" 0 $?
start_stalled slow-body slowbody "$SLOW_BODY" /api/login
check_eq "$SLOW_BODY bodies sent one byte a second" 0 $?

# Every other client is served meanwhile.  curl's --max-time is the
# bounded wait: what is checked is that an answer comes, not how fast.
INTEG_CURL_MAX_TIME=15
api GET /api/health
check_eq "/health is answered" "200 ok" "$HTTP_STATUS $(body_get .status)"
register bob "$PW"
login bob "$PW" "$T/bob.jar"
check_eq "bob logs in" 200 "$HTTP_STATUS"
SSE_MAX_TIME=30 sse_start "$T/bob.jar" "$T/bob.sse"
wait_for "bob's stream opens" 15 grep -q '^retry:' "$T/bob.sse"
api_json POST /api/emit '{"event":"hello","data":"still here"}' -b "$T/bob.jar"
check_eq "an emit is answered" 200 "$HTTP_STATUS"
sse_wait "$T/bob.sse" hello '{"username":"bob","message":"still here"}' 15
check_eq "a new stream gets the emit" 0 $?
last=$(body_get .id)
api GET "/api/poll?since=$((last - 1))&timeout=5" -b "$T/bob.jar"
check_eq "a poll is answered with the emit" "200 $last" \
	"$HTTP_STATUS $(body_get '.events[-1].id')"

# Memory: what the caps allow.  Per waiter, SINK_PENDING_MAX (1 MiB) of
# unsent bytes and one poll answer (HUB_POLL_BODY_SOFT, 1 MiB); per
# reading connection its params (32 KiB), body (16 KiB) and one partial
# record (64 KiB), rounded up to 128 KiB; plus 48 MiB for everything
# else (allocator arenas of the threads, the sanitizer's quarantine).
RSS1=$(rss_kib)
BOUND=$(((STALL_POLL + STALL_SSE) * 2 * MIB + SLOW_BODY * 131072 + 48 * MIB))
diag "emitcgi VmRSS with the slow clients: $RSS1 KiB (growth bound $((BOUND / 1024)) KiB)"
ok "memory grows within the caps ($(((RSS1 - RSS0))) KiB <= $((BOUND / 1024)) KiB)" \
	test $(((RSS1 - RSS0) * 1024)) -le "$BOUND"

# The stalled streams are dropped at their deadline (two heartbeats of 1 s
# with bytes pending), which /metrics counts.
dropped()
{
	api GET /api/metrics
	[ "$(awk '/^emitcgi_subscribers_dropped_total / { print $2 }' \
		<<<"$HTTP_BODY")" -ge "$STALL_SSE" ] 2>/dev/null
}
wait_for "stalled streams dropped" 30 dropped
check_eq "the stalled streams are dropped at their deadline" 0 $?

integ_kill "$SSE_PID"
integ_check_sanitizers
tap_done
