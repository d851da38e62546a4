#!/bin/sh
# sqlite-source.sh: the newest SQLite release's source (the amalgamation,
# sqlite3.c and its headers), from the `sqlite3` npm package, which ships
# an sqlite-autoconf tarball. Kept in build/sqlite-src/ for later runs.
# Prints that directory on stdout; prints nothing and exits 1, with a note
# on stderr, when npm or the registry cannot be reached.
set -e
cd "$(dirname "$0")/.."
out=build/sqlite-src
if [ -f $out/sqlite3.c ] && [ -f $out/VERSION ]; then echo $out; exit 0; fi
command -v npm >/dev/null 2>&1 || { echo "sqlite-source: npm not found" >&2; exit 1; }
rm -rf $out.tmp && mkdir -p $out.tmp
if ! (cd $out.tmp && npm pack sqlite3 --prefer-offline >/dev/null 2>&1); then
  echo "sqlite-source: cannot fetch the sqlite3 npm package" >&2
  rm -rf $out.tmp
  exit 1
fi
(cd $out.tmp && tar xzf sqlite3-*.tgz && tar xzf package/deps/sqlite-autoconf-*.tar.gz)
src=$(ls -d $out.tmp/sqlite-autoconf-*)
rm -rf $out && mkdir -p $out
cp $src/sqlite3.c $src/sqlite3.h $src/sqlite3ext.h $src/VERSION $out/
rm -rf $out.tmp
echo $out
