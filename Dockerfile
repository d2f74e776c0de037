# Lookout container image — see docs/deploy.md.
#
#   docker build -t lookout:local .
#   docker run --rm -p 8080:8080 -e REDIS_URL=redis://redis:6379 \
#     -v "$PWD/deploy/config:/etc/lookout:ro" lookout:local
#
# Three stages, all on node:20-bookworm-slim:
#   build  — every dependency (incl. TypeScript), then `npm run build:image` → dist/src, dist/web
#            (what the image ships: the benches, chaos drills and tests are not built into it)
#   deps   — production dependencies only
#   (last) — the runtime: dist/src, dist/web + web/console/static (the console), bin/, scripts/, rules/, templates/,
#            package.json, production node_modules,
#            tini as PID 1, running as the unprivileged `node` user.
#
# package.json has `"prepare": "npm run build"`, which `npm ci` runs after installing. Both
# installs below pass --ignore-scripts on purpose: in the build stage the sources are not copied
# yet when the dependencies are installed (so that layer stays cached while src/ changes), and the
# build runs explicitly afterwards; in the deps stage there is no TypeScript to run `tsc` with.
# No dependency needs its install script at run time: msgpackr-extract (optional, used by BullMQ
# through msgpackr) loads its prebuilt binary from @msgpackr-extract/* without one, and esbuild is
# a test-only dependency.

# ---- build: compile TypeScript -------------------------------------------------------------------
FROM node:20-bookworm-slim AS build
WORKDIR /app
ENV npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.image.json ./
COPY src ./src
COPY web ./web
RUN npm run build:image

# ---- deps: production node_modules only --------------------------------------------------------
FROM node:20-bookworm-slim AS deps
WORKDIR /app
ENV npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force

# ---- runtime -------------------------------------------------------------------------------------
FROM node:20-bookworm-slim AS runtime
# tini: PID 1 that forwards SIGTERM/SIGINT to node (Lookout drains in-flight jobs, then exits 0)
# and reaps zombies. fonts-wqy-microhei: labels of the campaign reports' chart PNGs (without a
# font the bars still render, unlabelled). No redis-server here: the compose file (or REDIS_URL)
# provides Redis.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini fonts-wqy-microhei \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production \
    LOOKOUT_DATA_DIR=/var/lib/lookout \
    LOOKOUT_CONFIG_DIR=/etc/lookout \
    LOOKOUT_HTTP_PORT=8080
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/dist/web ./dist/web
COPY package.json package-lock.json ./
COPY bin ./bin
COPY scripts ./scripts
COPY rules ./rules
COPY templates ./templates
COPY web/console/static ./web/console/static
# The data dir (outbox, embedded Redis if REDIS_URL is unset) belongs to the runtime user; a
# named volume mounted there starts with this ownership. /etc/lookout is mounted read-only.
RUN mkdir -p /var/lib/lookout /etc/lookout \
 && chown node:node /var/lib/lookout
USER node
EXPOSE 8080
# /healthz is served by the api role; a worker- or scheduler-only container has no HTTP server and
# should run with the health check disabled (compose.yaml does that for the split roles).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.LOOKOUT_HTTP_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"
ENTRYPOINT ["tini", "--", "node", "bin/lookout.js"]
CMD ["start", "--role", "all"]
