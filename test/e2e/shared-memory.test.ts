/**
 * Triton's system shared-memory extension end to end, over real sockets against a real server with
 * real ONNX Runtime: regions are real files in /dev/shm (POSIX shared memory objects), registered
 * over REST and gRPC; inputs are read from them and outputs written to them on REST JSON, REST
 * binary, gRPC unary and the gRPC stream; BYTES tensors use the 4-byte length-prefixed layout.
 * Requests are built by hand as tritonclient builds them (parameters `shared_memory_region`,
 * `shared_memory_offset`, `shared_memory_byte_size`), and answers are checked against Triton's
 * shapes, codes and messages. Every file this test creates in /dev/shm is removed afterwards.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { addSubModel, createTempModelRepository, identityModel, loopModel, type TempModelRepository } from '../fixtures/onnx-models.js';
import { bytesTensor, parseBytesTensor } from '../helpers/oip-client.js';
import { DecoderTestClient, OIP_SERVICE } from '../helpers/grpc-raw-client.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { oipPackageDefinition, serviceDefinition } from '../../src/protocols/grpc/proto-loader.js';
import { AccessPolicy } from '../../src/access/index.js';

const SHM = '/dev/shm';
/** A prefix unique to this run, so parallel runs and leftovers never collide. */
const PREFIX = `cranberries_test_${process.pid}_${randomBytes(4).toString('hex')}`;
const created: string[] = [];

/** Creates `/dev/shm/<PREFIX>_<name>` of `size` zero bytes; returns its key (`/<file>`). */
function createObject(name: string, size: number): string {
  const file = `${PREFIX}_${name}`;
  writeFileSync(`${SHM}/${file}`, Buffer.alloc(size));
  created.push(`${SHM}/${file}`);
  return `/${file}`;
}

function writeObject(key: string, offset: number, bytes: Uint8Array): void {
  const path = SHM + key;
  const content = readFileSync(path);
  content.set(bytes, offset);
  writeFileSync(path, content);
}

function readObject(key: string, offset: number, length: number): Buffer {
  return readFileSync(SHM + key).subarray(offset, offset + length);
}

const int32s = (values: number[]): Buffer => Buffer.from(new Int32Array(values).buffer);
const asInt32s = (bytes: Buffer): number[] => Array.from(new Int32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)));
const INPUT0 = Array.from({ length: 16 }, (_, i) => i);
const INPUT1 = Array.from({ length: 16 }, () => 1);
const SUM = INPUT0.map((v, i) => v + (INPUT1[i] as number));
const DIFF = INPUT0.map((v, i) => v - (INPUT1[i] as number));

interface HttpAnswer {
  status: number;
  json: unknown;
  headers: Headers;
  body: Buffer;
}

async function http(url: string, method: 'GET' | 'POST', body?: unknown, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body instanceof Uint8Array) init.body = body;
  else if (body !== undefined) {
    init.body = JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] = 'application/json';
  }
  const response = await fetch(url, init);
  const bytes = Buffer.from(await response.arrayBuffer());
  const jsonLength = response.headers.get('inference-header-content-length');
  const text = jsonLength === null ? bytes.toString('utf8') : bytes.subarray(0, Number(jsonLength)).toString('utf8');
  return { status: response.status, json: text === '' ? undefined : (JSON.parse(text) as unknown), headers: response.headers, body: bytes };
}

/** The `error` of a REST error body (which also carries the request id). */
function errorOf(answer: HttpAnswer): string {
  const body = answer.json as { error?: unknown } | undefined;
  assert.equal(typeof body?.error, 'string', `expected an error body, got ${JSON.stringify(body)}`);
  return body?.error as string;
}

const shmParams = (region: string, byteSize: number, offset?: number): Record<string, unknown> => ({
  shared_memory_region: region,
  shared_memory_byte_size: byteSize,
  ...(offset === undefined ? {} : { shared_memory_offset: offset }),
});

/** gRPC InferParameter map of the same parameters (string_param / int64_param, as tritonclient sends them). */
const grpcShmParams = (region: string, byteSize: number, offset?: number): Record<string, object> => ({
  shared_memory_region: { string_param: region },
  shared_memory_byte_size: { int64_param: byteSize },
  ...(offset === undefined ? {} : { shared_memory_offset: { int64_param: offset } }),
});

let repo: TempModelRepository;
let server: TestServer;
let disabled: TestServer;
let grpcClient: DecoderTestClient;

before(async () => {
  repo = await createTempModelRepository({
    simple: { versions: { 1: addSubModel('INT32', [16]) }, config: 'max_batch_size: 8\n' },
    strings: {
      versions: { 1: identityModel({ datatype: 'BYTES', dims: [-1] }) },
      config: 'max_batch_size: 0\ninput [ { name: "INPUT0" data_type: TYPE_STRING dims: [ -1 ] } ]\noutput [ { name: "OUTPUT0" data_type: TYPE_STRING dims: [ -1 ] } ]\n',
    },
    loop: { versions: { 1: loopModel(256) }, config: 'max_batch_size: 0\n' },
  });
  server = await startTestServer({ modelRepository: repo.root, allowClientShm: true });
  disabled = await startTestServer({ modelRepository: repo.root });
  grpcClient = new DecoderTestClient(`127.0.0.1:${server.ports.grpc}`);
});

after(async () => {
  grpcClient?.close();
  await server?.stop();
  await disabled?.stop();
  await repo?.remove();
  for (const path of created) rmSync(path, { force: true });
});

/** Registers the four regions of Triton's simple_http_shm_client (64 bytes each) under `tag`; returns their keys. */
async function registerSimpleRegions(tag: string): Promise<{ in0: string; in1: string; out0: string; out1: string }> {
  const keys = { in0: createObject(`${tag}_in0`, 64), in1: createObject(`${tag}_in1`, 64), out0: createObject(`${tag}_out0`, 64), out1: createObject(`${tag}_out1`, 64) };
  writeObject(keys.in0, 0, int32s(INPUT0));
  writeObject(keys.in1, 0, int32s(INPUT1));
  for (const [role, key] of Object.entries(keys)) {
    const answer = await http(`${server.url}/v2/systemsharedmemory/region/${tag}_${role}/register`, 'POST', { key, offset: 0, byte_size: 64 });
    assert.equal(answer.status, 200, JSON.stringify(answer.json));
  }
  return keys;
}

describe('registration over REST', () => {
  test('status, register, status of one region, unregister one, unregister all', async () => {
    await http(`${server.url}/v2/systemsharedmemory/unregister`, 'POST');
    const key = createObject('reg', 128);
    assert.deepEqual((await http(`${server.url}/v2/systemsharedmemory/status`, 'GET')).json, []);
    const registered = await http(`${server.url}/v2/systemsharedmemory/region/reg_a/register`, 'POST', { key, offset: 16, byte_size: 64 });
    assert.equal(registered.status, 200);
    assert.equal(registered.body.byteLength, 0);
    assert.equal((await http(`${server.url}/v2/systemsharedmemory/region/reg_b/register`, 'POST', { key, byte_size: 128 })).status, 200);
    const all = await http(`${server.url}/v2/systemsharedmemory/status`, 'GET');
    assert.equal(all.status, 200);
    assert.match(all.headers.get('content-type') ?? '', /application\/json/);
    assert.deepEqual(
      (all.json as { name: string }[]).sort((a, b) => a.name.localeCompare(b.name)),
      [
        { name: 'reg_a', key, offset: 16, byte_size: 64 },
        { name: 'reg_b', key, offset: 0, byte_size: 128 },
      ],
    );
    assert.deepEqual((await http(`${server.url}/v2/systemsharedmemory/region/reg_a/status`, 'GET')).json, [{ name: 'reg_a', key, offset: 16, byte_size: 64 }]);
    assert.equal((await http(`${server.url}/v2/systemsharedmemory/region/reg_a/unregister`, 'POST')).status, 200);
    assert.deepEqual((await http(`${server.url}/v2/systemsharedmemory/status`, 'GET')).json, [{ name: 'reg_b', key, offset: 0, byte_size: 128 }]);
    // Unknown names unregister without error (Triton); status of one is 404.
    assert.equal((await http(`${server.url}/v2/systemsharedmemory/region/never_registered/unregister`, 'POST')).status, 200);
    const unknown = await http(`${server.url}/v2/systemsharedmemory/region/reg_a/status`, 'GET');
    assert.equal(unknown.status, 404);
    assert.equal(errorOf(unknown), "Unable to find system shared memory region: 'reg_a'");
    assert.equal((await http(`${server.url}/v2/systemsharedmemory/unregister`, 'POST')).status, 200);
    assert.deepEqual((await http(`${server.url}/v2/systemsharedmemory/status`, 'GET')).json, []);
  });

  test('bad registrations are refused with Triton messages and nothing is registered', async () => {
    const key = createObject('bad', 64);
    const register = (name: string, body: unknown): Promise<HttpAnswer> => http(`${server.url}/v2/systemsharedmemory/region/${name}/register`, 'POST', body);
    const cases: [string, unknown, number, string][] = [
      ['past_end', { key, offset: 0, byte_size: 65 }, 400, "failed to register shared memory region 'past_end': invalid args"],
      ['offset_past_end', { key, offset: 1, byte_size: 64 }, 400, "failed to register shared memory region 'offset_past_end': invalid args"],
      ['offset_at_end', { key, offset: 64, byte_size: 1 }, 400, "failed to register shared memory region 'offset_at_end': invalid args"],
      ['traversal', { key: '/../../etc/passwd', byte_size: 8 }, 400, "cannot register shared memory region 'traversal' - invalid shm key '/../../etc/passwd'"],
      ['subdir', { key: '/a/b', byte_size: 8 }, 400, "cannot register shared memory region 'subdir' - invalid shm key '/a/b'"],
      ['dotdot', { key: '/..', byte_size: 8 }, 400, "cannot register shared memory region 'dotdot' - invalid shm key '/..'"],
      ['slashes', { key: '///', byte_size: 8 }, 400, "cannot register shared memory region 'slashes' - invalid shm key '///'"],
      [
        'reserved',
        { key: '/triton_python_backend_shm_region_x', byte_size: 8 },
        400,
        "cannot register shared memory region 'reserved' with key '/triton_python_backend_shm_region_x' as the key contains the reserved prefix 'triton_python_backend_shm_region_'",
      ],
      ['missing', { key: `/${PREFIX}_does_not_exist`, byte_size: 8 }, 400, `Unable to open shared memory region: '/${PREFIX}_does_not_exist'`],
      ['no_key', { byte_size: 8 }, 400, "Shared memory register request has no 'key' field"],
      ['no_size', { key }, 400, "Shared memory register request has no 'byte_size' field"],
      ['negative', { key, byte_size: -1 }, 400, "Shared memory register request: 'byte_size' must be a non-negative integer"],
    ];
    for (const [name, body, status, error] of cases) {
      const answer = await register(name, body);
      assert.equal(answer.status, status, name);
      assert.equal(errorOf(answer), error, name);
    }
    // A symlink planted in /dev/shm must not lead the server to the file it points at.
    const link = `${PREFIX}_link`;
    symlinkSync(SHM + key, `${SHM}/${link}`);
    created.push(`${SHM}/${link}`);
    const linked = await register('linked', { key: `/${link}`, byte_size: 8 });
    assert.equal(linked.status, 400);
    assert.equal(errorOf(linked), `Unable to open shared memory region: '/${link}'`);

    assert.equal((await register('dup', { key, byte_size: 8 })).status, 200);
    const duplicate = await register('dup', { key, byte_size: 8 });
    assert.equal(duplicate.status, 400);
    assert.equal(errorOf(duplicate), "shared memory region 'dup' already in manager");
    assert.deepEqual((await http(`${server.url}/v2/systemsharedmemory/status`, 'GET')).json, [{ name: 'dup', key, offset: 0, byte_size: 8 }]);
    assert.equal((await http(`${server.url}/v2/systemsharedmemory/unregister`, 'POST')).status, 200);
    // Wrong methods get Triton's 405.
    assert.equal((await http(`${server.url}/v2/systemsharedmemory/status`, 'POST')).status, 405);
    assert.equal((await http(`${server.url}/v2/systemsharedmemory/region/x/register`, 'GET')).status, 405);
  });

  test('CUDA shared memory answers as Triton without GPUs: no regions, unregister succeeds, register fails', async () => {
    assert.deepEqual((await http(`${server.url}/v2/cudasharedmemory/status`, 'GET')).json, []);
    assert.equal((await http(`${server.url}/v2/cudasharedmemory/unregister`, 'POST')).status, 200);
    const register = await http(`${server.url}/v2/cudasharedmemory/region/gpu/register`, 'POST', { raw_handle: { b64: '' }, device_id: 0, byte_size: 8 });
    assert.equal(register.status, 400);
    assert.equal(errorOf(register), "failed to register CUDA shared memory region: 'gpu', GPUs not supported");
    assert.deepEqual((await grpcClient.call(OIP_SERVICE, 'CudaSharedMemoryStatus', {})).value, { regions: {} });
    assert.equal((await grpcClient.call(OIP_SERVICE, 'CudaSharedMemoryUnregister', {})).code, grpc.status.OK);
    assert.equal((await grpcClient.call(OIP_SERVICE, 'CudaSharedMemoryRegister', { name: 'gpu' })).code, grpc.status.INVALID_ARGUMENT);
  });

  test('the extension is advertised where registration works', async () => {
    const enabled = (await http(`${server.url}/v2`, 'GET')).json as { extensions: string[] };
    assert.ok(enabled.extensions.includes('system_shared_memory'));
    const grpcMetadata = await grpcClient.call<{ extensions: string[] }>(OIP_SERVICE, 'ServerMetadata', {});
    assert.ok(grpcMetadata.value?.extensions.includes('system_shared_memory'));
    const off = (await http(`${disabled.url}/v2`, 'GET')).json as { extensions: string[] };
    assert.ok(!off.extensions.includes('system_shared_memory'));
  });

  test('without --allow-client-shm: status is empty, (un)registration is refused as Triton refuses it', async () => {
    const key = createObject('off', 8);
    assert.deepEqual((await http(`${disabled.url}/v2/systemsharedmemory/status`, 'GET')).json, []);
    const refused = await http(`${disabled.url}/v2/systemsharedmemory/region/off/register`, 'POST', { key, byte_size: 8 });
    assert.equal(refused.status, 501);
    assert.equal(errorOf(refused), "Client shared memory is disabled. Start the server with '--allow-client-shm=true' to enable.");
    assert.equal((await http(`${disabled.url}/v2/systemsharedmemory/unregister`, 'POST')).status, 501);
    assert.equal((await http(`${disabled.url}/v2/cudasharedmemory/unregister`, 'POST')).status, 501);
    const off = new DecoderTestClient(`127.0.0.1:${disabled.ports.grpc}`);
    try {
      const answer = await off.call(OIP_SERVICE, 'SystemSharedMemoryRegister', { name: 'off', key, offset: 0, byte_size: 8 });
      assert.equal(answer.code, grpc.status.UNIMPLEMENTED);
      assert.match(answer.details, /Client shared memory is disabled/);
    } finally {
      off.close();
    }
  });
});

describe('access control', () => {
  test('a restricted shared-memory group needs its header on every shared-memory route, REST and gRPC', async () => {
    const restricted = await startTestServer({
      modelRepository: repo.root,
      allowClientShm: true,
      access: new AccessPolicy({
        restrictedHttp: [{ groups: ['shared-memory'], key: 'x-shm-key', value: 's3' }],
        restrictedGrpc: [{ groups: ['shared-memory'], key: 'shm-key', value: 's3' }],
      }),
    });
    const client = new DecoderTestClient(`127.0.0.1:${restricted.ports.grpc}`);
    try {
      const key = createObject('acl', 8);
      for (const [method, path, body] of [
        ['GET', '/v2/systemsharedmemory/status', undefined],
        ['POST', '/v2/systemsharedmemory/region/acl/register', { key, byte_size: 8 }],
        ['POST', '/v2/systemsharedmemory/unregister', undefined],
        ['GET', '/v2/cudasharedmemory/status', undefined],
      ] as const) {
        const refused = await http(restricted.url + path, method, body);
        assert.equal(refused.status, 403, path);
        assert.equal(errorOf(refused), "This API is restricted, expecting header 'x-shm-key'", path);
      }
      const allowed = await http(`${restricted.url}/v2/systemsharedmemory/region/acl/register`, 'POST', { key, byte_size: 8 }, { 'x-shm-key': 's3' });
      assert.equal(allowed.status, 200);
      const grpcRefused = await client.call(OIP_SERVICE, 'SystemSharedMemoryStatus', {});
      assert.equal(grpcRefused.code, grpc.status.PERMISSION_DENIED);
      // With the header, status answers (and lists the region registered above).
      assert.equal((await http(`${restricted.url}/v2/systemsharedmemory/status`, 'GET', undefined, { 'x-shm-key': 's3' })).status, 200);
    } finally {
      client.close();
      await restricted.stop();
    }
  });
});

describe('inference over REST', () => {
  test('JSON request: inputs read from regions, outputs written to regions, listed without data', async () => {
    const keys = await registerSimpleRegions('json');
    try {
      const answer = await http(`${server.url}/v2/models/simple/infer`, 'POST', {
        inputs: [
          { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], parameters: shmParams('json_in0', 64) },
          { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], parameters: shmParams('json_in1', 64) },
        ],
        outputs: [
          { name: 'OUTPUT0', parameters: shmParams('json_out0', 64) },
          { name: 'OUTPUT1', parameters: shmParams('json_out1', 64) },
        ],
      });
      assert.equal(answer.status, 200, JSON.stringify(answer.json));
      assert.match(answer.headers.get('content-type') ?? '', /application\/json/);
      assert.deepEqual((answer.json as { outputs: unknown[] }).outputs, [
        { name: 'OUTPUT0', datatype: 'INT32', shape: [1, 16] },
        { name: 'OUTPUT1', datatype: 'INT32', shape: [1, 16] },
      ]);
      assert.deepEqual(asInt32s(readObject(keys.out0, 0, 64)), SUM);
      assert.deepEqual(asInt32s(readObject(keys.out1, 0, 64)), DIFF);
    } finally {
      await http(`${server.url}/v2/systemsharedmemory/unregister`, 'POST');
    }
  });

  test('binary request mixing a binary input with a region, and a binary output with a region; offsets honoured', async () => {
    // One object holds INPUT1 at offset 100 of a region that starts at offset 28 of the object.
    const inKey = createObject('mixed_in', 256);
    writeObject(inKey, 128, int32s(INPUT1));
    const outKey = createObject('mixed_out', 256);
    await http(`${server.url}/v2/systemsharedmemory/region/mixed_in/register`, 'POST', { key: inKey, offset: 28, byte_size: 200 });
    await http(`${server.url}/v2/systemsharedmemory/region/mixed_out/register`, 'POST', { key: outKey, offset: 64, byte_size: 128 });
    try {
      const header = Buffer.from(
        JSON.stringify({
          inputs: [
            { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], parameters: { binary_data_size: 64 } },
            { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], parameters: shmParams('mixed_in', 64, 100) },
          ],
          outputs: [
            { name: 'OUTPUT0', parameters: { binary_data: true } },
            { name: 'OUTPUT1', parameters: shmParams('mixed_out', 64, 32) },
          ],
        }),
      );
      const answer = await http(`${server.url}/v2/models/simple/infer`, 'POST', Buffer.concat([header, int32s(INPUT0)]), {
        'inference-header-content-length': String(header.byteLength),
      });
      assert.equal(answer.status, 200, JSON.stringify(answer.json));
      const jsonLength = Number(answer.headers.get('inference-header-content-length'));
      assert.deepEqual((answer.json as { outputs: unknown[] }).outputs, [
        { name: 'OUTPUT0', datatype: 'INT32', shape: [1, 16], parameters: { binary_data_size: 64 } },
        { name: 'OUTPUT1', datatype: 'INT32', shape: [1, 16] },
      ]);
      assert.deepEqual(asInt32s(answer.body.subarray(jsonLength)), SUM);
      // Region offset 64 + tensor offset 32 = object byte 96; nothing written outside the slice.
      assert.deepEqual(asInt32s(readObject(outKey, 96, 64)), DIFF);
      assert.ok(readObject(outKey, 0, 96).every((b) => b === 0));
      assert.ok(readObject(outKey, 160, 96).every((b) => b === 0));
    } finally {
      await http(`${server.url}/v2/systemsharedmemory/unregister`, 'POST');
    }
  });

  test('BYTES tensors in shared memory use 4-byte length prefixes (string shm)', async () => {
    const strings = ['1', '22', 'three', ''];
    const serialized = bytesTensor(strings);
    const inKey = createObject('str_in', serialized.byteLength);
    writeObject(inKey, 0, serialized);
    const outKey = createObject('str_out', 64);
    await http(`${server.url}/v2/systemsharedmemory/region/str_in/register`, 'POST', { key: inKey, byte_size: serialized.byteLength });
    await http(`${server.url}/v2/systemsharedmemory/region/str_out/register`, 'POST', { key: outKey, byte_size: 64 });
    try {
      const answer = await http(`${server.url}/v2/models/strings/infer`, 'POST', {
        inputs: [{ name: 'INPUT0', datatype: 'BYTES', shape: [4], parameters: shmParams('str_in', serialized.byteLength) }],
        outputs: [{ name: 'OUTPUT0', parameters: shmParams('str_out', 64) }],
      });
      assert.equal(answer.status, 200, JSON.stringify(answer.json));
      assert.deepEqual((answer.json as { outputs: unknown[] }).outputs, [{ name: 'OUTPUT0', datatype: 'BYTES', shape: [4] }]);
      assert.deepEqual(parseBytesTensor(readObject(outKey, 0, serialized.byteLength)), strings);
    } finally {
      await http(`${server.url}/v2/systemsharedmemory/unregister`, 'POST');
    }
  });

  test('bad references: unknown region, offset and size out of range, size mismatch, output region too small', async () => {
    await registerSimpleRegions('badref');
    const small = createObject('badref_small', 32);
    await http(`${server.url}/v2/systemsharedmemory/region/badref_small/register`, 'POST', { key: small, byte_size: 32 });
    const request = (in0: Record<string, unknown>, out0: Record<string, unknown> = shmParams('badref_out0', 64)): Promise<HttpAnswer> =>
      http(`${server.url}/v2/models/simple/infer`, 'POST', {
        inputs: [
          { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], parameters: in0 },
          { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], parameters: shmParams('badref_in1', 64) },
        ],
        outputs: [{ name: 'OUTPUT0', parameters: out0 }],
      });
    try {
      const cases: [string, Promise<HttpAnswer>, number, string][] = [
        ['unknown', request(shmParams('nope', 64)), 404, "Unable to find shared memory region: 'nope'"],
        ['offset', request(shmParams('badref_in0', 64, 64)), 400, "Invalid offset for shared memory region: 'badref_in0'"],
        ['huge offset', request(shmParams('badref_in0', 64, 2 ** 64 - 32)), 400, "Invalid offset for shared memory region: 'badref_in0'"],
        ['offset + size', request(shmParams('badref_in0', 64, 1)), 400, "Invalid offset + byte size for shared memory region: 'badref_in0'"],
        ['size mismatch', request(shmParams('badref_in0', 60)), 400, "input byte size mismatch for input 'INPUT0' for model 'simple'. Expected 64, got 60"],
        ['no byte size', request({ shared_memory_region: 'badref_in0' }), 400, "'shared_memory_byte_size' must be specified along with 'shared_memory_region' parameter for tensor 'INPUT0'"],
        [
          'output too small',
          request(shmParams('badref_in0', 64), shmParams('badref_small', 32)),
          400,
          "shared memory size specified with the request for output 'OUTPUT0' (32 bytes) should be at least 64 bytes to hold the results",
        ],
      ];
      for (const [what, pending, status, error] of cases) {
        const answer = await pending;
        assert.equal(answer.status, status, what);
        assert.equal(errorOf(answer), error, what);
      }
      // Data and a region at once is refused (Triton: exactly one of data, binary_data_size, region).
      const both = await http(`${server.url}/v2/models/simple/infer`, 'POST', {
        inputs: [
          { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], data: INPUT0, parameters: shmParams('badref_in0', 64) },
          { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], data: INPUT1 },
        ],
      });
      assert.equal(both.status, 400);
      assert.match(errorOf(both), /only one of the following fields/);
      // Failed requests left no region pinned: unregistering drops them at once.
      assert.equal((await http(`${server.url}/v2/systemsharedmemory/unregister`, 'POST')).status, 200);
      assert.deepEqual((await http(`${server.url}/v2/systemsharedmemory/status`, 'GET')).json, []);
    } finally {
      await http(`${server.url}/v2/systemsharedmemory/unregister`, 'POST');
    }
  });

  test('an object shrunk after registration fails the request instead of crashing or growing the object', async () => {
    const keys = await registerSimpleRegions('shrunk');
    try {
      truncateSync(SHM + keys.in0, 16);
      truncateSync(SHM + keys.out0, 16);
      const request = (in0: string): Promise<HttpAnswer> =>
        http(`${server.url}/v2/models/simple/infer`, 'POST', {
          inputs: [
            { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], parameters: shmParams(in0, 64) },
            { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], parameters: shmParams('shrunk_in1', 64) },
          ],
          outputs: [{ name: 'OUTPUT0', parameters: shmParams('shrunk_out0', 64) }],
        });
      const input = await request('shrunk_in0');
      assert.equal(input.status, 400);
      assert.equal(errorOf(input), `shared memory region 'shrunk_in0': its object '${keys.in0}' is smaller than when it was registered`);
      const output = await request('shrunk_in1');
      assert.equal(output.status, 400);
      assert.equal(errorOf(output), `shared memory region 'shrunk_out0': its object '${keys.out0}' is smaller than when it was registered`);
      assert.equal(statSync(SHM + keys.out0).size, 16);
    } finally {
      await http(`${server.url}/v2/systemsharedmemory/unregister`, 'POST');
    }
  });

  test('unregistering a region in use by a running request defers until the request is done (Triton)', async () => {
    const size = 256 * 256 * 4;
    const xKey = createObject('inflight_x', size);
    const x = new Float32Array(256 * 256).map((_, i) => i % 251);
    writeObject(xKey, 0, Buffer.from(x.buffer));
    const yKey = createObject('inflight_y', size);
    await http(`${server.url}/v2/systemsharedmemory/region/inflight_x/register`, 'POST', { key: xKey, byte_size: size });
    await http(`${server.url}/v2/systemsharedmemory/region/inflight_y/register`, 'POST', { key: yKey, byte_size: size });
    // n steps shift columns right by n: y[i][(j + n) % 256] = x[i][j]. A step's cost varies several-fold between
    // machines and loads, so time a short run first and pick n for about two seconds: long enough to be in flight.
    const infer = (steps: number): Promise<HttpAnswer> =>
      http(`${server.url}/v2/models/loop/infer`, 'POST', {
        inputs: [
          { name: 'x', datatype: 'FP32', shape: [256, 256], parameters: shmParams('inflight_x', size) },
          { name: 'n', datatype: 'INT64', shape: [1], data: [steps] },
        ],
        outputs: [{ name: 'y', parameters: shmParams('inflight_y', size) }],
      });
    const probeSteps = 500;
    const probeStart = performance.now();
    assert.equal((await infer(probeSteps)).status, 200);
    const msPerStep = Math.max((performance.now() - probeStart) / probeSteps, 0.01);
    const n = Math.min(Math.ceil(2000 / msPerStep), 200_000);
    let finishedAt = Number.POSITIVE_INFINITY;
    const running = infer(n).finally(() => {
      finishedAt = Date.now();
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const unregistered = await http(`${server.url}/v2/systemsharedmemory/unregister`, 'POST');
    const during = (await http(`${server.url}/v2/systemsharedmemory/status`, 'GET')).json as { name: string }[];
    const statusAt = Date.now();
    const answer = await running;
    assert.equal(unregistered.status, 200);
    assert.equal(answer.status, 200, JSON.stringify(answer.json));
    // Only meaningful if the request was still running when the status answered.
    assert.ok(finishedAt > statusAt, `the request ended ${statusAt - finishedAt} ms before the status call: too fast to have been in flight`);
    assert.deepEqual(during.map((r) => r.name).sort(), ['inflight_x', 'inflight_y']);
    assert.deepEqual((await http(`${server.url}/v2/systemsharedmemory/status`, 'GET')).json, []);
    const y = new Float32Array(readObject(yKey, 0, size).buffer.slice(0));
    for (const [i, j] of [
      [0, 0],
      [7, 100],
      [255, 255],
    ] as const) {
      assert.equal(y[i * 256 + ((j + n) % 256)], x[i * 256 + j]);
    }
  });
});

describe('inference over gRPC', () => {
  test('register, status and unregister calls; ModelInfer with regions; raw inputs mixed with regions', async () => {
    const keys = { in0: createObject('g_in0', 64), in1: createObject('g_in1', 64), out0: createObject('g_out0', 64), out1: createObject('g_out1', 64) };
    writeObject(keys.in0, 0, int32s(INPUT0));
    writeObject(keys.in1, 0, int32s(INPUT1));
    for (const [role, key] of Object.entries(keys)) {
      const answer = await grpcClient.call(OIP_SERVICE, 'SystemSharedMemoryRegister', { name: `g_${role}`, key, offset: 0, byte_size: 64 });
      assert.equal(answer.code, grpc.status.OK, answer.details);
    }
    try {
      const status = await grpcClient.call<{ regions: Record<string, unknown> }>(OIP_SERVICE, 'SystemSharedMemoryStatus', { name: 'g_in0' });
      assert.deepEqual(status.value, { regions: { g_in0: { name: 'g_in0', key: keys.in0, offset: '0', byte_size: '64' } } });
      const all = await grpcClient.call<{ regions: Record<string, unknown> }>(OIP_SERVICE, 'SystemSharedMemoryStatus', {});
      assert.deepEqual(Object.keys(all.value?.regions ?? {}).sort(), ['g_in0', 'g_in1', 'g_out0', 'g_out1']);

      const answer = await grpcClient.call<{ outputs: { name: string; datatype: string; shape: string[]; parameters: object }[]; raw_output_contents: Buffer[] }>(OIP_SERVICE, 'ModelInfer', {
        model_name: 'simple',
        inputs: [
          { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], parameters: grpcShmParams('g_in0', 64) },
          { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], parameters: grpcShmParams('g_in1', 64) },
        ],
        outputs: [
          { name: 'OUTPUT0', parameters: grpcShmParams('g_out0', 64) },
          { name: 'OUTPUT1', parameters: grpcShmParams('g_out1', 64) },
        ],
      });
      assert.equal(answer.code, grpc.status.OK, answer.details);
      assert.deepEqual(
        answer.value?.outputs.map((o) => ({ name: o.name, datatype: o.datatype, shape: o.shape.map(Number), parameters: o.parameters })),
        [
          { name: 'OUTPUT0', datatype: 'INT32', shape: [1, 16], parameters: {} },
          { name: 'OUTPUT1', datatype: 'INT32', shape: [1, 16], parameters: {} },
        ],
      );
      assert.deepEqual(
        answer.value?.raw_output_contents.map((raw) => raw.byteLength),
        [0, 0],
      );
      assert.deepEqual(asInt32s(readObject(keys.out0, 0, 64)), SUM);
      assert.deepEqual(asInt32s(readObject(keys.out1, 0, 64)), DIFF);

      // INPUT0 raw (the only raw_input_contents entry), INPUT1 from its region; OUTPUT0 raw, OUTPUT1 to its region.
      writeObject(keys.out1, 0, Buffer.alloc(64));
      const mixed = await grpcClient.call<{ outputs: { name: string }[]; raw_output_contents: Buffer[] }>(OIP_SERVICE, 'ModelInfer', {
        model_name: 'simple',
        inputs: [
          { name: 'INPUT0', datatype: 'INT32', shape: [1, 16] },
          { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], parameters: grpcShmParams('g_in1', 64) },
        ],
        outputs: [{ name: 'OUTPUT0' }, { name: 'OUTPUT1', parameters: grpcShmParams('g_out1', 64) }],
        raw_input_contents: [int32s(INPUT0)],
      });
      assert.equal(mixed.code, grpc.status.OK, mixed.details);
      assert.deepEqual(
        mixed.value?.outputs.map((o) => o.name),
        ['OUTPUT0', 'OUTPUT1'],
      );
      assert.deepEqual(asInt32s(mixed.value?.raw_output_contents[0] as Buffer), SUM);
      assert.equal(mixed.value?.raw_output_contents[1]?.byteLength, 0);
      assert.deepEqual(asInt32s(readObject(keys.out1, 0, 64)), DIFF);
    } finally {
      assert.equal((await grpcClient.call(OIP_SERVICE, 'SystemSharedMemoryUnregister', {})).code, grpc.status.OK);
    }
    const empty = await grpcClient.call<{ regions: Record<string, unknown> }>(OIP_SERVICE, 'SystemSharedMemoryStatus', {});
    assert.deepEqual(empty.value, { regions: {} });
  });

  test('error codes: NOT_FOUND, ALREADY_EXISTS, INVALID_ARGUMENT as Triton answers them', async () => {
    const key = createObject('gbad', 64);
    assert.equal((await grpcClient.call(OIP_SERVICE, 'SystemSharedMemoryRegister', { name: 'gbad', key, offset: 0, byte_size: 64 })).code, grpc.status.OK);
    try {
      const duplicate = await grpcClient.call(OIP_SERVICE, 'SystemSharedMemoryRegister', { name: 'gbad', key, offset: 0, byte_size: 64 });
      assert.equal(duplicate.code, grpc.status.ALREADY_EXISTS);
      assert.equal(duplicate.details, "shared memory region 'gbad' already in manager");
      const range = await grpcClient.call(OIP_SERVICE, 'SystemSharedMemoryRegister', { name: 'gbad2', key, offset: 8, byte_size: 64 });
      assert.equal(range.code, grpc.status.INVALID_ARGUMENT);
      assert.equal(range.details, "failed to register shared memory region 'gbad2': invalid args");
      const unnamed = await grpcClient.call(OIP_SERVICE, 'SystemSharedMemoryRegister', { name: '', key, offset: 0, byte_size: 8 });
      assert.equal(unnamed.code, grpc.status.INVALID_ARGUMENT);
      const unknownStatus = await grpcClient.call(OIP_SERVICE, 'SystemSharedMemoryStatus', { name: 'nope' });
      assert.equal(unknownStatus.code, grpc.status.NOT_FOUND);
      assert.equal(unknownStatus.details, "Unable to find system shared memory region: 'nope'");
      const infer = (parameters: Record<string, object>): Promise<{ code: grpc.status; details: string }> =>
        grpcClient.call(OIP_SERVICE, 'ModelInfer', {
          model_name: 'simple',
          inputs: [
            { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], parameters },
            { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], parameters: grpcShmParams('gbad', 64) },
          ],
        });
      const unknown = await infer(grpcShmParams('nope', 64));
      assert.equal(unknown.code, grpc.status.NOT_FOUND);
      assert.equal(unknown.details, "Unable to find shared memory region: 'nope'");
      const offset = await infer(grpcShmParams('gbad', 64, 64));
      assert.equal(offset.code, grpc.status.INVALID_ARGUMENT);
      assert.equal(offset.details, "Invalid offset for shared memory region: 'gbad'");
      const wrongType = await infer({ shared_memory_region: { string_param: 'gbad' }, shared_memory_byte_size: { double_param: 64 } });
      assert.equal(wrongType.code, grpc.status.INVALID_ARGUMENT);
      assert.equal(wrongType.details, "invalid value type for 'shared_memory_byte_size' parameter for tensor 'INPUT0', expected int64_param.");
      const tooSmall = await grpcClient.call(OIP_SERVICE, 'ModelInfer', {
        model_name: 'simple',
        inputs: [
          { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], parameters: grpcShmParams('gbad', 64) },
          { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], parameters: grpcShmParams('gbad', 64) },
        ],
        outputs: [{ name: 'OUTPUT0', parameters: grpcShmParams('gbad', 16, 8) }],
      });
      assert.equal(tooSmall.code, grpc.status.INVALID_ARGUMENT);
      assert.match(tooSmall.details, /should be at least 64 bytes to hold the results/);
    } finally {
      await grpcClient.call(OIP_SERVICE, 'SystemSharedMemoryUnregister', {});
    }
  });

  test('ModelStreamInfer reads and writes regions, and answers a bad region in-stream', async () => {
    const keys = { in0: createObject('s_in0', 64), in1: createObject('s_in1', 64), out0: createObject('s_out0', 64) };
    writeObject(keys.in0, 0, int32s(INPUT0));
    writeObject(keys.in1, 0, int32s(INPUT1));
    for (const [role, key] of Object.entries(keys)) {
      assert.equal((await grpcClient.call(OIP_SERVICE, 'SystemSharedMemoryRegister', { name: `s_${role}`, key, offset: 0, byte_size: 64 })).code, grpc.status.OK);
    }
    const Client = grpc.makeGenericClientConstructor(serviceDefinition(oipPackageDefinition(), 'inference.GRPCInferenceService'), 'GRPCInferenceService');
    const client = new Client(`127.0.0.1:${server.ports.grpc}`, grpc.credentials.createInsecure());
    try {
      const stream = (
        client as unknown as {
          ModelStreamInfer(): grpc.ClientDuplexStream<object, { error_message: string; infer_response: { id: string; outputs: { name: string }[]; raw_output_contents: Buffer[] } }>;
        }
      ).ModelStreamInfer();
      const answers: { error_message: string; infer_response: { id: string; outputs: { name: string }[]; raw_output_contents: Buffer[] } }[] = [];
      const done = new Promise<void>((resolve, reject) => {
        stream.on('data', (answer: (typeof answers)[number]) => answers.push(answer));
        stream.on('end', () => resolve());
        stream.on('error', reject);
      });
      const inputs = (region0: string): object[] => [
        { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], parameters: grpcShmParams(region0, 64) },
        { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], parameters: grpcShmParams('s_in1', 64) },
      ];
      stream.write({ model_name: 'simple', id: 'good', inputs: inputs('s_in0'), outputs: [{ name: 'OUTPUT0', parameters: grpcShmParams('s_out0', 64) }] });
      stream.write({ model_name: 'simple', id: 'bad', inputs: inputs('nope') });
      stream.end();
      await done;
      const byId = new Map(answers.map((a) => [a.infer_response.id, a]));
      assert.equal(byId.get('good')?.error_message, '');
      assert.deepEqual(
        byId.get('good')?.infer_response.raw_output_contents.map((raw) => raw.byteLength),
        [0],
      );
      assert.deepEqual(asInt32s(readObject(keys.out0, 0, 64)), SUM);
      assert.match(byId.get('bad')?.error_message ?? '', /^Unable to find shared memory region: 'nope'/);
    } finally {
      client.close();
      await grpcClient.call(OIP_SERVICE, 'SystemSharedMemoryUnregister', {});
    }
  });
});
