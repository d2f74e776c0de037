#!/usr/bin/env bash
# Runs the vitest suite under libfaketime at an awkward moment (default: just after local midnight
# in Asia/Shanghai). Node sees the faked wall clock; monotonic time stays real so timers work.
#
#   scripts/faketime-run.sh ['2026-12-31 23:58:00'] [vitest args…]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure.sh redis-server faketime

moment="${1:-2026-12-05 00:00:30}"
[ "$#" -gt 0 ] && shift
lib=""
for cand in /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 /usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1 /usr/lib/faketime/libfaketime.so.1; do
  [ -f "$cand" ] && lib="$cand" && break
done
if [ -z "$lib" ]; then
  echo "lookout: libfaketime.so.1 not found; install with: sudo apt-get install -y faketime" >&2
  exit 2
fi

# redis-server (jemalloc) recurses inside libfaketime and hangs: a shim first on PATH runs the
# real one without LD_PRELOAD; Lookout takes its time from the injected clock, not from Redis.
real_redis="$(command -v redis-server)"
shim="$(mktemp -d)"
trap 'rm -rf "$shim"' EXIT
printf '#!/bin/sh\nunset LD_PRELOAD\nexec "%s" "$@"\n' "$real_redis" >"$shim/redis-server"
chmod +x "$shim/redis-server"

# A relative offset, not a start-at ("@…") moment: with "@" every process starts its own clock at
# the moment when it starts, so a daemon the tests spawn would run seconds behind the test that
# spawned it. An offset gives every process (tests, spawned daemons) one faked timeline.
target="$(TZ=Asia/Shanghai date -d "$moment" +%s)"
offset=$((target - $(date +%s)))
[ "$offset" -ge 0 ] && offset="+${offset}"

echo "lookout: running the suite at ${moment} Asia/Shanghai (libfaketime, FAKETIME=${offset}s)"
PATH="$shim:$PATH" TZ=Asia/Shanghai FAKETIME="${offset}s" FAKETIME_NO_CACHE=1 DONT_FAKE_MONOTONIC=1 \
  LD_PRELOAD="$lib" npx vitest run "$@"
