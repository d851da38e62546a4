#!/bin/sh
# pgcluster.sh: a throw-away PostgreSQL cluster on loopback for `make bench`.
#
#   tool/pgcluster.sh start DIR PORT   initdb (trust auth) and start; prints
#                                      the libpq connection string
#   tool/pgcluster.sh stop DIR         stop it and remove DIR
#
# Exits 2 (and prints why) when no PostgreSQL server is installed
# (`make bench-deps` installs Debian's). PostgreSQL refuses to run as root,
# so as root the cluster runs as the `postgres` user the package creates.
set -e
cmd=$1 dir=$2 port=$3
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  echo "no PostgreSQL server installed (make bench-deps installs it)" >&2
  exit 2
fi
as=""
if [ "$(id -u)" = 0 ]; then as="runuser -u postgres --"; fi
case $cmd in
start)
  mkdir -p "$dir"
  [ -z "$as" ] || chown postgres "$dir"
  $as "$bin/initdb" -A trust -U bench -D "$dir/data" >"$dir/initdb.log" 2>&1
  $as "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c shared_buffers=256MB" start >/dev/null
  echo "host=127.0.0.1 port=$port user=bench dbname=postgres"
  ;;
stop)
  $as "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
  ;;
*) echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 1;;
esac
