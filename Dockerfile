# Gatehouse runs its TypeScript sources directly on Node 24 (type stripping): the server has no
# build step, only production dependencies. The console (web/) is built with Vite in its own stage.
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY patches ./patches
# npm install (not ci): see scripts/install.sh for why the lock file may lack platform packages.
# patch-package (a dev dependency) applies patches/, then the dev dependencies are pruned.
RUN npm install --ignore-scripts --no-audit --no-fund \
 && npx --no-install patch-package --error-on-fail \
 && npm prune --omit=dev --no-audit --no-fund

# The console and account page: web/ → web/dist (served at /console/ and /account/).
FROM deps AS web
RUN npm install --ignore-scripts --no-audit --no-fund
COPY web ./web
COPY src/gen ./src/gen
RUN npx --no-install vite build --config web/vite.config.ts --logLevel warn

FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATA_DIR=/var/lib/gatehouse
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY src ./src
COPY --from=web /app/web/dist ./web/dist
RUN mkdir -p /var/lib/gatehouse && chown node:node /var/lib/gatehouse
USER node
EXPOSE 8080
# SIGTERM drains in-flight calls, then exits 0.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# --max-semi-space-size=8: young-generation pauses of ≈ 2 ms instead of 12–20 ms; and no
# allocation-site pretenuring: V8 otherwise put per-call objects in the old generation, whose
# collections then stalled calls for 60–160 ms (BENCHMARKS.md, findings 5 and 18).
CMD ["node", "--max-semi-space-size=8", "--no-allocation-site-pretenuring", "src/main.ts"]
