# syntax=docker/dockerfile:1
# smgate gateway image: multi-stage (build with dev dependencies, run with production ones), non-root,
# healthcheck on the metrics listener. Not built in CI here (no Docker engine); linted with dockerfile-utils.

FROM node:20-bookworm-slim AS build
WORKDIR /src
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-fund --no-audit --ignore-scripts \
 && npm rebuild pkcs11js
COPY tsconfig.json tsconfig.build.json ./
COPY proxy ./proxy
COPY crypto ./crypto
COPY keystore ./keystore
COPY policy ./policy
COPY audit ./audit
COPY plugins/installer ./plugins/installer
COPY cli ./cli
COPY bench ./bench
COPY native ./native
COPY scripts ./scripts
# the native relay addon (passthrough sessions off Node's event loop); the image requires it
RUN SMGATE_REQUIRE_NATIVE=1 node scripts/build-native.mjs \
 && npx tsc -p tsconfig.build.json \
 && npm prune --omit=dev --no-fund --no-audit

FROM node:20-bookworm-slim AS run
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system smgate && useradd --system --gid smgate --home-dir /var/lib/smgate smgate \
 && mkdir -p /etc/smgate /var/lib/smgate /var/log/smgate \
 && chown smgate:smgate /var/lib/smgate /var/log/smgate
WORKDIR /opt/smgate
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/native/build/Release/smgate_relay.node ./native/build/Release/smgate_relay.node
COPY docs ./docs
USER smgate
ENV NODE_ENV=production
EXPOSE 6432 3307 9187 8443
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9187/health').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/opt/smgate/dist/cli/main.js"]
CMD ["start", "--config", "/etc/smgate/smgate.yaml"]
