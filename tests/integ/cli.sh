# tests/integ/cli.sh -- the program as an operator meets it: --help and
# --version, init, useradd, refusal of bad configuration with one line,
# plain CGI run by hand, EMITCGI_MAX_SUBSCRIBERS, SIGTERM with a stream open,
# and the docs naming every EMITCGI_* variable the code reads.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
. "${top_srcdir:-.}/tests/integ/lib.sh"
integ_require lighttpd curl jq
integ_init cli

# ---- --help, --version, arguments ----
out=$("$EMITCGI_BIN" --version)
check_match "--version prints the version" '^emitcgi [0-9]+\.[0-9]+\.[0-9]+$' "$out"
help=$("$EMITCGI_BIN" --help)
check_match "--help starts with the usage" '^Usage: emitcgi' "$help"

# Every variable config.c reads is in --help, the man page and the README.
vars=$(grep -o '"EMITCGI_[A-Z_]*"' "$top_srcdir/src/config.c" | tr -d '"' | sort -u)
missing=
for v in $vars; do
	grep -q -- "$v" <<<"$help" || missing+=" --help:$v"
	grep -q -- "$(sed 's/_/\\\\_/g' <<<"$v")\|$v" "$top_srcdir/doc/emitcgi.8" || missing+=" man:$v"
	grep -q -- "$v" "$top_srcdir/README.md" || missing+=" README:$v"
done
check_eq "every EMITCGI_* variable of config.c is documented (--help, emitcgi.8, README)" "" "$missing"

"$EMITCGI_BIN" --bogus >/dev/null 2>"$T/err"
check_eq "an unknown argument exits 2" 2 $?
check_match "... and says which" "unknown argument '--bogus'" "$(cat "$T/err")"
env -u REQUEST_METHOD -u GATEWAY_INTERFACE "$EMITCGI_BIN" </dev/null >/dev/null 2>"$T/err"
check_eq "started by hand, without a web server: exit 2" 2 $?
check_match "... with a hint" "not started by a web server" "$(cat "$T/err")"

# ---- bad configuration: exit 1, one line naming variable and value ----
for row in "EMITCGI_POLL_TIMEOUT=90|EMITCGI_POLL_TIMEOUT=90: must be 1..60" \
	"EMITCGI_HEARTBEAT=abc|EMITCGI_HEARTBEAT=abc: must be 1..3600" \
	"EMITCGI_LOG_LEVEL=loud|EMITCGI_LOG_LEVEL=loud: must be error, warn, info or debug" \
	"EMITCGI_BASE=api/|EMITCGI_BASE=api/: must be a path like /api (no trailing slash)"; do
	setting=${row%%|*} want=${row#*|}
	integ_emitcgi "$setting" -- init >/dev/null 2>"$T/err"
	rc=$?
	check_eq "$setting: exit 1 with one line" "1 emitcgi: $want" "$rc $(cat "$T/err")"
done
integ_emitcgi -- --listen nowhere >/dev/null 2>"$T/err"
check_eq "--listen with a bad address: exit 1" 1 $?
check_match "... naming the forms it takes" "expected unix:/path, HOST:PORT" "$(cat "$T/err")"

# ---- init and useradd ----
db=$T/ops.db
out=$(integ_emitcgi EMITCGI_DB="$db" -- init 2>/dev/null)
check_match "init creates the database" "schema version 0 -> [1-9]" "$out"
out=$(integ_emitcgi EMITCGI_DB="$db" -- init 2>/dev/null)
check_match "init again: up to date" "up to date" "$out"
out=$(printf 'correct horse\n' | integ_emitcgi EMITCGI_DB="$db" -- useradd carol 2>&1)
check_eq "useradd reads the password from stdin" "0 user carol added" "$? $out"
printf 'correct horse\n' | integ_emitcgi EMITCGI_DB="$db" -- useradd Carol >/dev/null 2>"$T/err"
check_eq "useradd of a taken name (any case): exit 1" "1" "$?"
check_match "... says so" "username taken" "$(cat "$T/err")"
printf 'short\n' | integ_emitcgi EMITCGI_DB="$db" -- useradd dave >/dev/null 2>"$T/err"
check_eq "useradd with a 5-byte password: exit 1" 1 $?
printf 'correct horse\n' | integ_emitcgi EMITCGI_DB="$db" -- useradd 'bad name' >/dev/null 2>"$T/err"
check_eq "useradd with a bad name: exit 1" 1 $?

# ---- plain CGI by hand (RFC 3875: environment in, headers and body out) ----
out=$(env -i PATH="$PATH" EMITCGI_DB="$db" GATEWAY_INTERFACE=CGI/1.1 \
	REQUEST_METHOD=GET REQUEST_URI=/api/count QUERY_STRING= \
	REMOTE_ADDR=127.0.0.1 ${ASAN_OPTIONS:+ASAN_OPTIONS="$ASAN_OPTIONS"} \
	"$EMITCGI_BIN" </dev/null 2>/dev/null | tr -d '\r')
check_match "CGI by hand: a Status line" '^Status: 200 OK' "$out"
check_eq "CGI by hand: the JSON body" '{"currentUsers":0,"uniqueUsers":0,"lastEventId":0}' \
	"$(tail -n 1 <<<"$out")"
body='{"username":"carol","password":"correct horse"}'
out=$(printf '%s' "$body" | env -i PATH="$PATH" EMITCGI_DB="$db" \
	GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=POST REQUEST_URI=/api/login \
	CONTENT_TYPE=application/json CONTENT_LENGTH=${#body} \
	REMOTE_ADDR=127.0.0.1 ${ASAN_OPTIONS:+ASAN_OPTIONS="$ASAN_OPTIONS"} \
	"$EMITCGI_BIN" 2>/dev/null | tr -d '\r')
check_match "CGI by hand: the useradd user logs in" '"currentUsers":1' "$out"

# ---- at EMITCGI_MAX_SUBSCRIBERS: 503 + Retry-After, JSON ----
sock=$T/e.sock
integ_db_init
integ_start_emitcgi_listen "unix:$sock" EMITCGI_MAX_SUBSCRIBERS=1 \
	EMITCGI_HEARTBEAT=1 || bail_out "emitcgi --listen did not start"
pid=$EMITCGI_PID
integ_start_lighttpd --mode socket --backend "unix:$sock" ||
	bail_out "lighttpd did not start"
register dora 'correct horse'
login dora 'correct horse' "$T/jar"
sse_start "$T/jar" "$T/s1.txt"
s1=$SSE_PID
wait_for "the first stream's snapshot" 10 sse_has "$T/s1.txt" "user count" 1
api GET /api/events -b "$T/jar"
check_error "a second stream beyond EMITCGI_MAX_SUBSCRIBERS=1: 503" 503 too_many_subscribers
check_eq "... with Retry-After" 1 "$(hdr Retry-After)"
api GET "/api/poll?since=0&timeout=5" -b "$T/jar"
check_eq "a poll with events pending still answers at once (it does not wait)" 200 "$HTTP_STATUS"
last=$(body_get .lastEventId)
api GET "/api/poll?since=$last&timeout=5" -b "$T/jar"
check_error "a poll that would have to wait, at capacity: 503" 503 too_many_subscribers

# ---- SIGTERM: streams end cleanly, the process exits 0 within 5 s ----
kill -TERM "$pid"
ok "SIGTERM: emitcgi exits within 5 s" integ_wait_pid "$pid" 5
wait "$pid" 2>/dev/null
check_eq "... with status 0" 0 $?
ok "... and the open stream is ended, not left hanging" integ_wait_pid "$s1" 5

# ---- SIGHUP (a terminal closed, a careless reload) ends it just as cleanly ----
integ_start_emitcgi_listen "unix:$sock" EMITCGI_HEARTBEAT=1 ||
	bail_out "emitcgi --listen did not restart"
pid=$EMITCGI_PID
sse_start "$T/jar" "$T/s2.txt"
s2=$SSE_PID
wait_for "a stream on the new process" 10 sse_has "$T/s2.txt" "user count" 1
kill -HUP "$pid"
ok "SIGHUP: emitcgi exits within 5 s" integ_wait_pid "$pid" 5
wait "$pid" 2>/dev/null
check_eq "... with status 0 (ended, not killed by the signal)" 0 $?
ok "... and the open stream is ended" integ_wait_pid "$s2" 5

# ---- the systemd unit is valid (systemd-analyze needs no running systemd) ----
if command -v systemd-analyze >/dev/null 2>&1; then
	sed "s#/usr/local/sbin/emitcgi#$EMITCGI_BIN#g" \
		"$top_srcdir/contrib/emitcgi.service" >"$T/emitcgi.service"
	ok "contrib/emitcgi.service passes systemd-analyze verify" \
		systemd-analyze verify --man=no "$T/emitcgi.service"
else
	diag "systemd-analyze not installed: unit not verified"
fi

integ_stop_all
integ_check_sanitizers
tap_done
