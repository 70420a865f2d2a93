#!/bin/sh
# pg_cluster.sh -- several machines' worth of emitcgi on one PostgreSQL.
#
# Layout (127.0.0.1 only; one PostgreSQL started by the test):
#   N  nginx (nginx.conf.example) -> `emitcgi --listen unix:...`   (1 process)
#   L  lighttpd (lighttpd.conf.example, block [A]) spawning 2 emitcgi
# Three processes, two web servers, one database, no sticky sessions:
# alice logs in through L and streams through N; bob the other way round.
# Three writers emit in parallel through both servers while four more users
# log in.  Then both streams must hold every acknowledged emit exactly once,
# ids strictly increasing, the same (id, event, data) sequence in both (one
# order), and `user count` going up by one per login (one count); /count
# through either server agrees.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/integ/lib.sh"
. "$top_srcdir/tests/integ/deploy_lib.sh"

INTEG_STORE=postgresql
integ_require lighttpd curl jq setpriv
deploy_require_nginx
integ_init pg_cluster
deploy_setup
diag "database: $INTEG_DB"

PW=correct-horse-battery
WRITERS=3
EMITS=30

deploy_start_listen "$DEPLOY_RUN/emitcgi-1.sock" EMITCGI_POLL_TIMEOUT=20 ||
	bail_out "emitcgi --listen did not start"
deploy_start_nginx "$DEPLOY_RUN/emitcgi-1.sock" "" || bail_out "nginx did not start"
URL_N=$BASE_URL
integ_start_lighttpd --max-procs 2 EMITCGI_POLL_TIMEOUT=20 ||
	bail_out "lighttpd did not start"
URL_L=$BASE_URL
diag "N: $URL_N (nginx)  L: $URL_L (lighttpd, 2 processes)"

procs_ge_3() { [ "$(deploy_emitcgi_procs)" -ge 3 ]; }
ok "three emitcgi processes on the one PostgreSQL database" \
	wait_for "3 emitcgi processes" 20 procs_ge_3

on()
{
	local BASE_URL
	case $1 in N) BASE_URL=$URL_N ;; L) BASE_URL=$URL_L ;; esac
	shift
	"$@"
}

for u in alice bob u1 u2 u3 u4; do
	on N register "$u" "$PW"
done
check_eq "users registered through N" 201 "$HTTP_STATUS"
on L login alice "$PW" "$T/alice.jar"
check_response "alice logs in through L: 1" 200 '{"username":"alice","currentUsers":1}'
on N sse_start "$T/alice.jar" "$T/sa"
SA=$SSE_PID
ok "alice streams through N: snapshot 1" sse_wait "$T/sa" "user count" 1 10
on N login bob "$PW" "$T/bob.jar"
check_response "bob logs in through N: 2" 200 '{"username":"bob","currentUsers":2}'
on L sse_start "$T/bob.jar" "$T/sb"
SB=$SSE_PID
ok "bob streams through L: snapshot 2" sse_wait "$T/sb" "user count" 2 10
ok "alice's stream (N) saw bob's login (made through N)" \
	sse_wait "$T/sa" "user count" 2 10

# The burst: writers alternate servers; each acknowledged emit is logged.
for w in $(seq 1 "$WRITERS"); do
	(
		for i in $(seq 1 "$EMITS"); do
			if [ $(((w + i) % 2)) = 0 ]; then url=$URL_N; else url=$URL_L; fi
			jar=$T/alice.jar
			[ $((i % 3)) = 0 ] && jar=$T/bob.jar
			[ "$(emit_status "$url" "$jar" "w$w-$i")" = 200 ] && echo "w$w-$i"
		done >"$T/acked-$w"
	) &
	integ_track $!
	WPIDS+=($!)
done
for u in 1 2 3 4; do
	if [ $((u % 2)) = 0 ]; then s=N; else s=L; fi
	on $s login "u$u" "$PW" "$T/u$u.jar"
	check_eq "u$u logs in through $s during the burst" 200 "$HTTP_STATUS"
done
for p in "${WPIDS[@]}"; do
	integ_wait_pid "$p" 60 || diag "writer $p still running"
	integ_untrack "$p"
done
sort "$T"/acked-* >"$T/acked"
ACKED=$(wc -l <"$T/acked")
check_eq "every emit of the burst was acknowledged" $((WRITERS * EMITS)) "$ACKED"

n_events() { sse_events "$1" | awk -F'\t' '$2 == "n"' | wc -l; }
have_all() { [ "$(n_events "$1")" -ge "$ACKED" ]; }
ok "alice's stream (N) got all $ACKED emits" wait_for "alice's emits" 30 have_all "$T/sa"
ok "bob's stream (L) got all $ACKED emits" wait_for "bob's emits" 30 have_all "$T/sb"
ok "both saw the last login" sse_wait "$T/sb" "user count" 6 10
integ_kill "$SA"
integ_kill "$SB"

for f in sa sb; do
	sse_events "$T/$f" | awk -F'\t' '$2 == "n" { d = $3; sub(/.*"message":"/, "", d); sub(/".*/, "", d); print d }' | sort >"$T/$f.n"
	check_eq "$f: every acknowledged emit exactly once" "" \
		"$(diff "$T/acked" "$T/$f.n" | head -n 5)"
	check_eq "$f: ids strictly increasing (no repeat, no step back)" "" \
		"$(sse_events "$T/$f" | awk -F'\t' 'NR > 1 && $1 <= last { print "id " $1 " after " last } { last = $1 }' | head -n 3)"
	check_eq "$f: user count +1 per login (one count): 1..6 from its snapshot" "" \
		"$(sse_data "$T/$f" "user count" | awk '{ for (i = 2; i <= NF; i++) if ($i != $(i-1) + 1) print "jump " $(i-1) " -> " $i }')"
done
# One order: the events both streams hold, in the same sequence.
first_b=$(sse_events "$T/sb" | awk -F'\t' '$1 != "" { print $1; exit }')
sse_events "$T/sa" | awk -F'\t' -v f="$first_b" '$1 != "" && $1 > f' >"$T/sa.seq"
sse_events "$T/sb" | awk -F'\t' -v f="$first_b" '$1 != "" && $1 > f' >"$T/sb.seq"
ok "both streams hold events after id $first_b" test -s "$T/sa.seq"
check_eq "one order: both streams' (id, event, data) sequences are equal" "" \
	"$(diff "$T/sa.seq" "$T/sb.seq" | head -n 5)"

on N api GET /api/count
count_n=$(body_get '"\(.currentUsers)"')
on L api GET /api/count
count_l=$(body_get '"\(.currentUsers)"')
check_eq "/count through N and through L agree: 6 online" "6 6" "$count_n $count_l"

deploy_stop_all
integ_check_sanitizers
tap_done
