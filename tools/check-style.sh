#!/bin/sh
# check-style.sh SRCDIR -- house rules that grep can check (STYLE.md), run
# by `make check-style` (and so by check.sh and CI):
#   - no sprintf, strcpy, strcat, atoi, strtok, gets (bounded functions
#     only), in src/ and in the benchmark client (tests/bench/);
#   - sqlite3_ and <sqlite3.h> only in the SQLite store, src/store/sqlite*.c;
#   - libpq (PQ...( calls, <libpq-fe.h>) only in the PostgreSQL store,
#     src/store/postgresql*.[ch];
#   - socket and descriptor I/O (socket, bind, listen, accept, connect,
#     send*, recv*, read*, write*, fcntl, shutdown, epoll_*) only in the
#     transport files: fcgi.c, conn.c, cgi.c, loop.c, notify.c and the hub's sinks
#     (sink_*.c); log.c may write(2) its lines to stderr;
#   - every C file of both formatted by .clang-format (when clang-format is installed;
#     check.sh installs it, so CI always checks).
# Comments are stripped first (cc -fpreprocessed: no macro is expanded), so
# a comment that names read() does not count.  Exit 0 when every rule holds.
set -u
top=${1:-.}
cd "$top" || exit 2
status=0
fail() { printf 'check-style: %s\n' "$*"; status=1; }

files=$(find src -name '*.[ch]' | sort)
# The benchmark client follows the same rules, but it is a client: its
# socket calls are its job.
bench=$(find tests/bench -name '*.[ch]' 2>/dev/null | sort)
cfiles=$(find src -name '*.c' | sort)

# code FILE: the text of FILE without its comments.
code() { ${CPP_STRIP:-cc} -fpreprocessed -dD -E -P "$1" 2>/dev/null; }

# hits REGEX FILE...: the files whose code matches REGEX.
hits() {
	re=$1
	shift
	for f in "$@"; do
		code "$f" | grep -qE "$re" && printf '%s\n' "$f"
	done
	return 0
}

# shellcheck disable=SC2086
bad=$(for f in $files $bench; do
	code "$f" | grep -E '(^|[^A-Za-z0-9_])(sprintf|vsprintf|strcpy|strcat|atoi|atol|strtok|gets)[[:space:]]*\(' |
		sed "s|^|$f: |"
done)
[ -z "$bad" ] || fail "banned functions:
$bad"

# shellcheck disable=SC2086
bad=$(hits 'sqlite3_[a-z0-9_]+|<sqlite3\.h>' $files | grep -vE '^src/store/sqlite[a-z_]*\.[ch]$')
[ -z "$bad" ] || fail "sqlite3_ outside the SQLite store (src/store/sqlite*.c): $bad"

# shellcheck disable=SC2086
bad=$(hits '(^|[^A-Za-z0-9_])PQ[A-Za-z]+[[:space:]]*\(|<libpq-fe\.h>' $files |
	grep -vE '^src/store/postgresql[a-z_]*\.[ch]$')
[ -z "$bad" ] || fail "libpq (PQ...) outside the PostgreSQL store (src/store/postgresql*.[ch]): $bad"

io='(^|[^A-Za-z0-9_>.])(socket|bind|listen|accept4?|connect|send|sendmsg|sendto|recv|recvfrom|recvmsg|read|readv|pread|write|writev|pwrite|fcntl|shutdown|epoll_[a-z_]+)[[:space:]]*\('
# shellcheck disable=SC2086
bad=$(hits "$io" $cfiles |
	grep -vE '^src/(fcgi|conn|cgi|loop|notify|sink_[a-z0-9_]+|log)\.c$')
[ -z "$bad" ] || fail "socket or descriptor I/O outside the transport files: $bad"
bad=$(code src/log.c | grep -E "$io" | grep -v 'write[[:space:]]*(STDERR_FILENO')
[ -z "$bad" ] || fail "src/log.c does I/O other than writing stderr: $bad"

if command -v clang-format >/dev/null 2>&1; then
	for f in $files $bench; do
		clang-format --dry-run -Werror "$f" >/dev/null 2>&1 ||
			fail "not formatted by .clang-format: $f (clang-format -i $f)"
	done
else
	echo "check-style: clang-format not installed: formatting not checked"
fi
[ $status -eq 0 ] && echo "check-style: ok"
exit $status
