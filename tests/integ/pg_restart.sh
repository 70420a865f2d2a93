#!/bin/sh
# pg_restart.sh -- PostgreSQL restarts under a burst of logins and emits.
#
# Two emitcgi processes on one PostgreSQL: A (`emitcgi --listen`) behind
# lighttpd #1, B spawned by lighttpd #2.  Streams are parked on both, and a
# long-poll on A.  Three writers emit through both servers and users log in
# while the server is stopped (fast shutdown) and started again.  Then:
#   - while it is down, requests get a JSON 503 (database_busy) at once;
#   - the parked streams and the poll stay parked (their curl still runs);
#   - after it is back, every stream gets every acknowledged (200) emit
#     exactly once, ids strictly increasing; the poll returns events;
#   - every login acknowledged is counted (the streams' last user count and
#     /count agree on the sessions online).
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integ/lib.sh"
INTEG_STORE=postgresql
integ_require lighttpd curl jq
integ_init pg_restart

PW=correct-horse-battery
WRITERS=3
EMITS=40

integ_db_init || bail_out "emitcgi init failed"
integ_start_emitcgi_listen "unix:$T/a.sock" EMITCGI_POLL_TIMEOUT=60 \
	EMITCGI_METRICS_LOOPBACK=1 ||
	bail_out "emitcgi --listen did not start"
integ_start_lighttpd --mode socket --backend "unix:$T/a.sock" ||
	bail_out "lighttpd #1 did not start"
URL_A=$BASE_URL
integ_start_lighttpd --max-procs 1 EMITCGI_POLL_TIMEOUT=60 EMITCGI_METRICS_LOOPBACK=1 ||
	bail_out "lighttpd #2 did not start"
URL_B=$BASE_URL
diag "A: $URL_A  B: $URL_B  PostgreSQL: port $INTEG_PG_PORT, pid $INTEG_PG_PID"

on()
{
	local BASE_URL
	case $1 in A) BASE_URL=$URL_A ;; B) BASE_URL=$URL_B ;; esac
	shift
	"$@"
}

for u in alice bob u1 u2 u3 u4 u5 u6; do
	on A register "$u" "$PW"
done
on A login alice "$PW" "$T/alice.jar"
check_response "alice logs in through A" 200 '{"username":"alice","currentUsers":1}'
on B login bob "$PW" "$T/bob.jar"
check_response "bob logs in through B" 200 '{"username":"bob","currentUsers":2}'
on A sse_start "$T/alice.jar" "$T/sa"
SA=$SSE_PID
on B sse_start "$T/bob.jar" "$T/sb"
SB=$SSE_PID
ok "alice's stream on A is up" sse_wait "$T/sa" "user count" 2 10
ok "bob's stream on B is up" sse_wait "$T/sb" "user count" 2 10

# Writers pace themselves (0.05 s) so that the burst spans the restart.
for w in $(seq 1 "$WRITERS"); do
	(
		for i in $(seq 1 "$EMITS"); do
			if [ $(((w + i) % 2)) = 0 ]; then url=$URL_A; else url=$URL_B; fi
			st=$(emit_status "$url" "$T/alice.jar" "w$w-$i")
			echo "$st w$w-$i" >>"$T/status-$w"
			sleep 0.05
			# paused (bounded) while the poll below is parked
			for ((k = 0; k < 600; k++)); do
				[ -e "$T/pause" ] || break
				touch "$T/paused-$w"
				sleep 0.05
			done
		done
	) &
	integ_track $!
	WPIDS+=($!)
done
wait_for "the burst under way" 20 eval '[ "$(cat "$T"/status-* 2>/dev/null | wc -l)" -ge 10 ]'
on A login u1 "$PW" "$T/u1.jar"
check_eq "u1 logs in before the restart" 200 "$HTTP_STATUS"

# A long-poll parked with nothing new for it: the writers pause, the
# stream catches up, the poll asks for what comes after its last id.
touch "$T/pause"
all_paused() { for w in $(seq 1 "$WRITERS"); do [ -e "$T/paused-$w" ] || return 1; done; }
ok "the writers pause" wait_for "writers paused" 20 all_paused
caught_up() { [ "$(sse_events "$T/sa" | awk -F'\t' '$2 == "n"' | wc -l)" -ge "$(cat "$T"/status-* | grep -c '^200 ')" ]; }
ok "alice's stream holds every emit so far" wait_for "caught up" 20 caught_up
last=$(sse_events "$T/sa" | awk -F'\t' '$1 != "" { l = $1 } END { print l }')
on A poll_start "$T/alice.jar" "$T/poll" "since=$last&timeout=60"
POLL=$POLL_PID
poll_parked() { on A api GET /api/health; [ "$(body_get .subscribers.poll)" = 1 ]; }
ok "the poll is parked on A (/health: 1 poll)" wait_for "poll parked" 20 poll_parked

integ_pg_stop
diag "PostgreSQL stopped (fast shutdown); the writers go on"
rm -f "$T/pause"
on A login u2 "$PW" "$T/u2.jar"
check_error "a login while PostgreSQL is down: JSON 503" 503 database_busy
on B api_json POST /api/emit '{"event":"n","data":"down"}' -b "$T/alice.jar"
check_error "an emit while it is down: JSON 503" 503 database_busy
ok "alice's stream stays parked" kill -0 "$SA"
ok "bob's stream stays parked" kill -0 "$SB"
ok "the long-poll stays parked" kill -0 "$POLL"

integ_pg_restart || bail_out "PostgreSQL did not come back"
diag "PostgreSQL started again, pid $INTEG_PG_PID"
login_ok() { on "$1" login "$2" "$PW" "$T/$2.jar"; [ "$HTTP_STATUS" = 200 ]; }
ok "u3 logs in through A after the restart (retrying while it reconnects)" \
	wait_for "login u3" 20 login_ok A u3
ok "u4 logs in through B after the restart" wait_for "login u4" 20 login_ok B u4

for p in "${WPIDS[@]}"; do
	integ_wait_pid "$p" 120 || diag "writer $p still running"
	integ_untrack "$p"
done
awk '$1 == 200 { print $2 }' "$T"/status-* | sort >"$T/acked"
ACKED=$(wc -l <"$T/acked")
diag "emits acknowledged: $ACKED of $((WRITERS * EMITS)); other answers: $(awk '$1 != 200 { print $1 }' "$T"/status-* | sort | uniq -c | tr '\n' ' ')"
ok "some emits were acknowledged before and after the restart" test "$ACKED" -gt 0
ok "the writers' other answers were all 503" \
	test -z "$(awk '$1 != 200 && $1 != 503' "$T"/status-*)"

n_events() { sse_events "$1" | awk -F'\t' '$2 == "n"' | wc -l; }
have_all() { [ "$(n_events "$1")" -ge "$ACKED" ]; }
ok "alice's stream (A) resumed and got all $ACKED" wait_for "alice" 30 have_all "$T/sa"
ok "bob's stream (B) resumed and got all $ACKED" wait_for "bob" 30 have_all "$T/sb"
ok "alice's stream saw 4 sessions online (u3, u4 after the restart)" \
	sse_wait "$T/sa" "user count" 5 10
integ_wait_pid "$POLL" 70
check_eq "the parked poll returned 200 after the restart" 200 "$(cat "$T/poll.status")"
ok "... with events" test "$(jq '.events | length' <"$T/poll")" -gt 0
integ_kill "$SA"
integ_kill "$SB"

for f in sa sb; do
	sse_events "$T/$f" | awk -F'\t' '$2 == "n" { d = $3; sub(/.*"message":"/, "", d); sub(/".*/, "", d); print d }' | sort >"$T/$f.n"
	check_eq "$f: every acknowledged emit exactly once, nothing else" "" \
		"$(diff "$T/acked" "$T/$f.n" | head -n 5)"
	check_eq "$f: ids strictly increasing" "" \
		"$(sse_events "$T/$f" | awk -F'\t' '$1 != "" && NR > 1 && $1 <= last { print "id " $1 " after " last } $1 != "" { last = $1 }' | head -n 3)"
done
on B api GET /api/count
check_eq "/count: alice bob u1 u3 u4 online" 5 "$(body_get .currentUsers)"
check_eq "alice's last user count agrees" 5 "$(sse_data "$T/sa" "user count" | awk '{ print $NF }')"

integ_stop_lighttpd 2>/dev/null
integ_check_sanitizers
tap_done
