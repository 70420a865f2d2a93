#!/bin/sh
# tests/integ/security.sh -- issue 9: nobody let in, nothing lost.
#
# Part A runs the emitcgi binary itself as plain CGI (RFC 3875: the
# variables in its environment, the body on stdin), exactly as a web
# server's mod_cgi would, so that REMOTE_ADDR, HTTPS and Origin can be set
# per request from one shell:
#   1  session ids are not at rest in the database (nor in its -wal)
#   2  failed logins lock (name, address) and the address, never the owner
#      elsewhere; a login ends the session it arrived with; sessions per
#      user are capped, oldest ending first
#   6  cookie Path=/api, Secure and prefixed under HTTPS or
#      EMITCGI_COOKIE_SECURE; EMITCGI_ORIGINS; /metrics and /health's
#      details behind the token; no /metrics/ alias
#   5  a resume across a hole in the ids answers reset
#   4  database faults: corrupt at start, full (EMITCGI_DB_MAX_MB),
#      read-only: JSON 503 + Retry-After, /health says so, nothing half
#      written, and service comes back when the fault is gone
# Part 3 starts `emitcgi --listen` under prlimit: RLIMIT_NOFILE raised,
# EMITCGI_MAX_SUBSCRIBERS clamped with one log line.
# Part B runs lighttpd with FastCGI (one process), where the in-memory
# token buckets and the hub live: 429 + Retry-After for /register, /login
# and /emit, and the per-session cap on waiters.
#
# Run against an older build (EMITCGI_BIN=.../emitcgi) every part fails.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integ/lib.sh"
integ_require curl jq sqlite3
integ_init security

PW=correct-horse-battery
DB=$T/sec.db

# cgi METHOD URI [BODY] [VAR=VALUE...]: one CGI request; sets HTTP_STATUS,
# HTTP_BODY and $T/last.headers (for hdr).  REMOTE_ADDR defaults to
# 192.0.2.10, the database to $DB; each run is bounded (30 s).  CGI_WRAP (an array) runs before the
# binary (setpriv, for the read-only case).
CGI_WRAP=()
cgi()
{
	local method=$1 uri=$2 body=${3:-} out
	shift 3 2>/dev/null || shift $#
	out=$T/cgi.out
	printf %s "$body" | timeout 30 env -i PATH="$PATH" EMITCGI_DB="$DB" \
		EMITCGI_LOG_LEVEL=error GATEWAY_INTERFACE=CGI/1.1 \
		REQUEST_METHOD="$method" REQUEST_URI="$uri" HTTP_HOST=app.test \
		REMOTE_ADDR=192.0.2.10 CONTENT_TYPE=application/json \
		CONTENT_LENGTH=${#body} "$@" "${CGI_WRAP[@]}" \
		"$EMITCGI_BIN" >"$out" 2>>"$T/cgi.err"
	# headers up to the blank line, body after it
	awk 'BEGIN { RS = "\r\n\r\n" } NR == 1 { print; exit }' "$out" >"$T/last.headers"
	HTTP_BODY=$(awk 'BEGIN { RS = "\r\n\r\n" } NR > 1 { printf "%s", $0 }' "$out")
	HTTP_STATUS=$(sed -n '1s/^Status: \([0-9]*\).*/\1/p' "$T/last.headers" | tr -d '\r')
	[ -n "$HTTP_STATUS" ] || HTTP_STATUS=200
}

cred() { json_obj username "$1" password "$2"; }
cookie_of() { hdr Set-Cookie | sed -n 's/^\([^=]*\)=\([0-9a-f]*\);.*/\2/p'; }

integ_db_init "$DB" || bail_out "emitcgi init failed"

# ===================================================================
# 1: session ids at rest
# ===================================================================
cgi POST /api/register "$(cred alice "$PW")"
check_eq "register alice" 201 "$HTTP_STATUS"
cgi POST /api/login "$(cred alice "$PW")"
check_eq "alice logs in" 200 "$HTTP_STATUS"
SID=$(cookie_of)
check_match "a 64-hex session cookie" '^[0-9a-f]{64}$' "$SID"
cgi GET /api/me "" HTTP_COOKIE="emitcgi_sid=$SID"
check_response "the cookie works" 200 '{"username":"alice"}'
check_eq "sessions.token is not the cookie (it is its hash)" "1 0" \
	"$(sqlite3 "$DB" "SELECT count(*) || ' ' || sum(token = '$SID') FROM sessions")"
ok "the cookie appears nowhere in the database, its -wal or -shm" \
	eval "! cat '$DB' '$DB-wal' '$DB-shm' 2>/dev/null | grep -aq '$SID'"

# ===================================================================
# 2: throttles that cannot be turned against a user
# ===================================================================
cgi POST /api/register "$(cred bob "$PW")"
statuses=
for i in $(seq 1 14); do
	cgi POST /api/login "$(cred bob "wrong-$i")" REMOTE_ADDR=198.51.100.66
	statuses+=" $HTTP_STATUS"
	[ "$HTTP_STATUS" = 429 ] && break
done
check_match "an attacker's wrong passwords for bob: 401s, then 429" '^( 401)+ 429$' "$statuses"
check_match "... with Retry-After" '^[1-9][0-9]*$' "$(hdr Retry-After)"
cgi POST /api/login "$(cred bob "$PW")" REMOTE_ADDR=198.51.100.66
check_eq "the attacker's address stays locked for bob, right password or not" 429 "$HTTP_STATUS"
cgi POST /api/login "$(cred bob "$PW")" REMOTE_ADDR=192.0.2.20
check_response "bob, from his own address, still logs in" 200 \
	'{"username":"bob","currentUsers":2}'
BOB1=$(cookie_of)

# Spraying: one address, a different name each time.
statuses=
for i in $(seq 1 60); do
	cgi POST /api/login "$(cred "spray$i" "$PW")" REMOTE_ADDR=203.0.113.9
	[ "$HTTP_STATUS" = 429 ] && break
done
check_eq "spraying names from one address ends in 429 (per-address ceiling)" 429 "$HTTP_STATUS"
cgi POST /api/login "$(cred alice "$PW")" REMOTE_ADDR=192.0.2.10
check_eq "... while others are not affected" 200 "$HTTP_STATUS"
ALICE2=$(cookie_of)

# A login ends the session whose cookie it arrived with.
cgi POST /api/login "$(cred bob "$PW")" REMOTE_ADDR=192.0.2.20 HTTP_COOKIE="emitcgi_sid=$BOB1"
check_eq "bob logs in again with his old cookie" 200 "$HTTP_STATUS"
BOB2=$(cookie_of)
cgi GET /api/me "" HTTP_COOKIE="emitcgi_sid=$BOB1"
check_error "the cookie the login arrived with is revoked" 401 unauthorized
cgi GET /api/me "" HTTP_COOKIE="emitcgi_sid=$BOB2"
check_eq "the new one works" 200 "$HTTP_STATUS"

# Sessions per user: the oldest ends first.
cgi POST /api/register "$(cred carol "$PW")"
c=()
for i in 1 2 3; do
	cgi POST /api/login "$(cred carol "$PW")" EMITCGI_MAX_SESSIONS_PER_USER=2
	c+=("$(cookie_of)")
done
got=
for i in 0 1 2; do
	cgi GET /api/me "" HTTP_COOKIE="emitcgi_sid=${c[$i]}"
	got+=" $HTTP_STATUS"
done
check_eq "EMITCGI_MAX_SESSIONS_PER_USER=2: the third login ends the first session" \
	" 401 200 200" "$got"

# ===================================================================
# 6: cookies and origins, metrics, health
# ===================================================================
cgi POST /api/login "$(cred alice "$PW")"
check_match "cookie: Path=/api (the API base), HttpOnly, SameSite=Lax, not Secure on http" \
	'^emitcgi_sid=[0-9a-f]{64}; HttpOnly; SameSite=Lax; Path=/api; Max-Age=[0-9]+$' \
	"$(hdr Set-Cookie)"
cgi POST /api/login "$(cred alice "$PW")" HTTPS=on
check_match "HTTPS: Secure, __Secure- prefix (the API is under /api)" \
	'^__Secure-emitcgi_sid=[0-9a-f]{64}; .*Path=/api; .*; Secure$' "$(hdr Set-Cookie)"
SEC=$(hdr Set-Cookie | sed -n 's/^__Secure-emitcgi_sid=\([0-9a-f]*\);.*/\1/p')
cgi GET /api/me "" HTTPS=on HTTP_COOKIE="emitcgi_sid=planted; __Secure-emitcgi_sid=$SEC"
check_eq "the prefixed cookie is read" 200 "$HTTP_STATUS"
cgi POST /login "$(cred alice "$PW")" HTTPS=on EMITCGI_BASE=/
check_match "HTTPS, API at the root: __Host- prefix, Path=/" \
	'^__Host-emitcgi_sid=[0-9a-f]{64}; .*Path=/; .*; Secure$' "$(hdr Set-Cookie)"
cgi POST /api/login "$(cred alice "$PW")" EMITCGI_COOKIE_SECURE=1
check_match "EMITCGI_COOKIE_SECURE=1 behind a TLS terminator: Secure" \
	'^__Secure-emitcgi_sid=.*; Secure$' "$(hdr Set-Cookie)"

cgi POST /api/register "$(cred dora "$PW")" HTTP_HOST=evil.test HTTP_ORIGIN=http://evil.test \
	EMITCGI_ORIGINS=https://app.test
check_error "EMITCGI_ORIGINS: a rebinding page (Origin = Host = evil.test) is refused" 403 forbidden
cgi POST /api/register "$(cred dora "$PW")" HTTP_ORIGIN=https://app.test \
	EMITCGI_ORIGINS="https://other.test, https://app.test"
check_eq "EMITCGI_ORIGINS: a listed origin is let in" 201 "$HTTP_STATUS"

cgi GET /api/metrics "" REMOTE_ADDR=127.0.0.1
check_error "/metrics from loopback without the token: 403" 403 forbidden
cgi GET /api/metrics "" REMOTE_ADDR=127.0.0.1 EMITCGI_METRICS_LOOPBACK=1
check_eq "/metrics from loopback with EMITCGI_METRICS_LOOPBACK=1: 200" 200 "$HTTP_STATUS"
cgi GET /api/metrics "" REMOTE_ADDR=10.0.0.1 EMITCGI_METRICS_TOKEN=t0k HTTP_AUTHORIZATION="Bearer t0k"
check_eq "/metrics with the token: 200" 200 "$HTTP_STATUS"
cgi GET /api/metrics/ "" REMOTE_ADDR=127.0.0.1 EMITCGI_METRICS_LOOPBACK=1
check_error "the /api/metrics/ alias is closed" 404 not_found
cgi GET /api/health "" REMOTE_ADDR=127.0.0.1
check_response "/health's public body is the status alone" 200 '{"status":"ok"}'
cgi GET /api/health "" REMOTE_ADDR=127.0.0.1 EMITCGI_METRICS_LOOPBACK=1
check_eq "... the details behind the metrics rule" \
	"ok $(sqlite3 "$DB" 'PRAGMA user_version')" \
	"$(body_get .database) $(body_get .schemaVersion)"

# ===================================================================
# 5: resume never skips silently
# ===================================================================
# Housekeeping trims the oldest events every second; a reader whose
# snapshot said "all retained" may then read a log with its next id gone.
# The same state, made by hand: an id missing after `since`.
ids=()
for i in 1 2 3; do
	cgi POST /api/emit "{\"event\":\"chat\",\"data\":\"r$i\"}" HTTP_COOKIE="emitcgi_sid=$ALICE2"
	ids+=("$(body_get .id)")
done
sqlite3 "$DB" "DELETE FROM events WHERE id = ${ids[1]}"
cgi GET "/api/poll?since=${ids[0]}&timeout=0" "" HTTP_COOKIE="emitcgi_sid=$ALICE2"
check_eq "a poll resuming before a hole gets reset, not the events after it" \
	"200 true" "$HTTP_STATUS $(body_get .reset)"
cgi GET "/api/poll?since=${ids[1]}&timeout=0" "" HTTP_COOKIE="emitcgi_sid=$ALICE2"
check_eq "... one resuming after it gets the next event" \
	"200 null ${ids[2]}" "$HTTP_STATUS $(body_get .reset) $(body_get '.events[0].id')"

# ===================================================================
# 4: database faults
# ===================================================================
counts() { sqlite3 "$DB" "SELECT (SELECT count(*) FROM sessions) || ' ' || (SELECT count(*) FROM events)"; }

# -- full: EMITCGI_DB_MAX_MB=1 on a file already past 1 MiB -----------------
sqlite3 "$DB" "CREATE TABLE ballast (x BLOB); INSERT INTO ballast SELECT zeroblob(4000) FROM (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400) SELECT i FROM n); PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
export_full=EMITCGI_DB_MAX_MB=1
before=$(counts)
big=$(printf 'x%.0s' $(seq 1 3000))
cgi POST /api/emit "$(jq -cn --arg d "$big" '{event:"chat",data:$d}')" \
	HTTP_COOKIE="emitcgi_sid=$ALICE2" $export_full
check_error "full: a 3 KB emit answers a JSON 503" 503 database_full
check_match "full: ... with Retry-After" '^[1-9][0-9]*$' "$(hdr Retry-After)"
check_eq "full: nothing half-written (sessions, events)" "$before" "$(counts)"
cgi GET /api/health "" REMOTE_ADDR=127.0.0.1 EMITCGI_METRICS_LOOPBACK=1 $export_full
check_eq "full: /health sees it (its write probe)" "503 full" "$HTTP_STATUS $(body_get .database)"
sqlite3 "$DB" "DROP TABLE ballast" >/dev/null
cgi GET /api/health "" REMOTE_ADDR=127.0.0.1 $export_full
check_eq "full: space freed, /health 200 again" 200 "$HTTP_STATUS"
cgi POST /api/emit "$(jq -cn --arg d "$big" '{event:"chat",data:$d}')" \
	HTTP_COOKIE="emitcgi_sid=$ALICE2" $export_full
check_eq "full: ... and the same emit is stored" 200 "$HTTP_STATUS"

# -- corrupt at start: the header overwritten --------------------------------
sqlite3 "$DB" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
cp "$DB" "$T/good.db"
printf 'this is not an SQLite header, it is damage!!' |
	dd of="$DB" bs=1 seek=0 conv=notrunc status=none
rm -f "$DB-wal" "$DB-shm"
cgi POST /api/login "$(cred alice "$PW")"
check_error "corrupt: login answers a JSON 503" 503 database_corrupt
check_match "corrupt: ... with Retry-After" '^[1-9][0-9]*$' "$(hdr Retry-After)"
cgi GET /api/health "" REMOTE_ADDR=127.0.0.1
check_error "corrupt: /health 503 too" 503 database_corrupt
cp "$T/good.db" "$DB"
cgi POST /api/login "$(cred alice "$PW")"
check_eq "corrupt: the file restored, login works again" 200 "$HTTP_STATUS"

# -- read-only: the file cannot be written ------------------------------------
# root ignores file modes, so the requests then run as nobody.
if [ "$(id -u)" = 0 ]; then
	command -v setpriv >/dev/null && id nobody >/dev/null 2>&1 ||
		bail_out "running as root needs setpriv and the user nobody"
	chown nobody "$T" "$DB" "$DB"-*
	chmod 0755 "$T"
	CGI_WRAP=(setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups)
fi
ro_cgi() { cgi "$@"; }
chmod 0444 "$DB"
before=$(counts)
ro_cgi POST /api/login "$(cred alice "$PW")"
check_error "read-only: login answers a JSON 503" 503 database_readonly
check_match "read-only: ... with Retry-After" '^[1-9][0-9]*$' "$(hdr Retry-After)"
check_eq "read-only: nothing written" "$before" "$(counts)"
ro_cgi GET /api/health "" REMOTE_ADDR=127.0.0.1 EMITCGI_METRICS_LOOPBACK=1
check_eq "read-only: /health sees it (a read alone would say ok)" "503 readonly" \
	"$HTTP_STATUS $(body_get .database)"
# SQLite gives a -shm it creates the mode of the database file: the
# operator's fix is to make both writable again.
chmod 0644 "$DB" "$DB"-*
ro_cgi POST /api/login "$(cred alice "$PW")"
check_eq "read-only: writable again, login works" 200 "$HTTP_STATUS"
CGI_WRAP=()
[ "$(id -u)" = 0 ] && chown root "$T" "$DB" "$DB"-* 2>/dev/null

# ===================================================================
# 3 (CGI): waiting CGI processes are capped across processes
# ===================================================================
env -i PATH="$PATH" EMITCGI_DB="$DB" EMITCGI_LOG_LEVEL=error \
	EMITCGI_MAX_SUBSCRIBERS=1 EMITCGI_STREAM_MAX=60 GATEWAY_INTERFACE=CGI/1.1 \
	REQUEST_METHOD=GET REQUEST_URI=/api/events HTTP_HOST=app.test \
	REMOTE_ADDR=192.0.2.10 HTTP_COOKIE="emitcgi_sid=$ALICE2" \
	"$EMITCGI_BIN" </dev/null >"$T/w1.out" 2>>"$T/cgi.err" &
W1=$!
integ_track "$W1"
ok "a CGI stream waits (EMITCGI_MAX_SUBSCRIBERS=1)" \
	wait_for "the first CGI stream" 10 grep -q '^event: user count' "$T/w1.out"
cgi GET /api/events "" HTTP_COOKIE="emitcgi_sid=$ALICE2" EMITCGI_MAX_SUBSCRIBERS=1 \
	EMITCGI_STREAM_MAX=2
check_error "a second waiting CGI process is refused" 503 too_many_subscribers
integ_kill "$W1"
cgi GET /api/poll "" HTTP_COOKIE="emitcgi_sid=$ALICE2" EMITCGI_MAX_SUBSCRIBERS=1
last=$(body_get .lastEventId)
cgi GET "/api/poll?since=$last&timeout=1" "" HTTP_COOKIE="emitcgi_sid=$ALICE2" EMITCGI_MAX_SUBSCRIBERS=1
check_eq "once it has ended, a poll may wait again (1 s, no events)" "200 0" \
	"$HTTP_STATUS $(body_get '.events | length')"

# ===================================================================
# 3: file descriptors (FastCGI, --listen)
# ===================================================================
if command -v prlimit >/dev/null; then
	# listen_with LIMITS: emitcgi --listen under prlimit; sets RL_PID
	listen_with()
	{
		rm -f "$T/rl.sock"
		prlimit --nofile="$1" env -u EMITCGI_BIN EMITCGI_DB="$T/rl.db" \
			EMITCGI_MAX_SUBSCRIBERS=16000 "$EMITCGI_BIN" \
			--listen "unix:$T/rl.sock" </dev/null >"$T/rl.log" 2>&1 &
		RL_PID=$!
		integ_track "$RL_PID"
		wait_for "emitcgi --listen" 20 test -S "$T/rl.sock"
	}
	soft_of() { awk '/^Max open files/ { print $4 }' "/proc/$1/limits"; }
	integ_db_init "$T/rl.db" || bail_out "emitcgi init (rl) failed"
	listen_with 256:4096
	check_eq "soft RLIMIT_NOFILE 256 is raised to the hard limit 4096" 4096 "$(soft_of "$RL_PID")"
	check_eq "... and EMITCGI_MAX_SUBSCRIBERS=16000 lowered to what fits, said once" 1 \
		"$(grep -c 'EMITCGI_MAX_SUBSCRIBERS=16000 lowered to [0-9]*: open files are limited to 4096' "$T/rl.log")"
	integ_kill "$RL_PID"
	listen_with 300:300
	check_match "hard limit 300: lowered to 300 minus what emitcgi keeps for itself" \
		'lowered to [0-9]+: open files are limited to 300' "$(cat "$T/rl.log")"
	integ_kill "$RL_PID"
else
	diag "no prlimit: part 3 skipped"
fi

# ===================================================================
# B: rate limits and the waiter cap, FastCGI under lighttpd
# ===================================================================
if [ -x "$LIGHTTPD" ]; then
	integ_db_init "$T/b.db" || bail_out "emitcgi init (B) failed"
	integ_start_lighttpd --max-procs 1 EMITCGI_RATE_REGISTER=2 \
		EMITCGI_RATE_LOGIN=3 EMITCGI_RATE_EMIT=2 \
		EMITCGI_MAX_WAITERS_PER_SESSION=1 ||
		bail_out "lighttpd did not start"
	statuses=
	for n in r1 r2 r3; do
		register "$n" "$PW"
		statuses+=" $HTTP_STATUS"
	done
	check_eq "EMITCGI_RATE_REGISTER=2: the third register is 429" " 201 201 429" "$statuses"
	check_error "... a JSON error" 429 rate_limited
	check_match "... with Retry-After" '^[1-9][0-9]*$' "$(hdr Retry-After)"
	statuses=
	for i in 1 2 3 4; do
		login r1 "$PW" "$T/r1-$i.jar"
		statuses+=" $HTTP_STATUS"
	done
	check_eq "EMITCGI_RATE_LOGIN=3: the fourth login is 429" " 200 200 200 429" "$statuses"
	statuses=
	for i in 1 2 3; do
		api_json POST /api/emit '{"event":"chat","data":"hi"}' -b "$T/r1-1.jar"
		statuses+=" $HTTP_STATUS"
	done
	check_eq "EMITCGI_RATE_EMIT=2: the third emit of a session is 429" " 200 200 429" "$statuses"
	check_match "... with Retry-After" '^[1-9][0-9]*$' "$(hdr Retry-After)"
	api_json POST /api/emit '{"event":"chat","data":"hi"}' -b "$T/r1-2.jar"
	check_eq "... another session emits" 200 "$HTTP_STATUS"

	sse_start "$T/r1-1.jar" "$T/s1"
	S1=$SSE_PID
	ok "a first stream of the session is open" wait_for "stream 1" 10 grep -q '^retry:' "$T/s1"
	api GET /api/events -b "$T/r1-1.jar" --max-time 5
	check_error "EMITCGI_MAX_WAITERS_PER_SESSION=1: a second stream of it is refused" 503 too_many_subscribers
	sse_start "$T/r1-2.jar" "$T/s2"
	ok "another session still streams" wait_for "stream 2" 10 grep -q '^retry:' "$T/s2"
	integ_kill "$S1"
	integ_kill "$SSE_PID"
	integ_stop_all
	integ_check_sanitizers
else
	diag "no lighttpd: part B skipped"
fi
tap_done
