#!/bin/sh
# tests/integ/session_cache.sh -- the session cache of the worker-free
# re-poll (issue 8, src/conn_fast.c) never outlives its session, in any
# process that shares the database.
#
# Two `emitcgi --listen` processes A and B on one SQLite database, each
# behind its own lighttpd ("socket" block), EMITCGI_MAX_SESSIONS_PER_USER=1.
#  1. A re-poll at the newest id on B is parked from B's cache:
#     emitcgi_polls_cached_total on B grows (so what follows is about a
#     session B really holds in its cache); one three events behind gets
#     exactly those three, from the cache too.
#  2. alice logs out through A; at once, the same cookie polls on B, at the
#     id it had and at the newest: 401 both times, never a parked poll.
#  3. The same within one process: logout through B, poll on B: 401.
#  4. A login past EMITCGI_MAX_SESSIONS_PER_USER ends the oldest session
#     without a logout (store_user_sessions_cap): the login through A, then
#     the old cookie polls on B: 401 at once.
# Without the invalidation (the hub's "user" scan, or its check that no
# notify poke is pending) B would park these polls from its cache and
# answer 200 after the timeout.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integ/lib.sh"
integ_require lighttpd curl jq
integ_init session-cache

PW=correct-horse-battery
ENVS=(EMITCGI_POLL_TIMEOUT=20 EMITCGI_METRICS_LOOPBACK=1
	EMITCGI_MAX_SESSIONS_PER_USER=1)

tap_plan 17
integ_db_init || bail_out "emitcgi init failed"

integ_start_emitcgi_listen "unix:$T/a.sock" "${ENVS[@]}" ||
	bail_out "emitcgi A did not start"
integ_start_lighttpd --mode socket --backend "unix:$T/a.sock" ||
	bail_out "lighttpd A did not start"
URL_A=$BASE_URL
integ_start_emitcgi_listen "unix:$T/b.sock" "${ENVS[@]}" ||
	bail_out "emitcgi B did not start"
integ_start_lighttpd --mode socket --backend "unix:$T/b.sock" ||
	bail_out "lighttpd B did not start"
URL_B=$BASE_URL

on() # A|B CMD...
{
	local BASE_URL
	case $1 in
	A) BASE_URL=$URL_A ;;
	B) BASE_URL=$URL_B ;;
	esac
	shift
	"$@"
}

cached() # SERVER: its emitcgi_polls_cached_total
{
	on "$1" api GET /api/metrics
	awk '/^emitcgi_polls_cached_total / { print $2 }' <<<"$HTTP_BODY"
}

newest() # SERVER: the newest event id it knows
{
	on "$1" api GET /api/count
	body_get .lastEventId
}

# poll SERVER JAR SINCE: a poll that would wait a second.
poll()
{
	on "$1" api GET "/api/poll?since=$3&timeout=1" -b "$2"
}

# warm SERVER JAR: two polls at the newest id, the second from the cache.
warm()
{
	local last
	last=$(newest "$1")
	poll "$1" "$2" "$last"
	[ "$HTTP_STATUS" = 200 ] || return 1
	poll "$1" "$2" "$last"
	[ "$HTTP_STATUS" = 200 ]
}

on A register alice "$PW"
check_eq "register alice" 201 "$HTTP_STATUS"
on A register bob "$PW"
check_eq "register bob" 201 "$HTTP_STATUS"

# ---- 1. B parks alice's re-polls from its cache ----
on A login alice "$PW" "$T/alice.jar"
check_eq "alice logs in through A" 200 "$HTTP_STATUS"
cp "$T/alice.jar" "$T/alice.kept"
c0=$(cached B)
ok "alice polls on B twice at the newest id" warm B "$T/alice.jar"
c1=$(cached B)
diag "B: polls parked from the cache $c0 -> $c1"
ok "B parked a re-poll of alice's from its cache" \
	test -n "$c0" -a -n "$c1" -a "${c1:-0}" -gt "${c0:-0}"
last_before=$(newest B)

# A re-poll a few events behind is answered from B's ring by the same
# path (the events after since, in order, once), and still counted there.
for i in 1 2 3; do
	on A api_json POST /api/emit "{\"event\":\"n\",\"data\":$i}" \
		-b "$T/alice.jar"
done
b_has() { [ "$(newest B)" = "$1" ]; }
wait_for "B has the three events" 10 b_has "$((last_before + 3))"
c2=$(cached B)
poll B "$T/alice.jar" "$last_before"
check_eq "a poll three events behind on B gets exactly them" \
	"$((last_before + 1)) n 1;$((last_before + 2)) n 2;$((last_before + 3)) n 3" \
	"$(jq -r '.events[] | "\(.id) \(.event) \(.data.message)"' \
		<<<"$HTTP_BODY" | tr '\n' ';' | sed 's/;$//')"
c3=$(cached B)
ok "and it came from B's cache" test "${c3:-0}" -gt "${c2:-0}"
last_before=$(newest B)

# ---- 2. logout through A, poll on B at once ----
on A logout "$T/alice.jar"
check_eq "alice logs out through A" 204 "$HTTP_STATUS"
poll B "$T/alice.kept" "$last_before"
check_eq "her cookie on B right after, at her last id: 401" 401 "$HTTP_STATUS"
poll B "$T/alice.kept" "$(newest A)"
check_eq "and at the newest id: 401" 401 "$HTTP_STATUS"

# ---- 3. one process: logout through B, poll on B ----
on B login bob "$PW" "$T/bob.jar"
check_eq "bob logs in through B" 200 "$HTTP_STATUS"
cp "$T/bob.jar" "$T/bob.kept"
ok "bob polls on B twice at the newest id" warm B "$T/bob.jar"
on B logout "$T/bob.jar"
poll B "$T/bob.kept" "$(newest B)"
check_eq "bob's cookie on B after his logout through B: 401" 401 \
	"$HTTP_STATUS"

# ---- 4. a session ended by the per-user cap, not by a logout ----
on A login alice "$PW" "$T/alice1.jar"
cp "$T/alice1.jar" "$T/alice1.kept"
ok "alice (session 1) polls on B twice at the newest id" \
	warm B "$T/alice1.jar"
on A login alice "$PW" "$T/alice2.jar"
check_eq "alice logs in again through A (the cap is 1)" 200 "$HTTP_STATUS"
poll B "$T/alice1.kept" "$(newest B)"
check_eq "session 1's cookie on B right after: 401" 401 "$HTTP_STATUS"
poll B "$T/alice2.jar" "$(newest B)"
check_eq "session 2 polls on B: 200" 200 "$HTTP_STATUS"

tap_done
