#!/bin/sh
# coverage.sh: run the whole suite against the gcov build of ext/ and print
# line and branch coverage per ext/*.c file (make coverage builds first;
# doc/testing.md, "Coverage" explains the table).
#
#   sh tool/coverage.sh            reset the counters, run everything, report
#   sh tool/coverage.sh --report   only the table, from the counters on disk
#   sh tool/coverage.sh --missing F   after a run: F's lines that never ran
#                                  (#####) and branches never taken (the
#                                  numbers of the line's untaken branches)
#
# The Tcl files and the Python tests load build/cov/cancel.so (CANCEL_EXT);
# the C programs are build/cov/<name>, linked from the same objects, and
# build/cov/static from the -DSQLITE_CORE objects (build/obj/covstatic).
# COVERAGE_SECONDS (default 3) sets the length of the timed programs.
# The annotated sources stay in build/cov/gcov/<flavour>/*.c.gcov: lines
# marked ##### never ran, "branch N never executed" or "taken 0" never
# went that way.
cd "$(dirname "$0")/.." || exit 2
top=$(pwd)
secs=${COVERAGE_SECONDS:-3}
bin=$top/build/cov
tmp=$top/build/tmp
status=0

# Runs a program; passes when it exits 0 and prints no FAIL line.
cov_run() {
  label=$1; shift
  t0=$(date +%s)
  if timeout -k 10 600 "$@" >"$tmp/cov-run.log" 2>&1 && ! grep -q FAIL "$tmp/cov-run.log"; then
    verdict=ok
  else
    verdict=FAILED; status=1
  fi
  printf '%-28s %5ss  %s  %s\n' "$label" $(( $(date +%s) - t0 )) "$verdict" \
    "$(tail -n 1 "$tmp/cov-run.log")"
  [ $verdict = ok ] || grep -E 'FAIL|ERROR|error' "$tmp/cov-run.log" | head -20 | sed 's/^/    /'
}

if [ "${1:-}" = --missing ]; then
  g=build/cov/gcov/cov/$(basename "${2:-}").gcov
  [ -f "$g" ] || { echo "coverage: no $g (run make coverage; name an ext/*.c file)"; exit 1; }
  awk '/^ *(-|#####|=====|[0-9]+\*?): *[0-9]+:/ {
         split($0, p, ":"); l = p[2] + 0; src = $0; sub(/^[^:]*:[^:]*:/, "", src)
         n = p[1]; gsub(/ /, "", n); if( n=="#####" ) printf "%5d #####  %s\n", l, src
         next }
       /^branch/ && $0 !~ /taken [1-9]/ { miss[l] = miss[l] " " $2; text[l] = src }
       END { for( l in miss ) printf "%5d branch%s  %s\n", l, miss[l], text[l] }' "$g" | sort -n
  exit 0
fi

if [ "${1:-}" != --report ]; then
  start=$(date +%s)
  rm -f build/obj/cov/*.gcda build/obj/covstatic/*.gcda
  mkdir -p "$tmp"
  # The Tcl files and the Python tests (test/all.tcl --check).
  CANCEL_EXT=$bin/cancel tclsh test/all.tcl --check || status=1
  echo
  cov_run capi "$bin/capi" "$tmp/cov-capi.db"
  [ -x "$bin/static" ] && cov_run static "$bin/static"
  cov_run hostapi "$bin/hostapi"
  cov_run "stress ${secs}s" "$bin/stress" "$secs" "$tmp/cov-stress.db"
  cov_run "jobstress ${secs}s" "$bin/jobstress" "$secs" "$tmp/cov-jobstress"
  cov_run "xstress ${secs}s" "$bin/xstress" "$secs" 3
  cov_run "oom (every 10th)" "$bin/oom" 10
  cov_run "ioerr 8" "$bin/ioerr" 8
  cov_run "killtest 10" "$bin/killtest" 10
  cov_run "soak ${secs}s 2x8" "$bin/soak" "$secs" 2 8
  # The fuzz targets' seed corpora, each input once (test/fuzz/replay.c).
  for t in fuzz_registry fuzz_csv fuzz_functions; do
    cov_run "$t corpus" "$bin/$t" test/fuzz/corpus/$t/*
  done
  echo "suite run in $(( $(date +%s) - start )) s"
  echo
fi

# gcov -b for each flavour, then one table: a line counts when it ran in
# any build; a line's branches are the cov build's, or-ed with another
# build's (static: -DSQLITE_CORE; covfuzz: shared.c as fuzz_registry.c
# includes it, csv.c with a lower record limit) when that build has the
# same branches on the line (the lines that differ are few).
for fl in cov covstatic covfuzz; do
  rm -rf "build/cov/gcov/$fl"; mkdir -p "build/cov/gcov/$fl"
  ls build/obj/$fl/*.gcda >/dev/null 2>&1 || continue
  srcs=ext/*.c
  [ $fl = covfuzz ] && srcs="test/fuzz/fuzz_registry.c ext/csv.c"
  # (gcov finds the sources from here and writes *.gcov here)
  # shellcheck disable=SC2086
  gcov -b -o "build/obj/$fl" $srcs >/dev/null 2>&1
  mv ./*.gcov "build/cov/gcov/$fl/"
done
ls build/cov/gcov/cov/*.c.gcov >/dev/null 2>&1 || { echo "coverage: no counters (run make coverage)"; exit 1; }
awk -v ext="$(cd ext && echo *.c)" '
  BEGIN { n = split(ext, e, " "); for( i = 1; i <= n; i++ ) isExt[e[i]] = 1 }
  FNR==1 { b = FILENAME; sub(/\/[^\/]*$/, "", b); sub(/.*\//, "", b); if( b=="cov" ) b = "c"
           f = FILENAME; sub(/.*\//, "", f); sub(/\.gcov$/, "", f); l = 0
           if( !(f in isExt) ){ nextfile } files[f] = 1; builds[b] = 1 }
  /^ *(-|#####|=====|[0-9]+\*?): *[0-9]+:/ {
    split($0, p, ":"); n = p[1]; gsub(/ /, "", n); l = p[2] + 0
    if( l==0 || n=="-" ) { l = 0; next }
    line[f, l] = 1
    if( n ~ /^[0-9]/ && n+0 > 0 ) hit[f, l] = 1
    next
  }
  /^branch / && l>0 {
    i = nb[b, f, l]++
    if( $0 ~ /taken [1-9]/ ) taken[b, f, l, i] = 1
  }
  END {
    for( k in line ){
      split(k, q, SUBSEP); f = q[1]; l = q[2]
      nl[f]++; if( k in hit ) hl[f]++
      c = nb["c", f, l] + 0; m = c
      if( !c ) for( b in builds ) if( nb[b, f, l] > m ) m = nb[b, f, l]
      for( i = 0; i < m; i++ ){
        t = 0
        for( b in builds ) if( (nb[b, f, l]==m || !c) && ((b, f, l, i) in taken) ) t = 1
        nbr[f]++; if( t ) hbr[f]++
      }
    }
    printf "%-18s %6s %6s %7s %6s %6s %7s\n", "ext/ file", "lines", "run", "line%", "branch", "taken", "branch%"
    n = 0; for( f in files ) order[++n] = f
    for( i = 1; i <= n; i++ ) for( j = i + 1; j <= n; j++ ) if( order[j] < order[i] ){ t = order[i]; order[i] = order[j]; order[j] = t }
    for( i = 1; i <= n; i++ ){
      f = order[i]
      printf "%-18s %6d %6d %6.1f%% %6d %6d %6.1f%%\n", f, nl[f], hl[f], nl[f] ? 100*hl[f]/nl[f] : 100,
             nbr[f], hbr[f], nbr[f] ? 100*hbr[f]/nbr[f] : 100
      L += nl[f]; HL += hl[f]; B += nbr[f]; HB += hbr[f]
    }
    printf "%-18s %6d %6d %6.1f%% %6d %6d %6.1f%%\n", "total", L, HL, L ? 100*HL/L : 100, B, HB, B ? 100*HB/B : 100
  }
' build/cov/gcov/cov/*.c.gcov $(ls build/cov/gcov/covstatic/*.c.gcov build/cov/gcov/covfuzz/*.c.gcov 2>/dev/null)
exit $status
