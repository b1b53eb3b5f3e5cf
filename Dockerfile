# Orchestrator image: one image for the API (default command) and the worker
# (temporal-docker-compose.yml overrides the command with `node --import tsx worker/main.ts`).
# The service runs its TypeScript with tsx (a runtime dependency), so there is no compile stage.

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
# The workspace volume takes this directory's owner on first mount, so the non-root user can write it.
RUN mkdir -p /data/workspaces && chown node:node /data/workspaces

# uid/gid 1000 is the `node` user of the base image; numeric so runtimes can verify it is not root.
USER 1000:1000
EXPOSE 3001
CMD ["node", "--import", "tsx", "api/main.ts"]
