# canary-judge container: build on a full Node 20 image (native better-sqlite3 needs a toolchain),
# run on node:20-slim with production dependencies only, as a non-root user.
#
# The listeners bind 0.0.0.0 so the published ports work, so the bearer tokens are required: they are read
# from files at /run/secrets/ (Docker and Compose secrets mount there; in Kubernetes use a Secret, as
# deploy/kubernetes/ does), and the container refuses to start, naming the variable, when one is missing.
#
#   docker build -t canary-judge .
#   openssl rand -hex 32 > api-token; openssl rand -hex 32 > otlp-token
#   docker run -p 4317:4317 -p 4318:4318 -p 8686:8686 -v canary-judge-data:/data \
#     --mount type=bind,src="$PWD/api-token",dst=/run/secrets/canary-judge-api-token,readonly \
#     --mount type=bind,src="$PWD/otlp-token",dst=/run/secrets/canary-judge-otlp-token,readonly \
#     canary-judge
#
# To run without a token anyway, set the variable empty (-e CANARY_JUDGE_API_AUTH_TOKEN_FILE=); the
# sidecar then warns at start that the listener is open. Config is read from
# /etc/canary-judge/config.json (mount your own there); state lives in /data (the database file, mode
# 0600, holds the webhook secrets of analyses created through the API).

FROM node:20-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts ./scripts
# `npm run build` type-checks and compiles the sidecar (tsconfig.build.json; bench/ and demo/ are not in the
# image) and joins it into one file, dist/bundle/main.js (scripts/bundle.ts), which the runtime stage runs.
RUN npm run build \
 && npm prune --omit=dev

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    CANARY_JUDGE_OTLP_GRPC_HOST=0.0.0.0 \
    CANARY_JUDGE_OTLP_HTTP_HOST=0.0.0.0 \
    CANARY_JUDGE_API_HOST=0.0.0.0 \
    CANARY_JUDGE_OTLP_AUTH_TOKEN_FILE=/run/secrets/canary-judge-otlp-token \
    CANARY_JUDGE_API_AUTH_TOKEN_FILE=/run/secrets/canary-judge-api-token \
    CANARY_JUDGE_STORAGE_PATH=/data/canary-judge.sqlite
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/bundle ./dist/bundle
COPY proto ./proto
# The report page's own files (served at / on the API port; uPlot comes from node_modules).
COPY web ./web
COPY config.example.json /etc/canary-judge/config.json
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 4317 4318 8686
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8686/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "--max-semi-space-size=8", "dist/bundle/main.js"]
CMD ["--config", "/etc/canary-judge/config.json"]
