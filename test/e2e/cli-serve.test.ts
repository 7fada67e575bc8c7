/**
 * `cranberries serve` as users run it: a real process on the bundled repository, in its default
 * mode (a one-node cluster over the embedded coordination store, with the cluster admin API).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../helpers/test-server.js';
import { BUNDLED_MODELS } from '../helpers/bundled-models.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
let child: ChildProcess;
let url: string;

before(async () => {
  child = spawn(process.execPath, ['dist/src/cli/main.js', 'serve', '--host', '127.0.0.1', '--http-port', '0', '--grpc-port', '0', '--metrics-port', '0'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // The chosen ports are logged as one JSON line: {"http": ..., "grpc": ..., "metrics": ...}.
  const lines = createInterface({ input: child.stdout! });
  url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('serve did not log its ports within 60 s')), 60_000);
    lines.on('line', (line) => {
      const entry = JSON.parse(line) as { http?: number };
      if (typeof entry.http === 'number') {
        clearTimeout(timer);
        resolve(`http://127.0.0.1:${entry.http}`);
      }
    });
  });
  await waitFor(async () => (await fetch(`${url}/v2/models/digits/ready`)).status === 200, 60_000, 'digits to be ready');
  // The slowest bundled model (TensorFlow.js): the desired-state changes below expect a settled cluster.
  await waitFor(async () => (await fetch(`${url}/v2/models/inception_v3/ready`)).status === 200, 120_000, 'inception_v3 to be ready');
});

after(() => {
  child?.kill('SIGTERM');
});

test('the README’s curl request classifies the real digit', async () => {
  const body = await readFile(`${ROOT}/examples/digits/request.json`);
  const expected = JSON.parse(await readFile(`${ROOT}/examples/digits/request.expected.json`, 'utf8')) as { label: number };
  const response = await fetch(`${url}/v2/models/digits/infer`, { method: 'POST', body });
  assert.equal(response.status, 200);
  const result = (await response.json()) as { outputs: { name: string; data: number[] }[] };
  assert.deepEqual(result.outputs.find((o) => o.name === 'label')!.data, [expected.label]);
});

test('the cluster admin API lists the node and changes the desired state', async () => {
  const nodes = (await (await fetch(`${url}/v2/cluster/nodes`)).json()) as { nodes: { id: string; models: { name: string }[] }[] };
  assert.equal(nodes.nodes.length, 1);
  assert.deepEqual(nodes.nodes[0]!.models.map((m) => m.name).sort(), BUNDLED_MODELS);

  let response = await fetch(`${url}/v2/cluster/models/diabetes/replicas`, { method: 'PUT', body: JSON.stringify({ replicas: 0 }), headers: { 'content-type': 'application/json' } });
  assert.equal(response.status, 200);
  await waitFor(async () => (await fetch(`${url}/v2/models/diabetes/ready`)).status === 400, 30_000, 'diabetes to unload');
  assert.equal((await fetch(`${url}/v2/models/digits/ready`)).status, 200, 'other models keep serving');

  response = await fetch(`${url}/v2/cluster/models/diabetes/replicas`, { method: 'PUT', body: JSON.stringify({ replicas: 1 }), headers: { 'content-type': 'application/json' } });
  assert.equal(response.status, 200);
  await waitFor(async () => (await fetch(`${url}/v2/models/diabetes/ready`)).status === 200, 30_000, 'diabetes to load again');
});
