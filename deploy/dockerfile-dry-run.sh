#!/usr/bin/env bash
# Rehearse the Dockerfile without Docker (docs/deploy.md "Checked here without Docker").
#
# Runs every stage's COPY and RUN steps, in order, in a scratch directory on this machine — a
# Debian 12 (bookworm) host with Node 20, which is what node:20-bookworm-slim is — then runs the
# resulting runtime layout the way the image's ENTRYPOINT/CMD/HEALTHCHECK would:
#   tini -- node bin/lookout.js start --role all   as an unprivileged uid,
# against a Redis started like compose.yaml's (AOF on, noeviction) and deploy/config, checks
# /healthz, /readyz and /metrics, sends SIGTERM to tini and expects exit status 0.
#
#   bash deploy/dockerfile-dry-run.sh [SCRATCH_DIR]     (default /tmp/docker-proof)
#
# Needs: node 20 + npm, redis-server, and root for `apt-get install tini` when tini is missing
# (that step is the runtime stage's own RUN line). npm uses a private cache under SCRATCH_DIR, so
# every package really comes from the registry, as in a clean image build.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-/tmp/docker-proof}
case "$OUT" in /|"$REPO"|"$REPO"/*) echo "refusing to use $OUT as the scratch dir" >&2; exit 2 ;; esac
rm -rf "$OUT"
mkdir -p "$OUT/build" "$OUT/deps" "$OUT/runtime/app"

export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
export npm_config_cache="$OUT/npm-cache"
step() { printf '\n== %s\n' "$*"; }
pids=()
# Stop what this script started, newest first (Lookout before its Redis). A second SIGTERM makes
# Lookout exit at once (src/shutdown.ts), so a hung drain cannot keep the script waiting.
cleanup() {
  local i p
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    p=${pids[i]}
    kill -0 "$p" 2>/dev/null || continue
    kill -TERM "$p" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -TERM "$p" 2>/dev/null || true
  done
}
trap cleanup EXIT

# ---- stage build ---------------------------------------------------------------------------------
cd "$OUT/build"
step "build: COPY package.json package-lock.json ./"
cp "$REPO/package.json" "$REPO/package-lock.json" .
step "build: RUN npm ci --ignore-scripts"
npm ci --ignore-scripts
step "build: COPY tsconfig.json tsconfig.image.json ./ ; COPY src ./src ; COPY web ./web"
cp "$REPO/tsconfig.json" "$REPO/tsconfig.image.json" .
cp -r "$REPO/src" "$REPO/web" .
step "build: RUN npm run build:image"
npm run build:image
test -f dist/src/cli.js
test -d dist/web/console

# ---- stage deps ----------------------------------------------------------------------------------
cd "$OUT/deps"
step "deps: COPY package.json package-lock.json ./"
cp "$REPO/package.json" "$REPO/package-lock.json" .
step "deps: RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force"
npm ci --omit=dev --ignore-scripts && npm cache clean --force
for dev in typescript vitest eslint; do
  if [ -e "node_modules/$dev" ]; then echo "dev dependency $dev in the production node_modules" >&2; exit 1; fi
done

# ---- stage runtime -------------------------------------------------------------------------------
step "runtime: RUN apt-get install -y --no-install-recommends tini (on this bookworm host)"
if ! command -v tini >/dev/null; then
  apt-get update -qq && apt-get install -y --no-install-recommends tini >/dev/null
fi
tini --version
APP="$OUT/runtime/app"
cd "$APP"
step "runtime: COPY --from=deps node_modules, --from=build dist/src dist/web; COPY package*.json bin scripts rules templates web/console/static"
cp -r "$OUT/deps/node_modules" ./node_modules
mkdir -p dist && cp -r "$OUT/build/dist/src" ./dist/src && cp -r "$OUT/build/dist/web" ./dist/web
cp "$REPO/package.json" "$REPO/package-lock.json" .
cp -r "$REPO/bin" "$REPO/scripts" "$REPO/rules" "$REPO/templates" .
mkdir -p web/console && cp -r "$REPO/web/console/static" ./web/console/static
step "runtime: RUN mkdir -p /var/lib/lookout /etc/lookout && chown node:node /var/lib/lookout"
# uid 65534 (nobody) stands in for the image's `node` user; /var/lib/lookout → $OUT/runtime/var-lib-lookout
DATA="$OUT/runtime/var-lib-lookout"
mkdir -p "$DATA" && chown 65534:65534 "$DATA"
echo "runtime layout: $(ls "$APP" | tr '\n' ' ')  ($(du -sh "$APP" | cut -f1))"

export NODE_ENV=production LOOKOUT_DATA_DIR="$DATA" LOOKOUT_CONFIG_DIR="$REPO/deploy/config"
as_user() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }

step "check: node bin/lookout.js --help"
as_user node bin/lookout.js --help
step "check: node bin/lookout.js rules check  (the shipped rules/ and policies.yaml)"
as_user node bin/lookout.js rules check
step "check: msgpackr-extract loads without its install script"
node -e "require('msgpackr-extract'); console.log('msgpackr-extract: native extractor loaded')"

step "check: Redis as in compose.yaml (redis-server --appendonly yes --auto-aof-rewrite-percentage 400 --auto-aof-rewrite-min-size 256mb --maxmemory-policy noeviction)"
RPORT=$(free_port)
mkdir -p "$OUT/redis"
redis-server --port "$RPORT" --bind 127.0.0.1 --dir "$OUT/redis" --appendonly yes --auto-aof-rewrite-percentage 400 --auto-aof-rewrite-min-size 256mb --maxmemory-policy noeviction --save '' >"$OUT/redis/log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do redis-cli -p "$RPORT" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
redis-cli -p "$RPORT" ping

step "check: tini -- node bin/lookout.js start --role all   (uid 65534, LOOKOUT_CONFIG_DIR=deploy/config)"
HPORT=$(free_port)
export REDIS_URL="redis://127.0.0.1:$RPORT" LOOKOUT_HTTP_PORT="$HPORT" LOOKOUT_PREFIX="dryrun$$"
# In the image tini is PID 1; here it is not, so it registers as a subreaper instead.
# setpriv execs tini, so $! is tini's pid (not a subshell's).
TINI_SUBREAPER=1 setpriv --reuid=65534 --regid=65534 --clear-groups tini -- node bin/lookout.js start --role all >"$OUT/lookout.log" 2>&1 &
TINI=$!
pids+=("$TINI")
ready=""
for _ in $(seq 150); do
  if curl -fsS "http://127.0.0.1:$HPORT/readyz" >"$OUT/readyz.json" 2>/dev/null; then ready=1; break; fi
  sleep 0.2
done
if [ -z "$ready" ]; then cat "$OUT/lookout.log" >&2; echo "lookout did not become ready" >&2; exit 1; fi
echo "/readyz: $(cat "$OUT/readyz.json")"
NODE_PID=$(pgrep -P "$TINI")
echo "process tree: tini pid $TINI (uid $(awk '/^Uid:/{print $2}' "/proc/$TINI/status")) → node pid $NODE_PID (uid $(awk '/^Uid:/{print $2}' "/proc/$NODE_PID/status"))"
step "check: the image's HEALTHCHECK command"
HC=$(sed -n 's/^  CMD //p' "$REPO/Dockerfile")
as_user sh -c "$HC" && echo "HEALTHCHECK: healthy (exit 0)"
step "check: /metrics"
curl -fsS "http://127.0.0.1:$HPORT/metrics" | grep -c '^lookout_' | sed 's/^/lookout_ sample lines: /'
step "check: SIGTERM to tini (what docker stop sends) → drain and exit 0"
kill -TERM "$TINI"
started=$(date +%s%N)
set +e
wait "$TINI"
code=$?
set -e
echo "stopped in $(( ($(date +%s%N) - started) / 1000000 )) ms"
grep -o 'SIGTERM[^"]*' "$OUT/lookout.log" | head -1 || true
echo "exit status: $code"
redis-cli -p "$RPORT" --scan --pattern "$LOOKOUT_PREFIX*" | xargs -r redis-cli -p "$RPORT" del >/dev/null
[ "$code" = 0 ] || { tail -20 "$OUT/lookout.log" >&2; exit 1; }
step "OK: the Dockerfile's steps build and run (scratch dir $OUT)"
