# Cranberries container image: one image for every role (serve, worker, controller, gateway, infer, bench).
#
#   docker build -t cranberries .
#   docker run --rm -p 8000:8000 -p 8001:8001 -p 8002:8002 cranberries
#
# test/deploy/dockerfile.test.ts checks this file statically (stages, COPY sources, entry point, ports,
# health check), so keep its instructions in the plain forms that test understands.

# ---- build: all dependencies, compile TypeScript and the UI to dist/ ----------------------------------
FROM node:20-bookworm-slim AS build
WORKDIR /app
# Package files first so the dependency layer is reused while only sources change. --ignore-scripts
# skips onnxruntime-node's postinstall (it would fetch CUDA binaries; package.json's allowScripts denies
# it too) and our `prepare` (tsc), which cannot run before the sources are here.
COPY package.json package-lock.json .npmrc ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
# The administration UI's browser sources (Vite builds them into dist/ui).
COPY ui ./ui
RUN npm run build

# ---- runtime: production dependencies, compiled code, protos, bundled models ---------------------------
FROM node:20-bookworm-slim AS runtime
WORKDIR /app
ENV NODE_ENV=production
# glibc keeps freed model memory unless trimming is forced; with 0 an unloaded model's memory returns to
# the OS (docs: ResNet-50 session ~320 MB -> ~178 MB resident, ~85 MB after release, same speed).
ENV MALLOC_TRIM_THRESHOLD_=0
# The Python backend (model.py, scikit-learn model.joblib, TorchScript model.pt) runs Debian's python3
# with its NumPy, SciPy, scikit-learn and PyTorch; the bundled iris, signal_filter and
# digits_torchscript models need them. CPU-only torch; no pip.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-numpy python3-scipy python3-sklearn python3-torch \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json .npmrc ./
# --ignore-scripts: `prepare` needs typescript (a dev dependency) and the code is compiled already.
# onnxruntime-node ships CPU binaries for every platform; only Linux's are loadable here.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && find node_modules/onnxruntime-node/bin -mindepth 2 -maxdepth 2 -type d ! -name linux -exec rm -rf {} + \
 && npm cache clean --force
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/dist/ui ./dist/ui
COPY proto ./proto
COPY python ./python
COPY models /models
# The bundled inception_v3's weights are generated from the nsfwjs npm package (installed above as a
# production dependency), never copied: scripts/build-inception-v3.mjs writes /models/inception_v3/1.
COPY scripts/build-inception-v3.mjs ./scripts/build-inception-v3.mjs
RUN node scripts/build-inception-v3.mjs --force --out /models/inception_v3/1
# The CLI's default --model-repository is <package root>/models: point it at the bundled models too.
RUN ln -s /models /app/models
# The base image's unprivileged user (uid 1000); models are only read and uploads go to /tmp.
USER node
# HTTP (OIP REST, TF Serving REST), gRPC, Prometheus metrics: the CLI's default ports.
EXPOSE 8000 8001 8002
# Liveness over HTTP with node itself (slim images have no curl). CRANBERRIES_HEALTH_PORT follows a
# non-default --http-port. The controller serves no HTTP: disable the check for it (see deploy/).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.CRANBERRIES_HEALTH_PORT || 8000) + '/v2/health/live', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["serve", "--model-repository", "/models"]
