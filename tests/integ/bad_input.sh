#!/bin/sh
# tests/integ/bad_input.sh -- every bad-input class of SPEC through lighttpd.
#
# Each bad request must get its status and a JSON {"error","message"} body,
# store nothing, and leave the server serving (GET /api/health right after
# it must answer 200).  At the end /count must show exactly the state the
# valid requests made, and names used by refused registrations must not
# exist.  lighttpd runs from lighttpd.conf.example with
# server.max-request-field-size raised to 65535 so that 20 KiB headers reach
# emitcgi (which must answer 431 itself); past lighttpd's limit lighttpd
# answers 431 on its own, which is asserted and noted.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integ/lib.sh"
integ_require lighttpd curl jq
integ_init bad_input

PW=correct-horse-battery
JSON=(-H 'Content-Type: application/json')

integ_db_init || bail_out "emitcgi init failed"
integ_start_lighttpd --extra 'server.max-request-field-size := 65535' \
	EMITCGI_POLL_TIMEOUT=1 || bail_out "lighttpd did not start"
diag "$BASE_URL, EMITCGI_POLL_TIMEOUT=1"

# bad DESC STATUS CODE METHOD PATH [CURL_ARGS...]: the request gets STATUS
# and {"error":CODE,...} (CODE may list alternatives: "a|b"); then /health
# still answers 200.  The response headers stay in $T/bad.headers.
bad()
{
	local desc=$1 status=$2 code=$3 method=$4 path=$5 got
	shift 5
	api "$method" "$path" "$@"
	got=$(error_summary)
	cp "$T/last.headers" "$T/bad.headers"
	api GET /api/health
	if [[ $code == *'|'* ]]; then
		check_match "$desc" "^$status ($code); health 200\$" "$got; health $HTTP_STATUS"
	else
		check_eq "$desc" "$status $code; health 200" "$got; health $HTTP_STATUS"
	fi
}

bad_json()
{
	local desc=$1 status=$2 code=$3 method=$4 path=$5 body=$6
	shift 6
	bad "$desc" "$status" "$code" "$method" "$path" "${JSON[@]}" \
		--data-binary "$body" "$@"
}

register alice "$PW"
check_eq "setup: register alice" 201 "$HTTP_STATUS"
login alice "$PW" "$T/alice.jar"
check_eq "setup: alice logs in" 200 "$HTTP_STATUS"
api GET /api/count
check_response "setup: baseline count" 200 '{"currentUsers":1,"uniqueUsers":1,"lastEventId":2}'
EMITS=0 # valid emits made below (each adds one event)

# --- bodies ----------------------------------------------------------------
bad_json "malformed JSON: 400" 400 invalid_json POST /api/register '{"username":"newuser1",'
bad_json "JSON with trailing garbage: 400" 400 invalid_json POST /api/register \
	'{"username":"newuser1","password":"longenough1"} x'
bad_json "JSON array, not an object: 400" 400 invalid_json POST /api/register '["newuser1","longenough1"]'
bad_json "JSON string, not an object: 400" 400 invalid_json POST /api/register '"newuser1"'
bad_json "JSON null: 400" 400 invalid_json POST /api/register 'null'
bad_json "empty body with a JSON Content-Type: 400" 400 invalid_json POST /api/login ''
bad "malformed form (bad percent escape): 400" 400 invalid_form POST /api/register \
	--data-binary 'username=newuser1&password=longenough%zz'
bad "malformed form (truncated escape): 400" 400 invalid_form POST /api/register \
	--data-binary 'username=newuser1&password=longenough1%'
bad_json "missing password: 400" 400 missing_field POST /api/register '{"username":"newuser1"}'
bad_json "missing username: 400" 400 missing_field POST /api/login '{"password":"longenough1"}'
bad "missing field in a form: 400" 400 missing_field POST /api/register \
	--data-binary 'username=newuser1'
bad "POST with an empty form body: 400" 400 missing_field POST /api/login --data-binary ''
bad "POST with Content-Length: 0 and no Content-Type: 400" 400 missing_field POST /api/login \
	-H 'Content-Length: 0'
bad_json "username is a number: 400" 400 missing_field POST /api/register \
	'{"username":123,"password":"longenough1"}'
bad_json "password is an array: 400" 400 missing_field POST /api/register \
	'{"username":"newuser2","password":["longenough1"]}'
bad_json "password is null: 400" 400 missing_field POST /api/login \
	'{"username":"alice","password":null}'

# --- media type, size -----------------------------------------------------------
bad "Content-Type text/plain: 415" 415 unsupported_media_type POST /api/register \
	-H 'Content-Type: text/plain' --data-binary '{"username":"newuser3","password":"longenough1"}'
bad "Content-Type multipart/form-data: 415" 415 unsupported_media_type POST /api/register \
	-F username=newuser3 -F password=longenough1
bad "a body without Content-Type: 415" 415 unsupported_media_type POST /api/register \
	-H 'Content-Type:' --data-binary '{"username":"newuser3","password":"longenough1"}'
bad "Content-Type with a charset is fine (400 for the short password, not 415)" \
	400 invalid_password POST /api/register --data-binary '{"username":"newuser3","password":"short"}' \
	-H 'Content-Type: application/json; charset=utf-8'

pad=$(head -c 20000 /dev/zero | tr '\0' x)
frame='{"username":"newuser4","password":""}'
body=$(printf '{"username":"newuser4","password":"%s"}' "${pad:0:$((16385 - ${#frame}))}")
check_eq "(the next body is 16385 bytes)" 16385 "${#body}"
bad_json "body of 16385 bytes: 413" 413 too_large POST /api/register "$body"
body=$(printf '{"username":"newuser4","password":"%s"}' "${pad:0:$((16384 - ${#frame}))}")
bad_json "body of exactly 16384 bytes is read (400 for the long password, not 413)" \
	400 invalid_password POST /api/register "$body"
bad_json "body of 100 KiB: 413" 413 too_large POST /api/register \
	"{\"username\":\"newuser4\",\"password\":\"$pad$pad$pad$pad$pad\"}"

# --- method, path ---------------------------------------------------------------
bad "DELETE /login: 405" 405 method_not_allowed DELETE /api/login
check_eq "405 on /login: Allow: POST" POST "$(hdr Allow "$T/bad.headers")"
bad "GET /login: 405" 405 method_not_allowed GET /api/login
check_eq "405 on GET /login: Allow: POST" POST "$(hdr Allow "$T/bad.headers")"
bad_json "POST /count: 405" 405 method_not_allowed POST /api/count '{}'
check_eq "405 on /count: Allow: GET, HEAD" "GET, HEAD" "$(hdr Allow "$T/bad.headers")"
bad "PUT /events: 405" 405 method_not_allowed PUT /api/events -b "$T/alice.jar" \
	"${JSON[@]}" --data-binary '{}'
check_eq "405 on /events: Allow: GET" GET "$(hdr Allow "$T/bad.headers")"
api HEAD /api/events -b "$T/alice.jar"
check_eq "HEAD /events is not allowed on a stream: 405, Allow: GET" "405 GET" "$HTTP_STATUS $(hdr Allow)"
bad "unknown path: 404" 404 not_found GET /api/nope
bad "unknown path below a route: 404" 404 not_found GET /api/count/x
bad "the base itself: 404" 404 not_found GET /api/
bad "/_api/server.js without EMITCGI_FCC_TESTING: 404" 404 not_found GET /_api/server.js

# --- since, timeout, lastEventId ----------------------------------------------------
for q in since=-1 since=abc since=1e3 since=0x10 "since=%201" since= \
	since=99999999999999999999 timeout=-5 timeout=abc timeout=1.5 \
	timeout=99999999999999999999; do
	bad "poll?$q: 400" 400 invalid_parameter GET "/api/poll?$q" -b "$T/alice.jar"
done
bad "events?lastEventId=abc: 400" 400 invalid_parameter GET "/api/events?lastEventId=abc" \
	-b "$T/alice.jar"
bad "events with Last-Event-ID: -3: 400" 400 invalid_parameter GET /api/events \
	-b "$T/alice.jar" -H 'Last-Event-ID: -3'
t0=$(now_ms)
api GET "/api/poll?since=2&timeout=999" -b "$T/alice.jar"
t1=$(now_ms)
check_response "timeout=999 is lowered to EMITCGI_POLL_TIMEOUT=1: no events" 200 \
	'{"events":[],"lastEventId":2}'
ok "... and the poll returned within the maximum ($((t1 - t0)) ms)" test $((t1 - t0)) -lt 5000

# --- cookies --------------------------------------------------------------------------
sid=$(awk '$6 == "emitcgi_sid" { print $7; exit }' "$T/alice.jar")
check_match "(alice's session id from the jar)" '^[0-9a-f]{64}$' "$sid"
bad "malformed emitcgi_sid: /me 401" 401 unauthorized GET /api/me -H 'Cookie: emitcgi_sid=xyz'
bad "upper-case sid: /me 401" 401 unauthorized GET /api/me -H "Cookie: emitcgi_sid=${sid^^}"
bad "sid one char short: /me 401" 401 unauthorized GET /api/me -H "Cookie: emitcgi_sid=${sid:1}"
bad "sid with a char added: /me 401" 401 unauthorized GET /api/me -H "Cookie: emitcgi_sid=${sid}0"
bad "well-formed unknown sid: /me 401" 401 unauthorized GET /api/me \
	-H "Cookie: emitcgi_sid=$(printf '%064d' 7)"
bad "cookie header without '=': /me 401" 401 unauthorized GET /api/me -H 'Cookie: emitcgi_sid'
bad "garbage cookie header: /me 401" 401 unauthorized GET /api/me -H 'Cookie: ;;; =; emitcgi_sid==='
api GET /api/me -H "Cookie: theme=dark; emitcgi_sid=$sid; lang=en"
check_response "the sid among other cookies is found: /me 200" 200 '{"username":"alice"}'

# --- invalid UTF-8 ------------------------------------------------------------------------
printf '{"username":"newuser5","password":"longenough\xff\xfe"}' >"$T/u1"
bad "invalid UTF-8 in a JSON string: 400" 400 invalid_utf8 POST /api/register \
	"${JSON[@]}" --data-binary "@$T/u1"
printf '{"username":"newuser5","password":"overlong\xc0\xaf123"}' >"$T/u2"
bad "overlong UTF-8 in JSON: 400" 400 invalid_utf8 POST /api/register \
	"${JSON[@]}" --data-binary "@$T/u2"
printf '{"username":"newuser5","password":"surrogate\xed\xa0\x80xx"}' >"$T/u3"
bad "UTF-8-encoded surrogate in JSON: 400" 400 invalid_utf8 POST /api/register \
	"${JSON[@]}" --data-binary "@$T/u3"
bad "invalid UTF-8 in a form field: 400" 400 invalid_utf8 POST /api/register \
	--data-binary 'username=newuser5&password=longenough%FF%FE'
api GET '/api/poll?since=1&x=%FF' -b "$T/alice.jar"
if [[ $(hdr Content-Type) == application/json* ]]; then
	check_error "invalid UTF-8 in a query parameter: 400" 400 invalid_utf8
else
	check_eq "invalid UTF-8 in a query parameter: lighttpd refuses it itself (400)" 400 "$HTTP_STATUS"
	diag "note: lighttpd 1.4 answers 400 to %FF in the URL before emitcgi sees it"
fi
printf '{"event":"e\xff","data":1}' >"$T/u4"
bad "invalid UTF-8 in an event name: 400" 400 invalid_utf8 POST /api/emit \
	-b "$T/alice.jar" "${JSON[@]}" --data-binary "@$T/u4"

# --- huge headers -----------------------------------------------------------------------------
big=${pad:0:20480}
bad "20 KiB Cookie (lighttpd lets it through): 431 from emitcgi" 431 headers_too_large \
	GET /api/count -H "Cookie: a=$big"
bad "20 KiB custom header: 431 from emitcgi" 431 headers_too_large \
	GET /api/count -H "X-Padding: $big"
bad "20 KiB header on a stream: 431" 431 headers_too_large \
	GET /api/events -b "$T/alice.jar" -H "X-Padding: $big"
api GET /api/count -H "X-Padding: $pad$pad$pad$pad"
check_eq "80 KiB header: lighttpd answers 431 itself (before emitcgi)" 431 "$HTTP_STATUS"
diag "note: past server.max-request-field-size lighttpd answers 431 with its own HTML page"
api GET /api/health
check_eq "... and the server keeps serving" 200 "$HTTP_STATUS"

# --- usernames, passwords -----------------------------------------------------------------------
u33=abcdefghijklmnopqrstuvwxyz0123456
u32=${u33:0:32}
for name in "" "$u33" "bad user" "bad/user" "bad:user" "b@d" "üser" "tab	user" "semi;colon"; do
	bad_json "username '${name:0:12}' (${#name} chars): 400" 400 invalid_username \
		POST /api/register "$(json_obj username "$name" password "$PW")"
done
bad_json "username with an embedded NUL: 400" 400 "invalid_username|missing_field" POST /api/register \
	'{"username":"nul\u0000user","password":"longenough1"}'
register "$u32" "$PW"
check_response "username of 32 chars: 201" 201 "{\"username\":\"$u32\"}"
register "A-Z_a.z-0.9" "$PW"
check_response "username with . _ - and digits: 201" 201 '{"username":"A-Z_a.z-0.9"}'

bad_json "password of 7 bytes: 400" 400 invalid_password POST /api/register \
	"$(json_obj username pw7 password 1234567)"
bad_json "password of 257 bytes: 400" 400 invalid_password POST /api/register \
	"$(json_obj username pw257 password "${pad:0:257}")"
bad_json "password of 9 bytes with a NUL after 8: 400" 400 "invalid_password|missing_field" POST /api/register \
	'{"username":"pwnul","password":"12345678\u00009"}'
register pw8bytes 'éééé'
check_response "password of 4 two-byte chars (8 bytes) is counted in bytes: 201" 201 '{"username":"pw8bytes"}'
register pw8 12345678
check_response "password of 8 bytes: 201" 201 '{"username":"pw8"}'
register pw256 "${pad:0:256}"
check_response "password of 256 bytes: 201" 201 '{"username":"pw256"}'
login pw256 "${pad:0:256}" "$T/pw256.jar"
check_eq "login with the 256-byte password" 200 "$HTTP_STATUS"
logout "$T/pw256.jar"
EMITS=$((EMITS + 4)) # that login and logout: user count + user, twice

# --- cross-origin ------------------------------------------------------------------------------
bad_json "login with Origin: http://evil.example: 403" 403 forbidden POST /api/login \
	"$(json_obj username alice password "$PW")" -H 'Origin: http://evil.example' -c "$T/evil.jar"
ok "no session cookie for the cross-origin login" eval '! grep -q emitcgi_sid "$T/evil.jar" 2>/dev/null'
bad_json "emit with a foreign Origin: 403" 403 forbidden POST /api/emit \
	'{"event":"x","data":1}' -b "$T/alice.jar" -H 'Origin: http://evil.example'
bad "logout with a foreign Origin: 403" 403 forbidden POST /api/logout \
	-b "$T/alice.jar" -H 'Content-Length: 0' -H 'Origin: https://127.0.0.1.evil.example'
bad_json "Origin with the same host but another port: 403" 403 forbidden POST /api/emit \
	'{"event":"x","data":1}' -b "$T/alice.jar" -H "Origin: http://127.0.0.1:$((LIGHTTPD_PORT + 1))"
api_json POST /api/emit '{"event":"same origin","data":1}' -b "$T/alice.jar" \
	-H "Origin: http://127.0.0.1:$LIGHTTPD_PORT"
check_eq "emit with our own Origin: 200" 200 "$HTTP_STATUS"
EMITS=$((EMITS + 1))

# --- emit: event names and data ------------------------------------------------------------------
e65=$(printf 'e%.0s' $(seq 65))
for ev in "" "$e65" 'tab\there' 'new\nline' 'del\u007f' 'caf\u00e9'; do
	bad_json "event name \"${ev:0:14}\" (invalid): 400" 400 invalid_event POST /api/emit \
		"{\"event\":\"$ev\",\"data\":1}" -b "$T/alice.jar"
done
bad_json "event name with an embedded NUL: 400" 400 "invalid_event|missing_field" POST /api/emit \
	'{"event":"nul\u0000x","data":1}' -b "$T/alice.jar"
for ev in "user count" user reset connect disconnect error; do
	bad_json "reserved event name '$ev': 400" 400 reserved_event POST /api/emit \
		"$(jq -cn --arg e "$ev" '{event: $e, data: 1}')" -b "$T/alice.jar"
done
bad_json "emit without event: 400" 400 missing_field POST /api/emit '{"data":1}' -b "$T/alice.jar"
bad_json "emit with a numeric event: 400" 400 missing_field POST /api/emit '{"event":5,"data":1}' \
	-b "$T/alice.jar"
bad_json "emit without data: 400" 400 missing_field POST /api/emit '{"event":"x"}' -b "$T/alice.jar"
api_json POST /api/emit "{\"event\":\"${e65:1}\",\"data\":null}" -b "$T/alice.jar"
check_eq "event name of 64 bytes, data null: 200" 200 "$HTTP_STATUS"
EMITS=$((EMITS + 1))
api_json POST /api/emit "{\"event\":\" ~!\\\"#\",\"data\":0}" -b "$T/alice.jar"
check_eq "event name of printable ASCII punctuation and spaces: 200" 200 "$HTTP_STATUS"
EMITS=$((EMITS + 1))
bad_json "data of 4097 bytes serialised: 413" 413 data_too_large POST /api/emit \
	"{\"event\":\"big\",\"data\":\"${pad:0:4095}\"}" -b "$T/alice.jar"
bad_json "data object over 4 KiB: 413" 413 data_too_large POST /api/emit \
	"{\"event\":\"big\",\"data\":{\"a\":\"${pad:0:2100}\",\"b\":\"${pad:0:2100}\"}}" -b "$T/alice.jar"
api_json POST /api/emit "{\"event\":\"big\",\"data\":\"${pad:0:4094}\"}" -b "$T/alice.jar"
check_eq "data of exactly 4096 bytes serialised: 200" 200 "$HTTP_STATUS"
EMITS=$((EMITS + 1))

# --- nothing stored ----------------------------------------------------------------------------------
api GET /api/count
check_response "after all bad requests: only the valid ones left a trace" 200 \
	"{\"currentUsers\":1,\"uniqueUsers\":1,\"lastEventId\":$((2 + EMITS))}"
for name in newuser1 newuser2 newuser3 newuser4 newuser5 nul pw7 pw257 pwnul; do
	login "$name" longenough1 "$T/x.jar"
	check_error "no user '$name' was created" 401 bad_credentials
done
login pwnul 12345678 "$T/x.jar"
check_error "no user 'pwnul' with a truncated password" 401 bad_credentials
api GET /api/me -b "$T/alice.jar"
check_response "alice's session survived everything" 200 '{"username":"alice"}'
login alice "$PW" "$T/alice2.jar"
check_response "a valid login still works" 200 '{"username":"alice","currentUsers":2}'

integ_stop_all
integ_check_sanitizers
tap_done
