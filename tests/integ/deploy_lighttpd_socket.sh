#!/bin/sh
# deploy_lighttpd_socket.sh -- emitcgi behind lighttpd's "socket" way
# (block [B] of lighttpd.conf.example, swapped in by lib.sh's
# integ_start_lighttpd --mode socket): each lighttpd connects to its own
# `emitcgi --listen unix:...`; two of them share one database.  lighttpd
# has no idle timeout on FastCGI responses by default, so the control test
# (a stream without heartbeats is cut) is skipped.  See deploy_lib.sh.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/integ/lib.sh"
. "$top_srcdir/tests/integ/deploy_lib.sh"

integ_require lighttpd curl jq setpriv
integ_init deploy-lighttpd-socket
deploy_setup
INTEG_WWW=$DEPLOY_WWW # its copy of www/, with the socket.io bundle

DEPLOY_MULTI="two lighttpd, each with its own emitcgi --listen"
DEPLOY_SHORT_TIMEOUT=

# deploy_up TIMEOUT ENV1 ENV2 (TIMEOUT unused: lighttpd has none)
deploy_up()
{
	# shellcheck disable=SC2086 # ENV1/ENV2: VAR=VALUE words
	deploy_start_listen "$DEPLOY_RUN/emitcgi-1.sock" $2 || return 1
	integ_start_lighttpd --mode socket \
		--backend "unix:$DEPLOY_RUN/emitcgi-1.sock" || return 1
	BASE1=$BASE_URL
	# shellcheck disable=SC2086
	deploy_start_listen "$DEPLOY_RUN/emitcgi-2.sock" $3 || return 1
	integ_start_lighttpd --mode socket \
		--backend "unix:$DEPLOY_RUN/emitcgi-2.sock" || return 1
	BASE2=$BASE_URL
}

deploy_main
