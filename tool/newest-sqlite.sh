#!/bin/sh
# newest-sqlite.sh: build SQLite's Tcl binding from the newest SQLite
# release that the npm registry carries as source (the `sqlite3` npm
# package ships an sqlite-autoconf tarball), so that `make test` runs the
# Tcl suite against it as well as against the system's SQLite.
#
# Output: build/newest-sqlite/libtclsqlite.so, VERSION, include/ (the
# release's headers), and cancel.so compiled with those headers (so the newer APIs, used behind
# runtime checks, are compiled in). Skips (exit 0, with a note on stderr)
# when npm or the registry cannot be reached.
set -e
cd "$(dirname "$0")/.."
out=build/newest-sqlite
# The extension, with that release's headers: rebuilt whenever ext/ changed
# (the release itself is fetched and built once).
build_ext() {
  ${CC:-cc} -O2 -g -Wall -Wextra -fPIC -shared -I"$1" -o "$2" $(ls ext/*.c) -lpthread -ldl
}
if [ -f $out/libtclsqlite.so ] && [ -f $out/include/sqlite3ext.h ]; then
  if [ ! -f $out/cancel.so ] || [ -n "$(find ext -newer $out/cancel.so -name '*.[ch]')" ]; then
    build_ext $out/include $out/cancel.so
    echo "newest-sqlite: cancel.so rebuilt against SQLite $(cat $out/VERSION)"
  fi
  exit 0
fi
command -v npm >/dev/null 2>&1 || { echo "newest-sqlite: npm not found: skipped" >&2; exit 0; }
rm -rf $out.tmp && mkdir -p $out.tmp
cd $out.tmp
if ! npm pack sqlite3 >/dev/null 2>&1; then
  echo "newest-sqlite: cannot fetch the sqlite3 npm package: skipped" >&2
  cd ../.. && rm -rf $out.tmp
  exit 0
fi
tar xzf sqlite3-*.tgz
tar xzf package/deps/sqlite-autoconf-*.tar.gz
src=$(ls -d sqlite-autoconf-*)
cat $src/VERSION > VERSION
# the TEA binding includes the amalgamation itself
${CC:-cc} -O1 -fPIC -shared -DSQLITE_THREADSAFE=1 -DUSE_TCL_STUBS \
  -I$src -I/usr/include/tcl8.6 -o libtclsqlite.so $src/tea/generic/tclsqlite3.c \
  -ltclstub8.6 -lpthread -ldl -lm
cd ../..
build_ext $out.tmp/$src $out.tmp/cancel.so
rm -rf $out && mkdir -p $out/include
cp $out.tmp/$src/sqlite3.h $out.tmp/$src/sqlite3ext.h $out/include/
mv $out.tmp/libtclsqlite.so $out.tmp/VERSION $out.tmp/cancel.so $out/
rm -rf $out.tmp
echo "newest-sqlite: built SQLite $(cat $out/VERSION) for the tests"
