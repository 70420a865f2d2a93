# tests/integ/deploy_lib.sh -- what the deployment tests add to lib.sh:
# Apache and nginx started from apache.conf.example and nginx.conf.example,
# and the scenario every deployment must pass.
#
# A deployment script (deploy_nginx.sh, deploy_apache_*.sh,
# deploy_lighttpd_socket.sh) sources lib.sh, then this file, defines
#
#   deploy_up TIMEOUT ENV1 ENV2
#       starts the deployment with the example's idle timeouts (TIMEOUT
#       empty) or with every idle timeout of the example replaced by TIMEOUT
#       seconds; ENV1 and ENV2 are "VAR=VALUE ..." words for the emitcgi
#       behind the first and the second URL; sets BASE1 and BASE2 (two
#       servers, or one server twice when TIMEOUT is empty and one server
#       has several emitcgi processes) and DEPLOY_MULTI (how the two URLs
#       reach different emitcgi processes, for the test names);
#
# and calls deploy_main.  deploy_main runs deploy_scenario with the
# example's timeouts, then deploy_scenario_idle with the server's idle
# timeout shortened to DEPLOY_SHORT_TIMEOUT (3 s; empty when the server has
# none) and EMITCGI_HEARTBEAT=1 behind BASE1, 30 behind BASE2; prints TAP
# (31 tests) and stops everything (deploy_stop_all: the emitcgi --listen
# processes first).
#
# Servers
#   deploy_setup                 after integ_init: $T readable by the
#                                server's user ($DEPLOY_USER: www-data when
#                                root), www/ copied to $DEPLOY_WWW, the
#                                database in $DEPLOY_STATE and sockets in
#                                $DEPLOY_RUN, both owned by that user
#   deploy_subst IN OUT PORT SOCK TIMEOUT
#                                the example with only its placeholder
#                                values replaced (paths, port, timeouts)
#   deploy_start_apache WAY TIMEOUT [VAR=VALUE...]
#                                WAY: proxy (way A, to $DEPLOY_SOCK), fcgid,
#                                cgi; /usr/sbin/apache2 -f CONF -DFOREGROUND
#                                with a generated top-level config; sets
#                                BASE_URL, APACHE_PID, APACHE_DIR
#   deploy_start_nginx SOCK TIMEOUT
#                                nginx -p DIR -c CONF -g 'daemon off;'; sets
#                                BASE_URL, NGINX_PID, NGINX_DIR
#   deploy_start_listen SOCK [VAR=VALUE...]
#                                `emitcgi --listen unix:SOCK` as the server's
#                                user, socket group-accessible (UMask 0007)
#   deploy_emitcgi_procs         how many processes run emitcgi on our db
#
# The scenario (deploy_scenario, deploy_scenario_idle) only talks HTTP to
# BASE1 and BASE2.  Bounded everywhere: every curl has --max-time, every
# wait a limit; only 127.0.0.1.

DEPLOY_APACHE=${DEPLOY_APACHE:-/usr/sbin/apache2}
DEPLOY_APACHE_MODULES=${DEPLOY_APACHE_MODULES:-/usr/lib/apache2/modules}
DEPLOY_NGINX=${DEPLOY_NGINX:-$(command -v nginx 2>/dev/null || echo /usr/sbin/nginx)}
DEPLOY_N=0
DEPLOY_LISTEN_PIDS=()

# deploy_require_apache MODULE...: skip unless apache2 and these modules.
deploy_require_apache()
{
	local m
	[ -x "$DEPLOY_APACHE" ] || skip_all "apache2 not installed"
	for m in "$@"; do
		[ -f "$DEPLOY_APACHE_MODULES/mod_$m.so" ] ||
			skip_all "Apache module mod_$m not installed"
	done
}

deploy_require_nginx()
{
	[ -x "$DEPLOY_NGINX" ] || skip_all "nginx not installed"
}

# The user the web server (and so a spawned emitcgi) runs as: www-data when
# we are root (servers refuse or drop root), else ourselves.
deploy_setup()
{
	DEPLOY_USER=
	if [ "$(id -u)" = 0 ]; then
		id www-data >/dev/null 2>&1 || bail_out "no user www-data"
		DEPLOY_USER=www-data
	fi
	chmod 0755 "$T" || bail_out "chmod $T"
	DEPLOY_WWW=$T/www
	cp -R "$top_srcdir/www" "$DEPLOY_WWW" || bail_out "cannot copy www/"
	# The socket.io client bundle, installed as docs/DEPLOY.md says.
	DEPLOY_NODE_MODULES=${EMITCGI_NODE_MODULES:-$top_srcdir/tests/browser/node_modules}
	DEPLOY_BUNDLE=$DEPLOY_NODE_MODULES/socket.io-client/dist/socket.io.min.js
	if [ -f "$DEPLOY_BUNDLE" ]; then
		mkdir -p "$DEPLOY_WWW/socket.io" &&
			cp "$DEPLOY_BUNDLE" "$DEPLOY_WWW/socket.io/socket.io.js" ||
			bail_out "cannot install the socket.io bundle"
	fi
	chmod -R a+rX "$DEPLOY_WWW"
	DEPLOY_STATE=$T/state
	mkdir -p "$DEPLOY_STATE" || bail_out "mkdir $DEPLOY_STATE"
	integ_db_init "$DEPLOY_STATE/emitcgi.db" || bail_out "emitcgi init failed"
	if [ -n "$DEPLOY_USER" ]; then
		chown -R "$DEPLOY_USER:$DEPLOY_USER" "$DEPLOY_STATE" ||
			bail_out "chown $DEPLOY_STATE"
	fi
	chmod 0770 "$DEPLOY_STATE"
	# like /run/emitcgi (RuntimeDirectory=): the sockets of emitcgi --listen
	DEPLOY_RUN=$T/run
	mkdir -p "$DEPLOY_RUN" || bail_out "mkdir $DEPLOY_RUN"
	[ -z "$DEPLOY_USER" ] || chown "$DEPLOY_USER:$DEPLOY_USER" "$DEPLOY_RUN"
	chmod 0750 "$DEPLOY_RUN"
}

# Runs a command as the server's user (when we are root).
deploy_as_user()
{
	if [ -n "$DEPLOY_USER" ]; then
		setpriv --reuid="$DEPLOY_USER" --regid="$DEPLOY_USER" \
			--init-groups -- "$@"
	else
		"$@"
	fi
}

deploy__esc()
{
	printf '%s' "$1" | sed -e 's/[\\|&]/\\&/g'
}

# deploy_subst IN OUT PORT SOCK TIMEOUT: the example with its placeholder
# values replaced, and nothing else.  Fails when a placeholder is missing
# (the example changed and the test would silently test something else).
deploy_subst()
{
	local in=$1 out=$2 port=$3 sock=$4 timeout=$5
	local e_www e_bin e_db e_sock
	e_www=$(deploy__esc "$DEPLOY_WWW")
	e_bin=$(deploy__esc "$EMITCGI_BIN")
	e_db=$(deploy__esc "$INTEG_DB")
	e_sock=$(deploy__esc "$sock")
	local args=(
		-e "s|/usr/local/share/emitcgi/www|$e_www|g"
		-e "s|/usr/local/sbin/emitcgi|$e_bin|g"
		-e "s|/usr/local/var/lib/emitcgi/emitcgi.db|$e_db|g"
		-e "s|/run/emitcgi/emitcgi.sock|$e_sock|g"
		-e "s|<VirtualHost \\*:80>|<VirtualHost 127.0.0.1:$port>|"
		-e "s|^\\([[:space:]]*\\)listen 80;|\\1listen 127.0.0.1:$port;|"
	)
	if [ -n "$timeout" ]; then
		# Apache: Timeout, ProxyTimeout, timeout=, FcgidIOTimeout,
		# CGI(D)ScriptTimeout; nginx: fastcgi_*_timeout, send_timeout.
		args+=(-e "/^[^#]*[Tt]imeout/s/\\([ =]\\)120\\(s\\{0,1\\}\\)\\([ ;]\\|\$\\)/\\1$timeout\\2\\3/g")
	fi
	sed "${args[@]}" "$in" >"$out" || return 1
	grep -q "127.0.0.1:$port" "$out" || {
		diag "$in: no port placeholder (*:80 / listen 80;) to replace"
		return 1
	}
	if [ -n "$timeout" ] && grep -v '^[[:space:]]*#' "$out" |
		grep -E '[Tt]imeout[ =]120s?([ ;]|$)' >/dev/null; then
		diag "$in: an idle timeout was not replaced"
		return 1
	fi
	if [ -n "$timeout" ] && ! grep -v '^[[:space:]]*#' "$out" |
		grep -E "[Tt]imeout[ =]${timeout}s?([ ;]|\$)" >/dev/null; then
		diag "$in: no idle timeout of 120 to replace"
		return 1
	fi
}

# Environment for the servers we start: nothing of ours leaks in, but the
# sanitizers' options do (the program may be built with them).
deploy__env()
{
	local v
	printf '%s\0' "PATH=$PATH"
	for v in TZ ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
		[ -n "${!v:-}" ] && printf '%s\0' "$v=${!v}"
	done
	return 0
}

deploy__up()
{
	kill -0 "$1" 2>/dev/null || return 2
	[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
		"$2" 2>/dev/null)" = 200 ]
}

# ---- Apache --------------------------------------------------------------

deploy__apache_top()
{
	local dir=$1 port=$2 way=$3
	shift 3
	local mods=(mpm_event authz_core dir mime alias env setenvif)
	local m v
	case $way in
	proxy) mods+=(proxy proxy_fcgi) ;;
	fcgid) mods+=(fcgid) ;;
	cgi) mods+=(cgid) ;;
	esac
	{
		echo "# generated by tests/integ/deploy_lib.sh"
		echo "ServerRoot \"$dir\""
		echo "DefaultRuntimeDir \"$dir\""
		echo "PidFile \"$dir/httpd.pid\""
		echo "ErrorLog \"$dir/error.log\""
		echo "LogLevel ${DEPLOY_APACHE_LOGLEVEL:-warn}"
		echo "Mutex file:$dir default"
		echo "Listen 127.0.0.1:$port"
		echo "ServerName 127.0.0.1"
		if [ -n "$DEPLOY_USER" ]; then
			echo "User $DEPLOY_USER"
			echo "Group $DEPLOY_USER"
		fi
		for m in "${mods[@]}"; do
			echo "LoadModule ${m}_module \"$DEPLOY_APACHE_MODULES/mod_$m.so\""
		done
		if [ -r /etc/mime.types ]; then
			echo "TypesConfig /etc/mime.types"
		else
			echo "TypesConfig /dev/null"
			echo "AddType text/html .html"
			echo "AddType text/javascript .js"
			echo "AddType text/css .css"
		fi
		echo "LogFormat \"%h \\\"%r\\\" %>s %B %Dus\" short"
		echo "CustomLog \"$dir/access.log\" short"
		echo "<Directory />"
		echo "	AllowOverride None"
		echo "	Require all denied"
		echo "</Directory>"
		case $way in
		fcgid)
			echo "FcgidIPCDir \"$dir/fcgid\""
			echo "FcgidProcessTableFile \"$dir/fcgid/shm\""
			# the program's configuration and the sanitizers' options
			for v in "$@"; do
				echo "FcgidInitialEnv ${v%%=*} \"${v#*=}\""
			done
			for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
				[ -n "${!v:-}" ] && echo "FcgidInitialEnv $v \"${!v}\""
			done
			;;
		cgi)
			echo "ScriptSock \"$dir/cgisock\""
			for v in "$@"; do
				echo "SetEnv ${v%%=*} \"${v#*=}\""
			done
			for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
				[ -n "${!v:-}" ] && echo "PassEnv $v"
			done
			;;
		esac
		[ -n "${DEPLOY_APACHE_EXTRA:-}" ] && printf '%s\n' "$DEPLOY_APACHE_EXTRA"
		echo "Include \"$dir/site.conf\""
	} >"$dir/httpd.conf"
}

# deploy_start_apache WAY TIMEOUT [VAR=VALUE...]
deploy_start_apache()
{
	local way=$1 timeout=$2
	shift 2
	local dir port attempt def=() envargs=()
	DEPLOY_N=$((DEPLOY_N + 1))
	dir=$T/apache-$DEPLOY_N
	mkdir -p "$dir/fcgid" || return 1
	[ -z "$DEPLOY_USER" ] || chown "$DEPLOY_USER" "$dir/fcgid"
	case $way in
	proxy) ;;
	fcgid) def=(-DEMITCGI_FCGID) ;;
	cgi) def=(-DEMITCGI_CGI) ;;
	*) diag "deploy_start_apache: unknown way $way"; return 1 ;;
	esac
	INTEG_LOGS+=("$dir/error.log" "$dir/stderr.log")
	mapfile -d '' envargs < <(deploy__env)
	for attempt in 1 2 3; do
		port=$(integ_port) || { diag "no free port"; return 1; }
		deploy_subst "$top_srcdir/apache.conf.example" "$dir/site.conf" \
			"$port" "${DEPLOY_SOCK:-$T/none.sock}" "$timeout" || return 1
		deploy__apache_top "$dir" "$port" "$way" "$@"
		"$DEPLOY_APACHE" -f "$dir/httpd.conf" "${def[@]}" -t \
			>"$dir/check.log" 2>&1 || {
			diag "apache2 rejects $dir/httpd.conf: $(cat "$dir/check.log")"
			return 1
		}
		env -i "${envargs[@]}" "$DEPLOY_APACHE" -f "$dir/httpd.conf" \
			"${def[@]}" -DFOREGROUND </dev/null >>"$dir/stderr.log" 2>&1 &
		APACHE_PID=$!
		integ_track "$APACHE_PID"
		APACHE_DIR=$dir
		BASE_URL=http://127.0.0.1:$port
		integ_await_up "apache2 ($way) on port $port" "$APACHE_PID" \
			"$dir" deploy__up "$APACHE_PID" "$BASE_URL/api/health"
		case $? in
		0) return 0 ;;
		1) continue ;;
		esac
		break
	done
	diag "apache2 ($way) did not come up ($dir/httpd.conf)"
	diag "$(tail -n 20 "$dir/stderr.log" "$dir/error.log" 2>/dev/null)"
	return 1
}

# ---- nginx ---------------------------------------------------------------

deploy__nginx_top()
{
	local dir=$1
	{
		echo "# generated by tests/integ/deploy_lib.sh"
		[ -n "$DEPLOY_USER" ] && echo "user $DEPLOY_USER $DEPLOY_USER;"
		echo "worker_processes ${DEPLOY_NGINX_WORKERS:-1};"
		echo "pid $dir/nginx.pid;"
		echo "error_log $dir/error.log warn;"
		echo "events { worker_connections ${DEPLOY_NGINX_CONNECTIONS:-1024}; }"
		echo "http {"
		echo "	access_log $dir/access.log;"
		echo "	client_body_temp_path $dir/tmp/client;"
		echo "	fastcgi_temp_path $dir/tmp/fastcgi;"
		echo "	proxy_temp_path $dir/tmp/proxy;"
		echo "	uwsgi_temp_path $dir/tmp/uwsgi;"
		echo "	scgi_temp_path $dir/tmp/scgi;"
		echo "	include $dir/mime.types;"
		echo "	default_type application/octet-stream;"
		echo "	include $dir/site.conf;"
		echo "}"
	} >"$dir/nginx.conf"
}

# deploy_start_nginx SOCK TIMEOUT
deploy_start_nginx()
{
	local sock=$1 timeout=$2 dir port attempt envargs=()
	DEPLOY_N=$((DEPLOY_N + 1))
	dir=$T/nginx-$DEPLOY_N
	mkdir -p "$dir/tmp" || return 1
	if [ -r /etc/nginx/mime.types ]; then
		cp /etc/nginx/mime.types "$dir/mime.types" || return 1
	else
		printf 'types { text/html html; text/javascript js; text/css css; }\n' \
			>"$dir/mime.types"
	fi
	INTEG_LOGS+=("$dir/error.log" "$dir/stderr.log")
	mapfile -d '' envargs < <(deploy__env)
	for attempt in 1 2 3; do
		port=$(integ_port) || { diag "no free port"; return 1; }
		deploy_subst "$top_srcdir/nginx.conf.example" "$dir/site.conf" \
			"$port" "$sock" "$timeout" || return 1
		deploy__nginx_top "$dir"
		"$DEPLOY_NGINX" -p "$dir/" -e "$dir/error.log" -c "$dir/nginx.conf" \
			-t >"$dir/check.log" 2>&1 || {
			diag "nginx rejects $dir/nginx.conf: $(cat "$dir/check.log")"
			return 1
		}
		env -i "${envargs[@]}" "$DEPLOY_NGINX" -p "$dir/" -e "$dir/error.log" \
			-c "$dir/nginx.conf" -g 'daemon off;' \
			</dev/null >>"$dir/stderr.log" 2>&1 &
		NGINX_PID=$!
		integ_track "$NGINX_PID"
		NGINX_DIR=$dir
		BASE_URL=http://127.0.0.1:$port
		integ_await_up "nginx on port $port" "$NGINX_PID" "$dir" \
			deploy__up "$NGINX_PID" "$BASE_URL/api/health"
		case $? in
		0) return 0 ;;
		1) continue ;;
		esac
		break
	done
	diag "nginx did not come up ($dir/nginx.conf)"
	diag "$(tail -n 20 "$dir/stderr.log" "$dir/error.log" 2>/dev/null)"
	return 1
}

# ---- emitcgi --listen ----------------------------------------------------

# deploy_start_listen SOCK [VAR=VALUE...]: like integ_start_emitcgi_listen,
# but as the web server's user with UMask 0007, as contrib/emitcgi.service
# runs it, so that the server's workers (same group) may connect.
deploy_start_listen()
{
	local sock=$1 log envargs=()
	shift
	INTEG_EMITCGI_N=$((INTEG_EMITCGI_N + 1))
	log=$T/emitcgi-$INTEG_EMITCGI_N.log
	mapfile -d '' envargs < <(integ__emitcgi_env "$@")
	(
		umask 0007
		if [ -n "$DEPLOY_USER" ]; then
			exec setpriv --reuid="$DEPLOY_USER" --regid="$DEPLOY_USER" \
				--init-groups -- env -u EMITCGI_BIN "${envargs[@]}" \
				"$EMITCGI_BIN" --listen "unix:$sock"
		fi
		exec env -u EMITCGI_BIN "${envargs[@]}" "$EMITCGI_BIN" \
			--listen "unix:$sock"
	) </dev/null >"$log" 2>&1 &
	EMITCGI_PID=$!
	integ_track "$EMITCGI_PID"
	DEPLOY_LISTEN_PIDS+=("$EMITCGI_PID")
	INTEG_LOGS+=("$log")
	wait_for "emitcgi --listen unix:$sock" 20 \
		integ__listen_ready "unix:$sock" || {
		diag "emitcgi --listen unix:$sock did not come up: $(tail -n 20 "$log")"
		return 1
	}
}

# Stops everything: the emitcgi --listen processes first (they end their
# streams, so the servers' workers are free at once), then the rest.
deploy_stop_all()
{
	local p
	for p in "${DEPLOY_LISTEN_PIDS[@]}"; do
		integ_kill "$p"
	done
	DEPLOY_LISTEN_PIDS=()
	integ_stop_all
}

# Processes running emitcgi on this test's database (from /proc; counts
# what lighttpd, mod_fcgid or mod_cgid started as well as ours).
deploy_emitcgi_procs()
{
	local f n=0 exe
	for f in /proc/[0-9]*; do
		exe=$(readlink "$f/exe" 2>/dev/null) || continue
		[ "$exe" = "$(readlink -f "$EMITCGI_BIN")" ] || continue
		tr '\0' '\n' <"$f/environ" 2>/dev/null |
			grep -qxF "EMITCGI_DB=$INTEG_DB" && n=$((n + 1))
	done
	echo "$n"
}

# ---- the scenario --------------------------------------------------------

DEPLOY_PW=correct-horse-battery

# login as a browser would: with its Origin.
deploy_login()
{
	api_json POST /api/login "$(json_obj username "$1" password "$2")" \
		-c "$3" -b "$3" -H "Origin: $BASE_URL"
}

deploy_emit()
{
	api_json POST /api/emit "$(jq -cn --arg e "$1" --arg d "$2" \
		'{event: $e, data: $d}')" -b "$3" -H "Origin: $BASE_URL"
}

# deploy__sse_has FILE EVENT MATCH [FROM]: an event named EVENT arrived in
# the SSE FILE after byte FROM (default 0), with data equal to VALUE (MATCH
# "=VALUE") or containing SUB (MATCH "~SUB").
deploy__sse_has()
{
	tail -c +$((${4:-0} + 1)) "$1" 2>/dev/null | sse_events /dev/stdin |
		awk -F'\t' -v e="$2" -v m="$3" '
		$2 != e { next }
		substr(m, 1, 1) == "=" && $3 == substr(m, 2) { found = 1 }
		substr(m, 1, 1) == "~" && index($3, substr(m, 2)) { found = 1 }
		END { exit !found }'
}

# Bytes received so far on a stream (for deploy__stream_ok's FROM).
deploy__mark()
{
	stat -c %s "$1" 2>/dev/null || echo 0
}

# deploy__stream_ok PID FILE EVENT MATCH SECS [FROM]: the event arrives on
# the stream (after byte FROM), and the stream (curl) is still open after
# it.
deploy__stream_ok()
{
	wait_for "event '$3' $4 in $2" "$5" \
		deploy__sse_has "$2" "$3" "$4" "${6:-0}" || {
		diag "stream so far: $(tail -c 600 "$2")"
		return 1
	}
	kill -0 "$1" 2>/dev/null || {
		diag "the stream was closed: $(tail -c 300 "$2") $(cat "$2.err" 2>/dev/null)"
		return 1
	}
}

deploy__pings_at_least()
{
	local n
	n=$(grep -c '^: *ping' "$1" 2>/dev/null)
	[ "${n:-0}" -ge "$2" ]
}

deploy__stream_closed()
{
	! kill -0 "$1" 2>/dev/null
}

# The main scenario: BASE1 and BASE2 reach different emitcgi processes
# sharing one database.
deploy_scenario()
{
	local ja=$T/alice.jar jb=$T/bob.jar sa=$T/sse-a.txt sb=$T/sse-b.txt
	local sr=$T/sse-resume.txt pf=$T/poll.txt
	local pa pb pr pp ma st1 id0 t0 t1 waited msg eid c1 c2 n

	BASE_URL=$BASE1
	api GET /
	check_eq "GET / serves www/index.html from the document root" \
		"200 $(cksum <"$DEPLOY_WWW/index.html")" \
		"$HTTP_STATUS $(cksum <"$T/last.body")"
	api GET /api/health
	check_eq "GET /api/health: 200, status ok" "200 ok" \
		"$HTTP_STATUS $(body_get .status)"
	# /_api/ reaches emitcgi too (its JSON 404 while EMITCGI_FCC_TESTING
	# is off), so turning the option on is all a user has to do.
	api GET /_api/server.js
	check_error "GET /_api/server.js is routed to emitcgi (off: its JSON 404)" \
		404 not_found

	register alice "$DEPLOY_PW"
	st1=$HTTP_STATUS
	BASE_URL=$BASE2
	register bob "$DEPLOY_PW"
	check_eq "register alice (1st URL) and bob (2nd URL): 201" "201 201" \
		"$st1 $HTTP_STATUS"

	BASE_URL=$BASE1
	deploy_login alice "$DEPLOY_PW" "$ja"
	check_eq "login with the browser's Origin: 200, 1 online, session cookie" \
		"200 alice 1 1" \
		"$HTTP_STATUS $(body_get .username) $(body_get .currentUsers) $(awk '$3 == "/api" && $6 == "emitcgi_sid"' "$ja" | wc -l)"
	BASE_URL=$BASE2
	api GET /api/me -b "$ja"
	check_eq "the session works through the other URL ($DEPLOY_MULTI)" \
		"200 alice" "$HTTP_STATUS $(body_get .username)"

	# A stream opened through the first URL: headers, retry and the
	# snapshot arrive at once, and it stays open.
	BASE_URL=$BASE1
	sse_start "$ja" "$sa"
	pa=$SSE_PID
	ok "SSE through the 1st URL: snapshot (user count 1) arrives, stream stays open" \
		deploy__stream_ok "$pa" "$sa" "user count" =1 15
	check_eq "SSE starts with retry: 3000" "retry: 3000" \
		"$(grep -m1 '^retry:' "$sa" | tr -d '\r')"

	BASE_URL=$BASE2
	ma=$(deploy__mark "$sa")
	deploy_login bob "$DEPLOY_PW" "$jb"
	check_eq "bob logs in through the 2nd URL: 2 online" "200 2" \
		"$HTTP_STATUS $(body_get .currentUsers)"
	sse_start "$jb" "$sb"
	pb=$SSE_PID
	ok "SSE through the 2nd URL: snapshot (user count 2), stream stays open" \
		deploy__stream_ok "$pb" "$sb" "user count" =2 15
	ok "the login through the 2nd URL reaches the open stream of the 1st (user count 2)" \
		deploy__stream_ok "$pa" "$sa" "user count" =2 15 "$ma"

	n=$(deploy_emitcgi_procs)
	check_match "several emitcgi processes serve the two streams ($DEPLOY_MULTI): $n" \
		'^([2-9]|[1-9][0-9]+)$' "$n"

	# Long-poll: with nothing new it waits its whole timeout, then says so.
	api GET /api/count -b "$ja"
	id0=$(body_get .lastEventId)
	t0=$(now_ms)
	api GET "/api/poll?since=$id0&timeout=2" -b "$ja"
	t1=$(now_ms)
	waited=no
	[ $((t1 - t0)) -ge 1500 ] && waited=yes
	check_eq "a long-poll with nothing new waits (2 s), then answers no events" \
		"200 0 yes" "$HTTP_STATUS $(body_get '.events | length') $waited"

	# A long-poll waiting through the 2nd URL while the 1st emits.
	poll_start "$ja" "$pf" "since=$id0&timeout=20"
	pp=$POLL_PID
	api GET /api/health
	ok "a long-poll is waiting (still open)" kill -0 "$pp"

	msg=hello-$RANDOM$RANDOM
	BASE_URL=$BASE1
	deploy_emit chat "$msg" "$ja"
	eid=$(body_get .id)
	check_match "POST /api/emit through the 1st URL: 200 and an id" \
		'^200 [0-9]+$' "$HTTP_STATUS $eid"
	ok "the event reaches the open stream of the 1st URL, which stays open" \
		deploy__stream_ok "$pa" "$sa" chat "~$msg" 15
	ok "the event reaches the open stream of the 2nd URL, which stays open" \
		deploy__stream_ok "$pb" "$sb" chat "~$msg" 15
	integ_wait_pid "$pp" 15
	check_match "the waiting long-poll returns with the event" \
		"^200 .*\"chat\".*$msg" \
		"$(cat "$pf.status" 2>/dev/null) $(jq -c '[.events[] | select(.event == "chat")]' "$pf" 2>/dev/null)"

	# Resume through the 2nd URL from before the event (Last-Event-ID).
	BASE_URL=$BASE2
	sse_start "$ja" "$sr" -H "Last-Event-ID: $id0"
	pr=$SSE_PID
	ok "a stream resumed with Last-Event-ID replays the event" \
		deploy__stream_ok "$pr" "$sr" chat "~$msg" 15
	integ_kill "$pr"

	BASE_URL=$BASE1
	api GET /api/count
	c1="$HTTP_STATUS $(body_get '[.currentUsers, .lastEventId] | @tsv')"
	BASE_URL=$BASE2
	api GET /api/count
	c2="$HTTP_STATUS $(body_get '[.currentUsers, .lastEventId] | @tsv')"
	check_eq "both URLs agree on the count (2 online, same last id)" \
		"200 2	$eid" "$c1"
	check_eq "... the 2nd URL too" "$c1" "$c2"

	# Logout through the 2nd URL: the 1st URL's stream learns it.
	integ_kill "$pb"
	ma=$(deploy__mark "$sa")
	logout "$jb"
	check_eq "logout through the 2nd URL: 204" 204 "$HTTP_STATUS"
	ok "the logout reaches the open stream of the 1st URL (user count 1)" \
		deploy__stream_ok "$pa" "$sa" "user count" =1 15 "$ma"
	BASE_URL=$BASE1
	api GET /api/count
	c1="$HTTP_STATUS $(body_get .currentUsers)"
	BASE_URL=$BASE2
	api GET /api/count
	check_eq "both URLs agree on the count after logout (1)" "200 1 200 1" \
		"$c1 $HTTP_STATUS $(body_get .currentUsers)"
	integ_kill "$pa"
	deploy_scenario_sio
}

# The real socket.io client (Node, npm socket.io-client) through this
# server: the bundle is served, and tests/browser/sio_client.mjs passes.
deploy_scenario_sio()
{
	local out=$T/sio_client.tap
	if [ ! -f "$DEPLOY_BUNDLE" ] || ! command -v node >/dev/null 2>&1; then
		tap_pass "socket.io client # SKIP node or socket.io-client not installed"
		tap_pass "socket.io bundle # SKIP socket.io-client not installed"
		return
	fi
	BASE_URL=$BASE1
	api GET /socket.io/socket.io.js
	check_eq "GET /socket.io/socket.io.js serves the client bundle (a file)" \
		"200 $(cksum <"$DEPLOY_BUNDLE")" "$HTTP_STATUS $(cksum <"$T/last.body")"
	if env BASE_URL="$BASE1" NODE_MODULES="$DEPLOY_NODE_MODULES" \
		timeout 300 node "$top_srcdir/tests/browser/sio_client.mjs" \
		>"$out" 2>&1; then
		tap_pass "the real socket.io client: connect, count, chat both ways, recovery, connect_error"
	else
		tap_fail "the real socket.io client: connect, count, chat both ways, recovery, connect_error"
		while IFS= read -r line; do diag "$line"; done <"$out"
	fi
}

# After deploy_up with shortened timeouts: BASE1's emitcgi sends a ping
# every second, BASE2's rarely.  DEPLOY_TIMEOUT is the server's idle
# timeout ("" when the server has none).
deploy_scenario_idle()
{
	local ja=$T/alice.jar s1=$T/sse-idle.txt s2=$T/sse-quiet.txt
	local p1 p2 msg

	BASE_URL=$BASE1
	sse_start "$ja" "$s1"
	p1=$SSE_PID
	BASE_URL=$BASE2
	sse_start "$ja" "$s2"
	p2=$SSE_PID
	wait_for "6 pings on a quiet stream" 20 deploy__pings_at_least "$s1" 6
	ok "a quiet stream with EMITCGI_HEARTBEAT=1 gets 6 pings (6 s > the ${DEPLOY_TIMEOUT:-no} s idle timeout) and stays open" \
		kill -0 "$p1"
	if [ -n "$DEPLOY_TIMEOUT" ]; then
		ok "control: a quiet stream with EMITCGI_HEARTBEAT=30 is cut by the server's ${DEPLOY_TIMEOUT} s idle timeout" \
			wait_for "the server to cut the quiet stream" 20 \
			deploy__stream_closed "$p2"
	else
		# What DEPLOY.md says of this server: nothing to outlive.
		ok "control: with no idle timeout here, a quiet stream with EMITCGI_HEARTBEAT=30 stays open too" \
			kill -0 "$p2"
		integ_kill "$p2"
	fi
	msg=after-idle-$RANDOM$RANDOM
	BASE_URL=$BASE2
	deploy_emit chat "$msg" "$ja"
	check_eq "emit through the 2nd URL: 200" 200 "$HTTP_STATUS"
	ok "the stream kept open by heartbeats still receives an event" \
		deploy__stream_ok "$p1" "$s1" chat "~$msg" 15
	check_eq "the stream holds nothing but SSE (no error page appended)" "" \
		"$(grep -v -E '^(|:.*|retry: [0-9]+|id: [0-9]+|event: .*|data: .*)$' "$s1" | tr -d '\r' | head -3)"
	integ_kill "$p1"
}

# deploy_main: the whole test, with the deploy_up of the calling script.
deploy_main()
{
	DEPLOY_TIMEOUT=
	# A short heartbeat so that the processes of streams the test closes
	# notice soon (a CGI or mod_fcgid process, an Apache worker, learns
	# that its client left only when its next write fails).
	deploy_up "" "EMITCGI_HEARTBEAT=2" "EMITCGI_HEARTBEAT=2" ||
		bail_out "the deployment did not start"
	deploy_scenario
	deploy_stop_all
	DEPLOY_TIMEOUT=${DEPLOY_SHORT_TIMEOUT-3}
	deploy_up "$DEPLOY_TIMEOUT" "EMITCGI_HEARTBEAT=1" "EMITCGI_HEARTBEAT=30" ||
		bail_out "the deployment with short timeouts did not start"
	deploy_scenario_idle
	deploy_stop_all
	integ_check_sanitizers
	tap_done
}
