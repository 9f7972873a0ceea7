# syntax=docker/dockerfile:1
# concur-launch-connector image: docker build -t concur-launch-connector .
# Two stages: the first compiles TypeScript and prunes dev dependencies, the second holds only
# what runs (dist/, production node_modules, views/, public/, config/) and runs as a non-root user.

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# node-gyp finds the headers in the image instead of downloading them.
ENV npm_config_nodedir=/usr/local
# better-sqlite3 is a native addon: its prebuilt binary is used when one matches, else it is compiled.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY src ./src
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    PORT=3000 \
    CONNECTOR_DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY views ./views
COPY public ./public
COPY config ./config
COPY locales ./locales
# Files stay owned by root and read-only to the app; only /data (SQLite) and /tmp are written.
RUN mkdir -p /data && chown 1000:1000 /data
# The node image's unprivileged "node" user, by number so Kubernetes can check runAsNonRoot.
USER 1000:1000
EXPOSE 3000
VOLUME ["/data"]
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Migrations in a separate step: docker run ... node dist/cli.js migrate
CMD ["node", "dist/main.js"]
