#!/bin/sh
# tests/integ/core.sh -- the lesson's walkthrough through a real lighttpd.
#
# lighttpd runs from lighttpd.conf.example (lib.sh substitutes paths and
# port) and starts emitcgi itself with 2 processes on one database, so
# streams and polls land on either process.  Three servers in turn:
#   A  defaults: three users log in one after the other, every SSE stream
#      and long-poll sees `user count` 1, 2, 3, a logout brings everyone to
#      2; snapshot, resume, reset (id from the future), emit, /me, /count,
#      /health, cookie attributes, 401 and 429.
#   B  EMITCGI_PRESENCE_TIMEOUT=2, EMITCGI_HEARTBEAT=1: a client whose
#      stream dies goes offline; polling brings it back online.  (lighttpd
#      notices a vanished client only when it next writes to it, and only
#      then closes the FastCGI connection: the heartbeat bounds how long a
#      dead stream keeps its session online, so it is short here.)
#   C  EMITCGI_HEARTBEAT=1, EMITCGI_STREAM_MAX=3, EMITCGI_RETENTION=5:
#      ": ping", a stream that ends by itself, reset after retention (the
#      server is restarted after the emits so that the trim, which runs at
#      start and then periodically, has certainly run).
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integ/lib.sh"
integ_require lighttpd curl jq
integ_init core

PW=correct-horse-battery

# ids of the last response of a background poll
poll_result()
{
	POLL_STATUS=$(cat "$1.status" 2>/dev/null)
	POLL_BODY=$(cat "$1" 2>/dev/null)
}

count_is()
{
	api GET /api/count
	[ "$HTTP_STATUS" = 200 ] &&
		[ "$(jq -cS . <<<"$HTTP_BODY")" = "$(jq -cS . <<<"$1")" ]
}

# ======================================================================
# A: the walkthrough
# ======================================================================
integ_db_init "$T/a.db" || bail_out "emitcgi init failed"
integ_start_lighttpd EMITCGI_POLL_TIMEOUT=20 || bail_out "lighttpd (A) did not start"
diag "A: $BASE_URL, lighttpd pid $LIGHTTPD_PID"

api GET /api/health
ok "health: 200 status ok" test "$HTTP_STATUS $(body_get .status)" = "200 ok"

for u in alice bob carol dave; do
	register "$u" "$PW"
	check_response "register $u: 201" 201 "{\"username\":\"$u\"}"
done
register alice "another-password"
check_error "register a taken name: 409" 409 username_taken
register ALICE "another-password"
check_error "register the same name in other case: 409" 409 username_taken

api GET /api/count
check_response "count before any login" 200 \
	'{"currentUsers":0,"uniqueUsers":0,"lastEventId":0}'
L0=$(body_get .lastEventId)
[[ $L0 =~ ^[0-9]+$ ]] || L0=0

# --- alice logs in: count 1 -------------------------------------------
login alice "$PW" "$T/alice.jar"
check_response "alice logs in: currentUsers 1" 200 \
	'{"username":"alice","currentUsers":1}'
cookie=$(hdr Set-Cookie)
check_match "login cookie: emitcgi_sid, 64 hex" '^emitcgi_sid=[0-9a-f]{64};' "$cookie"
check_match "login cookie: HttpOnly" '; HttpOnly(;|$)' "$cookie"
check_match "login cookie: SameSite=Lax" '; SameSite=Lax(;|$)' "$cookie"
check_match "login cookie: Path=/api, the API base (issue 9; was Path=/)" '; Path=/api(;|$)' "$cookie"
ok "login cookie: no Secure over plain HTTP" test "${cookie/Secure/}" = "$cookie"

L1=$((L0 + 2))
api GET /api/count
check_response "the login committed user count + user (two events)" 200 \
	"{\"currentUsers\":1,\"uniqueUsers\":1,\"lastEventId\":$L1}"

api GET /api/me -b "$T/alice.jar"
check_response "/me with the session" 200 '{"username":"alice"}'

sse_start "$T/alice.jar" "$T/sa" -D "$T/sa.h"
SA=$SSE_PID
sse_wait "$T/sa" "user count" 1 10
check_eq "alice's stream starts with retry: 3000" "retry: 3000" "$(head -n 1 "$T/sa")"
check_eq "alice's stream: snapshot user count 1, id = last id" \
	"$L1	user count	1" "$(sse_events "$T/sa" | head -n 1)"
sa_headers=$(tr -d '\r' <"$T/sa.h")
check_match "stream: 200 text/event-stream" $'^HTTP/1.1 200[^\n]*\n(.*\n)?[Cc]ontent-[Tt]ype: text/event-stream' "$sa_headers"
check_match "stream: Cache-Control: no-cache, no-transform" $'\n[Cc]ache-[Cc]ontrol: no-cache, no-transform\n' "$sa_headers"
check_match "stream: X-Accel-Buffering: no" $'\n[Xx]-[Aa]ccel-[Bb]uffering: no\n' "$sa_headers"

api GET /api/poll -b "$T/alice.jar"
check_response "alice's poll without since: the snapshot" 200 \
	"{\"events\":[{\"id\":$L1,\"event\":\"user count\",\"data\":1}],\"lastEventId\":$L1}"

poll_start "$T/alice.jar" "$T/pa1" "since=$L1&timeout=20"
PA1=$POLL_PID

# --- bob logs in: count 2 ---------------------------------------------
login bob "$PW" "$T/bob.jar"
check_response "bob logs in: currentUsers 2" 200 '{"username":"bob","currentUsers":2}'
sse_wait "$T/sa" "user count" 2 10
ok "alice's stream: user event for bob, connected" sse_wait "$T/sa" user \
	'{"username":"bob","currentUsers":2,"connected":true}' 10
integ_wait_pid "$PA1" 25
poll_result "$T/pa1"
check_eq "alice's long-poll since the snapshot returns user count 2 first" \
	"200 $((L1 + 1))	user count	2" "$POLL_STATUS $(poll_events "$POLL_BODY" | head -n 1)"
PA1_LAST=$(jq -r .lastEventId <<<"$POLL_BODY" 2>/dev/null)
[[ $PA1_LAST =~ ^[0-9]+$ ]] || PA1_LAST=

sse_start "$T/bob.jar" "$T/sb"
SB=$SSE_PID
sse_wait "$T/sb" "user count" 2 10
check_eq "bob's stream: snapshot user count 2, id = last id" \
	"$((L1 + 2))	user count	2" "$(sse_events "$T/sb" | head -n 1)"
api GET /api/poll -b "$T/bob.jar"
check_response "bob's poll without since: the snapshot" 200 \
	"{\"events\":[{\"id\":$((L1 + 2)),\"event\":\"user count\",\"data\":2}],\"lastEventId\":$((L1 + 2))}"

poll_start "$T/bob.jar" "$T/pb1" "since=$((L1 + 2))&timeout=20"
PB1=$POLL_PID
poll_start "$T/alice.jar" "$T/pa2" "since=${PA1_LAST:-$((L1 + 2))}&timeout=20"
PA2=$POLL_PID
[ "${PA1_LAST:-0}" = $((L1 + 2)) ] ||
	diag "alice's first long-poll ended at ${PA1_LAST:-?}, not $((L1 + 2))"

# --- carol logs in: count 3 -------------------------------------------
login carol "$PW" "$T/carol.jar"
check_response "carol logs in: currentUsers 3" 200 '{"username":"carol","currentUsers":3}'
sse_wait "$T/sa" "user count" 3 10
sse_wait "$T/sb" "user count" 3 10
integ_wait_pid "$PB1" 25
poll_result "$T/pb1"
check_eq "bob's long-poll returns user count 3 first" \
	"200 $((L1 + 3))	user count	3" "$POLL_STATUS $(poll_events "$POLL_BODY" | head -n 1)"
integ_wait_pid "$PA2" 25
poll_result "$T/pa2"
check_eq "alice's second long-poll returns user count 3 first" \
	"200 $((L1 + 3))	user count	3" "$POLL_STATUS $(poll_events "$POLL_BODY" | head -n 1)"

sse_start "$T/carol.jar" "$T/sc"
SC_PID=$SSE_PID
SC=$SSE_PID
sse_wait "$T/sc" "user count" 3 10
check_eq "carol's stream: snapshot user count 3" \
	"$((L1 + 4))	user count	3" "$(sse_events "$T/sc" | head -n 1)"

sse_wait "$T/sa" user '{"username":"carol","currentUsers":3,"connected":true}' 10
check_eq "alice's stream saw user count 1, 2, 3 in order" "1 2 3" "$(sse_data "$T/sa" "user count")"
check_eq "bob's stream saw user count 2, 3" "2 3" "$(sse_data "$T/sb" "user count")"

api GET /api/count
check_response "/count agrees: 3 online" 200 \
	"{\"currentUsers\":3,\"uniqueUsers\":3,\"lastEventId\":$((L1 + 4))}"

expected_a="$L1	user count	1
$((L1 + 1))	user count	2
$((L1 + 2))	user	{\"connected\":true,\"currentUsers\":2,\"username\":\"bob\"}
$((L1 + 3))	user count	3
$((L1 + 4))	user	{\"connected\":true,\"currentUsers\":3,\"username\":\"carol\"}"
check_eq "alice's stream: exactly these events, in order, once" \
	"$expected_a" "$(sse_events_norm "$T/sa")"

api GET "/api/poll?since=$L1" -b "$T/alice.jar"
check_eq "poll since the snapshot: every later event, in order, once" \
	"$(tail -n +2 <<<"$expected_a")" "$(poll_events "$HTTP_BODY")"
check_eq "poll since the snapshot: lastEventId" "$((L1 + 4))" "$(body_get .lastEventId)"

# --- carol logs out: everyone back to 2 -------------------------------
logout "$T/carol.jar"
check_eq "logout: 204" 204 "$HTTP_STATUS"
gone='{"username":"carol","currentUsers":2,"connected":false}'
for s in sa sb sc; do
	sse_wait "$T/$s" "user count" 2 10
	sse_wait "$T/$s" user "$gone" 10
done
check_eq "after logout alice's stream: user count 1 2 3 2" "1 2 3 2" "$(sse_data "$T/sa" "user count")"
check_eq "after logout bob's stream: user count 2 3 2" "2 3 2" "$(sse_data "$T/sb" "user count")"
check_eq "after logout carol's stream: user count 3 2" "3 2" "$(sse_data "$T/sc" "user count")"
ok "every stream got the user event connected:false" \
	eval 'sse_has "$T/sa" user "$gone" && sse_has "$T/sb" user "$gone" && sse_has "$T/sc" user "$gone"'
LAST=$((L1 + 6))
api GET /api/count
check_response "/count after logout" 200 \
	"{\"currentUsers\":2,\"uniqueUsers\":2,\"lastEventId\":$LAST}"
api GET /api/me -b "$T/carol.jar"
check_error "/me after logout: 401" 401 unauthorized
ok "carol's stream is ended once her session is (after its last events)" \
	integ_wait_pid "$SC_PID" 10
logout "$T/carol.jar"
check_eq "logout without a session: 204" 204 "$HTTP_STATUS"
api GET /api/count
check_response "a logout without a session emits nothing" 200 \
	"{\"currentUsers\":2,\"uniqueUsers\":2,\"lastEventId\":$LAST}"
integ_kill "$SC"

# --- snapshots now ------------------------------------------------------
api GET /api/poll -b "$T/alice.jar"
check_response "fresh poll: snapshot user count 2 with the last id" 200 \
	"{\"events\":[{\"id\":$LAST,\"event\":\"user count\",\"data\":2}],\"lastEventId\":$LAST}"
sse_collect "$T/alice.jar" "$T/sa2" "$LAST" 10
check_eq "fresh stream: only the snapshot" "$LAST	user count	2" "$(sse_events "$T/sa2")"

# --- emit ---------------------------------------------------------------
api_json POST /api/emit '{"event":"chat message","data":"hi there"}' -b "$T/alice.jar"
check_response "emit: 200 with the new id" 200 "{\"id\":$((LAST + 1))}"
chat='{"message":"hi there","username":"alice"}'
ok "emit delivered on alice's stream" sse_wait "$T/sa" "chat message" "$chat" 10
ok "emit delivered on bob's stream" sse_wait "$T/sb" "chat message" "$chat" 10
check_eq "emitted event on the stream has its id" "$((LAST + 1))" \
	"$(sse_events "$T/sa" | awk -F'\t' '$2 == "chat message" { print $1 }')"
api_json POST /api/emit '{"event":"data:obj","data":{"n":[1,2.5,{"x":null}],"s":"h\u00e9llo \u2713"}}' -b "$T/bob.jar"
check_response "emit with an object: 200" 200 "{\"id\":$((LAST + 2))}"
api POST /api/emit -b "$T/bob.jar" --data-urlencode 'event=form event' --data-urlencode 'data=a&b=c'
check_response "emit as a form: 200" 200 "{\"id\":$((LAST + 3))}"
api GET "/api/poll?since=$LAST" -b "$T/bob.jar"
check_json "poll returns the three emits with {username, message}" \
	"{\"events\":[{\"id\":$((LAST + 1)),\"event\":\"chat message\",\"data\":{\"username\":\"alice\",\"message\":\"hi there\"}},{\"id\":$((LAST + 2)),\"event\":\"data:obj\",\"data\":{\"username\":\"bob\",\"message\":{\"n\":[1,2.5,{\"x\":null}],\"s\":\"héllo ✓\"}}},{\"id\":$((LAST + 3)),\"event\":\"form event\",\"data\":{\"username\":\"bob\",\"message\":\"a&b=c\"}}],\"lastEventId\":$((LAST + 3))}" \
	"$HTTP_BODY"
api_json POST /api/emit '{"event":"x","data":1}'
check_error "emit without a session: 401" 401 unauthorized
LAST=$((LAST + 3))
sse_wait "$T/sa" "form event" '{"username":"bob","message":"a&b=c"}' 10

# --- resume -------------------------------------------------------------
api GET "/api/poll?since=$L1" -b "$T/alice.jar"
all_after_l1=$(poll_events "$HTTP_BODY")
check_eq "poll since L1: $((LAST - L1)) events, ids in order" \
	"$(seq $((L1 + 1)) $LAST | paste -sd' ' -)" "$(cut -f1 <<<"$all_after_l1" | paste -sd' ' -)"
check_eq "poll since L1 = what alice's stream received after its snapshot" \
	"$(sse_events_norm "$T/sa" | tail -n +2)" "$all_after_l1"

sse_collect "$T/alice.jar" "$T/r1" "$LAST" 10 -H "Last-Event-ID: $L1"
check_eq "stream with Last-Event-ID: every event after it, in order, once (no snapshot)" \
	"$all_after_l1" "$(sse_events_norm "$T/r1")"
check_eq "stream with Last-Event-ID starts with retry: 3000" "retry: 3000" "$(head -n 1 "$T/r1")"
sse_start "$T/alice.jar" "$T/r2" -G -d "lastEventId=$L1"
wait_for "resume by query" 10 sse_has_id "$T/r2" "$LAST"
integ_kill "$SSE_PID"
check_eq "stream with ?lastEventId=: the same events" "$all_after_l1" "$(sse_events_norm "$T/r2")"
sse_start "$T/alice.jar" "$T/r3" -H "Last-Event-ID: $((LAST - 2))" -G -d "lastEventId=$L1"
wait_for "resume by header and query" 10 sse_has_id "$T/r3" "$LAST"
integ_kill "$SSE_PID"
check_eq "header and query both sent: the header wins" \
	"$((LAST - 1)) $LAST" "$(sse_events "$T/r3" | cut -f1 | paste -sd' ' -)"

api GET "/api/poll?since=$LAST&timeout=1" -b "$T/alice.jar"
check_response "poll at the newest id waits and returns no events" 200 \
	"{\"events\":[],\"lastEventId\":$LAST}"
api GET "/api/poll?since=$LAST&timeout=0" -b "$T/alice.jar"
check_response "poll with timeout=0 answers at once" 200 \
	"{\"events\":[],\"lastEventId\":$LAST}"

# An id newer than the newest event: the database was replaced.
future=$((LAST + 100))
api GET "/api/poll?since=$future" -b "$T/alice.jar"
check_response "poll since a future id: reset + snapshot" 200 \
	"{\"events\":[{\"id\":$LAST,\"event\":\"user count\",\"data\":2}],\"lastEventId\":$LAST,\"reset\":true}"
sse_collect "$T/alice.jar" "$T/r4" "$LAST" 10 -H "Last-Event-ID: $future"
check_eq "stream from a future id: reset (no id, data {}) then the snapshot" \
	"	reset	{}
$LAST	user count	2" "$(sse_events "$T/r4")"
check_eq "the reset frame has no id line" "event: reset|data: {}|" \
	"$(grep -A 2 '^event: reset' "$T/r4" | paste -sd'|' -)"

# --- one user logged in twice --------------------------------------------
login alice "$PW" "$T/alice2.jar"
check_response "alice logs in a second time: currentUsers 3" 200 \
	'{"username":"alice","currentUsers":3}'
api GET /api/count
check_response "/count: 3 sessions, 2 unique users" 200 \
	"{\"currentUsers\":3,\"uniqueUsers\":2,\"lastEventId\":$((LAST + 2))}"
sse_wait "$T/sa" "user count" 3 10
sse_wait "$T/sb" user '{"username":"alice","currentUsers":3,"connected":true}' 10
check_eq "bob's stream: user count 2 3 2 3" "2 3 2 3" "$(sse_data "$T/sb" "user count")"

# --- bad credentials, throttling ----------------------------------------
login nosuchuser "$PW" "$T/x.jar"
check_error "login as an unknown user: 401" 401 bad_credentials
unknown_body=$HTTP_BODY
ok "no cookie for a failed login" eval '! hdr Set-Cookie >/dev/null'
login alice "wrong-password" "$T/x.jar"
check_error "login with a wrong password: 401" 401 bad_credentials
check_eq "unknown user and wrong password: the same body" "$unknown_body" "$HTTP_BODY"

statuses=
for i in $(seq 1 15); do
	login dave "wrong-password-$i" "$T/x.jar"
	statuses+=" $HTTP_STATUS"
	[ "$HTTP_STATUS" = 429 ] && break
done
check_match "repeated wrong passwords: 401s, then 429" '^( 401)+ 429$' "$statuses"
check_error "throttled login: JSON error" 429 too_many_attempts
check_match "throttled login: Retry-After in seconds" '^[1-9][0-9]*$' "$(hdr Retry-After)"
login dave "$PW" "$T/x.jar"
check_eq "throttled: even the right password waits" 429 "$HTTP_STATUS"
login alice "$PW" "$T/alice3.jar"
check_eq "the throttle is per user: alice still logs in" 200 "$HTTP_STATUS"
logout "$T/alice3.jar"

api GET /api/me
check_error "/me without a cookie: 401" 401 unauthorized
api GET /api/events
check_error "/events without a session: 401" 401 unauthorized
api GET /api/poll
check_error "/poll without a session: 401" 401 unauthorized

integ_stop_lighttpd
integ_kill "$SA"
integ_kill "$SB"

# ======================================================================
# B: presence timeout
# ======================================================================
integ_db_init "$T/b.db" || bail_out "emitcgi init (B) failed"
integ_start_lighttpd EMITCGI_PRESENCE_TIMEOUT=2 EMITCGI_HEARTBEAT=1 ||
	bail_out "lighttpd (B) did not start"
diag "B: $BASE_URL, EMITCGI_PRESENCE_TIMEOUT=2 EMITCGI_HEARTBEAT=1"
register alice "$PW"
register bob "$PW"
login alice "$PW" "$T/b-alice.jar"
sse_start "$T/b-alice.jar" "$T/ba"
BA=$SSE_PID
sse_wait "$T/ba" "user count" 1 10
login bob "$PW" "$T/b-bob.jar"
check_response "B: bob logs in: 2" 200 '{"username":"bob","currentUsers":2}'
sse_start "$T/b-bob.jar" "$T/bb"
BB=$SSE_PID
sse_wait "$T/bb" "user count" 2 10
integ_kill "$BB"
ok "bob's stream killed: bob goes offline on alice's stream" \
	sse_wait "$T/ba" user '{"username":"bob","currentUsers":1,"connected":false}' 15
check_eq "alice's stream: user count 1 2 1 (alice stays online)" "1 2 1" \
	"$(sse_data "$T/ba" "user count")"
api GET /api/count
check_eq "B: /count agrees: 1 online" "1 1" "$(body_get '"\(.currentUsers) \(.uniqueUsers)"')"
api GET /api/poll -b "$T/b-bob.jar"
check_eq "bob polls again: his snapshot says 2" "200 2" "$HTTP_STATUS $(body_get '.events[0].data')"
ok "a poll brings bob back online" \
	sse_wait "$T/ba" user '{"username":"bob","currentUsers":2,"connected":true}' 10
ok "without another poll bob goes offline again" \
	wait_for "user count 1 2 1 2 1" 15 eval '[ "$(sse_data "$T/ba" "user count")" = "1 2 1 2 1" ]'
integ_stop_lighttpd
integ_kill "$BA"

# ======================================================================
# C: heartbeat, stream max, retention
# ======================================================================
integ_db_init "$T/c.db" || bail_out "emitcgi init (C) failed"
integ_start_lighttpd EMITCGI_HEARTBEAT=1 EMITCGI_STREAM_MAX=3 EMITCGI_RETENTION=5 ||
	bail_out "lighttpd (C) did not start"
diag "C: $BASE_URL, EMITCGI_HEARTBEAT=1 EMITCGI_STREAM_MAX=3 EMITCGI_RETENTION=5"
register alice "$PW"
login alice "$PW" "$T/c-alice.jar"
t0=$(now_ms)
curl -sS -N --max-time 20 -b "$T/c-alice.jar" "$BASE_URL/api/events" >"$T/c1" 2>"$T/c1.err"
rc=$?
t1=$(now_ms)
check_eq "EMITCGI_STREAM_MAX=3: the stream ends by itself (curl rc 0)" 0 "$rc"
ok "... after about 3 s (ended in $((t1 - t0)) ms)" test $((t1 - t0)) -ge 2500 -a $((t1 - t0)) -lt 15000
ok "EMITCGI_HEARTBEAT=1: ': ping' lines arrive" grep -qx ': ping' "$T/c1"
check_eq "the ended stream had the snapshot" "2	user count	1" "$(sse_events "$T/c1")"

for i in 1 2 3 4 5 6 7 8; do
	api_json POST /api/emit "{\"event\":\"tick\",\"data\":$i}" -b "$T/c-alice.jar"
done
check_response "C: 8 emits, the last one has id 10" 200 '{"id":10}'
integ_stop_lighttpd
integ_start_lighttpd EMITCGI_HEARTBEAT=1 EMITCGI_STREAM_MAX=3 EMITCGI_RETENTION=5 ||
	bail_out "lighttpd (C, restarted) did not start"
poll_is_reset()
{
	api GET "/api/poll?since=1" -b "$T/c-alice.jar"
	[ "$(body_get .reset)" = true ]
}
ok "retention 5: events trimmed, an old since gets reset" wait_for "trim" 15 poll_is_reset
check_response "poll since an id older than retention: reset + snapshot" 200 \
	'{"events":[{"id":10,"event":"user count","data":1}],"lastEventId":10,"reset":true}'
api GET "/api/poll?since=8" -b "$T/c-alice.jar"
check_response "poll since a retained id: the events, no reset" 200 \
	'{"events":[{"id":9,"event":"tick","data":{"username":"alice","message":7}},{"id":10,"event":"tick","data":{"username":"alice","message":8}}],"lastEventId":10}'
curl -sS -N --max-time 20 -b "$T/c-alice.jar" -H 'Last-Event-ID: 1' \
	"$BASE_URL/api/events" >"$T/c2" 2>"$T/c2.err"
check_eq "stream from an id older than retention: reset, then snapshot" \
	"	reset	{}
10	user count	1" "$(sse_events "$T/c2")"

integ_stop_all
integ_check_sanitizers
tap_done
