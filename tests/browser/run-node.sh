#!/bin/sh
# tests/browser/run-node.sh -- the automake test "compiler" for *.mjs:
#
#   MJS_LOG_COMPILER = $(SHELL) $(top_srcdir)/tests/browser/run-node.sh
#   (make check runs: sh run-node.sh tests/browser/page.mjs)
#
# Starts the real server stack (lighttpd serving www/ with /api -> emitcgi,
# through tests/integ/lib.sh, on a free 127.0.0.1 port, fresh database), then
# runs the script with node.  The script prints TAP on stdout; the server
# stack's messages go to stderr (the .log file).  Everything it started is
# stopped on exit (lib.sh's EXIT trap).
#
# Skips ("1..0 # SKIP reason", exit 0) when node (>= 18), Chromium or
# playwright-core is missing.  It never downloads a browser.
#
# Environment:
#   top_srcdir, top_builddir, EMITCGI_BIN   from make check
#   EMITCGI_NODE_MODULES   a node_modules directory holding playwright-core
#                          (default: $top_srcdir/tests/browser/node_modules,
#                          made by `npm ci` in tests/browser)
#   CHROMIUM               the browser (default /usr/bin/chromium)
#   BROWSER_ARTIFACTS      where screenshots go (default
#                          $top_builddir/tests/artifacts)
#   INTEG_KEEP=1           keep the temp dir (server logs) after a pass
#
# The script gets BASE_URL, LIGHTTPD_PID (the emitcgi processes are its
# children: the restart test kills them and lighttpd starts new ones),
# NODE_MODULES, CHROMIUM, BROWSER_ARTIFACTS, T and BROWSER_TAP_COUNT (a file:
# when set, the script prints no plan and writes its number of tests there,
# and this runner adds its own test and the plan).

if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi

script=${1:?usage: run-node.sh SCRIPT.mjs}
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
export top_srcdir top_builddir

skip() {
	echo "1..0 # SKIP $*"
	exit 0
}

# Read before lib.sh's integ_init, which unsets every EMITCGI_* but the binary.
NODE_MODULES=${EMITCGI_NODE_MODULES:-$top_srcdir/tests/browser/node_modules}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

[ -z "${EMITCGI_SKIP_SLOW:-}" ] || skip "EMITCGI_SKIP_SLOW is set (unit tests only)"
command -v node >/dev/null 2>&1 || skip "node not installed"
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null)
[ "${node_major:-0}" -ge 18 ] 2>/dev/null ||
	skip "node >= 18 needed (have $(node --version 2>/dev/null))"
# A script may say what it needs and how emitcgi is configured, in lines
#   // run-node: needs socket.io-client            (a package, not Chromium)
#   // run-node: env EMITCGI_SIO_PING_INTERVAL=300 (passed to emitcgi)
needs=$(sed -n 's|^// run-node: needs ||p' "$script")
script_env=$(sed -n 's|^// run-node: env ||p' "$script")
if [ -n "$needs" ]; then
	for pkg in $needs; do
		[ -f "$NODE_MODULES/$pkg/package.json" ] ||
			skip "$pkg not installed in $NODE_MODULES (cd tests/browser && npm ci)"
	done
else
	[ -x "$CHROMIUM" ] || skip "chromium not installed ($CHROMIUM; apt-get install chromium)"
	[ -f "$NODE_MODULES/playwright-core/package.json" ] ||
		skip "playwright-core not installed in $NODE_MODULES (cd tests/browser && npm ci)"
fi

. "$top_srcdir/tests/integ/lib.sh"
integ_require lighttpd curl jq
integ_init browser

BROWSER_ARTIFACTS=${BROWSER_ARTIFACTS:-$top_builddir/tests/artifacts}
mkdir -p "$BROWSER_ARTIFACTS" || BROWSER_ARTIFACTS=$T/artifacts
mkdir -p "$BROWSER_ARTIFACTS" || bail_out "cannot create $BROWSER_ARTIFACTS"

# The socket.io client bundle at /socket.io/socket.io.js, from npm (what
# demo.sh installs under www/ for a deployment; the tests leave the tree
# alone and alias it).
extra=
bundle=$NODE_MODULES/socket.io-client/dist/socket.io.min.js
if [ -f "$bundle" ]; then
	extra='server.modules += ( "mod_alias" )'$'\n''alias.url += ( "/socket.io/socket.io.js" => "'"$bundle"'" )'
fi

{
	integ_db_init &&
		integ_start_lighttpd ${extra:+--extra "$extra"} EMITCGI_LOG_LEVEL=info $script_env
} >&2 || bail_out "the server stack did not start (see the test's .log)"

# The script numbers its tests and leaves the plan to this runner, which adds
# one: no sanitizer report in the server logs once everything has stopped.
BROWSER_TAP_COUNT=$T/tap-count
export BASE_URL LIGHTTPD_PID NODE_MODULES CHROMIUM BROWSER_ARTIFACTS T \
	BROWSER_TAP_COUNT
node "$script"
rc=$?
TAP_N=$(cat "$BROWSER_TAP_COUNT" 2>/dev/null) ||
	bail_out "$script stopped before the end (exit status $rc)"
integ_stop_all >&2
integ_check_sanitizers
[ $rc -eq 0 ] || TAP_FAILED=$((TAP_FAILED + 1))
tap_done
