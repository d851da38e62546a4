#!/bin/sh
# Install what the build and the tests need, only when it is missing
# (Debian 12 package names). Run by `make test` and `make demo`.
set -e
# `deps.sh bench` adds valgrind (instruction counts); `deps.sh bench
# postgres` adds PostgreSQL's server and libpq (the reference column).
pkgs="gcc make libsqlite3-dev sqlite3 tcl tcl-dev libsqlite3-tcl tcl-thread python3 valgrind
      gcc-mingw-w64-x86-64-posix tmux clang libclang-rt-14-dev"
for a in "$@"; do
  case $a in
    bench) ;;
    postgres) pkgs="$pkgs postgresql libpq-dev";;
  esac
done
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
