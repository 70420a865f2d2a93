#!/bin/sh
# tests/integ/sio_twoproc.sh -- no sticky sessions: the real socket.io
# client (Node, npm socket.io-client) through one lighttpd that alternates
# every request between two emitcgi processes (fastcgi.balance =
# "round-robin" over two `emitcgi --listen` backends on one database).
#
# Each Engine.IO session's handshake, GETs and POSTs land on both
# processes in turn, so every step of tests/browser/sio_client.mjs
# (snapshot, count, chat both ways, recovery, connect_error) is served by
# whichever process gets the request; the state lives in the store and a
# parked GET is woken by the other process's commit through the notify
# file.  Both processes' logs must show socket.io GETs and POSTs.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integ/lib.sh"
integ_require lighttpd curl jq node
NODE_MODULES=${EMITCGI_NODE_MODULES:-$top_srcdir/tests/browser/node_modules}
[ -f "$NODE_MODULES/socket.io-client/package.json" ] ||
	skip_all "socket.io-client not installed in $NODE_MODULES (cd tests/browser && npm ci)"
integ_init sio_twoproc

integ_db_init || bail_out "emitcgi init failed"
ports=()
logs=()
for n in 1 2; do
	port=$(integ_port) || bail_out "no free port"
	integ_start_emitcgi_listen "127.0.0.1:$port" EMITCGI_LOG_LEVEL=debug \
		EMITCGI_METRICS_LOOPBACK=1 ||
		bail_out "emitcgi --listen 127.0.0.1:$port did not start"
	ports+=("$port")
	logs+=("$T/emitcgi-$INTEG_EMITCGI_N.log")
done

dir=$T/lighttpd
mkdir -p "$dir"
start_front()
{
	local port
	port=$(integ_port) || return 2
	cat >"$dir/lighttpd.conf" <<CONF
server.modules = ( "mod_fastcgi" )
server.port = $port
server.bind = "127.0.0.1"
server.document-root = "$dir"
server.errorlog = "$dir/error.log"
server.stream-response-body = 2
fastcgi.balance = "round-robin"
fastcgi.server = ( "/" => (
	( "host" => "127.0.0.1", "port" => ${ports[0]}, "check-local" => "disable" ),
	( "host" => "127.0.0.1", "port" => ${ports[1]}, "check-local" => "disable" ),
) )
CONF
	"$LIGHTTPD" -D -f "$dir/lighttpd.conf" </dev/null >>"$dir/stderr.log" 2>&1 &
	LIGHTTPD_PID=$!
	integ_track "$LIGHTTPD_PID"
	BASE_URL=http://127.0.0.1:$port
	integ_await_up "lighttpd (round-robin) on $port" "$LIGHTTPD_PID" "$dir" \
		integ__lighttpd_up /api/health
}
for attempt in 1 2 3; do
	start_front
	case $? in 0) break ;; 1) continue ;; *) bail_out "lighttpd did not start" ;; esac
done
INTEG_LOGS+=("$dir/stderr.log" "$dir/error.log")

# The front alternates: consecutive /health answers come from both pids.
pids=
for i in 1 2 3 4; do
	api GET /api/health
	pids="$pids $(body_get .pid)"
done
check_eq "requests alternate between the two processes" 2 \
	"$(printf '%s\n' $pids | sort -u | wc -l | tr -d ' ')"

# A held GET is counted by /api/health of the process that holds it (two
# requests: one to each process).
r=$(curl -s --max-time 5 "$BASE_URL/socket.io/?EIO=4&transport=polling")
sid=$(printf '%s' "${r#0}" | jq -r .sid)
curl -s --max-time 10 -o "$T/held.out" \
	"$BASE_URL/socket.io/?EIO=4&transport=polling&sid=$sid" &
held=$!
integ_track "$held"
sio_parked() {
	local a b
	a=$(curl -s --max-time 2 "$BASE_URL/api/health" | jq -r .subscribers.sio)
	b=$(curl -s --max-time 2 "$BASE_URL/api/health" | jq -r .subscribers.sio)
	[ "$((a + b))" = 1 ]
}
ok "/api/health counts the held socket.io GET (subscribers.sio)" \
	wait_for "a held GET in /api/health" 10 sio_parked
integ_kill "$held"

out=$T/sio_client.tap
if env BASE_URL="$BASE_URL" NODE_MODULES="$NODE_MODULES" \
	timeout 300 node "$top_srcdir/tests/browser/sio_client.mjs" >"$out" 2>&1; then
	tap_pass "the socket.io client scenario, every request on either process"
else
	tap_fail "the socket.io client scenario, every request on either process"
	while IFS= read -r line; do diag "$line"; done <"$out"
fi
grep -q '^ok ' "$out" && ! grep -q '^not ok' "$out" ||
	diag "$(grep -c '^ok' "$out") ok, $(grep -c '^not ok' "$out") not ok"

for n in 0 1; do
	gets=$(grep -c 'sio: GET sid=[^-]' "${logs[$n]}")
	posts=$(grep -c 'sio: POST sid=' "${logs[$n]}")
	ok "process $((n + 1)) served socket.io GETs ($gets) and POSTs ($posts)" \
		test "$gets" -gt 0 -a "$posts" -gt 0
done

integ_stop_all
integ_check_sanitizers
tap_done
