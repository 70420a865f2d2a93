#!/bin/sh
# tests/integ/keep_conn.sh -- FastCGI connections are kept and reused
# (FCGI_KEEP_CONN), also after a parked request; at capacity a re-poll
# storm gets 503 + Retry-After, never an error or a dropped connection
# (issue 8).
#
#  1. Directly (tests/integ/fcgi_client, FCGI_KEEP_CONN set): several
#     requests on one connection, among them long-polls that park in the
#     hub and are answered by it: every one is answered on that same
#     connection.  (Before issue 8 a parked request's connection was
#     closed after its answer: the request after it got nothing.)
#  2. Through nginx configured by nginx.conf.example (fastcgi_keep_conn on,
#     upstream keepalive): many requests, polls included, and emitcgi's
#     /metrics counts far fewer FastCGI connections than requests.
#  3. Through lighttpd with EMITCGI_MAX_SUBSCRIBERS=5: 40 long-polls at
#     once: each is answered 200 or 503 with Retry-After.
#  4. Out of descriptors (its RLIMIT_NOFILE lowered with prlimit while
#     slow uploads hold the rest): a request is answered 503 with
#     Retry-After, not left waiting.  (Before issue 8 the accepting threads
#     backed off silently: the request was never answered.)
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/integ/lib.sh"
. "$top_srcdir/tests/integ/deploy_lib.sh"

integ_require curl jq setpriv lighttpd prlimit
deploy_require_nginx
integ_init keep-conn

CLIENT=${top_builddir:-.}/tests/integ/fcgi_client
[ -x "$CLIENT" ] || skip_all "no $CLIENT (make check builds it)"
PW=correct-horse-battery

tap_plan 11
deploy_setup

# ---- 1. one connection, parked requests included ----
SOCK=$DEPLOY_RUN/emitcgi.sock
deploy_start_listen "$SOCK" EMITCGI_POLL_TIMEOUT=5 EMITCGI_METRICS_LOOPBACK=1 ||
	bail_out "emitcgi did not start"
deploy_start_nginx "$SOCK" 30 || bail_out "nginx did not start"

api_json POST /api/register "$(json_obj username alice password "$PW")" \
	-H "Origin: $BASE_URL"
deploy_login alice "$PW" "$T/alice.jar"
check_eq "alice logs in through nginx" 200 "$HTTP_STATUS"
SID=$(awk '$6 == "emitcgi_sid" { print $7; exit }' "$T/alice.jar")
COOKIE="HTTP_COOKIE=emitcgi_sid=$SID"
api GET /api/count
last=$(body_get .lastEventId)

# A poll at the newest id with timeout=1 parks, and the hub answers it
# after a second; the next request must still be read on the connection.
out=$(deploy_as_user "$CLIENT" "$SOCK" keep 3 GET \
	"/api/poll?since=$last&timeout=1" "$COOKIE" 2>&1)
check_eq "3 parked polls answered on one kept connection" "answered 3" "$out"
out=$(deploy_as_user "$CLIENT" "$SOCK" keep 5 GET /api/health 2>&1)
check_eq "5 requests answered on one kept connection" "answered 5" "$out"

# ---- 2. nginx reuses its FastCGI connections ----
conns()
{
	api GET /api/metrics
	awk '/^emitcgi_fastcgi_connections_total / { print $2 }' <<<"$HTTP_BODY"
}
c0=$(conns)
n=0
for i in $(seq 1 20); do
	api GET /api/health
	[ "$HTTP_STATUS" = 200 ] && n=$((n + 1))
	api GET "/api/poll?since=$last&timeout=1" -b "$T/alice.jar"
	[ "$HTTP_STATUS" = 200 ] && n=$((n + 1))
done
c1=$(conns)
check_eq "40 requests through nginx answered" 40 "$n"
diag "FastCGI connections accepted for 40 requests: $((c1 - c0))"
ok "nginx kept its FastCGI connections (accepted $((c1 - c0)) for 40 requests)" \
	test -n "$c0" -a -n "$c1" -a "$((c1 - c0))" -le 10

# ---- 3. a re-poll storm at capacity, through lighttpd ----
deploy_stop_all
integ_start_emitcgi_listen "unix:$T/cap.sock" EMITCGI_MAX_SUBSCRIBERS=5 \
	EMITCGI_POLL_TIMEOUT=3 || bail_out "emitcgi did not start"
integ_start_lighttpd --mode socket --backend "unix:$T/cap.sock" ||
	bail_out "lighttpd did not start"
login alice "$PW" "$T/cap.jar"
check_eq "alice logs in through lighttpd" 200 "$HTTP_STATUS"
api GET /api/count
last=$(body_get .lastEventId)
for i in $(seq 1 40); do
	curl -sS --max-time 20 -b "$T/cap.jar" -o /dev/null \
		-D "$T/storm-$i.h" -w '%{http_code}\n' \
		"$BASE_URL/api/poll?since=$last" >"$T/storm-$i.s" 2>&1 &
	integ_track $!
	pids[i]=$!
done
for i in $(seq 1 40); do
	wait "${pids[i]}"
	integ_untrack "${pids[i]}"
done
bad=0 n503=0 n200=0
for i in $(seq 1 40); do
	s=$(cat "$T/storm-$i.s")
	case $s in
	200) n200=$((n200 + 1)) ;;
	503) grep -qi '^retry-after:' "$T/storm-$i.h" && n503=$((n503 + 1)) ||
		bad=$((bad + 1)) ;;
	*) bad=$((bad + 1)); diag "poll $i: $s" ;;
	esac
done
diag "storm: $n200 answered 200, $n503 answered 503 + Retry-After"
check_eq "every poll of the storm answered 200, or 503 with Retry-After" \
	"0 40" "$bad $((n200 + n503))"
ok "the storm met the capacity (some 503)" test "$n503" -gt 0

# ---- 4. out of descriptors ----
integ_start_emitcgi_listen "unix:$T/fd.sock" EMITCGI_THREADS=1 ||
	bail_out "emitcgi did not start"
# Its socket is there before its store connections are open: count its
# descriptors once it says it serves (every connection open by then).
wait_for "emitcgi serving" 20 grep -q "serving FastCGI" \
	"$T/emitcgi-$INTEG_EMITCGI_N.log"
nfd=$(find "/proc/$EMITCGI_PID/fd" -mindepth 1 | wc -l)
prlimit --pid "$EMITCGI_PID" --nofile=$((nfd + 6)):$((nfd + 6)) ||
	bail_out "prlimit failed"
"$CLIENT" "$T/fd.sock" slowbody 20 /api/login >"$T/fd-slow.out" 2>&1 &
integ_track $!
wait_for "slow uploads connected" 20 grep -q ready "$T/fd-slow.out"
out=$(FCGI_HOLD_S=15 "$CLIENT" "$T/fd.sock" get GET /api/health 2>&1)
check_eq "out of descriptors: a request is answered 503" \
	"Status: 503 Service Unavailable" "$(head -n 1 <<<"$out" | tr -d '\r')"
ok "with Retry-After" grep -qi '^Retry-After: ' <<<"$out"
integ_check_sanitizers
tap_done
