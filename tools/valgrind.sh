#!/bin/sh
# tools/valgrind.sh -- every unit test under valgrind memcheck (issue 9;
# check.sh runs it in CI on a build WITHOUT sanitizers, which valgrind
# cannot run under).
#
#   sh tools/valgrind.sh BUILD_DIR [SECONDS_PER_TEST]
#
# Check runs each test in the same process (CK_FORK=no), so one valgrind
# sees everything; a memory error or a definite/indirect leak makes the
# test exit 99.  Each test is bounded (default 300 s).  Prints one line per
# test and exits non-zero if any failed.  Without valgrind exits 77.
set -u
build=${1:?usage: valgrind.sh BUILD_DIR [SECONDS]}
secs=${2:-300}
command -v valgrind >/dev/null 2>&1 || { echo "valgrind: not installed"; exit 77; }
cd "$build" || exit 1
status=0
mkdir -p valgrind
for t in tests/unit/test_*; do
	[ -x "$t" ] && [ -f "$t" ] || continue
	case $t in *.o|*.log|*.trs) continue ;; esac
	n=$(basename "$t")
	CK_FORK=no CK_DEFAULT_TIMEOUT=120 timeout "$secs" valgrind -q \
		--error-exitcode=99 --leak-check=full \
		--errors-for-leak-kinds=definite,indirect \
		--show-leak-kinds=definite,indirect \
		"./$t" >"valgrind/$n.log" 2>&1
	rc=$?
	fails=$(grep -c '^not ok' "valgrind/$n.log")
	echo "valgrind $n: exit $rc, $fails failed test points"
	if [ "$rc" -ne 0 ] || [ "$fails" -ne 0 ]; then
		grep -E '^==[0-9]+== ' "valgrind/$n.log" | head -20
		grep '^not ok' "valgrind/$n.log" | head -5
		status=1
	fi
done
exit $status
