# One image for every process:
#   API (default):  docker run -p 3000:3000 banatie
#   worker:         docker run banatie node apps/worker/dist/main.js
#   migrations:     docker run banatie node apps/cli/dist/main.js migrate
#   CLI:            docker run banatie node apps/cli/dist/main.js key create org/project --name me
#                   (or `npx banatie-server …`: the CLI's bin shim is linked by `npm ci`)
# Configuration comes from the environment only (see README.md).

# The same major as the tests run on (the project's `node` devDependency, SPEC §10).
ARG NODE_IMAGE=node:24-bookworm-slim

# --- workspace manifests only, so `npm ci` stays cached until one changes ---
FROM ${NODE_IMAGE} AS manifests
WORKDIR /src
COPY apps ./apps
COPY packages ./packages
RUN mkdir /out \
 && find apps packages -mindepth 2 -maxdepth 2 -name package.json -exec cp --parents {} /out/ \; \
 && cp -r --parents apps/cli/bin packages/cli/bin /out/

# --- all dependencies (dev included: typescript builds the code) ---
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
COPY package.json package-lock.json ./
COPY --from=manifests /out/ ./
RUN npm ci

# --- compile, then drop dev dependencies and sources ---
FROM deps AS build
COPY . .
RUN npm run build
# Test-only code (the testing workspace: fake Gemini, s3rver harness) never ships;
# its own packages are devDependencies, so the prune already dropped them.
RUN npm prune --omit=dev \
 && rm -rf packages/testing node_modules/@banatie/testing \
 && find apps packages -mindepth 2 -maxdepth 2 \
      \( -name src -o -name test -o -name 'tsconfig*.json' \) -prune -exec rm -rf {} + \
 && find apps packages -name '*.tsbuildinfo' -delete

# --- runtime ---
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    STORAGE_DIR=/app/data/storage \
    npm_config_update_notifier=false
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/packages ./packages
COPY --from=build /app/apps ./apps
# Read at run time by the migrator (packages/db resolves ../../../migrations).
COPY --from=build /app/migrations ./migrations
# The only writable place: filesystem storage when S3_ENDPOINT is not set.
RUN mkdir -p /app/data/storage && chown -R node:node /app/data
USER node
EXPOSE 3000
# The API's V8 flags (the same as `npm run start:api`; see docs/decisions.md):
# young generation capped at 16 MB per semi-space, old generation grown by at
# most 1.5x between full collections.
CMD ["node", "--max-semi-space-size=16", "--heap-growing-percent=50", "apps/api/dist/server.js"]
