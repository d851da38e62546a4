#!/bin/sh
# gotest.sh: the extension from Go (test/gopool/main.go): database/sql
# with Debian's go-sqlite3 (golang-github-mattn-go-sqlite3-dev), which
# Debian builds against the system's libsqlite3. Built offline in GOPATH
# mode from Debian's /usr/share/gocode: nothing is downloaded.
#
#   sh test/gotest.sh build   installs golang-go and go-sqlite3 when
#                             missing (tool/deps.sh go), builds
#                             build/test/gopool; skipped with a note when
#                             they cannot be installed
#   sh test/gotest.sh run     runs build/test/gopool: its last line is
#                             "N passed, N failed"
cd "$(dirname "$0")/.."
bin=build/test/gopool
case $1 in
build)
  if ! sh tool/deps.sh go; then
    echo "go: golang-go or golang-github-mattn-go-sqlite3-dev could not be installed: the Go test was not built" >&2
    exit 0
  fi
  mkdir -p build/test build/go-cache
  # GOPATH mode (no go.mod, no module proxy): the import resolves to
  # /usr/share/gocode/src/github.com/mattn/go-sqlite3
  GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= GOPROXY=off \
    GOCACHE="$PWD/build/go-cache" go build -o $bin ./test/gopool
  ;;
run)
  if [ ! -x $bin ]; then
    echo "go: not built (make test-go): skipped"
    echo "0 passed, 0 failed"
    exit 0
  fi
  mkdir -p build/tmp
  exec $bin "${CANCEL_EXT:-$PWD/cancel}" build/tmp/gopool.db
  ;;
*)
  echo "usage: sh test/gotest.sh build|run" >&2
  exit 2
  ;;
esac
