#!/bin/sh
# check.sh -- on a fresh Debian 12 machine (root, apt reachable): install what
# the tests need, build with -Werror and ASan/UBSan, run every test suite
# (unit, integration through lighttpd/nginx/Apache, headless Chromium),
# `make check-style` and `make distcheck`, and end with one line:
# "N passed, N failed[, N skipped]" (a failed check-style or distcheck
# counts as one failure).
# Exit status 0 only when nothing failed.
set -eu
cd "$(dirname "$0")"
top=$(pwd)
log() { printf '==> %s\n' "$*"; }

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	log "installing Debian packages"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null
	pkgs="build-essential autoconf automake libtool pkg-config
	      libfcgi-dev libsqlite3-dev libjson-c-dev libcrypt-dev check
	      curl jq sqlite3 lighttpd nginx-light apache2 libapache2-mod-fcgid
	      spawn-fcgi chromium procps iproute2 psmisc util-linux systemd
	      clang-format"
	# the PostgreSQL store (libpq) and the server its tests start
	pkgs="$pkgs libpq-dev postgresql"
	command -v node >/dev/null 2>&1 || pkgs="$pkgs nodejs"
	command -v npm >/dev/null 2>&1 || pkgs="$pkgs npm"
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $pkgs >/dev/null
	# The packages start their services on port 80; our tests use their
	# own ports and configs, so the system instances are not needed.
	for s in apache2 nginx lighttpd postgresql; do
		command -v service >/dev/null 2>&1 && service "$s" stop >/dev/null 2>&1 || true
	done
fi

if [ -f tests/browser/package-lock.json ] && command -v npm >/dev/null 2>&1; then
	log "installing npm packages for the browser tests"
	(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error) || log "npm ci failed: browser tests will skip"
fi

log "building"
autoreconf -fi >/dev/null 2>&1 || autoreconf -fi
# The build is out of tree (_build/), which configure refuses while the
# source tree itself is configured: clean that first.
if [ -f config.status ]; then
	log "the source tree is configured in place: make distclean first"
	make distclean >/dev/null
fi
rm -rf _build && mkdir _build && cd _build
../configure --enable-werror --enable-sanitizers -q
make -j2 >/dev/null

log "make check-style"
style_failed=0
make check-style || style_failed=1

log "make distcheck (unit tests only in the copy)"
distcheck_failed=0
if ! EMITCGI_SKIP_SLOW=1 make -j2 distcheck DISTCHECK_CONFIGURE_FLAGS=--enable-werror \
	>distcheck.log 2>&1; then
	distcheck_failed=1
	tail -40 distcheck.log
	log "make distcheck FAILED (see _build/distcheck.log)"
fi

log "make check"
export EMITCGI_NODE_MODULES="$top/tests/browser/node_modules"
make -j2 check >check.log 2>&1 || true
grep -E '^(PASS|FAIL|SKIP|ERROR|XFAIL|XPASS):' check.log | grep -v '^PASS' || true
for f in $(grep -lE '^(FAIL|ERROR)' tests/*/*.log 2>/dev/null); do
	printf '\n---- %s ----\n' "$f"
	tail -60 "$f"
done

count() { sed -n "s/^# $1: *\([0-9]*\).*/\1/p" test-suite.log | head -1; }
if [ ! -f test-suite.log ]; then
	tail -40 check.log
	echo "0 passed, 1 failed"
	exit 1
fi
pass=$(count PASS); fail=$(count FAIL); skip=$(count SKIP)
xfail=$(count XFAIL); xpass=$(count XPASS); error=$(count ERROR)
# Unit and integration suites report TAP; the counts are of test points.
pass=$((pass + xfail))
fail=$((fail + xpass + error + distcheck_failed + style_failed))
if [ "$skip" -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ "$fail" -eq 0 ]
