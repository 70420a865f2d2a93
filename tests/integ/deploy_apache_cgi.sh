#!/bin/sh
# deploy_apache_cgi.sh -- emitcgi as plain CGI under Apache mod_cgid (way C
# of apache.conf.example, the file itself with only its placeholder paths,
# port and timeouts replaced): one process per request, a stream's process
# lives as long as the stream, and they wake each other through the
# database.  For the idle-timeout part, two such Apache (different
# EMITCGI_HEARTBEAT) share the database.  See deploy_lib.sh.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/integ/lib.sh"
. "$top_srcdir/tests/integ/deploy_lib.sh"

integ_require curl jq
deploy_require_apache mpm_event authz_core dir mime alias env setenvif \
	cgid
integ_init deploy-apache-cgi
deploy_setup

DEPLOY_MULTI="one Apache, one CGI process per request"

# deploy_up TIMEOUT ENV1 ENV2
deploy_up()
{
	# shellcheck disable=SC2086 # ENV1/ENV2: VAR=VALUE words
	deploy_start_apache cgi "$1" $2 || return 1
	BASE1=$BASE_URL
	BASE2=$BASE_URL
	[ -n "$1" ] || return 0
	# shellcheck disable=SC2086
	deploy_start_apache cgi "$1" $3 || return 1
	BASE2=$BASE_URL
}

deploy_main
