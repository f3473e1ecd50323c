# Warden worker / HTTP server image. Temporal itself runs as its own service (see docker-compose.yml).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY bin ./bin
COPY src ./src
RUN WARDEN_SKIP_TEMPORAL_SETUP=1 WARDEN_SKIP_MODEL_SETUP=1 npm ci

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts ./scripts
COPY bin ./bin
COPY policy ./policy
COPY playbooks ./playbooks
COPY --from=build /app/dist ./dist
RUN WARDEN_SKIP_TEMPORAL_SETUP=1 WARDEN_SKIP_MODEL_SETUP=1 npm ci --omit=dev && npm cache clean --force
# The data directory exists, owned by node, so a named volume mounted there is writable (API tokens).
RUN mkdir -p /app/.warden /var/lib/warden/witness && chown node:node /app/.warden /var/lib/warden/witness && chmod 700 /app/.warden /var/lib/warden/witness
USER node
EXPOSE 8787 8788
ENTRYPOINT ["node", "bin/warden.js"]
CMD ["worker"]
