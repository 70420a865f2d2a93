#!/bin/sh
# tests/integ/sio_post_claim.sh -- one POST at a time per Engine.IO
# session (issue 11; engine.io-protocol v4: a second concurrent request of
# one kind is a 400 and closes the session), on any process.
#
# Two `emitcgi --listen` processes on one database, spoken to directly in
# FastCGI (tests/integ/fcgi_client), as a web server that streams request
# bodies does (Apache's mod_proxy_fcgi): a POST whose body is still coming
# holds its session (the claim is written when its params arrive); a
# second POST meanwhile, sent to the other process, gets 400 code 3 and
# the session is closed.  A POST whose connection goes before its body
# lets go of its claim, and so does one refused before its payload is
# taken (413): the next POST is served.
#
# Before the claim (git 306c6d3), the second POST was answered "ok".
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integ/lib.sh"
integ_require sqlite3 jq
integ_init sio_post_claim

CLIENT=${top_builddir:-.}/tests/integ/fcgi_client
[ -x "$CLIENT" ] || skip_all "no $CLIENT (make check builds it)"
[ "${INTEG_STORE:-sqlite}" = sqlite ] || skip_all "reads the SQLite file"

tap_plan 10

integ_db_init || bail_out "emitcgi init failed"
for n in 1 2; do
	integ_start_emitcgi_listen "unix:$T/emitcgi-$n.sock" \
		EMITCGI_SIO_MAX_PAYLOAD=1000 ||
		bail_out "emitcgi $n did not start"
done
A=$T/emitcgi-1.sock
B=$T/emitcgi-2.sock
SIO='/socket.io/?EIO=4&transport=polling'

# One request through process $1: the CGI response (head, body) in $T/out.
fcgi()
{
	local sock=$1
	shift
	FCGI_HOLD_S=20 "$CLIENT" "$sock" get "$@" >"$T/out" 2>"$T/err"
}
status() { awk -F': ' 'tolower($1) == "status" { print $2 + 0; exit }' "$T/out"; }
body() { awk 'body { print } /^\r?$/ { body = 1 }' "$T/out" | tr -d '\r'; }

handshake()
{
	fcgi "$A" GET "$SIO" || return 1
	body | sed -n 's/^0{"sid":"\([^"]*\)".*/\1/p'
}

claim_of() { sqlite3 "$T/emitcgi.db" "SELECT post_ms FROM sio_sessions WHERE sid = '$1'"; }
claimed() { [ "$(claim_of "$1")" != 0 ]; }
released() { [ "$(claim_of "$1")" = 0 ]; }

SLOW_PID=
start_slow_post()
{
	FCGI_HOLD_S=60 "$CLIENT" "$A" slowbody 1 "$SIO&sid=$1" >"$T/slow.out" 2>&1 &
	SLOW_PID=$!
	integ_track "$SLOW_PID"
	wait_for "the slow POST's claim" 20 claimed "$1"
}
stop_slow_post() { integ_kill "$SLOW_PID"; }

# ---- a second POST while the first one's body comes ----
SID=$(handshake)
[ -n "$SID" ] || bail_out "no Engine.IO handshake: $(cat "$T/out" "$T/err")"
start_slow_post "$SID"
check_eq "a POST whose body is coming claims its session" 0 $?
FCGI_BODY=6 fcgi "$B" POST "$SIO&sid=$SID"
check_eq "a second POST meanwhile, on the other process: 400" 400 "$(status)"
check_eq "... with code 3 (bad request)" 3 "$(body | jq -r .code 2>/dev/null)"
fcgi "$A" GET "$SIO&sid=$SID"
check_eq "the session is closed: a GET is 400 code 1" "400 1" \
	"$(status) $(body | jq -r .code 2>/dev/null)"
stop_slow_post

# ---- a POST that goes before its body lets go ----
SID=$(handshake)
[ -n "$SID" ] || bail_out "no second handshake"
start_slow_post "$SID" || bail_out "no claim for the second session"
stop_slow_post
wait_for "the claim of a POST whose connection went to end" 20 released "$SID"
check_eq "a POST whose connection went lets go of its claim" 0 $?
FCGI_BODY=6 fcgi "$B" POST "$SIO&sid=$SID"
check_eq "then the next POST is served" "200 ok" "$(status) $(body)"

# ---- a POST refused before its payload is taken lets go ----
FCGI_BODY=$(head -c 2000 /dev/zero | tr '\0' 6) fcgi "$A" POST "$SIO&sid=$SID"
check_eq "a payload past EMITCGI_SIO_MAX_PAYLOAD: 413" 413 "$(status)"
check_eq "... and its claim ended with it" 0 "$(claim_of "$SID")"
FCGI_BODY=6 fcgi "$B" POST "$SIO&sid=$SID"
check_eq "the next POST is served" "200 ok" "$(status) $(body)"

integ_check_sanitizers
tap_done
