// System packages the tests need that npm cannot install. As root they are installed with apt-get;
// otherwise the suite stops with the exact command to run.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

/** What the bundled Python-backend models (models/iris, digits_torchscript, signal_filter) need. */
function PYTHON_MODEL_PACKAGES() {
  return {
    python3: '/usr/bin/python3',
    'python3-numpy': '/usr/lib/python3/dist-packages/numpy/__init__.py',
    'python3-scipy': '/usr/lib/python3/dist-packages/scipy/__init__.py',
    'python3-sklearn': '/usr/lib/python3/dist-packages/sklearn/__init__.py',
    'python3-torch': '/usr/lib/python3/dist-packages/torch/__init__.py',
  };
}
export const PYTHON_PACKAGES = PYTHON_MODEL_PACKAGES();

/** Debian package → a file whose presence proves it is installed. */
export const SYSTEM_PACKAGES = {
  // Wire compatibility from Python (test/e2e/python-clients.test.ts): stubs, gRPC and arrays.
  'python3-grpcio': '/usr/lib/python3/dist-packages/grpc/__init__.py',
  'python3-grpc-tools': '/usr/lib/python3/dist-packages/grpc_tools/__init__.py',
  'python3-numpy': '/usr/lib/python3/dist-packages/numpy/__init__.py',
  // The Python backend and the bundled Python examples (src/backends/python, test/e2e/python-backend.test.ts).
  ...PYTHON_MODEL_PACKAGES(),
  // A private ZooKeeper server for the cluster tests (test/helpers/zookeeper.ts); Java 17 is preinstalled.
  zookeeper: '/usr/share/java/zookeeper.jar',
  // A real carbon-cache and whisper-fetch for the Graphite push tests (test/helpers/carbon.ts).
  'graphite-carbon': '/usr/bin/carbon-cache',
  'python3-whisper': '/usr/bin/whisper-fetch',
  // Compose v1 validates the deploy/ compose files offline (test/deploy/compose-files.test.ts; brings PyYAML).
  'docker-compose': '/usr/bin/docker-compose',
  // The README's commands use jq (test/e2e/readme-commands.test.ts runs them).
  jq: '/usr/bin/jq',
  // A real browser for the administration UI tests (test/e2e/admin-ui*.test.ts, driven by playwright-core).
  chromium: '/usr/bin/chromium',
};

/** What `npm run bench` needs besides the test packages: torch and torchvision export the ResNet-18. */
export const BENCH_PACKAGES = {
  'python3-torch': '/usr/lib/python3/dist-packages/torch/__init__.py',
  'python3-torchvision': '/usr/lib/python3/dist-packages/torchvision/__init__.py',
  'python3-onnx': '/usr/lib/python3/dist-packages/onnx/__init__.py',
  // B8's peers in front of the same worker as the gateway (bench/suite/peers.ts).
  'nginx-light': '/usr/sbin/nginx',
  haproxy: '/usr/sbin/haproxy',
};

export function ensureSystemPackages(packages = SYSTEM_PACKAGES) {
  const missing = Object.entries(packages)
    .filter(([, proof]) => !existsSync(proof))
    .map(([name]) => name);
  if (missing.length === 0) return;
  const install = `apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends ${missing.join(' ')}`;
  if (process.getuid?.() !== 0) {
    console.error(`These Debian packages are needed: ${missing.join(' ')}\nInstall them with:\n  sudo apt-get update && sudo ${install}`);
    process.exit(1);
  }
  console.log(`Installing system packages: ${missing.join(' ')}`);
  const sh = (cmd) => spawnSync('bash', ['-c', cmd], { stdio: 'inherit' }).status === 0;
  if (!sh(install) && !(sh('apt-get update') && sh(install))) {
    console.error(`Could not install ${missing.join(' ')}: run \`apt-get update && ${install}\` and retry.`);
    process.exit(1);
  }
}
