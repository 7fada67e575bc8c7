/**
 * Version policies and model control modes, against a real repository on disk.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { addSubModel, createTempModelRepository, identityModel } from '../fixtures/onnx-models.js';
import { infer } from '../helpers/oip-client.js';
import { startTestServer, waitFor, type TestServer } from '../helpers/test-server.js';

const IDENTITY = identityModel({ datatype: 'FP32', dims: [-1], batching: true });
/** `add_sub` with INPUT1 = 0 returns INPUT0 + version * 0: versions are told apart by their config below. */
function versionedConfig(policy: string): string {
  return `max_batch_size: 8\nversion_policy: ${policy}\n`;
}

async function index(server: TestServer): Promise<{ name: string; version?: string; state?: string; reason?: string }[]> {
  return (await (await fetch(`${server.url}/v2/repository/index`, { method: 'POST' })).json()) as { name: string; version?: string; state?: string }[];
}

async function readyVersions(server: TestServer, model: string): Promise<string[]> {
  return (await index(server)).filter((m) => m.name === model && m.state === 'READY').map((m) => m.version!);
}

const ones = [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 2], data: [1, 2] }];

describe('version policies', () => {
  test('latest N, all and specific select the right versions; no version means the highest', async () => {
    const versions = { 1: IDENTITY, 2: IDENTITY, 3: IDENTITY, 10: IDENTITY };
    const repo = await createTempModelRepository({
      latest2: { versions, config: versionedConfig('{ latest { num_versions: 2 } }') },
      all: { versions, config: versionedConfig('{ all { } }') },
      specific: { versions, config: versionedConfig('{ specific { versions: [1, 3] } }') },
      default_policy: { versions },
    });
    const server = await startTestServer({ modelRepository: repo.root });
    try {
      assert.deepEqual(await readyVersions(server, 'latest2'), ['3', '10']);
      assert.deepEqual(await readyVersions(server, 'all'), ['1', '2', '3', '10']);
      assert.deepEqual(await readyVersions(server, 'specific'), ['1', '3']);
      assert.deepEqual(await readyVersions(server, 'default_policy'), ['10']);
      assert.equal((await infer(server.url, 'specific', ones)).json['model_version'], '3');
      assert.equal((await infer(server.url, 'specific', ones, { version: '1' })).json['model_version'], '1');
      assert.equal((await infer(server.url, 'specific', ones, { version: '2' })).status, 404);
      const metadata = (await (await fetch(`${server.url}/v2/models/all`)).json()) as { versions: string[] };
      assert.deepEqual(metadata.versions, ['1', '2', '3', '10']);
    } finally {
      await server.stop();
      await repo.remove();
    }
  });
});

describe('poll mode', () => {
  test('a new version is served without restart and the old one unloads only after, with zero failed requests under load', async () => {
    const repo = await createTempModelRepository({ model: { versions: { 1: IDENTITY } } });
    const server = await startTestServer({ modelRepository: repo.root, controlMode: 'poll', pollSeconds: 0.2 });
    try {
      assert.deepEqual(await readyVersions(server, 'model'), ['1']);
      const seen = new Set<string>();
      const failures: string[] = [];
      let stop = false;
      const deadline = Date.now() + 30_000;
      // Four clients in a loop, bounded by count and time.
      const clients = Array.from({ length: 4 }, async () => {
        for (let i = 0; i < 5000 && !stop && Date.now() < deadline; i++) {
          const result = await infer(server.url, 'model', ones);
          if (result.status !== 200) failures.push(`${result.status} ${JSON.stringify(result.json)}`);
          else seen.add(String(result.json['model_version']));
        }
      });
      await new Promise((r) => setTimeout(r, 300));
      await mkdir(join(repo.root, 'model', '2'));
      await writeFile(join(repo.root, 'model', '2', 'model.onnx'), IDENTITY);
      await waitFor(async () => (await readyVersions(server, 'model')).join() === '2', 20_000, 'version 2 to replace version 1');
      await new Promise((r) => setTimeout(r, 300));
      stop = true;
      await Promise.all(clients);
      assert.deepEqual(failures, []);
      assert.deepEqual([...seen].sort(), ['1', '2'], 'requests were served by both versions during the swap');
    } finally {
      await server.stop();
      await repo.remove();
    }
  });

  test('changing config.pbtxt reloads; removing the folder unloads; a new model folder loads', async () => {
    const repo = await createTempModelRepository({ model: { versions: { 1: IDENTITY }, config: 'max_batch_size: 4\n' } });
    const server = await startTestServer({ modelRepository: repo.root, controlMode: 'poll', pollSeconds: 0.2 });
    try {
      const maxBatch = async (): Promise<number> => ((await (await fetch(`${server.url}/v2/models/model/config`)).json()) as { max_batch_size: number }).max_batch_size;
      assert.equal(await maxBatch(), 4);
      await writeFile(join(repo.root, 'model', 'config.pbtxt'), 'max_batch_size: 6\n');
      await waitFor(async () => (await maxBatch()) === 6, 20_000, 'the config change to apply');

      await mkdir(join(repo.root, 'other', '1'), { recursive: true });
      await writeFile(join(repo.root, 'other', '1', 'model.onnx'), addSubModel());
      await waitFor(async () => (await readyVersions(server, 'other')).length === 1, 20_000, 'the new model to load');

      await rm(join(repo.root, 'model'), { recursive: true });
      await waitFor(async () => (await fetch(`${server.url}/v2/models/model/ready`)).status === 400, 20_000, 'the removed model to stop being ready');
      // Not ready comes first (503 while the copy drains), then the unload forgets the model: 404.
      await waitFor(async () => (await infer(server.url, 'model', ones)).status === 404, 20_000, 'the removed model to be unknown');
    } finally {
      await server.stop();
      await repo.remove();
    }
  });

  test('a broken config.pbtxt keeps the previous copy serving', async () => {
    const repo = await createTempModelRepository({ model: { versions: { 1: IDENTITY }, config: 'max_batch_size: 4\n' } });
    const server = await startTestServer({ modelRepository: repo.root, controlMode: 'poll', pollSeconds: 0.2 });
    try {
      await writeFile(join(repo.root, 'model', 'config.pbtxt'), 'max_batch_size: "oops"\n');
      await waitFor(async () => (await index(server)).some((m) => m.name === 'model' && m.reason !== undefined), 20_000, 'the broken config to be noticed');
      assert.equal((await infer(server.url, 'model', ones)).status, 200);
      assert.deepEqual(await readyVersions(server, 'model'), ['1'], 'the index shows the copy that serves, with the refusal as its reason');
      assert.equal((await fetch(`${server.url}/v2/models/model/ready`)).status, 200);
      assert.equal((await fetch(`${server.url}/v2/health/ready`)).status, 200, 'a refused config does not make a serving server unready');
    } finally {
      await server.stop();
      await repo.remove();
    }
  });
});

describe('explicit mode', () => {
  test('models load and unload only through the repository API', async () => {
    const repo = await createTempModelRepository({ a: { versions: { 1: IDENTITY } }, b: { versions: { 1: IDENTITY } } });
    const server = await startTestServer({ modelRepository: repo.root, controlMode: 'explicit', loadModels: ['a'] });
    try {
      assert.deepEqual(await readyVersions(server, 'a'), ['1']);
      assert.deepEqual(await readyVersions(server, 'b'), []);
      const notLoaded = (await index(server)).find((m) => m.name === 'b');
      assert.equal(notLoaded?.state, 'UNAVAILABLE', 'a model never loaded is listed as UNAVAILABLE');
      assert.match(notLoaded?.reason ?? '', /^not loaded \(load it with POST \/v2\/repository\/models\/b\/load\)$/);
      assert.equal((await infer(server.url, 'b', ones)).status, 404);

      let response = await fetch(`${server.url}/v2/repository/models/b/load`, { method: 'POST' });
      assert.equal(response.status, 200);
      assert.equal((await infer(server.url, 'b', ones)).status, 200);

      response = await fetch(`${server.url}/v2/repository/models/a/unload`, {
        method: 'POST',
        body: JSON.stringify({ parameters: { unload_dependents: false } }),
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(response.status, 200);
      assert.equal((await fetch(`${server.url}/v2/models/a/ready`)).status, 400);
      assert.equal((await infer(server.url, 'a', ones)).status, 404);
      assert.deepEqual(
        (await index(server)).filter((m) => m.name === 'a'),
        [{ name: 'a', state: 'UNAVAILABLE', reason: 'unloaded' }],
        'an explicitly unloaded model stays in the index as UNAVAILABLE / unloaded',
      );

      response = await fetch(`${server.url}/v2/repository/models/missing/load`, { method: 'POST' });
      assert.equal(response.status, 404);
      assert.match(((await response.json()) as { error: string }).error, /missing/);
    } finally {
      await server.stop();
      await repo.remove();
    }
  });

  test('load with a JSON config and model files overrides the repository', async () => {
    const repo = await createTempModelRepository({});
    const server = await startTestServer({ modelRepository: repo.root, controlMode: 'explicit' });
    try {
      const body = {
        parameters: {
          config: JSON.stringify({ name: 'uploaded', backend: 'onnxruntime', max_batch_size: 2 }),
          'file:1/model.onnx': Buffer.from(IDENTITY).toString('base64'),
        },
      };
      const response = await fetch(`${server.url}/v2/repository/models/uploaded/load`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
      assert.equal(response.status, 200, await response.text());
      const result = await infer(server.url, 'uploaded', ones);
      assert.equal(result.status, 200);
      assert.deepEqual((result.json['outputs'] as { data: number[] }[])[0]!.data, [1, 2]);
    } finally {
      await server.stop();
      await repo.remove();
    }
  });

  test('a reload refused for its config leaves the loaded model serving and the server ready (Triton)', async () => {
    const repo = await createTempModelRepository({ model: { versions: { 1: IDENTITY }, config: 'max_batch_size: 4\n' } });
    const server = await startTestServer({ modelRepository: repo.root, controlMode: 'explicit', loadModels: ['model'] });
    const load = (config: string): Promise<Response> =>
      fetch(`${server.url}/v2/repository/models/model/load`, { method: 'POST', body: JSON.stringify({ parameters: { config } }), headers: { 'content-type': 'application/json' } });
    try {
      // The malformed config of Triton's own simple_http_model_control.py example.
      let response = await load('"parameters": {"config": {{"max_batch_size": "16"}}}');
      assert.equal(response.status, 400);
      assert.match(((await response.json()) as { error: string }).error, /^failed to load 'model': the "config" parameter is not valid JSON: /);
      response = await load(JSON.stringify({ max_batch_size: 'sixteen' }));
      assert.equal(response.status, 400);
      assert.equal((await infer(server.url, 'model', ones)).status, 200);
      assert.equal((await fetch(`${server.url}/v2/models/model/ready`)).status, 200);
      assert.equal((await fetch(`${server.url}/v2/health/ready`)).status, 200);

      response = await load(JSON.stringify({ max_batch_size: 16 }));
      assert.equal(response.status, 200, await response.text());
      const config = (await (await fetch(`${server.url}/v2/models/model/config`)).json()) as { max_batch_size: number };
      assert.equal(config.max_batch_size, 16, 'a good config after refused ones applies');
    } finally {
      await server.stop();
      await repo.remove();
    }
  });

  test('load and unload are refused in none mode', async () => {
    const repo = await createTempModelRepository({ a: { versions: { 1: IDENTITY } } });
    const server = await startTestServer({ modelRepository: repo.root });
    try {
      const response = await fetch(`${server.url}/v2/repository/models/a/unload`, { method: 'POST' });
      assert.notEqual(response.status, 200);
      assert.match(((await response.json()) as { error: string }).error, /explicit/);
      assert.equal((await infer(server.url, 'a', ones)).status, 200);
    } finally {
      await server.stop();
      await repo.remove();
    }
  });
});
