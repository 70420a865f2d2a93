#!/bin/bash
# demo.sh -- on a fresh Debian 12 machine (root, apt reachable): install the
# packages emitcgi needs, build it, initialise a database and serve the page
# and the API at http://127.0.0.1:8080 through lighttpd, until Ctrl-C.
#
# The lighttpd config is lighttpd.conf.example itself with only its paths and
# port replaced (the same substitution the tests use, tests/integ/lib.sh).
# Everything lives in _demo/ (build, database, config, logs), or in the
# build tree when the source tree is configured in place.  DEMO_PORT changes
# the port, DEMO_DIR the directory; DEMO_SKIP_APT=1 skips the packages (the
# test of this script, tests/integ/demo.sh, uses all three).
#
# The socket.io client bundle (/socket.io/socket.io.js, for www/socketio.html
# and any page that uses the real client) comes from npm: `npm ci` of
# contrib/socketio/ (socket.io-client pinned by its package-lock.json) into
# DEMO_DIR, served by an alias; without npm the rest still works.
set -euo pipefail
cd "$(dirname "$0")"
top=$(pwd)
port=${DEMO_PORT:-8080}
demo=${DEMO_DIR:-$top/_demo}

if [ -z "${DEMO_SKIP_APT:-}" ] && [ "$(id -u)" = 0 ] &&
	command -v apt-get >/dev/null 2>&1; then
	echo "==> installing Debian packages"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null
	apt-get install -y -q --no-install-recommends build-essential autoconf \
		automake libtool pkg-config libfcgi-dev libsqlite3-dev \
		libjson-c-dev libcrypt-dev lighttpd curl >/dev/null
fi

echo "==> building"
[ -x configure ] || autoreconf -fi >/dev/null 2>&1
mkdir -p "$demo/var"
if [ -f config.status ]; then
	# Configured in the tree (./configure && make): build there, since
	# a second, out-of-tree build of a configured tree is refused.
	make -j2 emitcgi >/dev/null
	bin=$top/emitcgi
else
	(cd "$demo" && { [ -f Makefile ] || "$top/configure" -q; } &&
		make -j2 emitcgi >/dev/null)
	bin=$demo/emitcgi
fi

state=$demo/var
EMITCGI_DB=$state/emitcgi.db "$bin" init

extra=
if command -v npm >/dev/null 2>&1; then
	echo "==> installing the socket.io client bundle (npm ci, contrib/socketio)"
	mkdir -p "$demo/socketio"
	cp contrib/socketio/package.json contrib/socketio/package-lock.json \
		"$demo/socketio/"
	if (cd "$demo/socketio" && npm ci --prefer-offline --no-audit \
		--no-fund --loglevel=error >/dev/null); then
		bundle=$demo/socketio/node_modules/socket.io-client/dist/socket.io.min.js
		printf '%s\n' 'server.modules += ( "mod_alias" )' \
			"alias.url += ( \"/socket.io/socket.io.js\" => \"$bundle\" )" \
			>"$state/socketio.conf"
		extra=$state/socketio.conf
	else
		echo "    npm ci failed: /socket.io/socket.io.js will be missing"
	fi
else
	echo "==> npm not found: /socket.io/socket.io.js (the socket.io client) will be missing"
fi

top_srcdir=$top
EMITCGI_BIN=$bin
T=$state
# shellcheck source=tests/integ/lib.sh
. "$top/tests/integ/lib.sh"
integ__lighttpd_conf "$state/lighttpd.conf" "$state" "$port" spawn "" 2 "$extra" \
	"EMITCGI_DB=$state/emitcgi.db"
/usr/sbin/lighttpd -tt -f "$state/lighttpd.conf"
echo "==> serving http://127.0.0.1:$port/ (Ctrl-C stops; logs in $state)"
exec /usr/sbin/lighttpd -D -f "$state/lighttpd.conf"
