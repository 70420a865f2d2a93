#!/bin/sh
# tests/bench/deps.sh -- what `make bench-peers` needs besides what check.sh
# installs: Debian's nchan module for nginx (the peer emitcgi is measured
# against).  check.sh does not run this, to keep CI fast.  Run as root:
#   sh tests/bench/deps.sh
set -e
if [ ! -r /usr/lib/nginx/modules/ngx_nchan_module.so ]; then
	apt-get install -y --no-install-recommends libnginx-mod-nchan ||
		{ apt-get update && apt-get install -y --no-install-recommends libnginx-mod-nchan; }
fi
