#!/bin/sh
# check-style.sh SRCDIR -- house rules that grep can check (STYLE.md):
#   - no sprintf, strcpy, strcat, atoi, strtok (bounded functions only);
#   - sqlite3_ only in src/store.c;
#   - socket calls only in the transport files (fcgi.c, hub.c, notify.c, loop.c, cgi.c);
#   - clang-format clean, when clang-format is installed.
set -u
top=${1:-.}
cd "$top" || exit 2
status=0
fail() { printf 'check-style: %s\n' "$*"; status=1; }

hits=$(grep -nE '\b(sprintf|vsprintf|strcpy|strcat|atoi|atol|strtok|gets)\s*\(' src/*.c src/*.h | grep -vE '\b(snprintf|vsnprintf)\s*\(')
[ -z "$hits" ] || fail "banned functions:
$hits"

hits=$(grep -lnE 'sqlite3_[a-z0-9_]+ *\(|<sqlite3\.h>' src/*.c src/*.h | grep -v '^src/store.c$')
[ -z "$hits" ] || fail "sqlite3_ outside src/store.c: $hits"

hits=$(grep -lnE '\b(socket|bind|listen|accept4?|connect|epoll_[a-z]+)\s*\(' src/*.c |
	grep -vE '^src/(fcgi|hub|notify|loop|cgi)\.c$')
[ -z "$hits" ] || fail "socket calls outside the transport files: $hits"

if command -v clang-format >/dev/null 2>&1 && [ "${CHECK_STYLE_FORMAT:-0}" = 1 ]; then
	for f in src/*.c src/*.h; do
		clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || fail "clang-format: $f"
	done
fi
[ $status -eq 0 ] && echo "check-style: ok"
exit $status
