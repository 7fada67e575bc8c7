/**
 * TF Serving model lists end to end: `--model-config-file` (served set, base paths, version policy
 * override, version labels), re-reading it, and gRPC HandleReloadConfigRequest replacing the served
 * set at run time (TF Serving's model_server_config.proto). Real ONNX Runtime models on disk.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { mlpForward, mlpModel, writeModelRepository } from '../fixtures/onnx-models.js';
import { startTestServer, waitFor, type TestServer } from '../helpers/test-server.js';
import { startStandalone } from '../../src/composition/standalone.js';
import { createLogger } from '../../src/core/logger.js';
import { grpcFailure, TfsGrpcClient } from '../../src/protocols/tfserving/tfs-test-client.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const LINEAR = (seed: number): { inputSize: number; hidden: number[]; outputSize: number; seed: number } => ({ inputSize: 2, hidden: [], outputSize: 1, seed });
const ANIMALS = { inputSize: 4, hidden: [], outputSize: 3, seed: 3 };

let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cranberries-tfs-config-'));
  await writeModelRepository(join(dir, 'models'), {
    // Its own policy (latest 1) is overridden by the list.
    linear: { versions: { 1: mlpModel(LINEAR(1)), 2: mlpModel(LINEAR(2)), 3: mlpModel(LINEAR(3)) }, config: 'max_batch_size: 8\nversion_policy: { latest { num_versions: 1 } }\n' },
    animals: {
      versions: { 1: mlpModel(ANIMALS) },
      config: 'name: "animals"\nmax_batch_size: 8\noutput [ { name: "output" data_type: TYPE_FP32 dims: [ 3 ] label_filename: "labels.txt" } ]\n',
      files: { 'labels.txt': 'cat\ndog\nbird\n' },
    },
  });
  await cp(join(ROOT, 'models', 'digits'), join(dir, 'models', 'digits'), { recursive: true });
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function get(server: TestServer, path: string, init?: RequestInit): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(server.url + path, init);
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

const post = (body: unknown): RequestInit => ({ method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

async function regress(server: TestServer, path: string): Promise<number> {
  const reply = await get(server, `/v1/models/linear${path}:regress`, post({ examples: [{ input: [1, 2] }] }));
  assert.equal(reply.status, 200, JSON.stringify(reply.json));
  return (reply.json['results'] as number[])[0]!;
}

const expected = (seed: number): number => mlpForward(LINEAR(seed), Float32Array.from([1, 2]), 1)[0]!;
/** Which of the linear model's versions (seeds 1-3) computed `value`. */
const seedOf = (value: number): number => [1, 2, 3].find((seed) => Math.abs(value - expected(seed)) < 1e-5) ?? 0;
const versionsOf = async (server: TestServer, model: string): Promise<string[]> =>
  ((await get(server, `/v1/models/${model}`)).json['model_version_status'] as { version: string }[] | undefined)?.map((v) => v.version) ?? [];

describe('--model-config-file', () => {
  test("serves exactly the listed models, with the list's names, policies and labels; reloads replace the set", async () => {
    const file = join(dir, 'models.config');
    await writeFile(
      file,
      `model_config_list {
        config {
          name: "linear"  base_path: "models/linear"  model_platform: "tensorflow"
          model_version_policy { specific { versions: 1 versions: 2 } }
          version_labels { key: "stable" value: 1 }
          version_labels { key: "canary" value: 2 }
        }
        config { name: "pets" base_path: "models/animals" }
        config { name: "digits" base_path: "${join(dir, 'models', 'digits')}" }
      }`,
    );
    // The repository holds diabetes and word_ids: with a model list they are not served.
    const server = await startTestServer({ modelRepository: join(ROOT, 'models'), modelConfigFile: file });
    const client = new TfsGrpcClient(`127.0.0.1:${server.ports.grpc}`);
    try {
      assert.deepEqual(await versionsOf(server, 'linear'), ['1', '2'], 'the list overrides the folder policy');
      assert.deepEqual(await versionsOf(server, 'pets'), ['1']);
      assert.deepEqual(await versionsOf(server, 'digits'), ['1']);
      assert.equal((await get(server, '/v1/models/diabetes')).status, 404);
      assert.equal((await get(server, '/v1/models/animals')).status, 404, 'served under the list name only');

      assert.equal(seedOf(await regress(server, '/labels/stable')), 1);
      assert.equal(seedOf(await regress(server, '/labels/canary')), 2);
      assert.equal(seedOf(await regress(server, '')), 2);
      assert.deepEqual((await get(server, '/v2/repository/models/linear/labels')).json, { model: 'linear', labels: { canary: 2, stable: 1 } });

      const pets = await get(server, '/v1/models/pets:classify', post({ examples: [{ input: [1, 0, 0, 1] }] }));
      assert.deepEqual(
        (pets.json['results'] as [string, number][][])[0]!.map(([label]) => label),
        ['cat', 'dog', 'bird'],
        'labels come from the base path',
      );

      // The repository API moves a label set by the file.
      assert.equal((await get(server, '/v2/repository/models/linear/labels', post({ labels: { canary: 1 } }))).status, 200);
      assert.equal(seedOf(await regress(server, '/labels/canary')), 1);

      // HandleReloadConfigRequest: the served set becomes exactly the new list.
      const reloaded = await client.call<{ status: { error_code: string } }>('HandleReloadConfigRequest', {
        config: {
          model_config_list: {
            config: [{ name: 'linear', base_path: join(dir, 'models', 'linear'), model_version_policy: { specific: { versions: [3] } }, version_labels: { stable: 3 } }],
          },
        },
      });
      assert.equal(reloaded.status.error_code, 'OK');
      const status = await client.call<{ model_version_status: { version: string; state: string }[] }>('GetModelStatus', { model_spec: { name: 'linear' } });
      assert.deepEqual(
        status.model_version_status.map((s) => [s.version, s.state]),
        [['3', 'AVAILABLE']],
      );
      assert.equal((await grpcFailure(client.call('GetModelStatus', { model_spec: { name: 'digits' } }))).code, grpc.status.NOT_FOUND, 'models missing from the list are unloaded');
      assert.equal((await get(server, '/v1/models/pets')).status, 404);
      assert.equal(seedOf(await regress(server, '/labels/stable')), 3);
      assert.equal((await get(server, '/v1/models/linear/labels/canary:regress', post({ examples: [{ input: [1, 2] }] }))).status, 400, 'labels are replaced, not merged');

      // A list that cannot be applied fully reports every failure; what could be applied serves.
      const broken = await grpcFailure(
        client.call('HandleReloadConfigRequest', {
          config: {
            model_config_list: {
              config: [
                { name: 'linear', base_path: join(dir, 'models', 'linear'), model_version_policy: { specific: { versions: [3] } }, version_labels: { stable: 9 } },
                { name: 'ghost', base_path: join(dir, 'nowhere') },
              ],
            },
          },
        }),
      );
      assert.equal(broken.code, grpc.status.FAILED_PRECONDITION);
      assert.match(broken.details, /model 'ghost'.*nowhere/);
      assert.match(broken.details, /'stable' of model 'linear' cannot point at version 9/);
      assert.equal(seedOf(await regress(server, '/versions/3')), 3, 'the server keeps serving');
      const invalid = await grpcFailure(client.call('HandleReloadConfigRequest', { config: { model_config_list: { config: [{ name: 'x' }] } } }));
      assert.equal(invalid.code, grpc.status.INVALID_ARGUMENT);
      assert.match(invalid.details, /base_path is required/);
    } finally {
      client.close();
      await server.stop();
    }
  });

  test('the file is re-read every poll period; a broken file keeps the previous list', async () => {
    const file = join(dir, 'polled.config');
    const list = (models: string[]): string => `model_config_list { ${models.map((m) => `config { name: "${m}" base_path: "models/${m}" }`).join(' ')} }`;
    await writeFile(file, list(['linear']));
    const server = await startTestServer({ modelRepository: join(ROOT, 'models'), modelConfigFile: file, modelConfigFilePollSeconds: 0.2 });
    try {
      assert.deepEqual(await versionsOf(server, 'linear'), ['3']);
      assert.equal((await get(server, '/v1/models/animals')).status, 404);
      await writeFile(file, list(['linear', 'animals']));
      await waitFor(async () => (await versionsOf(server, 'animals')).length === 1, 10_000, 'animals to be served after the file changed');
      await writeFile(file, 'model_config_list { config { name: ');
      await new Promise((resolve) => setTimeout(resolve, 600));
      assert.deepEqual(await versionsOf(server, 'animals'), ['1'], 'a broken file changes nothing');
      await writeFile(file, list(['animals']));
      await waitFor(async () => (await get(server, '/v1/models/linear')).status === 404, 10_000, 'linear to be unloaded after it left the file');
    } finally {
      await server.stop();
    }
  });

  test('a server that follows its repository poller refuses model lists, naming the flags that take them', async () => {
    const server = await startTestServer({ modelRepository: join(dir, 'models'), controlMode: 'poll', pollSeconds: 60 });
    const client = new TfsGrpcClient(`127.0.0.1:${server.ports.grpc}`);
    try {
      const refused = await grpcFailure(client.call('HandleReloadConfigRequest', { config: { model_config_list: { config: [] } } }));
      assert.equal(refused.code, grpc.status.FAILED_PRECONDITION);
      assert.match(refused.details, /repository poller \(--model-control-mode poll\).*--model-config-file <file> or --model-control-mode explicit/);
      assert.deepEqual(await versionsOf(server, 'linear'), ['3']);
    } finally {
      client.close();
      await server.stop();
    }
  });

  test('explicit mode takes model lists over gRPC: the listed models become the loaded set', async () => {
    const server = await startTestServer({ modelRepository: join(dir, 'models'), controlMode: 'explicit', loadModels: ['digits'] });
    const client = new TfsGrpcClient(`127.0.0.1:${server.ports.grpc}`);
    try {
      assert.deepEqual(await versionsOf(server, 'digits'), ['1']);
      const reloaded = await client.call<{ status: { error_code: string } }>('HandleReloadConfigRequest', {
        config: { model_config_list: { config: [{ name: 'linear', base_path: join(dir, 'models', 'linear'), model_version_policy: { all: {} } }] } },
      });
      assert.equal(reloaded.status.error_code, 'OK');
      assert.deepEqual(await versionsOf(server, 'linear'), ['1', '2', '3']);
      assert.equal(seedOf(await regress(server, '/versions/2')), 2);
      assert.equal((await grpcFailure(client.call('GetModelStatus', { model_spec: { name: 'digits' } }))).code, grpc.status.NOT_FOUND, 'a model loaded before and not listed is unloaded');
      // The repository API still loads models next to the list's.
      assert.equal((await fetch(`${server.url}/v2/repository/models/digits/load`, post({}))).status, 200);
      assert.deepEqual(await versionsOf(server, 'digits'), ['1']);
      // An empty list unloads everything.
      await client.call('HandleReloadConfigRequest', { config: { model_config_list: { config: [] } } });
      assert.equal((await get(server, '/v1/models/linear')).status, 404);
      assert.equal((await get(server, '/v1/models/digits')).status, 404);
    } finally {
      client.close();
      await server.stop();
    }
  });

  test('cranberries serve without flags (a one-node cluster) refuses model lists, naming the cluster admin API and the flags', async () => {
    const server = await startStandalone({
      modelRepository: join(dir, 'models'),
      host: '127.0.0.1',
      httpPort: 0,
      grpcPort: 0,
      metricsPort: 0,
      controlMode: 'none',
      pollSeconds: 1,
      loadModels: [],
      httpMaxBodyBytes: 1 << 20,
      grpcMaxMessageBytes: 1 << 20,
      logger: createLogger('silent'),
    });
    const client = new TfsGrpcClient(`127.0.0.1:${server.ports.grpc}`);
    try {
      const refused = await grpcFailure(client.call('HandleReloadConfigRequest', { config: { model_config_list: { config: [] } } }));
      assert.equal(refused.code, grpc.status.FAILED_PRECONDITION);
      assert.match(refused.details, /models its cluster assigns it.*\/v2\/cluster\/models.*--model-config-file <file> or --model-control-mode explicit/);
    } finally {
      client.close();
      await server.stop();
    }
  });
});
