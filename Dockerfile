# notify-gateway image: compiled gateway + production dependencies (pm2 is one of them).
# docker-compose.yml runs it twice: once as the one-shot "migrate" service, then as the
# "gateway" service under pm2-runtime with ecosystem.config.js (4 processes).
# Node >= 20.19 is required: pm2 require()s the ESM ecosystem.config.js.

FROM node:20.20.2-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
COPY migrations ./migrations
# tsc for the server, esbuild (scripts/build-client.mjs) for the SDK and demo in dist/client.
RUN npm run build && npm prune --omit=dev

FROM node:20.20.2-bookworm-slim
ENV NODE_ENV=production \
    PATH=/app/node_modules/.bin:$PATH
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ecosystem.config.js ./
# pm2 keeps its state in ~/.pm2; the unprivileged "node" user of the base image owns it.
USER node
EXPOSE 3001 3002 3003 3004
CMD ["pm2-runtime", "ecosystem.config.js", "--env", "production"]
