#!/usr/bin/env bash
# Runs the suite once per database backend (Tortoise cannot switch dialects in one process),
# both at once, and says which backends ran. Exit status: non-zero if any run failed.
# REQUIRE_POSTGRES=1 (set by .ci/run) makes an unreachable PostgreSQL a failure, not a skip.
set -u
cd "$(dirname "$0")/.."
PY=.venv/bin/python
logs=$(mktemp -d)
reachable() { $PY - "$1" <<'PYEOF'
import socket, sys
host, port = sys.argv[1].split(":")
try:
    socket.create_connection((host, int(port)), timeout=1).close()
except OSError:
    sys.exit(1)
PYEOF
}

backends=(sqlite)
if reachable 127.0.0.1:5432; then
  backends+=(postgres)
elif [ -n "${REQUIRE_POSTGRES:-}" ]; then
  echo "PostgreSQL is required (REQUIRE_POSTGRES) but not reachable on 127.0.0.1:5432" >&2
  exit 1
else
  echo "PostgreSQL not reachable on 127.0.0.1:5432: its run is skipped"
fi

pids=()
for b in "${backends[@]}"; do
  TEST_BACKEND=$b $PY -m pytest -p no:cacheprovider "$@" >"$logs/$b.log" 2>&1 &
  pids+=($!)
done
status=0
for i in "${!backends[@]}"; do
  wait "${pids[$i]}"; rc=$?
  echo "================ ${backends[$i]} ================"
  cat "$logs/${backends[$i]}.log"
  [ $rc -eq 0 ] || status=$rc
done
echo "================ summary ================"
for b in "${backends[@]}"; do
  echo "$b: $(grep -E '^backends — ' "$logs/$b.log" | tail -1) :: $(tail -1 "$logs/$b.log")"
done
rm -rf "$logs"
exit $status
