#!/bin/sh
# omithost.sh: cancel.so loaded into real SQLite builds whose routine table
# lacks entries the extension calls, by test/omithost.c (a plain host
# program: sqlite3_load_extension). Each must refuse the extension with a
# message naming what is missing, never crash; except a SQLite without
# the progress callback, where it loads and works without it (cancels by
# sqlite3_interrupt, statement timeouts by its background thread); the
# same source built without those options must load it.
#
#   sh test/omithost.sh build   the hosts, in build/omithost/, from the
#                               newest release's amalgamation
#                               (tool/sqlite-source.sh); skipped with a
#                               note when it cannot be fetched
#   sh test/omithost.sh run     runs them: "N passed, N failed"
set -e
cd "$(dirname "$0")/.."
out=build/omithost

# name: the SQLite compile options
variants() {
  echo "plain:"
  echo "omit-progress:-DSQLITE_OMIT_PROGRESS_CALLBACK"
  echo "omit-trace:-DSQLITE_OMIT_TRACE"
  # better-sqlite3 12.11.1's options (its deps/defines.gypi) that touch
  # the C API, progress_handler among them
  echo "better-sqlite3:-DSQLITE_DEFAULT_MEMSTATUS=0 -DSQLITE_DQS=0 -DSQLITE_LIKE_DOESNT_MATCH_BLOBS -DSQLITE_OMIT_DEPRECATED -DSQLITE_OMIT_PROGRESS_CALLBACK -DSQLITE_OMIT_SHARED_CACHE -DSQLITE_OMIT_TCL_VARIABLE -DSQLITE_THREADSAFE=2 -DSQLITE_TRACE_SIZE_LIMIT=32 -DSQLITE_USE_URI=0 -DSQLITE_DEFAULT_FOREIGN_KEYS=1"
}
lacks() { echo "refused: cancel: this SQLite lacks $1: the extension cannot load"; }
works() { echo "loaded (sessions: 1 row; hooks: $1; cancel: 1 interrupted; timeout: interrupted; job: canceled inside VACUUM INTO; race: ok)"; }
expected() {
  case $1 in
    plain) works ok;;
    omit-progress|better-sqlite3) works "no progress handler in this SQLite";;
    omit-trace) lacks "sqlite3_trace_v2 (built with SQLITE_OMIT_TRACE?)";;
  esac
}

case $1 in
build)
  if ! src=$(sh tool/sqlite-source.sh); then
    echo "omithost: no SQLite source: the hosts were not built" >&2
    exit 0
  fi
  mkdir -p $out
  cp $src/VERSION $out/VERSION
  variants | while IFS=: read name opts; do
    [ -x $out/$name ] && [ $out/$name -nt test/omithost.c ] && continue
    echo "omithost: building SQLite $(cat $src/VERSION) $name"
    ${CC:-cc} -O0 -w -I$src $opts -o $out/$name.tmp test/omithost.c $src/sqlite3.c -lpthread -ldl -lm
    mv $out/$name.tmp $out/$name
  done
  # test/stress.c (its misfire detector) with the extension compiled in,
  # on better-sqlite3's SQLite, plain and under TSan: every cancel there
  # is an sqlite3_interrupt() (test/all.tcl runs both beside the other
  # stress runs)
  for flavour in plain tsan; do
    stress=$out/stress-better-sqlite3-$flavour
    [ -x $stress ] && [ -z "$(find ext test/stress.c -newer $stress -name '*.[ch]')" ] && continue
    echo "omithost: building the stress program ($flavour) on SQLite $(cat $src/VERSION) better-sqlite3"
    san=; [ $flavour = tsan ] && san=-fsanitize=thread
    ${CC:-cc} -O1 -g -w $san -I$src -Iext $(variants | sed -n 's/^better-sqlite3://p') \
      -o $stress.tmp test/stress.c ext/*.c $src/sqlite3.c -lpthread -ldl -lm
    mv $stress.tmp $stress
  done
  ;;
run)
  if [ ! -f $out/VERSION ]; then
    echo "omithost: not built (make omithosts): skipped"
    echo "0 passed, 0 failed"
    exit 0
  fi
  # cancel.so as built here, and the one built with the newest release's
  # headers (tool/newest-sqlite.sh), when it is there.
  exts="./cancel.so"
  [ -f build/newest-sqlite/cancel.so ] && exts="$exts build/newest-sqlite/cancel.so"
  pass=0; fail=0
  for ext in $exts; do
    for name in $(variants | cut -d: -f1); do
      want=$(expected $name)
      got=$($out/$name $ext 2>&1) || got="$got (exit status $?)"
      # (newer SQLite puts "error during initialization: " before it)
      if [ "$(echo "$got" | sed 's/^refused: error during initialization: /refused: /')" = "$want" ]; then
        pass=$((pass+1))
        echo "SQLite $(cat $out/VERSION) $name, $ext: $got"
      else
        fail=$((fail+1))
        echo "FAIL SQLite $(cat $out/VERSION) $name, $ext:"
        echo "  got:  $got"
        echo "  want: $want"
      fi
    done
  done
  echo "$pass passed, $fail failed"
  [ $fail = 0 ]
  ;;
*) echo "usage: sh test/omithost.sh build|run" >&2; exit 2;;
esac
