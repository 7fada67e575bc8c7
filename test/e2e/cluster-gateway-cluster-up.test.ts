/**
 * `cranberries cluster up`: one command starts ZooKeeper, a controller, workers and a gateway on
 * loopback, prints the addresses, serves inference through the gateway, and stops everything on
 * SIGINT (Ctrl-C).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../src/cluster/zookeeper-process.js';
import { addSubModel, createTempModelRepository, type TempModelRepository } from '../fixtures/onnx-models.js';
import { addSubRequests } from './cluster-gateway-harness.js';
import { eventually } from '../helpers/eventually.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('cranberries cluster up', { timeout: 150_000 }, () => {
  let repo: TempModelRepository;

  before(async () => {
    repo = await createTempModelRepository({ add_sub: { versions: { 1: addSubModel('FP32', [4]) }, config: 'max_batch_size: 8\n' } });
  });

  after(async () => {
    await repo?.remove();
  });

  it('starts a whole cluster, serves through the gateway, and stops it all on Ctrl-C', async () => {
    const base = await freePort();
    const child = spawn(process.execPath, [MAIN, 'cluster', 'up', '--workers', '2', '--default-replicas', '2', '--model-repository', repo.root, '--base-port', String(base), '--log-level', 'warn'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await eventually(() => output.includes('cluster ready') || (child.exitCode !== null && assert.fail(output)), 'the cluster to be ready', 100_000);
      assert.match(output, new RegExp(`gateway\\s+HTTP http://127\\.0\\.0\\.1:${base}\\s+gRPC 127\\.0\\.0\\.1:${base + 1}`));
      assert.match(output, new RegExp(`worker-2\\s+HTTP 127\\.0\\.0\\.1:${base + 20}`));
      assert.match(output, /ZooKeeper\s+127\.0\.0\.1:\d+/);
      // The administration UI runs as its own process and its URL is printed.
      assert.match(output, new RegExp(`admin UI\\s+http://127\\.0\\.0\\.1:${base + 4}/ui/`));
      const ui = await fetch(`http://127.0.0.1:${base + 4}/ui/`);
      assert.equal(ui.status, 200);
      assert.match(await ui.text(), /<div id="app">/);
      const overview = (await (await fetch(`http://127.0.0.1:${base + 4}/v2/cluster/overview`)).json()) as { nodes: unknown[]; models: { name: string }[] };
      assert.equal(overview.nodes.length, 2);
      assert.deepEqual(
        overview.models.map((m) => m.name),
        ['add_sub'],
      );

      const requests = await addSubRequests();
      const response = await fetch(`http://127.0.0.1:${base}/v2/models/add_sub/infer`, { method: 'POST', body: requests.json });
      assert.equal(response.status, 200, await response.clone().text());
      const answer = (await response.json()) as { outputs: { name: string; data: number[] }[] };
      assert.deepEqual(answer.outputs.find((o) => o.name === 'OUTPUT0')?.data, [1.5, 2.25, 2, 12]);
      const nodes = (await (await fetch(`http://127.0.0.1:${base}/v2/cluster/nodes`)).json()) as { nodes: unknown[] };
      assert.equal(nodes.nodes.length, 2);

      child.kill('SIGINT');
      assert.equal(await exited, 0, output);
      assert.match(output, /stopped\. Logs are in /);
      for (const port of [base, base + 1, base + 4, base + 10, base + 20]) assert.equal(await listening(port), false, `port ${port} is closed`);
    } finally {
      if (child.exitCode === null) {
        child.kill('SIGINT');
        await exited;
      }
    }
  });
});
