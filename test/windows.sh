#!/bin/sh
# windows.sh: the Windows build, run under Wine. cancel.dll (mingw-w64)
# is loaded into a sqlite3.dll built with mingw-w64 from the newest
# release's amalgamation (tool/sqlite-source.sh) by test/wintest.c,
# cross-built too, run by Debian's wine64.
#
#   sh test/windows.sh build   installs mingw-w64 and wine64 when missing
#                              (tool/deps.sh windows), builds build/win/
#                              and makes Wine's prefix (build/win/prefix:
#                              $HOME is left alone); skipped with a note
#                              when the SQLite source cannot be fetched
#   sh test/windows.sh run     runs build/win/wintest.exe under wine64:
#                              its last line is "N passed, N failed"
set -e
cd "$(dirname "$0")/.."
out=build/win
export WINEPREFIX="$PWD/$out/prefix" WINEDEBUG=-all
# Debian's wine64 package puts the loader in /usr/lib/wine (the `wine`
# package adds the /usr/bin wrappers)
wine=$(command -v wine64 || true)
[ -z "$wine" ] && [ -x /usr/lib/wine/wine64 ] && wine=/usr/lib/wine/wine64
server=$(command -v wineserver || true)
[ -z "$server" ] && [ -x /usr/lib/wine/wineserver ] && server=/usr/lib/wine/wineserver

case $1 in
build)
  sh tool/deps.sh windows
  if ! src=$(sh tool/sqlite-source.sh); then
    echo "windows: no SQLite source: the Windows test was not built" >&2
    exit 0
  fi
  make --no-print-directory $out/cancel.dll $out/sqlite3.dll $out/wintest.exe SQLITE_SRC=$src
  if [ ! -f "$WINEPREFIX/system.reg" ]; then
    # Wine's first start creates the prefix (about 15 s)
    t0=$(date +%s)
    "$wine" wineboot --init >/dev/null 2>&1 || true
    "$server" -w
    echo "windows: Wine prefix made in $(( $(date +%s) - t0 )) s"
  fi
  ;;
run)
  if [ ! -f $out/wintest.exe ] || [ -z "$wine" ]; then
    echo "windows: not built or no wine64 (make test-windows): skipped"
    echo "0 passed, 0 failed"
    exit 0
  fi
  rc=0
  "$wine" $out/wintest.exe $out/run || rc=$?
  "$server" -w
  exit $rc
  ;;
*)
  echo "usage: sh test/windows.sh build|run" >&2
  exit 2
  ;;
esac
