#!/bin/sh
# run.sh: build and run the libFuzzer targets of test/fuzz/.
#
#   test/fuzz/run.sh SECONDS [target...]     (targets: fuzz_csv fuzz_functions
#                                             fuzz_registry; default all)
#   test/fuzz/run.sh 0                        build only
#
# Each target is built into build/fuzz/ (clang, -fsanitize=fuzzer,address,
# undefined; rebuilt when a source is newer) and run, one at a time, for
# SECONDS on a work corpus in build/tmp/fuzz/<target>/corpus (the seeds of
# test/fuzz/corpus/<target>/ copied in, plus whatever earlier runs found;
# the committed seeds are never written to). One line per target: runs,
# coverage, corpus size. Exits non-zero on any crash, leak, UBSan report,
# timeout or out-of-memory, and prints the file that reproduces it:
#
#   build/fuzz/<target> build/tmp/fuzz/<target>/crash-...
#
# Environment: CLANG (default clang), FUZZ_TIMEOUT (seconds one input may
# take, default 30), FUZZ_RSS_MB (default 2048), FUZZ_ARGS (more libFuzzer
# flags). Needs clang and libclang-rt-14-dev (Debian 12).
set -u
cd "$(dirname "$0")/../.." || exit 2

SECONDS_EACH=${1:-}
case "$SECONDS_EACH" in
  ''|*[!0-9]*) echo "usage: test/fuzz/run.sh SECONDS [target...]" >&2; exit 2 ;;
esac
shift
TARGETS=${*:-fuzz_csv fuzz_functions fuzz_registry}
CLANG=${CLANG:-clang}
TIMEOUT=${FUZZ_TIMEOUT:-30}
RSS=${FUZZ_RSS_MB:-2048}

# The extension's sources: every ext/*.c, as the Makefile takes them.
SRC=$(ls ext/*.c)
CFLAGS="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
        -fno-omit-frame-pointer -Wall -Wextra -Iext -Itest/fuzz"

build() {
  t=$1
  out=build/fuzz/$t
  src=$SRC
  extra=
  # fuzz_registry.c includes ext/shared.c itself (for the slot layout)
  [ "$t" = fuzz_registry ] && src=$(printf '%s\n' $SRC | grep -v '^ext/shared\.c$')
  # the CSV reader's record limit (1e9 bytes) lowered so that inputs of
  # libFuzzer's size reach it
  [ "$t" = fuzz_csv ] && extra=-DCSV_MAX_RECORD=1000
  if [ -x "$out" ] && [ -z "$(find test/fuzz/$t.c test/fuzz/fuzzutil.h ext Makefile \
       -newer "$out" -type f 2>/dev/null | head -1)" ]; then
    return 0
  fi
  mkdir -p build/fuzz
  echo "build $out"
  # shellcheck disable=SC2086
  $CLANG $CFLAGS $extra -o "$out" "test/fuzz/$t.c" $src -lsqlite3 -lpthread -ldl
}

status=0
for t in $TARGETS; do
  if [ ! -f "test/fuzz/$t.c" ]; then
    echo "run.sh: no such target: $t" >&2
    status=2
    continue
  fi
  build "$t" || { echo "$t: BUILD FAILED"; status=1; continue; }
  [ "$SECONDS_EACH" -eq 0 ] && continue
  work=build/tmp/fuzz/$t
  mkdir -p "$work/corpus"
  [ -d "test/fuzz/corpus/$t" ] && cp -n test/fuzz/corpus/$t/* "$work/corpus/" 2>/dev/null
  log=$work/log
  # In the background so that its pid, and so its scratch directory
  # build/tmp/fuzz-<pid>, is known and can be removed after a crash.
  # shellcheck disable=SC2086
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
  build/fuzz/$t -max_total_time="$SECONDS_EACH" -timeout="$TIMEOUT" \
    -rss_limit_mb="$RSS" -print_final_stats=1 -error_exitcode=77 \
    -timeout_exitcode=78 -artifact_prefix="$work/" ${FUZZ_ARGS:-} \
    "$work/corpus" >"$log" 2>&1 &
  pid=$!
  wait $pid
  rc=$?
  rm -rf "build/tmp/fuzz-$pid"
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  [ -n "$runs" ] || runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1)
  corp=$(grep -o 'corp: [0-9]*/[0-9]*[a-zA-Z]*' "$log" | tail -1)
  if [ "$rc" -eq 0 ]; then
    echo "$t: ok, ${runs:-?} runs in ${SECONDS_EACH}s, ${cov:-cov: ?}, ${corp:-corp: ?}"
  else
    status=1
    # the sanitizer's or libFuzzer's one-line summary (crash, leak, UBSan,
    # timeout, out-of-memory), else UBSan's message
    what=$(grep -a -m1 '^SUMMARY: ' "$log" | cut -c10-200)
    [ -n "$what" ] || what=$(grep -a -m1 -o 'runtime error: .*' "$log" | cut -c1-200)
    unit=$(sed -n 's/.*Test unit written to \(.*\)/\1/p' "$log" | tail -1)
    echo "$t: FAILED (exit $rc): ${what:-see $log} after ${runs:-?} runs"
    [ -n "$unit" ] && echo "  reproduce: build/fuzz/$t $unit"
    echo "  log: $log"
  fi
done
exit $status
