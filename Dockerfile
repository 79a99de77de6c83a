# One stockledger node. Node 20 runs the TypeScript through tsx (a runtime dependency); lmdb ships
# prebuilt binaries for linux-x64/arm64 glibc, hence the Debian (not Alpine) base.
FROM node:20-bookworm-slim

WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
COPY actors ./actors
COPY adapters ./adapters
COPY engine ./engine
COPY tsconfig.json ./

# The data directory (LMDB log and snapshots) is the node's own record: keep it on a volume.
ENV STOCKLEDGER_DATA_DIR=/data HOST=0.0.0.0 PORT=3000
RUN mkdir -p /data && chown node:node /data
VOLUME /data
USER node
EXPOSE 3000
# SIGTERM drains: readiness turns false, the node finishes its requests and commits, then exits 0.
STOPSIGNAL SIGTERM
CMD ["node", "--max-semi-space-size=64", "engine/stockledger.js", "serve"]
