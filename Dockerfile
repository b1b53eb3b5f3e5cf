# Orchestrator image: one image for the API (default command) and the worker
# (temporal-docker-compose.yml overrides the command with `node dist/worker/main.js`).
# The service runs compiled JavaScript (under tsx each process held ~80 MB more); TypeScript is a
# dev dependency, so it compiles in a stage of its own.

ARG NODE_IMAGE=node:20-bookworm-slim

# --- production dependencies, built with a toolchain that stays out of the final image ---------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
# python3/make/g++ for optional native addons (ssh2's cpu-features under dockerode).
# Unpinned apt packages on purpose: bookworm's current (security-patched) versions.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 make g++ \
    && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
    && npm cache clean --force

# --- compiled JavaScript ---------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build

# --- runtime ----------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
# git for clones, worktrees and pushes (worker); openssh-client for ssh remotes; CA roots for https.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends git openssh-client ca-certificates \
    && rm -rf /var/lib/apt/lists/*

ENV NODE_ENV=production \
    ORCHESTRATOR_HOST=0.0.0.0 \
    ORCHESTRATOR_PORT=3001 \
    WORKSPACE_ROOT=/data/workspaces

WORKDIR /app
# Code and dependencies stay root-owned and read-only to the service user.
COPY --from=deps /app/node_modules ./node_modules
COPY . .
COPY --from=build /app/dist ./dist
# The workspace volume takes this directory's owner on first mount, so the non-root user can write it.
RUN mkdir -p /data/workspaces && chown node:node /data/workspaces

# uid/gid 1000 is the `node` user of the base image; numeric so runtimes can verify it is not root.
USER 1000:1000
EXPOSE 3001
CMD ["node", "dist/api/main.js"]
