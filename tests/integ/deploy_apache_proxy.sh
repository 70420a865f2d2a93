#!/bin/sh
# deploy_apache_proxy.sh -- emitcgi behind Apache mod_proxy_fcgi (way A of
# apache.conf.example, the file itself with only its placeholder paths,
# port and timeouts replaced), each Apache with its own
# `emitcgi --listen unix:...`; two of them share one database.  See
# deploy_lib.sh for the scenario.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/integ/lib.sh"
. "$top_srcdir/tests/integ/deploy_lib.sh"

integ_require curl jq setpriv
deploy_require_apache mpm_event authz_core dir mime alias env setenvif \
	proxy proxy_fcgi
integ_init deploy-apache-proxy
deploy_setup

DEPLOY_MULTI="two Apache, each with its own emitcgi --listen"

# deploy_up TIMEOUT ENV1 ENV2
deploy_up()
{
	DEPLOY_SOCK=$DEPLOY_RUN/emitcgi-1.sock
	# shellcheck disable=SC2086 # ENV1/ENV2: VAR=VALUE words
	deploy_start_listen "$DEPLOY_SOCK" $2 || return 1
	deploy_start_apache proxy "$1" || return 1
	BASE1=$BASE_URL
	DEPLOY_SOCK=$DEPLOY_RUN/emitcgi-2.sock
	# shellcheck disable=SC2086
	deploy_start_listen "$DEPLOY_SOCK" $3 || return 1
	deploy_start_apache proxy "$1" || return 1
	BASE2=$BASE_URL
}

deploy_main
