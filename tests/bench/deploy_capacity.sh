#!/bin/sh
# tests/bench/deploy_capacity.sh -- how many waiting clients each deployment
# holds, and what they cost.  Not part of `make check` (it takes minutes
# and starts hundreds of curl processes).
#
#   tests/bench/deploy_capacity.sh [N] [DEPLOYMENT...]
#
# N (default 300, at most 1000): SSE streams opened at once with curl, all
# on 127.0.0.1.  DEPLOYMENT: apache-proxy apache-fcgid apache-cgi nginx
# lighttpd-socket lighttpd-spawn (default: all).  Each is started from its
# example file as the integration tests do (tests/integ/deploy_lib.sh),
# with the server's stock limits of Debian 12: Apache mpm_event
# MaxRequestWorkers 150 (ThreadsPerChild 25), nginx worker_processes auto
# and worker_connections 768, lighttpd's defaults, and the examples' own
# FcgidMaxProcessesPerClass.
#
# For each deployment: open N streams, wait until the number of streams
# that got their first bytes ("retry:") stops growing (3 s, at most 60 s),
# then count served (got the stream), queued (connected, nothing yet) and
# refused (curl ended: an error status or a reset), the memory of the
# server's and emitcgi's processes before and after (VmRSS summed over the
# process trees), and emit one event: how many served streams got it.
# Prints one table row per deployment.
#
# Needs: curl, jq, and the servers (missing ones are skipped).  Environment
# as for the integration tests (top_srcdir, EMITCGI_BIN).
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/tests/integ/lib.sh"
. "$top_srcdir/tests/integ/deploy_lib.sh"

N=300
case ${1:-} in
'' | *[!0-9]*) ;;
*) N=$1; shift ;;
esac
[ "$N" -ge 1 ] && [ "$N" -le 1000 ] || { echo "N must be 1..1000" >&2; exit 2; }
WHICH=("$@")
[ ${#WHICH[@]} -gt 0 ] || WHICH=(apache-proxy apache-fcgid apache-cgi nginx
	lighttpd-socket lighttpd-spawn)
HOLD_S=150      # every curl ends by itself after this
SETTLE_S=3      # served count unchanged this long: done
SETTLE_MAX_S=60

command -v curl >/dev/null && command -v jq >/dev/null ||
	{ echo "needs curl and jq" >&2; exit 2; }
integ_init capacity
deploy_setup
# Debian 12's /etc/apache2/mods-available/mpm_event.conf
DEPLOY_APACHE_EXTRA='StartServers 2
MinSpareThreads 25
MaxSpareThreads 75
ThreadLimit 64
ThreadsPerChild 25
MaxRequestWorkers 150
MaxConnectionsPerChild 0'
# Debian 12's /etc/nginx/nginx.conf
DEPLOY_NGINX_WORKERS=auto
DEPLOY_NGINX_CONNECTIONS=768

deploy_as_user env EMITCGI_DB="$INTEG_DB" "$EMITCGI_BIN" useradd bench \
	<<<"$DEPLOY_PW" >/dev/null || bail_out "useradd failed"

# VmRSS (kB) of PID and all its descendants.
tree_rss()
{
	local pid=$1 kid total=0 r
	r=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
	total=$((total + ${r:-0}))
	for kid in $(integ_children "$pid"); do
		total=$((total + $(tree_rss "$kid")))
	done
	echo "$total"
}

# Threads of PID and all its descendants.
tree_threads()
{
	local pid=$1 kid total n
	n=$(awk '/^Threads:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
	total=${n:-0}
	for kid in $(integ_children "$pid"); do
		total=$((total + $(tree_threads "$kid")))
	done
	echo "$total"
}

served_count()
{
	grep -l '^retry:' "$CAP"/*.out 2>/dev/null | wc -l
}

CURLS=()
open_streams()
{
	local i
	CURLS=()
	for ((i = 1; i <= N; i++)); do
		curl -sS -N --max-time "$HOLD_S" -b "$T/bench.jar" \
			-o "$CAP/$i.out" -w '%{http_code}\n' \
			"$BASE_URL/api/events" >"$CAP/$i.status" 2>"$CAP/$i.err" &
		CURLS+=($!)
	done
}

close_streams()
{
	local p
	for p in "${CURLS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${CURLS[@]}"; do
		wait "$p" 2>/dev/null
	done
	CURLS=()
}

# settle: wait until served stays the same for SETTLE_S seconds.
settle()
{
	local last=-1 n same_since now deadline
	deadline=$(($(now_ms) + SETTLE_MAX_S * 1000))
	same_since=$(now_ms)
	while :; do
		n=$(served_count)
		now=$(now_ms)
		if [ "$n" != "$last" ]; then
			last=$n
			same_since=$now
		elif [ $((now - same_since)) -ge $((SETTLE_S * 1000)) ]; then
			break
		fi
		[ "$now" -lt "$deadline" ] || break
		sleep 0.5
	done
	SETTLE_MS=$((now - START_MS))
}

# measure NAME PID...: the deployment whose processes are PID... is up at
# $BASE_URL.
measure()
{
	local name=$1 p rss0=0 rss1=0 th=0 served alive refused queued msg got
	local per codes emit
	shift
	CAP=$T/cap-$name
	rm -rf "$CAP"
	mkdir -p "$CAP"
	rm -f "$T/bench.jar"
	deploy_login bench "$DEPLOY_PW" "$T/bench.jar"
	[ "$HTTP_STATUS" = 200 ] || { echo "$name: login failed: $HTTP_STATUS" >&2; return 1; }
	for p in "$@"; do
		rss0=$((rss0 + $(tree_rss "$p")))
	done
	START_MS=$(now_ms)
	open_streams
	settle
	served=$(served_count)
	alive=0
	for p in "${CURLS[@]}"; do
		kill -0 "$p" 2>/dev/null && alive=$((alive + 1))
	done
	refused=$((N - alive))
	queued=$((alive - served))
	[ "$queued" -ge 0 ] || queued=0
	for p in "$@"; do
		rss1=$((rss1 + $(tree_rss "$p")))
		th=$((th + $(tree_threads "$p")))
	done
	codes=$(cat "$CAP"/*.status 2>/dev/null | sort | uniq -c |
		awk '{ printf "%s%s x%s", sep, $2, $1; sep = ", " }')
	msg=bench-$RANDOM
	deploy_emit bench "$msg" "$T/bench.jar"
	emit=$HTTP_STATUS
	got=0
	wait_for "the event on every served stream" 20 \
		eval '[ "$(grep -l "$msg" "$CAP"/*.out 2>/dev/null | wc -l)" -ge "$served" ]'
	got=$(grep -l "$msg" "$CAP"/*.out 2>/dev/null | wc -l)
	per=-
	[ "$served" -gt 0 ] && per=$(((rss1 - rss0) / served))
	printf '| %-16s | %4d | %6d | %6d | %7d | %7d | %9s | %7d | %4s | %5d | %s |\n' \
		"$name" "$N" "$served" "$queued" "$refused" $((rss1 / 1024)) \
		"$per" "$th" "$emit" "$got" "${codes:-none ended}"
	close_streams
}

# One user holds every stream here: the per-session and per-user caps
# (issue 9) would refuse all but a few, which is not what is measured.
BENCH_CAPS="EMITCGI_MAX_WAITERS_PER_SESSION=1000000 EMITCGI_MAX_WAITERS_PER_USER=1000000"

run()
{
	local d=$1 pids=()
	case $d in
	apache-proxy)
		[ -x "$DEPLOY_APACHE" ] || { echo "| $d | skipped: no apache2 |"; return; }
		deploy_start_listen "$DEPLOY_RUN/cap.sock" $BENCH_CAPS || return 1
		pids+=("$EMITCGI_PID")
		DEPLOY_SOCK=$DEPLOY_RUN/cap.sock
		deploy_start_apache proxy "" || return 1
		pids+=("$APACHE_PID")
		;;
	apache-fcgid)
		[ -f "$DEPLOY_APACHE_MODULES/mod_fcgid.so" ] ||
			{ echo "| $d | skipped: no mod_fcgid |"; return; }
		deploy_start_apache fcgid "" || return 1
		pids+=("$APACHE_PID")
		;;
	apache-cgi)
		[ -f "$DEPLOY_APACHE_MODULES/mod_cgid.so" ] ||
			{ echo "| $d | skipped: no mod_cgid |"; return; }
		deploy_start_apache cgi "" || return 1
		pids+=("$APACHE_PID")
		;;
	nginx)
		[ -x "$DEPLOY_NGINX" ] || { echo "| $d | skipped: no nginx |"; return; }
		deploy_start_listen "$DEPLOY_RUN/cap.sock" $BENCH_CAPS || return 1
		pids+=("$EMITCGI_PID")
		deploy_start_nginx "$DEPLOY_RUN/cap.sock" "" || return 1
		pids+=("$NGINX_PID")
		;;
	lighttpd-socket)
		[ -x "$LIGHTTPD" ] || { echo "| $d | skipped: no lighttpd |"; return; }
		deploy_start_listen "$DEPLOY_RUN/cap.sock" $BENCH_CAPS || return 1
		pids+=("$EMITCGI_PID")
		integ_start_lighttpd --mode socket \
			--backend "unix:$DEPLOY_RUN/cap.sock" || return 1
		pids+=("$LIGHTTPD_PID")
		;;
	lighttpd-spawn)
		[ -x "$LIGHTTPD" ] || { echo "| $d | skipped: no lighttpd |"; return; }
		integ_start_lighttpd || return 1
		pids+=("$LIGHTTPD_PID")
		;;
	*)
		echo "unknown deployment $d" >&2
		return 1
		;;
	esac
	measure "$d" "${pids[@]}"
	deploy_stop_all
}

echo "# $N SSE streams at once; $(nproc) cores; $(uname -sr)"
echo "# settled when the served count is unchanged for ${SETTLE_S}s (at most ${SETTLE_MAX_S}s)"
echo "| deployment       |    N | served | queued | refused | RSS MiB | kB/stream | threads | emit | event | ended curls (status) |"
echo "|------------------|------|--------|--------|---------|---------|-----------|---------|------|-------|----------------------|"
for d in "${WHICH[@]}"; do
	run "$d" || { echo "| $d | failed to start |"; deploy_stop_all; }
done
