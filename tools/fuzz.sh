#!/bin/sh
# tools/fuzz.sh -- build every libFuzzer target of tests/fuzz/ with clang and
# run each for a bounded time (issue 9; check.sh runs it in CI).
#
#   sh tools/fuzz.sh BUILD_DIR [SECONDS]
#
# BUILD_DIR is a configured build (for autoconfig.h); SECONDS per target
# (default 45, or $EMITCGI_FUZZ_SECONDS).  Each target X starts from
# tests/fuzz/corpus/X/; inputs that reach new coverage are merged back into
# that directory of this clone (-merge=1), so a CI run grows the corpus and
# `git status` shows what it found.  A crash, leak or sanitizer report
# leaves the input as tests/fuzz/corpus/X/crash-* and fails the run.
# Prints one line per target: "fuzz X: N runs, exit S".  Needs clang with
# libFuzzer (Debian: clang); without it exits 77.
set -u
build=${1:?usage: fuzz.sh BUILD_DIR [SECONDS]}
secs=${2:-${EMITCGI_FUZZ_SECONDS:-45}}
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$build" && pwd)
CC=${FUZZ_CC:-clang}
command -v "$CC" >/dev/null 2>&1 || { echo "fuzz: no $CC"; exit 77; }
out=$build/fuzz
mkdir -p "$out"
jsonc_cflags=$(pkg-config --cflags json-c)
jsonc_libs=$(pkg-config --libs json-c)
flags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -DFUZZ_LIBFUZZER"
status=0

# target: the src/ files it needs besides its own
deps()
{
	case $1 in
	request) echo utf8 form json request response router buf ;;
	form) echo utf8 form json buf ;;
	fcgi_record) echo fcgi_record buf ;;
	fcgi_params) echo fcgi_params buf ;;
	eio) echo eio sio json utf8 buf ;;
	*) echo "fuzz: tools/fuzz.sh does not know what fuzz_$1 needs" >&2 ;;
	esac
}

for f in "$top"/tests/fuzz/fuzz_*.c; do
	t=$(basename "$f" .c)
	t=${t#fuzz_}
	srcs=
	for d in $(deps "$t"); do srcs="$srcs $top/src/$d.c"; done
	# shellcheck disable=SC2086
	if ! $CC $flags -I"$build" -I"$top/src" $jsonc_cflags -o "$out/fuzz_$t" \
		"$f" $srcs $jsonc_libs 2>"$out/$t.build.log"; then
		echo "fuzz $t: build failed"
		tail -5 "$out/$t.build.log"
		status=1
		continue
	fi
	corpus=$top/tests/fuzz/corpus/$t
	new=$out/$t.new
	rm -rf "$new" && mkdir -p "$new" "$corpus"
	"$out/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 \
		-print_final_stats=1 -artifact_prefix="$corpus/" \
		"$new" "$corpus" >"$out/$t.log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$t.log" | tail -1)
	echo "fuzz $t: ${runs:-?} runs in ${secs}s, exit $rc"
	if [ "$rc" -ne 0 ]; then
		grep -E '^==[0-9]+==ERROR|SUMMARY|^artifact_prefix|Test unit written' "$out/$t.log" | head -10
		status=1
	fi
	# keep what reached new coverage, minimised against the corpus
	"$out/fuzz_$t" -merge=1 "$corpus" "$new" >"$out/$t.merge.log" 2>&1 ||
		echo "fuzz $t: merge failed (see $out/$t.merge.log)"
done
exit $status
