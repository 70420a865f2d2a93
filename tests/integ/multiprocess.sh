#!/bin/sh
# tests/integ/multiprocess.sh -- several emitcgi processes on one database.
#
# Layout (all on one SQLite database, all on 127.0.0.1):
#   A  `emitcgi --listen unix:$T/a.sock`        behind lighttpd #1, whose
#      config is lighttpd.conf.example with block [B] ("socket") swapped in
#   B  `emitcgi --listen 127.0.0.1:PORT`        behind lighttpd #2, block [B]
#      with "host"/"port"
#   C  lighttpd #3 with block [A]: it spawns 2 emitcgi processes itself
# Waiters parked in one process must get events committed by any other:
# SSE on A, login/emit through B, and the other way round; long-polls too;
# a client switches servers and resumes by id; every server agrees on /count.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integ/lib.sh"
integ_require lighttpd curl jq
integ_init multiprocess

PW=correct-horse-battery

integ_db_init || bail_out "emitcgi init failed"

integ_start_emitcgi_listen "unix:$T/a.sock" EMITCGI_POLL_TIMEOUT=20 ||
	bail_out "emitcgi --listen unix: did not start"
PID_A=$EMITCGI_PID
integ_start_lighttpd --mode socket --backend "unix:$T/a.sock" ||
	bail_out "lighttpd #1 did not start"
URL_A=$BASE_URL

port=$(integ_port) || bail_out "no free port"
integ_start_emitcgi_listen "127.0.0.1:$port" EMITCGI_POLL_TIMEOUT=20 ||
	bail_out "emitcgi --listen 127.0.0.1:$port did not start"
PID_B=$EMITCGI_PID
integ_start_lighttpd --mode socket --backend "127.0.0.1:$port" ||
	bail_out "lighttpd #2 did not start"
URL_B=$BASE_URL

integ_start_lighttpd --max-procs 2 EMITCGI_POLL_TIMEOUT=20 ||
	bail_out "lighttpd #3 did not start"
URL_C=$BASE_URL
diag "A: $URL_A (unix socket)  B: $URL_B (tcp $port)  C: $URL_C (bin-path x2)"

# on A|B|C CMD...: run a helper against that server.
on()
{
	local BASE_URL
	case $1 in
	A) BASE_URL=$URL_A ;;
	B) BASE_URL=$URL_B ;;
	C) BASE_URL=$URL_C ;;
	esac
	shift
	"$@"
}

for s in A B C; do
	on $s api GET /api/health
	check_eq "server $s: /health 200 ok" "200 ok" "$HTTP_STATUS $(body_get .status)"
	pid=$(body_get .pid)
	[ -n "$pid" ] && [ "$pid" != null ] && diag "server $s: answered by pid $pid"
done
on A api GET /api/health
pid_a=$(body_get .pid)
on B api GET /api/health
[ "$pid_a" = null ] || [ -z "$pid_a" ] ||
	check_eq "A and B are two processes (pids $PID_A, $PID_B)" "$PID_A $PID_B" "$pid_a $(body_get .pid)"

on A register alice "$PW"
check_eq "register alice through A" 201 "$HTTP_STATUS"
on B register bob "$PW"
check_eq "register bob through B" 201 "$HTTP_STATUS"
on C register alice "$PW"
check_error "C sees alice (registered through A): 409" 409 username_taken

# --- SSE on A, login through B ----------------------------------------------
on A login alice "$PW" "$T/alice.jar"
check_response "alice logs in through A" 200 '{"username":"alice","currentUsers":1}'
on A sse_start "$T/alice.jar" "$T/sa"
SA=$SSE_PID
ok "alice's stream on A: snapshot 1" sse_wait "$T/sa" "user count" 1 10
on B login bob "$PW" "$T/bob.jar"
check_response "bob logs in through B" 200 '{"username":"bob","currentUsers":2}'
ok "bob's login through B reaches the stream on A (user count 2)" \
	sse_wait "$T/sa" "user count" 2 10
ok "... and the user event" \
	sse_wait "$T/sa" user '{"username":"bob","currentUsers":2,"connected":true}' 10

on B sse_start "$T/bob.jar" "$T/sb"
SB=$SSE_PID
ok "bob's stream on B: snapshot 2" sse_wait "$T/sb" "user count" 2 10

# --- emit across -----------------------------------------------------------
on A api_json POST /api/emit '{"event":"chat","data":"from A"}' -b "$T/alice.jar"
check_eq "alice emits through A" 200 "$HTTP_STATUS"
id1=$(body_get .id)
ok "the emit through A arrives on B's stream" \
	sse_wait "$T/sb" chat '{"username":"alice","message":"from A"}' 10
on B api_json POST /api/emit '{"event":"chat","data":"from B"}' -b "$T/bob.jar"
check_eq "bob emits through B" 200 "$HTTP_STATUS"
id2=$(body_get .id)
ok "the emit through B arrives on A's stream" \
	sse_wait "$T/sa" chat '{"username":"bob","message":"from B"}' 10
check_eq "ids are one sequence across processes" "$((id1 + 1))" "$id2"

# --- long-polls across -----------------------------------------------------
on B poll_start "$T/alice.jar" "$T/pb" "since=$id2&timeout=20"
PB=$POLL_PID
on A poll_start "$T/bob.jar" "$T/pa" "since=$id2&timeout=20"
PA=$POLL_PID
on C api_json POST /api/emit '{"event":"chat","data":"from C"}' -b "$T/alice.jar"
check_eq "alice emits through C (a process lighttpd spawned)" 200 "$HTTP_STATUS"
id3=$(body_get .id)
integ_wait_pid "$PB" 25
check_eq "alice's long-poll parked on B returns the emit made through C" \
	"200 $id3	chat	{\"message\":\"from C\",\"username\":\"alice\"}" \
	"$(cat "$T/pb.status") $(poll_events "$(cat "$T/pb")")"
integ_wait_pid "$PA" 25
check_eq "bob's long-poll parked on A returns it too" \
	"200 $id3	chat	{\"message\":\"from C\",\"username\":\"alice\"}" \
	"$(cat "$T/pa.status") $(poll_events "$(cat "$T/pa")")"

# --- streams in C's two processes ---------------------------------------------
for i in 1 2 3 4; do
	on C sse_start "$T/alice.jar" "$T/sc$i"
	eval "SC$i=\$SSE_PID"
	wait_for "stream $i on C" 10 sse_has_id "$T/sc$i" "$id3"
done
on B api_json POST /api/emit '{"event":"chat","data":"to all"}' -b "$T/bob.jar"
id4=$(body_get .id)
n=0
for i in 1 2 3 4; do
	sse_wait "$T/sc$i" chat '{"username":"bob","message":"to all"}' 10 && n=$((n + 1))
done
check_eq "4 streams through C's two processes all got the emit made through B" 4 "$n"
ok "A's stream got it" sse_wait "$T/sa" chat '{"username":"bob","message":"to all"}' 10
ok "B's stream got it" sse_wait "$T/sb" chat '{"username":"bob","message":"to all"}' 10

# --- switching servers and transports at any id -------------------------------
on B sse_collect "$T/alice.jar" "$T/r1" "$id4" 10 -H "Last-Event-ID: $id1"
check_eq "alice resumes on B from an id seen on A: the same events" \
	"$(sse_events_norm "$T/sa" | awk -F'\t' -v i="$id1" '$1 > i')" \
	"$(sse_events_norm "$T/r1")"
on C api GET "/api/poll?since=$id1" -b "$T/alice.jar"
check_eq "... and by long-poll on C" \
	"$(sse_events_norm "$T/sa" | awk -F'\t' -v i="$id1" '$1 > i')" \
	"$(poll_events "$HTTP_BODY")"

# --- one count ---------------------------------------------------------------
on A api GET /api/count
count_a=$HTTP_BODY
check_json "/count on A" "{\"currentUsers\":2,\"uniqueUsers\":2,\"lastEventId\":$id4}" "$count_a"
on B api GET /api/count
check_eq "/count on B agrees with A" "$count_a" "$HTTP_BODY"
on C api GET /api/count
check_eq "/count on C agrees with A" "$count_a" "$HTTP_BODY"

on C logout "$T/bob.jar"
check_eq "bob logs out through C" 204 "$HTTP_STATUS"
ok "A's stream: user count 1" sse_wait "$T/sa" "user count" 1 10
ok "B's stream: user count 1" sse_wait "$T/sb" user '{"username":"bob","currentUsers":1,"connected":false}' 10
ok "C's streams: user count 1" eval 'sse_wait "$T/sc1" "user count" 1 10 && sse_wait "$T/sc4" "user count" 1 10'
check_eq "A's stream saw the count 1 2 1" "1 2 1" "$(sse_data "$T/sa" "user count")"

# --- stopping ----------------------------------------------------------------------
integ_kill "$SA"
integ_kill "$SB"
for p in "$SC1" "$SC2" "$SC3" "$SC4"; do integ_kill "$p"; done
# lighttpd (and the processes it spawned) first, then A and B by hand
for p in $(printf '%s\n' "${INTEG_PIDS[@]}"); do
	[ "$p" = "$PID_A" ] || [ "$p" = "$PID_B" ] || integ_kill "$p"
done
kill -TERM "$PID_A" 2>/dev/null
ok "emitcgi --listen (A) exits on SIGTERM within 5 s" integ_wait_pid "$PID_A" 5
kill -TERM "$PID_B" 2>/dev/null
ok "emitcgi --listen (B) exits on SIGTERM within 5 s" integ_wait_pid "$PID_B" 5
integ_stop_all
integ_check_sanitizers
tap_done
