#!/bin/bash
# tests/bench/peers.sh -- `make bench-peers`: emitcgi behind real web
# servers beside its peers, through one load client (tests/bench/http_load),
# in one run (issue 8).  Prints one JSON line per row and a Markdown table
# (the one in docs/PERFORMANCE.md).
#
# Rows, for every N of BENCH_PEER_NS and mode (sse, poll):
#   nginx    emitcgi --listen behind nginx from nginx.conf.example
#            (2 workers, fastcgi_keep_conn + upstream keepalive)
#   nginx_slow the nginx row again, while waves of 100 clients stall a
#            10,000-event replay and 100 send a body one byte a second
#            (label "nginx+slow"; adds login_ms and emitcgi's RSS)
#   lighttpd emitcgi --listen behind lighttpd from lighttpd.conf.example
#            ("socket" block), N <= 8000
#   nchan    nginx (2 workers) with Debian's libnginx-mod-nchan: SSE and
#            long-poll subscribers on /sub/bench, publisher POST /pub/bench
#            (skipped with a note when the module is not installed:
#            tests/bench/deps.sh installs it)
#   socket.io Node's socket.io 4 (npm, tests/browser's lockfile), the
#            lesson's server, one process: N socket.io-client sockets on
#            websocket (beside the SSE rows) or on polling (beside
#            long-poll), broadcasts by io.emit() from POST /emit; driven
#            by tests/bench/sio_bench.mjs (one Node process: its client
#            CPU is reported apart).  Skipped without node or the npm
#            packages; polling rows up to BENCH_PEER_SIO_POLL_MAX (5000).
# Each row: BENCH_PEER_K broadcasts; delivered share, p50/p99/max from the
# POST to each receipt, failures by status, CPU seconds and RSS of the
# server (emitcgi; nchan: its nginx) and of the front server, from /proc.
#
# Run from the build directory (./emitcgi); every server is started here on
# 127.0.0.1 and stopped by PID; bounded (http_load's deadlines).  Uses the
# integration harness (tests/integ/lib.sh, deploy_lib.sh) to start the
# servers exactly as the deployment tests do.
#
# Knobs: BENCH_PEER_NS="1000 5000 8000 10000 15000" BENCH_PEER_K=5 BENCH_PEER_MODES="sse poll"
#        BENCH_PEER_FRONTS="nginx nginx_slow lighttpd nchan socketio"
set -u
build=$(pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
top_srcdir=$src
top_builddir=$build
EMITCGI_BIN=${EMITCGI_BIN:-$build/emitcgi}
# BENCH_CAPS_OFF: every client is one session of one user.
. "$src/tests/bench/lib.sh"
export top_srcdir top_builddir EMITCGI_BIN
LOAD=$build/tests/bench/http_load
[ -x "$LOAD" ] || { echo "peers: no $LOAD (make check builds it)" >&2; exit 1; }

. "$src/tests/integ/lib.sh"
. "$src/tests/integ/deploy_lib.sh"
deploy_require_nginx
integ_init bench-peers
deploy_setup

NS=${BENCH_PEER_NS:-"1000 5000 8000 10000 15000"}
K=${BENCH_PEER_K:-5}
MODES=${BENCH_PEER_MODES:-"sse poll"}
FRONTS=${BENCH_PEER_FRONTS:-"nginx nginx_slow lighttpd nchan socketio"}
NODE_MODULES=${EMITCGI_NODE_MODULES:-$src/tests/browser/node_modules}
export NODE_MODULES
SIO_POLL_MAX=${BENCH_PEER_SIO_POLL_MAX:-5000}
NCHAN_SO=/usr/lib/nginx/modules/ngx_nchan_module.so
RESULTS=$T/results.jsonl
: >"$RESULTS"
INTEG_KILL_WAIT_S=8

pids_of() # PID: it and its children, comma-separated
{
	local p=$1 k
	for k in $(integ_children "$p"); do
		p+=",$k"
	done
	echo "$p"
}

run_load() # LABEL PEER MODE N PORT SERVER_PID FRONT_PIDS
{
	local line perf=
	# BENCH_PEER_PERF=DIR: a call-graph profile of emitcgi per row.
	if [ -n "${BENCH_PEER_PERF:-}" ] && [ "$2" = emitcgi ]; then
		perf record -q -g -p "$6" -o "$BENCH_PEER_PERF/$1-$3-$4.data" \
			>/dev/null 2>&1 &
		perf=$!
	fi
	line=$("$LOAD" --label "$1" --peer "$2" --mode "$3" -n "$4" -k "$K" \
		--port "$5" --emitcgi-pid "$6" --front-pids "$7" 2>>"$T/load.err")
	if [ -n "$perf" ]; then
		kill -INT "$perf" 2>/dev/null
		wait "$perf" 2>/dev/null
	fi
	echo "$line"
	[ -n "$line" ] && echo "$line" >>"$RESULTS"
}

emitcgi_up() # SOCK
{
	deploy_start_listen "$1" EMITCGI_MAX_SUBSCRIBERS=18000 \
		EMITCGI_POLL_TIMEOUT=25 EMITCGI_RETENTION=100000 $BENCH_CAPS_OFF
}

front_nginx() # N MODE
{
	local sock=$DEPLOY_RUN/bench.sock
	emitcgi_up "$sock" || return 1
	DEPLOY_NGINX_WORKERS=2 DEPLOY_NGINX_CONNECTIONS=19000 \
		deploy_start_nginx "$sock" "" || return 1
	run_load nginx emitcgi "$2" "$1" "${BASE_URL##*:}" "$EMITCGI_PID" \
		"$(pids_of "$NGINX_PID")"
	deploy_stop_all
}

# The same row while 100 clients stall a 10,000-event replay (they ask for
# GET /api/poll?since=0 and never read) and 100 send a login body one byte
# a second, straight on emitcgi's FastCGI socket (tests/integ/fcgi_client:
# a front server that passes back-pressure and streams bodies).  emitcgi
# drops a stalled replay once its output is full (SINK_PENDING_MAX, a few
# seconds) and a slow body at its deadline (30 s), so slow_keep() brings a
# new wave of 100 stalled replays every 3 s and 100 new slow bodies every
# 20 s, each ending the wave before once the new one is in: all through
# the row emitcgi reads, serialises and drops 10,000-event replays while
# it serves the others.  The row adds login_ms (a login through nginx
# while they go on), emitcgi's RSS before they came (rss_before_slow_kb)
# and its peak (VmHWM, rss_peak_kb); server_rss_kb is at the end.
slow_start() # KIND SOCK SID FILE: prints the PID once its clients are in
{
	if [ "$1" = stall ]; then
		FCGI_HOLD_S=60 "$client" "$2" stall 100 GET "/api/poll?since=0" \
			"HTTP_COOKIE=emitcgi_sid=$3" >"$4" 2>&1 &
	else
		FCGI_HOLD_S=60 "$client" "$2" slowbody 100 /api/login >"$4" 2>&1 &
	fi
	local pid=$!
	wait_for "slow clients ($1)" 30 grep -qs ready "$4" >&2
	echo "$pid"
}

slow_keep() # SOCK SID: until killed
{
	local client=$build/tests/integ/fcgi_client i=0 stall= body= p
	# slow_start's clients are not our children (it runs in $(...)).
	trap 'kill $stall $body 2>/dev/null; exit 0' TERM
	while :; do
		p=$(slow_start stall "$1" "$2" "$T/slow-$i.stall")
		[ -n "$stall" ] && kill "$stall" 2>/dev/null
		stall=$p
		if [ $((i % 7)) -eq 0 ]; then
			p=$(slow_start body "$1" "$2" "$T/slow-$i.body")
			[ -n "$body" ] && kill "$body" 2>/dev/null
			body=$p
		fi
		[ $i -eq 0 ] && : >"$T/slow.ready"
		i=$((i + 1))
		sleep 3
	done
}

front_nginx_slow() # N MODE
{
	local sock=$DEPLOY_RUN/bench.sock client=$build/tests/integ/fcgi_client
	local sid data i t0 line rss0 hwm login_ms keep_pid pids=()
	[ -x "$client" ] || { diag "nginx_slow: no $client (make check builds it)"; return 0; }
	emitcgi_up "$sock" || return 1
	DEPLOY_NGINX_WORKERS=2 DEPLOY_NGINX_CONNECTIONS=19000 \
		deploy_start_nginx "$sock" "" || return 1
	register slowbench correct-horse-battery
	login slowbench correct-horse-battery "$T/slow.jar"
	sid=$(awk '$6 == "emitcgi_sid" { print $7; exit }' "$T/slow.jar")
	[ -n "$sid" ] || { diag "nginx_slow: no session"; deploy_stop_all; return 1; }
	# The log: 10,000 events of about 1 KiB, by 4 kept connections.
	data=$(head -c 1000 /dev/zero | tr '\0' x)
	for i in 1 2 3 4; do
		FCGI_BODY="{\"event\":\"blob\",\"data\":\"$data\"}" \
			"$client" "$sock" keep 2500 POST /api/emit \
			"HTTP_COOKIE=emitcgi_sid=$sid" >/dev/null 2>&1 &
		pids[i]=$!
	done
	for i in 1 2 3 4; do
		wait "${pids[i]}"
	done
	rss0=$(awk '/^VmRSS:/ { print $2 }' "/proc/$EMITCGI_PID/status")
	rm -f "$T"/slow-*
	slow_keep "$sock" "$sid" &
	keep_pid=$!
	integ_track "$keep_pid"
	wait_for "the slow clients" 40 test -e "$T/slow.ready" ||
		diag "nginx_slow: the slow clients did not start"
	line=$(run_load nginx+slow emitcgi "$2" "$1" "${BASE_URL##*:}" "$EMITCGI_PID" \
		"$(pids_of "$NGINX_PID")" | tail -n 1)
	[ -n "$line" ] && sed -i '$d' "$RESULTS" # written again below
	t0=$(now_ms)
	login slowbench correct-horse-battery "$T/slow2.jar"
	login_ms=$(($(now_ms) - t0))
	[ "$HTTP_STATUS" = 200 ] || login_ms=-1
	hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$EMITCGI_PID/status")
	line=$(jq -c --argjson l "$login_ms" --argjson r "${rss0:-0}" \
		--argjson h "${hwm:-0}" \
		'. + {login_ms: $l, rss_before_slow_kb: $r, rss_peak_kb: $h}' <<<"$line")
	echo "$line"
	[ -n "$line" ] && echo "$line" >>"$RESULTS"
	integ_kill "$keep_pid"
	deploy_stop_all
}

front_lighttpd() # N MODE
{
	local sock=$T/bench-l.sock
	[ "$1" -le 8000 ] || return 0
	integ_start_emitcgi_listen "unix:$sock" EMITCGI_MAX_SUBSCRIBERS=18000 \
		EMITCGI_POLL_TIMEOUT=25 EMITCGI_RETENTION=100000 $BENCH_CAPS_OFF ||
		return 1
	integ_start_lighttpd --mode socket --backend "unix:$sock" \
		--extra 'server.max-fds = 19000' \
		--extra 'server.max-connections = 9000' || return 1
	run_load lighttpd emitcgi "$2" "$1" "${BASE_URL##*:}" "$EMITCGI_PID" \
		"$LIGHTTPD_PID"
	integ_stop_all
}

front_nchan() # N MODE
{
	local dir=$T/nchan port
	[ -r "$NCHAN_SO" ] || { diag "nchan: $NCHAN_SO missing (tests/bench/deps.sh)"; return 0; }
	mkdir -p "$dir/tmp"
	port=$(integ_port) || return 1
	cat >"$dir/nginx.conf" <<EOF
load_module $NCHAN_SO;
worker_processes 2;
worker_rlimit_nofile 19000;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 19000; }
http {
	access_log off;
	client_body_temp_path $dir/tmp/client;
	proxy_temp_path $dir/tmp/proxy;
	fastcgi_temp_path $dir/tmp/fastcgi;
	uwsgi_temp_path $dir/tmp/uwsgi;
	scgi_temp_path $dir/tmp/scgi;
	server {
		listen 127.0.0.1:$port;
		location = /sub/bench {
			nchan_subscriber;
			nchan_channel_id bench;
			nchan_subscriber_first_message newest;
		}
		location = /pub/bench {
			nchan_publisher;
			nchan_channel_id bench;
		}
	}
}
EOF
	"$DEPLOY_NGINX" -p "$dir/" -e "$dir/error.log" -c "$dir/nginx.conf" \
		-g 'daemon off;' </dev/null >"$dir/stderr.log" 2>&1 &
	local pid=$!
	integ_track "$pid"
	wait_for "nchan nginx on $port" 20 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null ||
		{ diag "nchan nginx did not start: $(cat "$dir/stderr.log")"; return 1; }
	# Its workers, or /proc would be read for the master alone.
	wait_for "nchan's 2 workers" 20 bash -c \
		"[ \$(grep -l '^PPid:[[:space:]]*$pid\$' /proc/[0-9]*/status 2>/dev/null | wc -l) -ge 2 ]"
	# nchan is server and front at once: all of its processes count
	# as the front, the server column stays 0.
	run_load nchan nchan "$2" "$1" "$port" 0 "$(pids_of "$pid")"
	integ_kill "$pid"
}

front_socketio() # N MODE
{
	local port pid transport=websocket
	[ "$2" = poll ] && transport=polling
	# One Node process plays every client: a polling socket costs it
	# about 20 ms of CPU to connect and a pong POST every 25 s, so past
	# a few thousand the client, not the server, would be measured.
	if [ "$transport" = polling ] && [ "$1" -gt "$SIO_POLL_MAX" ]; then
		diag "socket.io polling at $1: not run (BENCH_PEER_SIO_POLL_MAX=$SIO_POLL_MAX)"
		return 0
	fi
	command -v node >/dev/null 2>&1 &&
		[ -f "$NODE_MODULES/socket.io/package.json" ] &&
		[ -f "$NODE_MODULES/socket.io-client/package.json" ] ||
		{ diag "socket.io: node or the npm packages missing (cd tests/browser && npm ci)"; return 0; }
	port=$(integ_port) || return 1
	BENCH_SIO_TRANSPORTS=polling,websocket BENCH_SIO_SNAPSHOT=socket \
		node "$src/tests/bench/sio_bench.mjs" server "$port" \
		>"$T/node.out" 2>"$T/node.err" &
	pid=$!
	integ_track "$pid"
	wait_for "Node's socket.io on $port" 20 grep -q listening "$T/node.out" ||
		{ diag "socket.io did not start: $(cat "$T/node.err")"; return 1; }
	local line
	line=$(node "$src/tests/bench/sio_bench.mjs" peer "http://127.0.0.1:$port" \
		"$1" "$K" "http://127.0.0.1:$port/emit" "$transport" "$pid" "$2" \
		2>>"$T/load.err")
	echo "$line"
	[ -n "$line" ] && echo "$line" >>"$RESULTS"
	integ_kill "$pid"
}

for n in $NS; do
	for mode in $MODES; do
		for f in $FRONTS; do
			"front_$f" "$n" "$mode" || diag "$f $mode $n: could not run"
		done
	done
done

# The table: per row and beside it the ratios to nchan's and to socket.io's
# rows of the same N and mode, measured in this run.  Then the slow-client
# rows beside the plain nginx rows.
jq -rs '
  def r(a; b): if (b // 0) > 0 and a != null then ((a / b) * 100 | round / 100 | tostring) else "-" end;
  def whole(x): if x == null then null else x.server_cpu_s + x.front_cpu_s end;
  def kb(x): if x == null then null else ((x.server_rss_kb + x.front_rss_kb) / x.n | round) end;
  def f1(v): (v * 10 | round / 10 | tostring);
  def peer(all; x; l): all | map(select(.label == l and .n == x.n and .mode == x.mode)) | first;
  . as $all
  | (["front", "mode", "N", "delivered", "failed", "p50 ms", "p99 ms", "max ms",
      "server CPU ms/bcast", "front CPU ms/bcast", "emitcgi µs/poll",
      "KB/client (all)", "p99 / nchan", "CPU / nchan", "KB / nchan",
      "p99 / socket.io", "CPU / socket.io", "KB / socket.io"] | "| " + join(" | ") + " |"),
    ("|" + ("---|" * 18)),
    ($all[] | select(.label != "nginx+slow") as $x
     | peer($all; $x; "nchan") as $p
     | peer($all; $x; "socket.io") as $q
     | ($x.peer == "emitcgi") as $own
     | [$x.label, $x.mode, ($x.n | tostring), f1($x.delivered_min_share * 100) + "%",
        ($x.failed | tostring),
        ($x.p50_ms | tostring), ($x.p99_ms | tostring), ($x.max_ms | tostring),
        f1($x.server_cpu_s * 1000 / $x.k), f1($x.front_cpu_s * 1000 / $x.k),
        (if $x.mode == "poll" and $own then f1($x.server_cpu_s * 1e6 / ($x.n * $x.k)) else "-" end),
        (kb($x) | tostring),
        (if $x.label == "nchan" then "1" else r($x.p99_ms; $p.p99_ms) end),
        (if $x.label == "nchan" then "-" else r(whole($x); whole($p)) end),
        (if $x.label == "nchan" then "-" else r(kb($x); kb($p)) end),
        (if $own then r($x.p99_ms; $q.p99_ms) else "-" end),
        (if $own then r(whole($x); whole($q)) else "-" end),
        (if $own then r(kb($x); kb($q)) else "-" end)]
     | "| " + join(" | ") + " |"),
    "",
    (["mode", "N", "p99 ms alone", "p99 ms with the slow clients", "failed", "delivered",
      "login through nginx meanwhile (ms)", "emitcgi RSS before → peak → end (MiB)"] | "| " + join(" | ") + " |"),
    ("|" + ("---|" * 8)),
    ($all[] | select(.label == "nginx+slow") as $x
     | peer($all; $x; "nginx") as $a
     | [$x.mode, ($x.n | tostring), (if $a then ($a.p99_ms | tostring) else "-" end),
        ($x.p99_ms | tostring), ($x.failed | tostring), f1($x.delivered_min_share * 100) + "%",
        (if $x.login_ms >= 0 then ($x.login_ms | tostring) else "failed" end),
        f1($x.rss_before_slow_kb / 1024) + " → " + f1(($x.rss_peak_kb // 0) / 1024) + " → " + f1($x.server_rss_kb / 1024)]
     | "| " + join(" | ") + " |")' "$RESULTS"
