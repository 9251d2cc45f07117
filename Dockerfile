# syntax=docker/dockerfile:1
# Portcullis container image. Build: docker build -t portcullis:0.1.0 .
# Run:   docker run -p 9191:9191 -p 9192:9192 portcullis:0.1.0
# test/deploy/dockerfile.test.ts follows these steps (COPY and RUN, in order) without a Docker engine, so
# keep each step a plain COPY or RUN.

# ---- build: compile TypeScript and the Wasm policy runtime, then the policies into a bundle ----
FROM node:20-bookworm-slim AS build
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
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/rego-wasm/package.json ./packages/rego-wasm/package.json
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts
COPY bin ./bin
COPY proto ./proto
COPY --from=build /app/dist ./dist
COPY --from=build /app/packages/rego-wasm/dist ./packages/rego-wasm/dist
COPY --from=build /app/policy ./policy
COPY envoy/portcullis.yaml ./portcullis.yaml
ENV PORTCULLIS_CONFIG=/app/portcullis.yaml
# A numeric non-root user: Kubernetes can verify runAsNonRoot against it, and nothing in /app is writable
# by it (the root filesystem may be mounted read-only).
USER 10001:10001
# 9191: ext_authz gRPC (Check and grpc.health.v1.Health); 9192: admin HTTP (/healthz, /readyz, /metrics).
EXPOSE 9191 9192
# node:*-slim has no curl; Node's own fetch asks the admin port whether the process is alive.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9192/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Signals reach Node directly (exec form), so SIGTERM drains in-flight checks before exit.
ENTRYPOINT ["node", "/app/bin/portcullis.js"]
CMD ["serve"]
