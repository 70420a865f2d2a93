#!/bin/sh
# deploy_apache_fcgid.sh -- emitcgi spawned by Apache mod_fcgid (way B of
# apache.conf.example, the file itself with only its placeholder paths,
# port and timeouts replaced): one Apache whose mod_fcgid runs several
# emitcgi processes (one per concurrent request).  For the idle-timeout
# part, two such Apache (different EMITCGI_HEARTBEAT) share the database.
# See deploy_lib.sh for the scenario.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/integ/lib.sh"
. "$top_srcdir/tests/integ/deploy_lib.sh"

integ_require curl jq
deploy_require_apache mpm_event authz_core dir mime alias env setenvif \
	fcgid
integ_init deploy-apache-fcgid
deploy_setup

DEPLOY_MULTI="one Apache, mod_fcgid runs one emitcgi process per open request"

# deploy_up TIMEOUT ENV1 ENV2
deploy_up()
{
	# shellcheck disable=SC2086 # ENV1/ENV2: VAR=VALUE words
	deploy_start_apache fcgid "$1" $2 || return 1
	BASE1=$BASE_URL
	BASE2=$BASE_URL
	[ -n "$1" ] || return 0
	# shellcheck disable=SC2086
	deploy_start_apache fcgid "$1" $3 || return 1
	BASE2=$BASE_URL
}

deploy_main
