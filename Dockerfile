# syntax=docker/dockerfile:1
# Touchline image: build with the dev toolchain, ship only what `node dist/src/main.js` needs.
#   docker build -t touchline:0.1.0 .
#   docker run --rm touchline:0.1.0 help
# The runtime stage holds dist/, avro/ (the Avro schemas are read at run time from
# /app/avro, next to /app/dist), package*.json and production node_modules; nothing else.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    NODE_OPTIONS="--max-old-space-size=192 --enable-source-maps" \
    HTTP_PORT=8080
WORKDIR /app
COPY package.json package-lock.json ./
# Installed as root and left owned by root: the service user can read but not change its code.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY avro ./avro
COPY config ./config
# The node image's unprivileged user (uid 1000); Kubernetes checks runAsNonRoot by the numeric id.
USER 1000:1000
EXPOSE 8080
# Liveness only (/healthz); readiness (/readyz) is for orchestrators that route or order by it.
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.HTTP_PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/src/main.js"]
CMD ["serve"]
