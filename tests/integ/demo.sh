# tests/integ/demo.sh -- the README's first command: ./demo.sh builds,
# initialises a database and serves the page and the API through lighttpd.
# Run here on a free port, in a directory of its own, without apt.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
. "${top_srcdir:-.}/tests/integ/lib.sh"
integ_require lighttpd curl jq
integ_init demo

port=$(integ_port) || bail_out "no free port"
DEMO_SKIP_APT=1 DEMO_DIR=$T/demo DEMO_PORT=$port \
	"$top_srcdir/demo.sh" </dev/null >"$T/demo.log" 2>&1 &
demo_pid=$!
integ_track "$demo_pid"
INTEG_LOGS+=("$T/demo.log")
BASE_URL=http://127.0.0.1:$port

# It builds first (a minute or so on two cores), then serves.
ok "demo.sh serves /api/health on 127.0.0.1:$port" \
	wait_for "demo.sh to build and serve" 300 \
	curl -fsS --max-time 2 -o /dev/null "$BASE_URL/api/health"
api GET /
check_match "the page is served" 'src="/?public/emit.js"' "$HTTP_BODY"
api GET /public/client.js
check_match "client.js listens to 'user count'" "socket.on\\('user count'" "$HTTP_BODY"
register demo1 'correct horse'
check_eq "register through the demo: 201" 201 "$HTTP_STATUS"
login demo1 'correct horse' "$T/jar"
check_response "login through the demo: 1 user online" 200 \
	'{"username":"demo1","currentUsers":1}'
ok "the database lives in DEMO_DIR" test -s "$T/demo/var/emitcgi.db"
api GET /socketio.html
check_match "the socket.io page loads the real client's bundle" \
	'src="/socket.io/socket.io.js"' "$HTTP_BODY"
if [ -f "$T/demo/var/socketio.conf" ]; then
	api GET /socket.io/socket.io.js
	check_match "demo.sh serves the socket.io client bundle from npm" \
		"200 .*Socket.IO v4" "$HTTP_STATUS $(head -c 300 "$T/last.body")"
else
	tap_pass "socket.io bundle # SKIP npm could not install it ($(grep -m1 npm "$T/demo.log"))"
fi

integ_stop_all
integ_check_sanitizers
tap_done
