#!/bin/sh
# tests/bench/sio.sh -- the socket.io rows of `make bench` (run.sh runs it
# last; also on its own from the build directory).  N real socket.io-client
# sockets on HTTP long-polling, then K events timed from emit to the last
# socket (tests/bench/sio_bench.mjs), against:
#   - emitcgi (./emitcgi --listen on a unix socket) behind lighttpd on
#     127.0.0.1, the sockets signed in with one session cookie;
#   - Node's socket.io 4.x, polling only (transports: ['polling']), the
#     lesson's server, on 127.0.0.1.
# Same N, same K, same run, same machine.  Prints a markdown table and, with
# BENCH_WRITE_DOC=1 (default), rewrites the section between sio-bench:begin
# and sio-bench:end of docs/BENCH.md.  Skips (exit 0, a line saying why)
# without node, lighttpd or the npm packages (cd tests/browser && npm ci).
#
# Knobs: BENCH_SIO_NS="100 1000" (sockets), BENCH_SIO_K=50 (timed events).
set -u

build=$(pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
NS=${BENCH_SIO_NS:-"100 1000"}
K=${BENCH_SIO_K:-50}
NODE_MODULES=${EMITCGI_NODE_MODULES:-$src/tests/browser/node_modules}
LIGHTTPD=${LIGHTTPD:-$(command -v lighttpd 2>/dev/null || echo /usr/sbin/lighttpd)}
export NODE_MODULES

skip() {
	echo "bench (socket.io): skipped: $*"
	exit 0
}
[ -x "$build/emitcgi" ] || skip "no ./emitcgi (run from the build directory)"
command -v node >/dev/null 2>&1 || skip "node not installed"
[ -x "$LIGHTTPD" ] || skip "lighttpd not installed"
[ -f "$NODE_MODULES/socket.io/package.json" ] &&
	[ -f "$NODE_MODULES/socket.io-client/package.json" ] ||
	skip "socket.io and socket.io-client not in $NODE_MODULES (cd tests/browser && npm ci)"

# A socket holds a connection or two: room for N of them in every process.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null

T=$(mktemp -d "${TMPDIR:-/tmp}/emitcgi-sio-bench.XXXXXX") || exit 1
PIDS=""
cleanup() {
	for p in $PIDS; do kill -TERM "$p" 2>/dev/null; done
	for p in $PIDS; do
		i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 160 ]; do
			sleep 0.05
			i=$((i + 1))
		done
		kill -KILL "$p" 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
	node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}
wait_url() { # URL: up to 20 s
	i=0
	until curl -s -o /dev/null --max-time 2 "$1"; do
		[ $i -ge 400 ] && return 1
		sleep 0.05
		i=$((i + 1))
	done
}
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

# ---- emitcgi behind lighttpd ----
EMITCGI_DB=$T/sio.db "$build/emitcgi" init >/dev/null 2>&1 || skip "emitcgi init failed"
# Every socket is one session of one user: the per-session caps and rate
# limits of issue 9 are off, as in run.sh.
env EMITCGI_DB="$T/sio.db" EMITCGI_LOG_LEVEL=warn EMITCGI_MAX_SUBSCRIBERS=19500 \
	EMITCGI_MAX_WAITERS_PER_SESSION=1000000 EMITCGI_MAX_WAITERS_PER_USER=1000000 \
	EMITCGI_RATE_EMIT=0 EMITCGI_RATE_LOGIN=0 EMITCGI_RATE_REGISTER=0 \
	"$build/emitcgi" --listen "unix:$T/emitcgi.sock" 2>"$T/emitcgi.log" &
EPID=$!
PIDS="$PIDS $EPID"
port=$(free_port)
cat >"$T/lighttpd.conf" <<CONF
server.modules = ( "mod_fastcgi" )
server.port = $port
server.bind = "127.0.0.1"
server.document-root = "$T"
server.errorlog = "$T/lighttpd.log"
server.max-connections = 8192
server.max-fds = 16384
server.stream-response-body = 2
fastcgi.server = ( "/" => ( ( "socket" => "$T/emitcgi.sock", "check-local" => "disable" ) ) )
CONF
i=0
while [ ! -S "$T/emitcgi.sock" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
"$LIGHTTPD" -D -f "$T/lighttpd.conf" </dev/null 2>>"$T/lighttpd.log" &
PIDS="$PIDS $!"
E_URL=http://127.0.0.1:$port
wait_url "$E_URL/api/health" || skip "lighttpd did not start ($(tail -3 "$T/lighttpd.log"))"
curl -s -o /dev/null -H 'Content-Type: application/json' \
	-d '{"username":"bench","password":"bench-password"}' "$E_URL/api/register"
cookie=$(curl -s -D - -o /dev/null -H 'Content-Type: application/json' \
	-d '{"username":"bench","password":"bench-password"}' "$E_URL/api/login" |
	sed -n 's/^[Ss]et-[Cc]ookie: \(emitcgi_sid=[0-9a-f]*\).*/\1/p' | head -n 1)
# (head: the cookie comes twice, for the API's path and the socket.io
# path, and a two-line Cookie header is no header at all.)
[ -n "$cookie" ] || skip "login failed"

# ---- Node's socket.io ----
nport=$(free_port)
node "$src/tests/bench/sio_bench.mjs" server "$nport" >"$T/node.out" 2>"$T/node.err" &
NPID=$!
PIDS="$PIDS $NPID"
i=0
until grep -q listening "$T/node.out" 2>/dev/null; do
	[ $i -ge 200 ] && skip "the Node socket.io server did not start ($(cat "$T/node.err"))"
	sleep 0.05
	i=$((i + 1))
done
N_URL=http://127.0.0.1:$nport

v() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
rows=$T/rows
: >"$rows"
for n in $NS; do
	for who in emitcgi node; do
		if [ $who = emitcgi ]; then
			pid=$EPID
			r0=$(rss_kb $pid)
			line=$(node "$src/tests/bench/sio_bench.mjs" clients "$E_URL" "$n" "$K" \
				"$cookie" "$E_URL/api/emit" 2>"$T/clients.err" | grep '^result:')
		else
			pid=$NPID
			r0=$(rss_kb $pid)
			line=$(node "$src/tests/bench/sio_bench.mjs" clients "$N_URL" "$n" "$K" \
				"" "$N_URL/emit" 2>"$T/clients.err" | grep '^result:')
		fi
		r1=$(rss_kb $pid)
		if [ -z "$line" ]; then
			echo "| $who | $n | failed: $(head -c 200 "$T/clients.err") | | | | | |" >>"$rows"
			echo "bench (socket.io): $who, $n sockets failed: $(cat "$T/clients.err")"
			tail -5 "$T/emitcgi.log" "$T/lighttpd.log" 2>/dev/null
			continue
		fi
		echo "$line rss0=$r0 rss1=$r1 who=$who"
		printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$who" "$n" \
			"$(v "$line" connect_ms)" "$(v "$line" p50_ms)" "$(v "$line" p99_ms)" \
			"$(v "$line" max_ms)" "$(v "$line" missed)" \
			"$(( (${r1:-0} - ${r0:-0}) / 1024 )) MiB ($(( ${r1:-0} / 1024 )) MiB)" >>"$rows"
		sleep 1 # let the closed sockets' sessions go before the next row
	done
done

report=$T/report.md
{
	echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores, $K events per row, every socket on HTTP long-polling (socket.io-client $(node -p "require('$NODE_MODULES/socket.io-client/package.json').version"), Node's socket.io $(node -p "require('$NODE_MODULES/socket.io/package.json').version") with transports ['polling']; emitcgi behind lighttpd $("$LIGHTTPD" -v 2>/dev/null | sed -n 's/^lighttpd\/\([0-9.]*\).*/\1/p'), one process, one session cookie for all sockets)."
	echo
	echo "| server | sockets | all connected (ms) | emit → last socket p50 (ms) | p99 (ms) | max (ms) | events missed | server RSS growth (total) |"
	echo "|---|---|---|---|---|---|---|---|"
	cat "$rows"
} >"$report"
echo
cat "$report"

doc=$src/docs/BENCH.md
if [ "${BENCH_WRITE_DOC:-1}" = 1 ] && [ -w "$doc" ] && grep -q '<!-- sio-bench:begin -->' "$doc"; then
	awk -v rep="$report" '
		/<!-- sio-bench:begin -->/ { print; while ((getline l < rep) > 0) print l; skip = 1; next }
		/<!-- sio-bench:end -->/ { skip = 0 }
		!skip { print }' "$doc" >"$T/BENCH.md" && cat "$T/BENCH.md" >"$doc" &&
		echo "bench (socket.io): figures written to $doc"
fi
exit 0
