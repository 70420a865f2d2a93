# tests/integ/lib.sh -- shared harness for the integration tests (bash).
#
# Sourced by tests/integ/*.sh (lighttpd), by the nginx/Apache scripts and by
# the browser test runner.  It starts real servers on 127.0.0.1, talks to
# them with curl, prints TAP, and on exit stops exactly the processes it
# started (by PID) and removes its temp dir (kept, and its path printed, when
# a test failed).  Needs bash >= 5.0, curl and jq; lighttpd for the lighttpd
# helpers.  A script begins with:
#
#   if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi  # make runs sh
#   . "${top_srcdir:-.}/tests/integ/lib.sh"
#   integ_require lighttpd curl jq        # else "1..0 # SKIP ..." and exit 0
#   integ_init core                       # $T, trap, counters
#
# Environment given by `make check`: top_srcdir, top_builddir, EMITCGI_BIN
# (absolute path of the built program; defaults to $top_builddir/emitcgi).
# INTEG_KEEP=1 keeps $T even when everything passed.  Any EMITCGI_* variable
# of the caller's environment is unset by integ_init (except EMITCGI_BIN):
# tests pass their configuration explicitly.
#
# Processes
#   integ_init NAME            mktemp -d -> $T; trap integ_cleanup EXIT
#   integ_track PID            kill PID (and its children) at exit
#   integ_kill PID             TERM, KILL after INTEG_KILL_WAIT_S (5); also
#                              the children PID had (lighttpd's backends)
#   integ_wait_pid PID SECS    wait (bounded) for PID to exit; 1 on timeout
#   integ_port                 prints a free TCP port on 127.0.0.1
#   integ_await_up DESC PID DIR CMD...   a just-started server: 0 up, 1 its
#                              port was taken (retry), 2 failed (PID stopped)
#   wait_for DESC SECS CMD...  polls CMD every 0.05 s until it succeeds; 1
#                              (and a diag line) after SECS
#   now_ms                     wall clock in ms
#
# TAP
#   tap_plan N                 "1..N" up front (optional: tap_done prints
#                              the plan at the end when none was given)
#   ok DESC CMD...             passes when CMD succeeds
#   check_eq DESC EXPECTED ACTUAL
#   check_json DESC EXPECTED_JSON ACTUAL_JSON   equal after jq -S (keys sorted)
#   check_match DESC ERE ACTUAL
#   check_response DESC STATUS JSON   last api call: status and JSON body
#   check_error DESC STATUS CODE      last api call: status, JSON
#                              Content-Type, body {"error":CODE,"message":..}
#   error_summary              "STATUS CODE" of the last api call (or what
#                              is wrong with its error body)
#   diag TEXT...               "# " lines
#   skip_all REASON            "1..0 # SKIP REASON", exit 0
#   bail_out REASON            "Bail out! REASON", exit 1
#   tap_done                   plan (if not yet printed); exit status
#
# emitcgi and lighttpd
#   integ_db_init [PATH]       EMITCGI_DB=PATH emitcgi init (default
#                              $T/emitcgi.db); sets INTEG_DB
#   integ_emitcgi VAR=V... -- ARGS...   runs emitcgi with exactly these
#                              EMITCGI_* variables (and EMITCGI_DB=$INTEG_DB
#                              unless given) in the foreground
#   integ_start_emitcgi_listen ADDR [VAR=V...]   `emitcgi --listen ADDR` in
#                              the background (ADDR unix:/path or
#                              127.0.0.1:PORT); waits until it accepts; sets
#                              EMITCGI_PID; stderr in $T/emitcgi-N.log
#   integ_start_lighttpd [OPTIONS] [VAR=VALUE...]
#       writes a config made from $top_srcdir/lighttpd.conf.example by
#       replacing only its placeholder paths, port and EMITCGI_* values,
#       starts `lighttpd -D -f CONF`, waits for GET /api/health, and sets
#       BASE_URL (http://127.0.0.1:PORT), LIGHTTPD_PID, LIGHTTPD_PORT,
#       LIGHTTPD_DIR (config, logs: stderr.log holds emitcgi's stderr).
#       Options:
#         --mode spawn   (default) block [A]: lighttpd starts emitcgi
#                        (bin-path, max-procs); VAR=VALUE go to
#                        bin-environment
#         --mode socket --backend unix:/PATH   block [B]: connect to an
#                        `emitcgi --listen unix:/PATH` started separately
#         --mode socket --backend 127.0.0.1:PORT   same, "host"/"port"
#         --mode cgi     plain CGI through mod_cgi (alias to $EMITCGI_BIN,
#                        VAR=VALUE through setenv.add-environment)
#         --max-procs N  (spawn) processes lighttpd starts (example: 2)
#         --extra LINE   appended to the config (use := to override)
#         --health PATH  readiness URL path (default /api/health)
#   integ_stop_lighttpd [PID]  stops one lighttpd (default $LIGHTTPD_PID)
#   integ_stop_all             stops everything started, newest first
#   integ_check_sanitizers     a TAP test: no ASan/UBSan/LSan report in any
#                              log of this run (call after integ_stop_all)
#
# HTTP (every curl has --max-time; only 127.0.0.1)
#   api METHOD PATH [CURL_ARGS...]   request $BASE_URL$PATH; sets HTTP_STATUS
#                              ("000" when curl failed), HTTP_BODY and the
#                              file $T/last.headers
#   api_json METHOD PATH JSON [CURL_ARGS...]   same with a JSON body
#   hdr NAME [FILE]            a header of the last response (no CR), or
#                              of a curl -D FILE
#   body_get JQ_FILTER         jq -r FILTER on $HTTP_BODY
#   json_obj KEY VALUE ...     prints {"KEY":"VALUE",...} (strings, escaped)
#   register NAME PASS         POST /register
#   login NAME PASS JAR        POST /login, cookies saved in the file JAR
#   logout JAR                 POST /logout
#   sse_start JAR FILE [CURL_ARGS...]   GET /api/events in the background,
#                              raw stream in FILE; sets SSE_PID (tracked)
#   sse_events FILE            prints one line per complete event:
#                              ID<TAB>EVENT<TAB>DATA (ID empty when none)
#   sse_has FILE EVENT DATA    an event with that name and data arrived
#                              (DATA compared as JSON: key order, spacing
#                              and escapes do not matter)
#   sse_wait FILE EVENT DATA SECS   waits for it (bounded)
#   sse_data FILE EVENT        the data of every EVENT, space-separated
#   poll_start JAR FILE QUERY  GET /api/poll?QUERY in the background; the
#                              body goes to FILE, the status to FILE.status;
#                              sets POLL_PID (tracked)
#   poll_events JSON           ID<TAB>EVENT<TAB>DATA lines of a poll body
#                              (DATA normalised by jq -cS)
#   sse_events_norm FILE       sse_events with DATA normalised likewise
#   sse_has_id FILE ID         an event with that id arrived
#   sse_collect JAR FILE ID SECS [CURL_ARGS...]   stream until event ID
#                              arrives (bounded), then close it
#
# Functions that start background processes set a variable (SSE_PID, ...)
# and must not be called inside $(...).
#
# To extend: keep helpers general (no test-specific values), document them
# here, and never sleep to synchronise: wait_for a condition with a bound.

# ---- tools ---------------------------------------------------------------

: "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
: "${EMITCGI_BIN:=$top_builddir/emitcgi}"
LIGHTTPD=${LIGHTTPD:-$(command -v lighttpd 2>/dev/null || echo /usr/sbin/lighttpd)}
INTEG_KILL_WAIT_S=${INTEG_KILL_WAIT_S:-5}
INTEG_CURL_MAX_TIME=${INTEG_CURL_MAX_TIME:-15}

skip_all()
{
	echo "1..0 # SKIP $*"
	exit 0
}

bail_out()
{
	echo "Bail out! $*"
	exit 1
}

# integ_require TOOL...: skip the whole script when a tool is missing.
integ_require()
{
	local t
	for t in "$@"; do
		case $t in
		lighttpd) [ -x "$LIGHTTPD" ] || skip_all "lighttpd not installed" ;;
		*) command -v "$t" >/dev/null 2>&1 || skip_all "$t not installed" ;;
		esac
	done
}

now_ms()
{
	local t=${EPOCHREALTIME//[!0-9]/}
	echo $((10#$t / 1000))
}

# ---- TAP -----------------------------------------------------------------

TAP_N=0
TAP_FAILED=0
TAP_PLANNED=

diag()
{
	local line
	while IFS= read -r line; do
		printf '# %s\n' "$line"
	done <<<"$*"
}

tap_plan()
{
	TAP_PLANNED=$1
	echo "1..$1"
}

tap_pass()
{
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $1"
}

tap_fail()
{
	TAP_N=$((TAP_N + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	echo "not ok $TAP_N - $1"
}

ok()
{
	local desc=$1
	shift
	if "$@"; then
		tap_pass "$desc"
	else
		tap_fail "$desc"
		diag "command failed: $*"
		[ -n "${HTTP_STATUS:-}" ] &&
			diag "last response: $HTTP_STATUS ${HTTP_BODY:0:400}"
		return 1
	fi
}

check_eq()
{
	if [ "$2" = "$3" ]; then
		tap_pass "$1"
	else
		tap_fail "$1"
		diag "expected: ${2:0:600}"
		diag "actual:   ${3:0:600}"
		return 1
	fi
}

check_match()
{
	if [[ $3 =~ $2 ]]; then
		tap_pass "$1"
	else
		tap_fail "$1"
		diag "expected to match: $2"
		diag "actual: ${3:0:600}"
		return 1
	fi
}

# Both sides normalised by jq -cS; invalid JSON on either side fails.
check_json()
{
	local e a
	e=$(jq -cS . <<<"$2" 2>/dev/null) || e="(invalid JSON) $2"
	a=$(jq -cS . <<<"$3" 2>/dev/null) || a="(invalid JSON) $3"
	[ -n "$a" ] || a="(empty)"
	check_eq "$1" "$e" "$a"
}

# check_response DESC STATUS JSON: the last api call's status and body.
check_response()
{
	local b
	b=$(jq -cS . <<<"$HTTP_BODY" 2>/dev/null) || b="(invalid JSON) $HTTP_BODY"
	check_eq "$1" "$2 $(jq -cS . <<<"$3")" "$HTTP_STATUS $b"
}

# error_summary: "STATUS CODE" of the last api call when its body is
# exactly {"error":CODE,"message":<non-empty string>} with a JSON
# Content-Type; otherwise "STATUS" and what is wrong.
error_summary()
{
	local got
	got=$(jq -r 'if (type == "object" and (keys == ["error", "message"])
		and (.error | type == "string")
		and (.message | type == "string" and length > 0))
		then .error else "bad error body" end' <<<"$HTTP_BODY" 2>/dev/null) ||
		got="not JSON: ${HTTP_BODY:0:200}"
	[ -n "$got" ] || got="empty body"
	case $(hdr Content-Type) in
	application/json*) ;;
	*) got="$got (Content-Type: $(hdr Content-Type))" ;;
	esac
	echo "$HTTP_STATUS $got"
}

# check_error DESC STATUS CODE: see error_summary.
check_error()
{
	check_eq "$1" "$2 $3" "$(error_summary)"
}

tap_done()
{
	[ -n "$TAP_PLANNED" ] || echo "1..$TAP_N"
	[ "$TAP_FAILED" -eq 0 ]
}

# ---- processes -----------------------------------------------------------

INTEG_PIDS=()
INTEG_LOGS=()
INTEG_LIGHTTPD_N=0
INTEG_EMITCGI_N=0

integ_init()
{
	local v
	INTEG_NAME=$1
	# check.sh's `make distcheck` runs the unit tests only: the full
	# suites run once, in the main build.
	[ -z "${EMITCGI_SKIP_SLOW:-}" ] ||
		skip_all "EMITCGI_SKIP_SLOW is set (unit tests only)"
	T=$(mktemp -d "${TMPDIR:-/tmp}/emitcgi-integ-$1.XXXXXX") ||
		bail_out "mktemp failed"
	trap integ_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	for v in $(compgen -e); do
		case $v in
		EMITCGI_BIN) ;;
		EMITCGI_*) unset "$v" ;;
		esac
	done
	[ -x "$EMITCGI_BIN" ] || bail_out "EMITCGI_BIN=$EMITCGI_BIN is not an executable"
	# The same suite against the PostgreSQL store (tests/integ/*_pg.sh).
	if [ "${INTEG_STORE:-sqlite}" = postgresql ]; then
		integ_pg_require
		diag "store: PostgreSQL (INTEG_STORE=postgresql)"
	fi
}

integ_track()
{
	INTEG_PIDS+=("$1")
}

integ_untrack()
{
	local i
	for i in "${!INTEG_PIDS[@]}"; do
		[ "${INTEG_PIDS[i]}" = "$1" ] && unset 'INTEG_PIDS[i]'
	done
	INTEG_PIDS=("${INTEG_PIDS[@]}")
}

# Direct children of PID, from /proc (no procps needed).
integ_children()
{
	local f line rest state ppid p
	for f in /proc/[0-9]*/stat; do
		{ read -r line <"$f"; } 2>/dev/null || continue
		rest=${line##*) }
		read -r state ppid _ <<<"$rest"
		if [ "$ppid" = "$1" ]; then
			p=${f#/proc/}
			echo "${p%/stat}"
		fi
	done
}

integ_wait_pid()
{
	local deadline=$(($(now_ms) + ${2:-5} * 1000))
	while kill -0 "$1" 2>/dev/null; do
		# a zombie child of ours counts as gone
		[ -r "/proc/$1/stat" ] && [[ $(<"/proc/$1/stat") =~ \)\ Z ]] && return 0
		[ "$(now_ms)" -lt "$deadline" ] || return 1
		sleep 0.05
	done
	return 0
}

integ__term()
{
	kill -0 "$1" 2>/dev/null || return 0
	kill -TERM "$1" 2>/dev/null
	if ! integ_wait_pid "$1" "$INTEG_KILL_WAIT_S"; then
		diag "pid $1 ignored TERM for ${INTEG_KILL_WAIT_S}s: KILL"
		kill -KILL "$1" 2>/dev/null
		integ_wait_pid "$1" 2
	fi
	{ wait "$1"; } 2>/dev/null
	return 0
}

integ_kill()
{
	local kids k
	kill -0 "$1" 2>/dev/null || { integ_untrack "$1"; return 0; }
	kids=$(integ_children "$1")
	integ__term "$1"
	for k in $kids; do
		integ__term "$k"
	done
	integ_untrack "$1"
}

integ_stop_all()
{
	local i
	for ((i = ${#INTEG_PIDS[@]} - 1; i >= 0; i--)); do
		integ_kill "${INTEG_PIDS[i]}"
	done
	INTEG_PIDS=()
}

integ_cleanup()
{
	local rc=$? f
	trap - EXIT INT TERM
	integ_stop_all
	if [ "$rc" -ne 0 ] || [ "$TAP_FAILED" -ne 0 ] || [ -n "${INTEG_KEEP:-}" ]; then
		for f in "${INTEG_LOGS[@]}"; do
			[ -s "$f" ] || continue
			diag "---- last lines of $f"
			diag "$(tail -n 15 "$f")"
		done
		diag "kept $T"
	else
		rm -rf "$T"
	fi
	exit "$rc"
}

# A port nothing listens on, outside the ephemeral range.
integ_port()
{
	local i p
	for ((i = 0; i < 100; i++)); do
		p=$((20000 + RANDOM % 12000))
		if command -v ss >/dev/null 2>&1; then
			[ -z "$(ss -Htan "( sport = :$p )" 2>/dev/null)" ] || continue
		fi
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

wait_for()
{
	local desc=$1 secs=$2 deadline
	shift 2
	deadline=$(($(now_ms) + secs * 1000))
	until "$@"; do
		if [ "$(now_ms)" -ge "$deadline" ]; then
			diag "timed out after ${secs}s waiting for: $desc"
			return 1
		fi
		sleep 0.05
	done
	return 0
}

# ---- emitcgi -------------------------------------------------------------

# Prints env(1) arguments: EMITCGI_DB default, then the given VAR=VALUE.
integ__emitcgi_env()
{
	local a have_db=
	for a in "$@"; do
		case $a in EMITCGI_DB=*) have_db=1 ;; esac
	done
	[ -n "$have_db" ] || printf '%s\0' "EMITCGI_DB=${INTEG_DB:-$T/emitcgi.db}"
	for a in "$@"; do
		printf '%s\0' "$a"
	done
}

integ_db_init()
{
	if [ "${INTEG_STORE:-sqlite}" = postgresql ]; then
		integ__db_init_pg
		return
	fi
	INTEG_DB=${1:-$T/emitcgi.db}
	env -u EMITCGI_BIN EMITCGI_DB="$INTEG_DB" "$EMITCGI_BIN" init \
		>>"$T/init.log" 2>&1 || {
		diag "emitcgi init failed: $(cat "$T/init.log")"
		return 1
	}
}

integ_emitcgi()
{
	local vars=()
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do
		vars+=("$1")
		shift
	done
	[ "${1:-}" = "--" ] && shift
	local envargs=()
	mapfile -d '' envargs < <(integ__emitcgi_env "${vars[@]}")
	env -u EMITCGI_BIN "${envargs[@]}" "$EMITCGI_BIN" "$@"
}

integ__listen_ready()
{
	local addr=$1
	kill -0 "$EMITCGI_PID" 2>/dev/null || return 2
	case $addr in
	unix:*) [ -S "${addr#unix:}" ] ;;
	*) (exec 3<>"/dev/tcp/${addr%:*}/${addr##*:}") 2>/dev/null ;;
	esac
}

integ_start_emitcgi_listen()
{
	local addr=$1 log envargs=()
	shift
	INTEG_EMITCGI_N=$((INTEG_EMITCGI_N + 1))
	log=$T/emitcgi-$INTEG_EMITCGI_N.log
	mapfile -d '' envargs < <(integ__emitcgi_env "$@")
	env -u EMITCGI_BIN "${envargs[@]}" "$EMITCGI_BIN" --listen "$addr" \
		</dev/null >"$log" 2>&1 &
	EMITCGI_PID=$!
	integ_track "$EMITCGI_PID"
	INTEG_LOGS+=("$log")
	wait_for "emitcgi --listen $addr" 20 integ__listen_ready "$addr" || {
		diag "emitcgi --listen $addr did not come up: $(tail -n 20 "$log")"
		return 1
	}
}

# ---- lighttpd ------------------------------------------------------------

integ__sed_escape()
{
	printf '%s' "$1" | sed -e 's/[\\|&]/\\&/g'
}

# integ__lighttpd_conf OUT DIR PORT MODE BACKEND MAXPROCS EXTRA_FILE VARS...
integ__lighttpd_conf()
{
	local out=$1 dir=$2 port=$3 mode=$4 backend=$5 maxprocs=$6 extra=$7
	shift 7
	local example=$top_srcdir/lighttpd.conf.example
	local www=${INTEG_WWW:-$top_srcdir/www} # deploy_lib.sh: its copy
	local v e_www e_dir e_bin e_db db
	[ -r "$example" ] || { diag "no $example"; return 1; }
	[ -d "$www" ] || { www=$dir/www; mkdir -p "$www"; }
	db=${INTEG_DB:-$T/emitcgi.db}
	for v in "$@"; do
		case $v in
		EMITCGI_DB=*) db=${v#EMITCGI_DB=} ;;
		*'"'* | *\\*) diag "bad value for the config: $v"; return 1 ;;
		esac
	done
	e_www=$(integ__sed_escape "$www")
	e_dir=$(integ__sed_escape "$dir")
	e_bin=$(integ__sed_escape "$EMITCGI_BIN")
	e_db=$(integ__sed_escape "$db")

	# 1. paths, port, privileges, the spawned program and its socket.
	sed -e "s|^server.port  *= 8080\$|server.port           = $port|" \
	    -e 's|^server.bind  *= "0.0.0.0"$|server.bind           = "127.0.0.1"|' \
	    -e "s|\"/usr/local/share/emitcgi/www\"|\"$e_www\"|" \
	    -e "s|\"/var/log/lighttpd/error.log\"|\"$e_dir/error.log\"|" \
	    -e "s|\"/run/lighttpd.pid\"|\"$e_dir/lighttpd.pid\"|" \
	    -e "s|\"/var/cache/lighttpd/uploads\"|\"$e_dir\"|" \
	    -e '/^server.username /d' -e '/^server.groupname /d' \
	    -e "s|\"/usr/local/sbin/emitcgi\"|\"$e_bin\"|" \
	    -e "s|\"/run/lighttpd/emitcgi.sock\"|\"$e_dir/emitcgi.sock\"|" \
	    -e "s|\"/usr/local/var/lib/emitcgi/emitcgi.db\"|\"$e_db\"|" \
	    -e "s|\"max-procs\"   => 2,|\"max-procs\"   => $maxprocs,|" \
	    -e 's|"bin-copy-environment" => ( "PATH", "TZ" )|"bin-copy-environment" => ( "PATH", "TZ", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS" )|' \
	    "$example" >"$out.1" || return 1
	grep -q "server.port           = $port" "$out.1" &&
		grep -q '"127.0.0.1"' "$out.1" || {
		diag "the example's placeholders changed: cannot substitute port/bind"
		return 1
	}

	# 2. the EMITCGI_* values (spawn: bin-environment; cgi: setenv).
	# 3. the mode: keep block [A], or swap in [B], or plain CGI.
	INTEG_CONF_VARS=$(printf '%s\n' "EMITCGI_DB=$db" "$@") \
	INTEG_CONF_MODE=$mode INTEG_CONF_BACKEND=$backend \
	INTEG_CONF_BIN=$EMITCGI_BIN \
	awk '
	function flush_vars(indent,   k) {
		for (k = 1; k <= nv; k++)
			if (!(names[k] in done))
				printf "%s\"%s\" => \"%s\",\n", indent, names[k], vals[names[k]]
	}
	BEGIN {
		n = split(ENVIRON["INTEG_CONF_VARS"], lines, "\n")
		for (i = 1; i <= n; i++) {
			if (lines[i] == "") continue
			p = index(lines[i], "=")
			name = substr(lines[i], 1, p - 1)
			if (!(name in vals)) names[++nv] = name
			vals[name] = substr(lines[i], p + 1)
		}
		mode = ENVIRON["INTEG_CONF_MODE"]
		backend = ENVIRON["INTEG_CONF_BACKEND"]
	}
	/^#### begin emitcgi-spawn/ { block = "spawn" }
	/^#### begin emitcgi-socket/ { block = "socket" }
	/^#### end emitcgi-/ { print; block = ""; next }
	block == "spawn" && mode != "spawn" { next }
	block == "spawn" && /"bin-environment" => \(/ { inenv = 1; print; next }
	block == "spawn" && inenv && /^[ \t]*\),/ {
		flush_vars("\t\t\t"); inenv = 0; print; next
	}
	block == "spawn" && inenv && /^[ \t]*"EMITCGI_[A-Z_]+"/ {
		match($0, /"EMITCGI_[A-Z_]+"/)
		name = substr($0, RSTART + 1, RLENGTH - 2)
		if (name in vals) {
			match($0, /^[ \t]*/)
			printf "%s\"%s\" => \"%s\",\n", substr($0, 1, RLENGTH), name, vals[name]
			done[name] = 1
			next
		}
	}
	block == "socket" && mode == "socket" && /^#[$\t}]/ {
		line = substr($0, 2)
		if (line ~ /"socket"/ && backend !~ /^unix:/) {
			split(backend, hp, ":")
			sub(/"socket".*$/, "\"host\" => \"" hp[1] "\", \"port\" => " hp[2] ",", line)
		} else if (line ~ /"socket"/) {
			sub(/"\/run\/emitcgi\/emitcgi.sock"/, "\"" substr(backend, 6) "\"", line)
		}
		print line; next
	}
	{ print }
	END {
		if (mode != "cgi") exit
		print ""
		print "# plain CGI (tests/integ/lib.sh --mode cgi)"
		print "$HTTP[\"url\"] =~ \"^/(api|_api)(/|$)\" {"
		print "\talias.url = ( \"/api\" => \"" ENVIRON["INTEG_CONF_BIN"] "\", \"/_api\" => \"" ENVIRON["INTEG_CONF_BIN"] "\" )"
		print "\tcgi.assign = ( \"\" => \"\" )"
		print "\tsetenv.add-environment = ("
		flush_vars("\t\t")
		if (ENVIRON["ASAN_OPTIONS"] != "") print "\t\t\"ASAN_OPTIONS\" => \"" ENVIRON["ASAN_OPTIONS"] "\","
		if (ENVIRON["UBSAN_OPTIONS"] != "") print "\t\t\"UBSAN_OPTIONS\" => \"" ENVIRON["UBSAN_OPTIONS"] "\","
		print "\t)"
		print "}"
	}
	' "$out.1" >"$out.2" || return 1
	rm -f "$out.1"

	if [ "$mode" = cgi ]; then
		sed -e 's|^\t"mod_fastcgi",$|\t"mod_alias",\n\t"mod_setenv",\n\t"mod_cgi",|' \
			"$out.2" >"$out" || return 1
		rm -f "$out.2"
	else
		mv "$out.2" "$out"
	fi
	[ -z "$extra" ] || cat "$extra" >>"$out"
}

integ__lighttpd_up()
{
	kill -0 "$LIGHTTPD_PID" 2>/dev/null || return 2
	[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
		"$BASE_URL$1" 2>/dev/null)" = 200 ]
}

integ_start_lighttpd()
{
	local mode=spawn backend= maxprocs=2 health=/api/health extra= attempt
	local dir port conf
	while [ $# -gt 0 ]; do
		case $1 in
		--mode) mode=$2; shift 2 ;;
		--backend) backend=$2; shift 2 ;;
		--max-procs) maxprocs=$2; shift 2 ;;
		--health) health=$2; shift 2 ;;
		--extra) extra+=$2$'\n'; shift 2 ;;
		--) shift; break ;;
		*) break ;;
		esac
	done
	INTEG_LIGHTTPD_N=$((INTEG_LIGHTTPD_N + 1))
	dir=$T/lighttpd-$INTEG_LIGHTTPD_N
	mkdir -p "$dir" || return 1
	[ -z "$extra" ] || printf '%s' "$extra" >"$dir/extra.conf"
	INTEG_LOGS+=("$dir/stderr.log" "$dir/error.log")
	for attempt in 1 2 3; do
		port=$(integ_port) || { diag "no free port"; return 1; }
		conf=$dir/lighttpd.conf
		integ__lighttpd_conf "$conf" "$dir" "$port" "$mode" "$backend" \
			"$maxprocs" "${extra:+$dir/extra.conf}" "$@" || return 1
		"$LIGHTTPD" -tt -f "$conf" >"$dir/check.log" 2>&1 || {
			diag "lighttpd rejects $conf: $(cat "$dir/check.log")"
			return 1
		}
		env -i PATH="$PATH" ${TZ:+TZ="$TZ"} \
			${ASAN_OPTIONS:+ASAN_OPTIONS="$ASAN_OPTIONS"} \
			${UBSAN_OPTIONS:+UBSAN_OPTIONS="$UBSAN_OPTIONS"} \
			${LSAN_OPTIONS:+LSAN_OPTIONS="$LSAN_OPTIONS"} \
			"$LIGHTTPD" -D -f "$conf" </dev/null >>"$dir/stderr.log" 2>&1 &
		LIGHTTPD_PID=$!
		integ_track "$LIGHTTPD_PID"
		LIGHTTPD_PORT=$port
		LIGHTTPD_DIR=$dir
		BASE_URL=http://127.0.0.1:$port
		export BASE_URL
		integ_await_up "lighttpd on port $port answering $health" \
			"$LIGHTTPD_PID" "$dir" integ__lighttpd_up "$health"
		case $? in
		0) return 0 ;;
		1) continue ;;
		esac
		break
	done
	diag "lighttpd did not come up ($conf)"
	diag "$(tail -n 20 "$dir/stderr.log" "$dir/error.log" 2>/dev/null)"
	return 1
}

# integ_await_up DESC PID DIR CMD...: a server just started as PID, its
# logs (error.log, stderr.log) in DIR.  0 when CMD succeeds within 20 s;
# otherwise PID is stopped and the status is 1 when the logs say its port
# was taken meanwhile (start again on another), 2 when it failed for good.
integ_await_up()
{
	local desc=$1 pid=$2 dir=$3
	shift 3
	wait_for "$desc" 20 "$@" && return 0
	integ_kill "$pid"
	if grep -q -i "address already in use" "$dir/error.log" \
		"$dir/stderr.log" 2>/dev/null; then
		diag "$desc: port taken, retrying"
		return 1
	fi
	return 2
}

integ_stop_lighttpd()
{
	integ_kill "${1:-$LIGHTTPD_PID}"
}

integ_check_sanitizers()
{
	local f found=
	for f in "${INTEG_LOGS[@]}"; do
		[ -f "$f" ] || continue
		if grep -E -q 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: (Address|Undefined|Leak)' "$f"; then
			found+=" $f"
			diag "$(grep -E -m 5 -A 8 'ERROR: |runtime error:' "$f")"
		fi
	done
	check_eq "no sanitizer report in the server logs" "" "$found"
}

# ---- HTTP ----------------------------------------------------------------

api()
{
	local method=$1 path=$2
	shift 2
	local m=(-X "$method")
	[ "$method" = HEAD ] && m=(--head)
	[ "$method" = GET ] && m=()
	: >"$T/last.headers"
	HTTP_STATUS=$(curl -sS --max-time "$INTEG_CURL_MAX_TIME" "${m[@]}" \
		-o "$T/last.body" -D "$T/last.headers" -w '%{http_code}' \
		"$@" "$BASE_URL$path" 2>"$T/last.curl") || HTTP_STATUS=000
	HTTP_BODY=$(cat "$T/last.body" 2>/dev/null)
}

api_json()
{
	local method=$1 path=$2 json=$3
	shift 3
	api "$method" "$path" -H 'Content-Type: application/json' \
		--data-binary "$json" "$@"
}

hdr()
{
	local name=${1,,} line key
	while IFS= read -r line; do
		line=${line%$'\r'}
		key=${line%%:*}
		if [ "${key,,}" = "$name" ]; then
			line=${line#*:}
			echo "${line# }"
			return 0
		fi
	done <"${2:-$T/last.headers}"
	return 1
}

body_get()
{
	jq -r "$1" <<<"$HTTP_BODY" 2>/dev/null
}

json_obj()
{
	local args=() filter= i=0
	while [ $# -ge 2 ]; do
		args+=(--arg "k$i" "$1" --arg "v$i" "$2")
		filter+="${filter:+ + }{(\$k$i): \$v$i}"
		i=$((i + 1))
		shift 2
	done
	jq -cn "${args[@]}" "${filter:-{\}}"
}

register()
{
	api_json POST /api/register "$(json_obj username "$1" password "$2")"
}

login()
{
	api_json POST /api/login "$(json_obj username "$1" password "$2")" \
		-c "$3" -b "$3"
}

# (lighttpd answers 411 to a POST without Content-Length)
logout()
{
	api POST /api/logout -b "$1" -c "$1" -H 'Content-Length: 0'
}

# emit_status URL JAR DATA: POST URL/api/emit {"event":"n","data":DATA}
# with the cookie jar JAR; prints the HTTP status only.  Unlike api(), it
# keeps no files, so writers may run it at once in the background.
emit_status()
{
	curl -sS -o /dev/null -w '%{http_code}' --max-time 20 \
		-H 'Content-Type: application/json' -b "$2" \
		--data-binary "{\"event\":\"n\",\"data\":\"$3\"}" "$1/api/emit" 2>/dev/null
}

sse_start()
{
	local jar=$1 file=$2
	shift 2
	curl -sS -N --max-time "${SSE_MAX_TIME:-150}" -b "$jar" "$@" \
		"$BASE_URL/api/events" >"$file" 2>"$file.err" &
	SSE_PID=$!
	integ_track "$SSE_PID"
}

sse_events()
{
	awk '
	{ sub(/\r$/, "") }
	/^$/ {
		if (has) print id "\t" ev "\t" data
		id = ""; ev = ""; data = ""; has = 0; next
	}
	/^:/ { next }
	{
		f = $0; v = ""
		p = index(f, ":")
		if (p) { v = substr(f, p + 1); f = substr(f, 1, p - 1); sub(/^ /, "", v) }
		if (f == "id") id = v
		else if (f == "event") ev = v
		else if (f == "data") { data = has ? data "\n" v : v; has = 1 }
	}
	' "$1" 2>/dev/null
}

# jq filter: a JSON text normalised (keys sorted, compact); anything else
# as a JSON string, so that it never equals a JSON value.
INTEG_JQ_NORM='. as $l | (try fromjson catch $l)'

# sse_has FILE EVENT DATA: DATA compares as JSON (key order, spacing and
# escapes do not matter).
sse_has()
{
	local want
	want=$(jq -cSR "$INTEG_JQ_NORM" <<<"$3") || return 1
	sse_events_norm "$1" | E=$2 D=$want awk -F'\t' \
		'$2 == ENVIRON["E"] && $3 == ENVIRON["D"] { f = 1 } END { exit !f }'
}

sse_wait()
{
	wait_for "event '$2' data $3 in $1" "$4" sse_has "$1" "$2" "$3"
}

sse_data()
{
	sse_events "$1" | E=$2 awk -F'\t' '$2 == ENVIRON["E"] { print $3 }' |
		paste -sd' ' -
}

poll_start()
{
	local jar=$1 file=$2 query=$3
	curl -sS --max-time "${POLL_MAX_TIME:-75}" -b "$jar" -o "$file" \
		-w '%{http_code}' "$BASE_URL/api/poll?$query" \
		>"$file.status" 2>"$file.err" &
	POLL_PID=$!
	integ_track "$POLL_PID"
}

# Data normalised (jq -cS) so that it compares with sse_events_norm.
poll_events()
{
	jq -cS '.events[]' <<<"$1" 2>/dev/null |
		jq -r '[(.id | tostring), .event, (.data | tojson)] | @tsv'
}

# sse_events with every data normalised by jq -cS (keys sorted); data
# that is not JSON comes out as a JSON string.
sse_events_norm()
{
	local ev
	ev=$(sse_events "$1")
	[ -n "$ev" ] || return 0
	paste <(cut -f1,2 <<<"$ev") <(cut -f3- <<<"$ev" | jq -cSR "$INTEG_JQ_NORM")
}

# sse_has_id FILE ID: a complete event with that id arrived.
sse_has_id()
{
	sse_events "$1" | I=$2 awk -F'\t' '$1 == ENVIRON["I"] { f = 1 } END { exit !f }'
}

# sse_collect JAR FILE LAST_ID SECS [CURL_ARGS...]: opens a stream, waits
# (bounded) for the event with id LAST_ID, then closes the stream.
sse_collect()
{
	local jar=$1 file=$2 last=$3 secs=$4 rc
	shift 4
	sse_start "$jar" "$file" "$@"
	wait_for "event id $last in $file" "$secs" sse_has_id "$file" "$last"
	rc=$?
	integ_kill "$SSE_PID"
	return $rc
}

# ---- PostgreSQL ------------------------------------------------------------
#
# A real PostgreSQL (Debian's postgresql package) for the tests that run
# against the PostgreSQL store, started by the test and stopped by PID:
#   integ_pg_require           skip_all unless initdb/postgres/psql exist
#                              and emitcgi was built with PostgreSQL
#   integ_pg_start             initdb in $T/pg (owned by the postgres user
#                              when run as root: the server refuses root),
#                              postgres on 127.0.0.1:<free port>, socket in
#                              the data dir; sets INTEG_PG_PORT, INTEG_PG_PID
#   integ_pg_stop              fast shutdown (SIGINT), waits for the PID
#   integ_pg_restart           stop, then start again on the same port
#   integ_pg_createdb NAME     a fresh database; prints its URL
#   integ_pg_sql DB SQL        psql -At against database DB
# Tests that take the store from INTEG_STORE (core.sh, bad_input.sh ...)
# call integ_db_init as always: with INTEG_STORE=postgresql it starts the
# server if needed and sets INTEG_DB to a new database's URL.
INTEG_PG_BIN=${INTEG_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
INTEG_PG_PID=
INTEG_PG_PORT=

integ_pg_require()
{
	[ -n "$INTEG_PG_BIN" ] && [ -x "$INTEG_PG_BIN/initdb" ] &&
		[ -x "$INTEG_PG_BIN/postgres" ] ||
		skip_all "PostgreSQL server not installed (apt-get install postgresql)"
	command -v psql >/dev/null 2>&1 || skip_all "psql not installed"
	grep -q '^#define HAVE_POSTGRESQL 1' "${top_builddir:-.}/autoconfig.h" 2>/dev/null ||
		skip_all "emitcgi built without PostgreSQL (no libpq at ./configure)"
	if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
		skip_all "running as root and there is no postgres user to run the server"
	fi
}

# Runs a PostgreSQL program as the server's owner.
integ__pg_as()
{
	if [ "$(id -u)" = 0 ]; then
		setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"
	else
		"$@"
	fi
}

integ__pg_ready()
{
	kill -0 "$INTEG_PG_PID" 2>/dev/null || return 2
	psql -h 127.0.0.1 -p "$INTEG_PG_PORT" -U postgres -d postgres -Atqc 'SELECT 1' \
		>/dev/null 2>&1
}

integ__pg_launch()
{
	local log=$T/pg/server.log
	# fsync off: the tests stop the server cleanly (a restart is a fast
	# shutdown, which writes everything); `make bench` keeps defaults.
	local as=()
	[ "$(id -u)" = 0 ] &&
		as=(setpriv --reuid=postgres --regid=postgres --init-groups --)
	# A simple command, not a function: $! is the postmaster itself
	# (setpriv execs it), so it is stopped by its PID.
	# shellcheck disable=SC2086 # INTEG_PG_OPTS: words
	"${as[@]}" "$INTEG_PG_BIN/postgres" -D "$T/pg/data" \
		-c listen_addresses=127.0.0.1 -p "$INTEG_PG_PORT" \
		-k "$T/pg" -c fsync=off -c max_connections=200 \
		${INTEG_PG_OPTS:-} </dev/null >>"$log" 2>&1 &
	INTEG_PG_PID=$!
	# First in the list, so stopped last (after every client: a TERM is
	# a smart shutdown, which waits for them).
	INTEG_PIDS=("$INTEG_PG_PID" "${INTEG_PIDS[@]}")
	wait_for "postgres on port $INTEG_PG_PORT" 30 integ__pg_ready || {
		diag "postgres did not come up: $(tail -n 20 "$log")"
		return 1
	}
}

integ_pg_start()
{
	[ -z "$INTEG_PG_PID" ] || return 0
	chmod 711 "$T"
	mkdir -p "$T/pg"
	[ "$(id -u)" = 0 ] && chown postgres: "$T/pg"
	integ__pg_as "$INTEG_PG_BIN/initdb" -D "$T/pg/data" -U postgres \
		--auth=trust -E UTF8 --locale=C.UTF-8 >"$T/pg/initdb.log" 2>&1 || {
		diag "initdb failed: $(tail -n 20 "$T/pg/initdb.log")"
		return 1
	}
	INTEG_PG_PORT=$(integ_port) || return 1
	INTEG_LOGS+=("$T/pg/server.log")
	integ__pg_launch
}

integ_pg_stop()
{
	[ -n "$INTEG_PG_PID" ] || return 0
	kill -INT "$INTEG_PG_PID" 2>/dev/null
	integ_wait_pid "$INTEG_PG_PID" 30 || kill -KILL "$INTEG_PG_PID" 2>/dev/null
	{ wait "$INTEG_PG_PID"; } 2>/dev/null
	integ_untrack "$INTEG_PG_PID"
	INTEG_PG_PID=
}

integ_pg_restart()
{
	integ_pg_stop
	integ__pg_launch
}

integ_pg_sql()
{
	psql -h 127.0.0.1 -p "$INTEG_PG_PORT" -U postgres -d "$1" -v ON_ERROR_STOP=1 \
		-Atqc "$2"
}

integ_pg_createdb()
{
	integ_pg_sql postgres "CREATE DATABASE \"$1\"" >/dev/null || return 1
	printf 'postgresql://postgres@127.0.0.1:%s/%s\n' "$INTEG_PG_PORT" "$1"
}

# integ_db_init with INTEG_STORE=postgresql (see above).
integ__db_init_pg()
{
	INTEG_PG_DBN=$((${INTEG_PG_DBN:-0} + 1))
	integ_pg_start || return 1
	INTEG_DB=$(integ_pg_createdb "emitcgi_$INTEG_PG_DBN") || return 1
	env -u EMITCGI_BIN EMITCGI_DB="$INTEG_DB" "$EMITCGI_BIN" init \
		>>"$T/init.log" 2>&1 || {
		diag "emitcgi init failed: $(cat "$T/init.log")"
		return 1
	}
}
