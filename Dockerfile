# syntax=docker/dockerfile:1
# Portcullis container image. Build: docker build -t portcullis:0.1.0 .
# Run:   docker run -p 9192:9192 -e PORTCULLIS_GRPC_ADDRESS=0.0.0.0:9191 -p 9191:9191 portcullis:0.1.0
# test/deploy/dockerfile.test.ts follows these steps (COPY and RUN, in order) without a Docker engine, so
# keep each step a plain COPY or RUN.

# ---- build: compile TypeScript and the Wasm policy runtime, then the policies into a bundle ----
# Node 24: a maintained LTS line (security fixes until April 2028); Debian 13 (trixie) underneath.
FROM node:24-trixie-slim AS build
WORKDIR /app
# Dependencies first: this layer is reused until package-lock.json changes. Scripts are skipped because
# `prepare` builds the sources, which are not copied yet. npm's download cache lives in a BuildKit cache
# mount, reused across builds and never part of a layer.
COPY package.json package-lock.json ./
COPY packages/rego-wasm/package.json ./packages/rego-wasm/package.json
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts
COPY tsconfig.json ./
COPY packages/rego-wasm ./packages/rego-wasm
COPY src ./src
COPY bin ./bin
COPY proto ./proto
RUN npm run build
# Policies are compiled now, not at start-up: the image starts without the compiler's work, and a policy
# that does not compile fails the build instead of the rollout.
COPY policies ./policies
RUN mkdir -p /app/policy && node bin/portcullis.js policy build policies -o /app/policy/bundle.tar.gz -e envoy/authz/allow

# ---- runtime: production dependencies, compiled output and the bundle; no sources, no dev tools ----
# Production dependencies are about 42 MB of node_modules as npm installs them, 19 MB once pruned below (no
# gRPC library: the server speaks gRPC on node:http2 with protobufjs, and its Envoy protos are in proto/; no
# binaryen: a development dependency).
# binaryen's library (14 MB, without its 90 MB of command-line tools) is copied in beside them so the image
# can still compile a mounted directory of .rego (envoy/istio/ mounts one from a ConfigMap); it loads only in
# the child process that compiles, never for the baked-in bundle. About 33 MB in all, down from 170 MB.
FROM node:24-trixie-slim AS runtime
# tini (Debian's package) runs as PID 1: it forwards SIGTERM to Node, which then shuts down as shutdown.*
# says, and reaps zombies. Node as PID 1 would get no default signal handling from the kernel.
RUN apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/*
# MALLOC_ARENA_MAX: glibc's malloc gives threads that contend for it their own arenas (up to 8 per core), each
# keeping its freed memory; Node's few threads need no more than two. Measured (npm run bench:footprint:flags):
# -1.5 MB peak RSS under load, about -1 MB idle, CPU per check within the noise (+1%). npm run bench:footprint
# applies this ENV to the server it measures, as it applies the ENTRYPOINT's Node flags.
ENV NODE_ENV=production MALLOC_ARENA_MAX=2
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/rego-wasm/package.json ./packages/rego-wasm/package.json
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts
# What no running process reads: documentation, source maps, TypeScript declarations and the packages' own
# tests (bintrees alone ships 2.2 MB of test data). Symbolic links (the workspace package) are not followed.
RUN find node_modules -type f \( -name '*.md' -o -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' \) -delete \
  && find node_modules -type d \( -name test -o -name tests -o -name __tests__ \) -prune -exec rm -rf {} +
COPY bin ./bin
COPY proto ./proto
COPY --from=build /app/dist ./dist
COPY --from=build /app/packages/rego-wasm/dist ./packages/rego-wasm/dist
COPY --from=build /app/node_modules/binaryen/package.json /app/node_modules/binaryen/index.js /app/node_modules/binaryen/LICENSE ./node_modules/binaryen/
COPY --from=build /app/policy ./policy
COPY envoy/portcullis.yaml ./portcullis.yaml
# The admin address lives here once: the image's portcullis.yaml reads it, and so does the HEALTHCHECK.
ENV PORTCULLIS_CONFIG=/app/portcullis.yaml PORTCULLIS_ADMIN_ADDRESS=0.0.0.0:9192
# A numeric non-root user: Kubernetes can verify runAsNonRoot against it, and nothing in /app is writable
# by it (the root filesystem may be mounted read-only).
USER 10001:10001
# 9191: ext_authz gRPC (Check and grpc.health.v1.Health); 9192: admin HTTP (/healthz, /readyz, /metrics).
EXPOSE 9191 9192
# GET /healthz on the admin port named by PORTCULLIS_ADMIN_ADDRESS, with bash alone (a few MB for a few ms;
# a Node process per probe would cost ~80 MB every interval, and the slim image has no curl).
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["/bin/bash", "/app/bin/portcullis-healthcheck"]
# tini passes SIGTERM on to Node; exec form, so no shell sits in between. Node's heap is sized for a sidecar:
# - an 8 MB young generation (V8's default grows to 16 MB per semi-space): an idle sidecar settles at the
#   same RSS whatever its size (~63 MB serving a bundle: V8's memory reducer gives the young generation back
#   once the process is idle), and under load 8 MB collects it a quarter as often as 2 MB did (the image's
#   size before), for 25-35% less CPU per check at saturation; the server peaks ~13 MB higher across reloads
#   than with 2 MB, ~15 MB lower than with 16 (docs/deploy.md, "The young generation");
# - a 256 MB old generation makes V8 size its heap as on a small device: between full collections it lets the
#   heap grow to ~1.4x the live data instead of 4x, so under load the server peaks at ~100 MB instead of
#   ~160 MB, and each full collection is short (checks in flight are promoted at every young collection, so
#   under load the old generation fills with their garbage). A policy whose data needs more heap than that
#   fails to load with "heap out of memory": run `node --max-old-space-size=N /app/bin/portcullis.js` then.
# The Rego compiler's child process runs without these flags. npm run bench:footprint and bench:deploy-memory
# read them from here.
ENTRYPOINT ["/usr/bin/tini", "--", "node", "--max-semi-space-size=8", "--max-old-space-size=256", "/app/bin/portcullis.js"]
CMD ["serve"]
