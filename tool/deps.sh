#!/bin/sh
# Install what is needed, only when it is missing (Debian 12 package
# names). `make test` runs `deps.sh`: the build and every test. `make
# demo` runs `deps.sh demo`: only what tool/demo.tcl needs.
set -e
# `deps.sh bench` needs nothing more (valgrind, for instruction counts, is
# in the test list); `deps.sh bench postgres` adds PostgreSQL's server and
# libpq (the reference column).
# python3 also runs tool/cancel-monitor: its curses and sqlite3 modules are
# in Debian's python3 (libpython3.11-stdlib).
# `deps.sh [demo] list` prints the packages instead: the README's "The
# two commands" names each of them (test/readme.test checks it).
demo="gcc make libsqlite3-dev tcl libsqlite3-tcl tcl-thread"
all="$demo sqlite3 tcl-dev python3 valgrind clang libclang-rt-14-dev tmux
     gcc-mingw-w64-x86-64-posix wine64 golang-go golang-github-mattn-go-sqlite3-dev"
# `deps.sh windows`: only what test/windows.sh needs (make test-windows)
windows="libsqlite3-dev gcc-mingw-w64-x86-64-posix wine64"
# `deps.sh go`: only what test/gotest.sh needs (make test-go)
go="libsqlite3-dev golang-go golang-github-mattn-go-sqlite3-dev"
pkgs=$all
list=0
for a in "$@"; do
  case $a in
    list) list=1;;
    demo) pkgs=$demo;;
    windows) pkgs=$windows;;
    go) pkgs=$go;;
    bench) ;;
    postgres) pkgs="$pkgs postgresql libpq-dev";;
  esac
done
if [ $list = 1 ]; then echo $pkgs; exit 0; fi
need=""
for p in $pkgs; do
  dpkg -s "$p" >/dev/null 2>&1 || need="$need $p"
done
[ -z "$need" ] && exit 0
echo "deps: installing$need"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y --no-install-recommends $need >/dev/null 2>&1 || {
  $SUDO apt-get update >/dev/null
  $SUDO apt-get install -y --no-install-recommends $need >/dev/null
}
