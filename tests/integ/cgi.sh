#!/bin/sh
# tests/integ/cgi.sh -- emitcgi as plain CGI under lighttpd's mod_cgi.
#
# lib.sh --mode cgi: the example config with the FastCGI block taken out,
# /api/ aliased to the emitcgi binary itself, cgi.assign for it and the
# EMITCGI_* variables through setenv.add-environment.  One process per
# request: a waiting long-poll and an open stream are separate processes
# woken through the database when another request commits an event.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integ/lib.sh"
integ_require lighttpd curl jq
integ_init cgi

PW=correct-horse-battery

integ_db_init || bail_out "emitcgi init failed"
integ_start_lighttpd --mode cgi EMITCGI_POLL_TIMEOUT=20 EMITCGI_HEARTBEAT=1 ||
	bail_out "lighttpd (mod_cgi) did not start"
diag "$BASE_URL (mod_cgi), EMITCGI_HEARTBEAT=1"

api GET /api/health
check_eq "CGI: /health 200 ok" "200 ok" "$HTTP_STATUS $(body_get .status)"
register alice "$PW"
check_response "CGI: register alice" 201 '{"username":"alice"}'
register bob "$PW"
check_response "CGI: register bob" 201 '{"username":"bob"}'
register bob "$PW"
check_error "CGI: register bob again: 409" 409 username_taken
login alice "$PW" "$T/alice.jar"
check_response "CGI: alice logs in" 200 '{"username":"alice","currentUsers":1}'
check_match "CGI: login sets the session cookie" \
	'^emitcgi_sid=[0-9a-f]{64}; .*HttpOnly.*SameSite=Lax' "$(hdr Set-Cookie)"
api GET /api/count
check_response "CGI: /count" 200 '{"currentUsers":1,"uniqueUsers":1,"lastEventId":2}'
api GET /api/me -b "$T/alice.jar"
check_response "CGI: /me" 200 '{"username":"alice"}'
api GET /api/poll -b "$T/alice.jar"
check_response "CGI: poll without since: snapshot" 200 \
	'{"events":[{"id":2,"event":"user count","data":1}],"lastEventId":2}'

# --- a stream and a long-poll, each its own CGI process ---------------------
sse_start "$T/alice.jar" "$T/sa" -D "$T/sa.h"
SA=$SSE_PID
ok "CGI stream: snapshot user count 1" sse_wait "$T/sa" "user count" 1 10
check_eq "CGI stream: retry first, then the snapshot with id 2" \
	"retry: 3000|2	user count	1" "$(head -n 1 "$T/sa")|$(sse_events "$T/sa" | head -n 1)"
check_match "CGI stream: text/event-stream" \
	$'\n[Cc]ontent-[Tt]ype: text/event-stream' "$(tr -d '\r' <"$T/sa.h")"
ok "CGI stream: ': ping' every EMITCGI_HEARTBEAT=1 s" \
	wait_for "ping" 5 grep -qx ': ping' "$T/sa"

poll_start "$T/alice.jar" "$T/pa" "since=2&timeout=20"
PA=$POLL_PID
t0=$(now_ms)
login bob "$PW" "$T/bob.jar"
check_response "CGI: bob logs in (another process)" 200 '{"username":"bob","currentUsers":2}'
ok "the open CGI stream receives user count 2" sse_wait "$T/sa" "user count" 2 10
ok "... and the user event" \
	sse_wait "$T/sa" user '{"username":"bob","currentUsers":2,"connected":true}' 10
integ_wait_pid "$PA" 25
check_json "the waiting CGI long-poll returns bob's login" \
	'{"events":[{"id":3,"event":"user count","data":2},{"id":4,"event":"user","data":{"username":"bob","currentUsers":2,"connected":true}}],"lastEventId":4}' \
	"$(cat "$T/pa")"

# A poll that has to wait: started, shown to be waiting, then an emit.
poll_start "$T/alice.jar" "$T/pa2" "since=4&timeout=20"
PA2=$POLL_PID
ok "the long-poll is waiting (still open after 1 s)" \
	eval '! integ_wait_pid "$PA2" 1'
api_json POST /api/emit '{"event":"chat message","data":"hello from bob"}' -b "$T/bob.jar"
check_response "CGI: bob emits" 200 '{"id":5}'
ok "the waiting long-poll returns when the event is emitted" integ_wait_pid "$PA2" 10
check_json "... with exactly that event" \
	'{"events":[{"id":5,"event":"chat message","data":{"username":"bob","message":"hello from bob"}}],"lastEventId":5}' \
	"$(cat "$T/pa2")"
ok "the open stream receives the emit" \
	sse_wait "$T/sa" "chat message" '{"username":"bob","message":"hello from bob"}' 10
check_eq "the CGI stream's events in order" \
	"2 3 4 5" "$(sse_events "$T/sa" | cut -f1 | paste -sd' ' -)"

api GET "/api/poll?since=5&timeout=1" -b "$T/alice.jar"
check_response "CGI: a poll with nothing new times out with no events" 200 \
	'{"events":[],"lastEventId":5}'

# --- the stream's process ends with its client --------------------------------
integ_kill "$SA"
no_cgi_left() { [ -z "$(integ_children "$LIGHTTPD_PID")" ]; }
ok "no CGI process is left once the stream's client is gone" \
	wait_for "CGI processes to exit" 10 no_cgi_left

logout "$T/bob.jar"
check_eq "CGI: bob logs out" 204 "$HTTP_STATUS"
api GET /api/count
check_response "CGI: /count after logout" 200 '{"currentUsers":1,"uniqueUsers":1,"lastEventId":7}'

integ_stop_all
integ_check_sanitizers
tap_done
