# syntax=docker/dockerfile:1
# jit-access-bot: build the TypeScript once, run the compiled JavaScript on a slim Node 22 LTS image.
# Node 22 because it is the LTS line with the longest support ahead (the AWS SDK warns it will need it from 2027);
# the code still targets Node 20.12+ (package.json engines), so the image can be moved back if a platform needs it.

FROM node:22-bookworm-slim AS build
WORKDIR /app
# Dependencies first, so editing the source does not reinstall them.
COPY package.json package-lock.json ./
# --ignore-scripts: the package's own `prepare` would compile now, before the sources below are copied in;
# the build runs explicitly once they are. No dependency needs its install script to compile the bot.
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:22-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the package's `prepare` compiles with tsc, a dev dependency this stage leaves out, and the
# compiled code comes from the build stage anyway. The runtime dependencies' own install scripts are not needed:
# protobufjs's only prints version advice, and msgpackr-extract's native addon arrives as a prebuilt package.
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist ./dist
# The example policy; mount your own over /app/policy.yml (or point JIT_POLICY_FILE elsewhere).
COPY policy.yml ./
# The files stay root-owned and read-only to the bot; it writes nothing to disk. `node` is uid 1000, which the
# Kubernetes manifests (deploy/kubernetes) name as runAsUser.
USER node
EXPOSE 3000
# No curl in slim images: ask /healthz with node itself (PORT if set, else 3000).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD node -e "require('node:http').get({host:'127.0.0.1',port:process.env.PORT||3000,path:'/healthz',timeout:4000},(r)=>process.exit(r.statusCode===200?0:1)).on('timeout',()=>process.exit(1)).on('error',()=>process.exit(1))"
# Not `npm start`: its prestart compiles first, which needs the dev dependencies this image leaves out.
# Running node directly also lets SIGTERM reach the bot, which shuts down gracefully (see README, Operations).
# The heap flags are `npm start`'s: the bot's live heap is about 35 MiB with 10,000 grants active, and without a
# cap V8 lets garbage grow the process past 250 MiB under a burst of expiries (docs/BENCHMARKS.md, "Memory").
CMD ["node", "--max-old-space-size=128", "--max-semi-space-size=4", "dist/main.js"]
