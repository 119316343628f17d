#!/usr/bin/env bash
# Runs COMMAND... with a throwaway PostgreSQL cluster and DATABASE_URL pointing at it.
#
#   scripts/with-postgres.sh cargo test -p erp-hub-core
#
# Installs PostgreSQL with apt-get when it is missing, initdb's a cluster into a temp dir owned by the
# `postgres` user (the server refuses to run as root), starts it on a free local port with its socket in the
# same temp dir, exports DATABASE_URL, runs the command, and stops and removes the cluster however the command
# ends (trap on EXIT, INT, TERM). The command's exit status is the script's.
set -euo pipefail

if [ $# -eq 0 ]; then
  echo "usage: $0 COMMAND [ARGS...]" >&2
  exit 2
fi

SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
if [ -z "$(pg_bin)" ] || [ ! -x "$(pg_bin)/initdb" ]; then
  echo "with-postgres: installing postgresql" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
fi
BIN=$(pg_bin)

# A user the server may run as: `postgres` when we are root, else ourselves.
if [ "$(id -u)" -eq 0 ]; then RUN_AS=postgres; else RUN_AS=$(id -un); fi
as_pg() {
  if [ "$RUN_AS" = "$(id -un)" ]; then "$@"; else su "$RUN_AS" -s /bin/sh -c "$(printf '%q ' "$@")"; fi
}

DIR=$(mktemp -d /tmp/erp-hub-pg.XXXXXX)
chmod 755 "$DIR"
[ "$RUN_AS" = "$(id -un)" ] || chown "$RUN_AS" "$DIR"

cleanup() {
  status=$?
  as_pg "$BIN/pg_ctl" -D "$DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$DIR"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
as_pg "$BIN/initdb" -D "$DIR/data" -U postgres -A trust --no-sync -E UTF8 >"$DIR/initdb.log" 2>&1 \
  || { cat "$DIR/initdb.log" >&2; exit 1; }
as_pg "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w \
  -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=on" start >/dev/null \
  || { cat "$DIR/server.log" >&2; exit 1; }

export DATABASE_URL="postgres://postgres@127.0.0.1:$PORT/postgres"
export ERP_HUB_PG_DATA="$DIR/data" ERP_HUB_PG_BIN="$BIN" ERP_HUB_PG_PORT="$PORT" ERP_HUB_PG_SOCKET="$DIR"
echo "with-postgres: PostgreSQL $("$BIN/postgres" --version | awk '{print $3}') on port $PORT" >&2
set +e
"$@"
status=$?
set -e
exit "$status"
