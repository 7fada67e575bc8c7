// `npm start`: serve the bundled repository (models/). Three of its models run on the Python
// backend and need Debian packages (python3-numpy, -scipy, -sklearn, -torch). Without them those
// models are UNAVAILABLE with a reason naming the package, and a strict server (the default) would
// never report ready; so when any is missing this script says what to install and serves with
// `--strict-readiness=false`: the ONNX models serve and the server reports ready. `cranberries
// serve` itself stays strict: in production a model that cannot load must keep the server unready.
import { existsSync } from 'node:fs';
import { PYTHON_PACKAGES } from './system-packages.mjs';

const missing = Object.entries(PYTHON_PACKAGES)
  .filter(([, proof]) => !existsSync(proof))
  .map(([name]) => name);
const args = ['serve', ...process.argv.slice(2)];
if (missing.length > 0) {
  console.error(
    `The bundled Python-backend models (iris, digits_torchscript, signal_filter) need: ${missing.join(' ')}\n` +
      `  sudo apt-get install -y --no-install-recommends ${missing.join(' ')}\n` +
      'Serving without them (--strict-readiness=false): those models stay UNAVAILABLE, the others serve.',
  );
  if (!args.some((a) => a.startsWith('--strict-readiness'))) args.push('--strict-readiness=false');
}
process.argv = [process.argv[0], new URL('../dist/src/cli/main.js', import.meta.url).pathname, ...args];
await import('../dist/src/cli/main.js');
