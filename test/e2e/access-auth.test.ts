/**
 * Bearer tokens, restricted API groups and CORS on `cranberries serve` as users run it: a real
 * process with the access flags, called over real REST and gRPC sockets.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { GrpcClient, InferenceServerError } from '../../src/client/index.js';
import { oipPackageDefinition, serviceDefinition } from '../../src/protocols/grpc/proto-loader.js';
import { grpcFailure, TfsGrpcClient } from '../../src/protocols/tfserving/tfs-test-client.js';
import { createTempModelRepository, identityModel, type TempModelRepository } from '../fixtures/onnx-models.js';
import { waitFor } from '../helpers/test-server.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ADMIN = 'admin-secret-1';
const INFERENCE = 'inference-secret';
const APP = 'https://app.example';
const INFER_BODY = JSON.stringify({ inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] });

let child: ChildProcess;
let repo: TempModelRepository;
let secrets: string;
let tokenFile: string;
let url: string;
let grpcUrl: string;

before(async () => {
  repo = await createTempModelRepository({ simple: { versions: { 1: identityModel({ datatype: 'FP32', dims: [-1], batching: true }) }, config: 'max_batch_size: 8\n' } });
  secrets = await mkdtemp(join(tmpdir(), 'cranberries-tokens-'));
  tokenFile = join(secrets, 'admin.token');
  await writeFile(tokenFile, `# admin tokens\n${ADMIN}\n`);
  const args = [
    'dist/src/cli/main.js',
    'serve',
    '--host',
    '127.0.0.1',
    '--http-port',
    '0',
    '--grpc-port',
    '0',
    '--metrics-port',
    '0',
    '--model-repository',
    repo.root,
    '--admin-token-file',
    tokenFile,
    '--http-restricted-api',
    'statistics,model-config:x-stats-key=s3',
    '--grpc-restricted-protocol',
    'statistics:stats-key=s3',
    '--cors-origin',
    APP,
  ];
  child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, CRANBERRIES_INFERENCE_TOKEN: INFERENCE } });
  const lines = createInterface({ input: child.stdout! });
  const ports = await new Promise<{ http: number; grpc: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('serve did not log its ports within 60 s')), 60_000);
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}`)));
    lines.on('line', (line) => {
      const entry = JSON.parse(line) as { http?: number; grpc?: number };
      if (typeof entry.http === 'number' && typeof entry.grpc === 'number') {
        clearTimeout(timer);
        resolve({ http: entry.http, grpc: entry.grpc });
      }
    });
  });
  url = `http://127.0.0.1:${ports.http}`;
  grpcUrl = `grpc://127.0.0.1:${ports.grpc}`;
  await waitFor(async () => (await fetch(`${url}/v2/models/simple/ready`)).status === 200, 60_000, 'simple to be ready');
});

after(async () => {
  child?.kill('SIGTERM');
  await repo?.remove();
  if (secrets) await rm(secrets, { recursive: true, force: true });
});

const json = { 'content-type': 'application/json' };
const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

describe('REST', () => {
  test('admin calls need the admin token: 401 with WWW-Authenticate without it, 200 with it', async () => {
    const path = `${url}/v2/cluster/models/simple/replicas`;
    const none = await fetch(path, { method: 'PUT', body: '{"replicas":1}', headers: json });
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="cranberries"');
    assert.match(((await none.json()) as { error: string }).error, /admin token/);
    const wrong = await fetch(path, { method: 'PUT', body: '{"replicas":1}', headers: { ...json, ...bearer(INFERENCE) } });
    assert.equal(wrong.status, 401, 'the inference token is not an admin token');
    assert.match(wrong.headers.get('www-authenticate') ?? '', /invalid_token/);
    const right = await fetch(path, { method: 'PUT', body: '{"replicas":1}', headers: { ...json, ...bearer(ADMIN) } });
    assert.equal(right.status, 200);
    assert.equal((await fetch(`${url}/v2/repository/index`, { method: 'POST' })).status, 401);
    assert.equal((await fetch(`${url}/v2/repository/index`, { method: 'POST', headers: bearer(ADMIN) })).status, 200);
    assert.equal((await fetch(`${url}/v2/cluster/nodes`)).status, 401, 'reading the cluster admin API needs the token too');
  });

  test('inference needs the inference (or admin) token; health and metadata stay open', async () => {
    const infer = (headers: Record<string, string>): Promise<Response> => fetch(`${url}/v2/models/simple/infer`, { method: 'POST', body: INFER_BODY, headers: { ...json, ...headers } });
    assert.equal((await infer({})).status, 401);
    assert.equal((await infer(bearer('nope'))).status, 401);
    assert.equal((await infer(bearer(INFERENCE))).status, 200);
    assert.equal((await infer(bearer(ADMIN))).status, 200);
    const tfs = await fetch(`${url}/v1/models/simple:predict`, { method: 'POST', body: '{"instances": [[1]]}', headers: json });
    assert.equal(tfs.status, 401, 'TF Serving REST predict is inference');
    assert.equal((await fetch(`${url}/v2/health/ready`)).status, 200);
    assert.equal((await fetch(`${url}/v2/models/simple/ready`)).status, 200);
    assert.equal((await fetch(`${url}/v2/models/simple`)).status, 200);
    assert.equal((await fetch(`${url}/v1/models/simple`)).status, 200);
  });

  test("a restricted group needs its header: 403 with Triton's message", async () => {
    const stats = await fetch(`${url}/v2/models/simple/stats`);
    assert.equal(stats.status, 403);
    assert.equal(((await stats.json()) as { error: string }).error, "This API is restricted, expecting header 'x-stats-key'");
    assert.equal((await fetch(`${url}/v2/models/simple/config`, { headers: { 'x-stats-key': 'wrong' } })).status, 403);
    assert.equal((await fetch(`${url}/v2/models/simple/stats`, { headers: { 'x-stats-key': 's3' } })).status, 200);
  });

  test('an allowed origin gets CORS answers; others do not', async () => {
    const preflight = await fetch(`${url}/v2/models/simple/infer`, {
      method: 'OPTIONS',
      headers: { origin: APP, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), APP);
    assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /authorization/);
    const infer = await fetch(`${url}/v2/models/simple/infer`, { method: 'POST', body: INFER_BODY, headers: { ...json, ...bearer(INFERENCE), origin: APP } });
    assert.equal(infer.status, 200);
    assert.equal(infer.headers.get('access-control-allow-origin'), APP);
    const other = await fetch(`${url}/v2/health/live`, { headers: { origin: 'https://other.example' } });
    assert.equal(other.headers.get('access-control-allow-origin'), null);
  });

  test('the token file is re-read when it changes', async () => {
    const rotated = 'admin-secret-2';
    await writeFile(tokenFile, `${rotated}\n`);
    const index = (token: string): Promise<number> => fetch(`${url}/v2/repository/index`, { method: 'POST', headers: bearer(token) }).then((r) => r.status);
    await waitFor(async () => (await index(rotated)) === 200, 10_000, 'the rotated token to be accepted');
    assert.equal(await index(ADMIN), 401, 'the old token is gone');
  });
});

describe('gRPC', () => {
  async function code(call: () => Promise<unknown>): Promise<string> {
    try {
      await call();
      return 'OK';
    } catch (error) {
      assert.ok(error instanceof InferenceServerError, String(error));
      return error.code;
    }
  }

  test('inference needs the token (UNAUTHENTICATED); restricted statistics need the Triton metadata key (PERMISSION_DENIED)', async () => {
    const anonymous = new GrpcClient({ url: grpcUrl });
    const user = new GrpcClient({ url: grpcUrl, headers: { ...bearer(INFERENCE), 'triton-grpc-protocol-stats-key': 's3' } });
    try {
      const inputs = [{ name: 'INPUT0', datatype: 'FP32' as const, shape: [1, 2], data: new Float32Array([1, 2]) }];
      assert.equal(await code(() => anonymous.infer('simple', inputs)), 'UNAUTHENTICATED');
      assert.equal(await code(() => user.infer('simple', inputs)), 'OK');
      assert.equal(await code(() => anonymous.serverLive()), 'OK', 'health stays open');
      assert.equal(await code(() => anonymous.modelMetadata('simple')), 'OK');
      assert.equal(await code(() => anonymous.modelStatistics('simple')), 'PERMISSION_DENIED');
      assert.equal(await code(() => user.modelStatistics('simple')), 'OK');
      assert.equal(await code(() => user.unloadModel('simple')), 'UNAUTHENTICATED', 'repository calls need the admin token');
      try {
        await anonymous.modelStatistics('simple');
      } catch (error) {
        assert.match((error as Error).message, /This protocol is restricted, expecting header 'triton-grpc-protocol-stats-key'/);
      }
    } finally {
      await anonymous.close();
      await user.close();
    }
  });

  test('TF Serving: Predict needs the inference token, HandleReloadConfigRequest the admin token', async () => {
    const client = new TfsGrpcClient(grpcUrl.slice('grpc://'.length));
    try {
      assert.equal((await grpcFailure(client.call('Predict', { model_spec: { name: 'simple' } }))).code, grpc.status.UNAUTHENTICATED);
      assert.equal((await grpcFailure(client.call('HandleReloadConfigRequest', { config: {} }))).code, grpc.status.UNAUTHENTICATED);
      const status = await client.call<{ model_version_status: unknown[] }>('GetModelStatus', { model_spec: { name: 'simple' } });
      assert.ok(status.model_version_status.length > 0, 'GetModelStatus is health: open');
    } finally {
      client.close();
    }
  });

  test('a ModelStreamInfer stream without the token ends UNAUTHENTICATED', async () => {
    const method = serviceDefinition(oipPackageDefinition(), 'inference.GRPCInferenceService')['ModelStreamInfer']!;
    const client = new grpc.Client(grpcUrl.slice('grpc://'.length), grpc.credentials.createInsecure());
    try {
      const call = client.makeBidiStreamRequest(method.path, method.requestSerialize, method.responseDeserialize, new grpc.Metadata());
      const code = await new Promise<number>((resolve) => {
        call.on('data', () => undefined);
        call.on('error', (error: grpc.ServiceError) => resolve(error.code));
        call.on('status', (status: grpc.StatusObject) => resolve(status.code));
        call.write({ model_name: 'simple', inputs: [] });
        call.end();
      });
      assert.equal(code, grpc.status.UNAUTHENTICATED);
    } finally {
      client.close();
    }
  });
});
