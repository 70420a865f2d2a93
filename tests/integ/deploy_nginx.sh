#!/bin/sh
# deploy_nginx.sh -- emitcgi behind nginx, configured by nginx.conf.example
# itself (only its placeholder paths, port and timeouts replaced), each
# nginx with its own `emitcgi --listen unix:...`; two of them share one
# database.  See deploy_lib.sh for the scenario.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/integ/lib.sh"
. "$top_srcdir/tests/integ/deploy_lib.sh"

integ_require curl jq setpriv
deploy_require_nginx
integ_init deploy-nginx
deploy_setup

DEPLOY_MULTI="two nginx, each with its own emitcgi --listen"

# deploy_up TIMEOUT ENV1 ENV2
deploy_up()
{
	# shellcheck disable=SC2086 # ENV1/ENV2: VAR=VALUE words
	deploy_start_listen "$DEPLOY_RUN/emitcgi-1.sock" $2 || return 1
	deploy_start_nginx "$DEPLOY_RUN/emitcgi-1.sock" "$1" || return 1
	BASE1=$BASE_URL
	# shellcheck disable=SC2086
	deploy_start_listen "$DEPLOY_RUN/emitcgi-2.sock" $3 || return 1
	deploy_start_nginx "$DEPLOY_RUN/emitcgi-2.sock" "$1" || return 1
	BASE2=$BASE_URL
}

deploy_main
