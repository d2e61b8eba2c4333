# canary-judge container: build on a full Node 20 image (native better-sqlite3 needs a toolchain),
# run on node:20-slim with production dependencies only, as a non-root user.
#
#   docker build -t canary-judge .
#   docker run -p 4317:4317 -p 4318:4318 -p 8686:8686 -v canary-judge-data:/data canary-judge
#
# Config is read from /etc/canary-judge/config.json (mount your own there); state lives in /data.

FROM node:20-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# `npm run build` compiles the sidecar only (tsconfig.build.json); bench/ and demo/ are not in the image.
RUN npm run build \
 && npm prune --omit=dev

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    CANARY_JUDGE_OTLP_GRPC_HOST=0.0.0.0 \
    CANARY_JUDGE_OTLP_HTTP_HOST=0.0.0.0 \
    CANARY_JUDGE_API_HOST=0.0.0.0 \
    CANARY_JUDGE_STORAGE_PATH=/data/canary-judge.sqlite
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY proto ./proto
COPY config.example.json /etc/canary-judge/config.json
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 4317 4318 8686
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8686/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "dist/src/main.js"]
CMD ["--config", "/etc/canary-judge/config.json"]
