#!/bin/sh
# nodetest.sh: the extension in Node.js (test/node/cancel.js) with
# better-sqlite3 12.11.1, whose SQLite is built without the progress
# callback and without connection mutexes: the build most Node
# applications use. better-sqlite3 is installed from the npm registry
# into build/node (it compiles its SQLite: about 2.5 minutes, once).
#
#   sh test/nodetest.sh build   installs it when missing; skipped with a
#                               note when node, npm or the registry is
#                               not there
#   sh test/nodetest.sh run     runs the tests (test/node/cancel.js, and
#                               test/node/readme.js: README.md's example
#                               as written); its last line is
#                               "N passed, N failed"
cd "$(dirname "$0")/.."
dir=build/node
mod=$dir/node_modules/better-sqlite3
case $1 in
build)
  if [ -f $mod/build/Release/better_sqlite3.node ]; then exit 0; fi
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "node: node or npm not found: the Node test was not built" >&2
    exit 0
  fi
  mkdir -p $dir
  t0=$(date +%s)
  if ! (cd $dir && npm install --no-audit --no-fund better-sqlite3@12.11.1 >npm.log 2>&1); then
    echo "node: npm install better-sqlite3@12.11.1 failed (see $dir/npm.log): the Node test was not built" >&2
    exit 0
  fi
  echo "node: better-sqlite3 12.11.1 installed in $(( $(date +%s) - t0 )) s"
  ;;
run)
  if [ ! -f $mod/build/Release/better_sqlite3.node ]; then
    echo "node: not built (make test-node): skipped"
    echo "0 passed, 0 failed"
    exit 0
  fi
  mkdir -p build/tmp
  # cancel.js, then the README's example as written (readme.js); the
  # last line adds up both
  ext="${CANCEL_EXT:-$PWD/cancel}"
  pass=0; fail=0
  for prog in "cancel.js $ext build/tmp/node.db" "readme.js $ext"; do
    set -- $prog
    out=$(BETTER_SQLITE3="$PWD/$mod" node test/node/$1 $2 $3 2>&1)
    echo "$out"
    last=$(echo "$out" | tail -1)
    case $last in
      *" passed, "*" failed")
        pass=$((pass + ${last%% passed*}))
        fail=$((fail + $(echo "$last" | sed 's/.* passed, \([0-9]*\) failed/\1/')));;
      *) fail=$((fail + 1)); echo "node test/node/$1 ended without its count";;
    esac
  done
  echo "$pass passed, $fail failed"
  [ $fail -eq 0 ]
  ;;
*)
  echo "usage: sh test/nodetest.sh build|run" >&2
  exit 2
  ;;
esac
