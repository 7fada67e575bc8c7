/**
 * BYTES tensors reach ONNX Runtime unchanged or not at all. onnxruntime-node takes string tensors
 * as JavaScript strings and hands them to ORT as NUL-terminated UTF-8, so an element with a NUL
 * byte or with bytes that are not UTF-8 cannot be carried exactly: it is refused with
 * INVALID_ARGUMENT naming the input and the element index, over OIP REST (JSON and binary), OIP
 * gRPC and TF Serving REST and gRPC, before it joins a batch. Valid text round-trips exactly
 * through an identity STRING graph. Also: sequence parameters on a model without
 * sequence_batching are refused over REST and gRPC.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { createTempModelRepository, identityModel, type TempModelRepository } from '../fixtures/onnx-models.js';
import { infer } from '../helpers/oip-client.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { oipPackageDefinition, serviceDefinition } from '../../src/protocols/grpc/proto-loader.js';
import { grpcFailure, TfsGrpcClient } from '../../src/protocols/tfserving/tfs-test-client.js';

/** Identity over a BYTES tensor, batched by the dynamic batcher (a long delay so requests meet). */
const CONFIG = `max_batch_size: 8
input [ { name: "INPUT0" data_type: TYPE_STRING dims: [ -1 ] } ]
output [ { name: "OUTPUT0" data_type: TYPE_STRING dims: [ -1 ] } ]
dynamic_batching { max_queue_delay_microseconds: 300000 }
`;

const VALID = ['hello', 'héllo wörld ✓', '', '日本語', '\u{1F600}'];
const NUL = Buffer.from('he\u0000llo', 'utf8');
const NOT_UTF8 = Buffer.from([0x68, 0xff, 0xfe, 0x69]);

let repo: TempModelRepository;
let server: TestServer;

before(async () => {
  repo = await createTempModelRepository({ strings: { versions: { 1: identityModel({ datatype: 'BYTES', dims: [-1], batching: true }) }, config: CONFIG } });
  server = await startTestServer({ modelRepository: repo.root });
});

after(async () => {
  await server?.stop();
  await repo?.remove();
});

/** BYTES elements framed as the binary extension and gRPC raw contents frame them. */
function framed(elements: readonly Uint8Array[]): Buffer {
  return Buffer.concat(elements.flatMap((e) => [Buffer.from(Uint32Array.of(e.length).buffer), Buffer.from(e)]));
}

function unframed(bytes: Uint8Array): Buffer[] {
  const buf = Buffer.from(bytes);
  const out: Buffer[] = [];
  for (let offset = 0; offset < buf.length; offset += 4 + buf.readUInt32LE(offset)) out.push(buf.subarray(offset + 4, offset + 4 + buf.readUInt32LE(offset)));
  return out;
}

const REFUSAL = (index: number, why: RegExp): RegExp => new RegExp(`input 'INPUT0' element ${index} ${why.source}.*ONNX Runtime string tensors`);

describe('OIP REST', () => {
  test('JSON: valid strings round-trip exactly; a NUL byte is refused with the element index', async () => {
    const good = await infer(server.url, 'strings', [{ name: 'INPUT0', datatype: 'BYTES', shape: [1, VALID.length], data: VALID }]);
    assert.equal(good.status, 200, JSON.stringify(good.json));
    assert.deepEqual((good.json['outputs'] as { data: string[] }[])[0]!.data, VALID);

    const bad = await infer(server.url, 'strings', [{ name: 'INPUT0', datatype: 'BYTES', shape: [1, 3], data: ['a', 'b', 'he\u0000llo'] }]);
    assert.equal(bad.status, 400);
    assert.match(String(bad.json['error']), REFUSAL(2, /holds a NUL byte \(at byte 2\)/));
  });

  test('binary: exact bytes out for valid UTF-8; NUL and non-UTF-8 elements are refused', async () => {
    const elements = VALID.map((s) => Buffer.from(s, 'utf8'));
    const good = await infer(server.url, 'strings', [{ name: 'INPUT0', datatype: 'BYTES', shape: [1, elements.length], bytes: framed(elements) }], { binaryOutput: true });
    assert.equal(good.status, 200, JSON.stringify(good.json));
    assert.deepEqual(unframed(good.binary.get('OUTPUT0')!), elements);

    const nul = await infer(server.url, 'strings', [{ name: 'INPUT0', datatype: 'BYTES', shape: [1, 2], bytes: framed([Buffer.from('ok'), NUL]) }]);
    assert.equal(nul.status, 400);
    assert.match(String(nul.json['error']), REFUSAL(1, /holds a NUL byte/));
    const latin = await infer(server.url, 'strings', [{ name: 'INPUT0', datatype: 'BYTES', shape: [1, 1], bytes: framed([NOT_UTF8]) }]);
    assert.equal(latin.status, 400);
    assert.match(String(latin.json['error']), REFUSAL(0, /is not valid UTF-8/));
  });

  test('a refused request fails alone: good requests batched with it succeed', async () => {
    const requests = [
      infer(server.url, 'strings', [{ name: 'INPUT0', datatype: 'BYTES', shape: [1, 1], data: ['first'] }]),
      infer(server.url, 'strings', [{ name: 'INPUT0', datatype: 'BYTES', shape: [1, 1], bytes: framed([NOT_UTF8]) }]),
      infer(server.url, 'strings', [{ name: 'INPUT0', datatype: 'BYTES', shape: [1, 1], data: ['second'] }]),
    ];
    const [first, bad, second] = await Promise.all(requests);
    assert.equal(bad!.status, 400);
    assert.deepEqual((first!.json['outputs'] as { data: string[] }[])[0]!.data, ['first']);
    assert.deepEqual((second!.json['outputs'] as { data: string[] }[])[0]!.data, ['second']);
  });
});

interface ModelInferReply {
  outputs: { name: string; datatype: string; contents?: { bytes_contents: Buffer[] } }[];
  raw_output_contents: Buffer[];
}

describe('OIP gRPC', () => {
  let client: grpc.Client & { ModelInfer(request: unknown, callback: (error: grpc.ServiceError | null, reply?: ModelInferReply) => void): void };
  before(() => {
    const Client = grpc.makeGenericClientConstructor(serviceDefinition(oipPackageDefinition(), 'inference.GRPCInferenceService'), 'GRPCInferenceService');
    client = new Client(`127.0.0.1:${server.ports.grpc}`, grpc.credentials.createInsecure()) as unknown as typeof client;
  });
  after(() => client.close());

  const modelInfer = (request: object): Promise<ModelInferReply> =>
    new Promise((resolve, reject) => client.ModelInfer({ model_name: 'strings', ...request }, (error, reply) => (error ? reject(error) : resolve(reply!))));

  test('raw_input_contents and bytes_contents: valid round-trips exactly, NUL and non-UTF-8 are INVALID_ARGUMENT', async () => {
    const elements = VALID.map((s) => Buffer.from(s, 'utf8'));
    const raw = await modelInfer({ inputs: [{ name: 'INPUT0', datatype: 'BYTES', shape: [1, elements.length] }], raw_input_contents: [framed(elements)] });
    assert.deepEqual(unframed(raw.raw_output_contents[0]!), elements);

    const typed = await grpcFailure(modelInfer({ inputs: [{ name: 'INPUT0', datatype: 'BYTES', shape: [1, 2], contents: { bytes_contents: [Buffer.from('x'), NUL] } }] }));
    assert.equal(typed.code, grpc.status.INVALID_ARGUMENT);
    assert.match(typed.details, REFUSAL(1, /holds a NUL byte/));
    const rawBad = await grpcFailure(modelInfer({ inputs: [{ name: 'INPUT0', datatype: 'BYTES', shape: [1, 1] }], raw_input_contents: [framed([NOT_UTF8])] }));
    assert.equal(rawBad.code, grpc.status.INVALID_ARGUMENT);
    assert.match(rawBad.details, REFUSAL(0, /is not valid UTF-8/));
  });

  test('sequence parameters on a model without sequence_batching are INVALID_ARGUMENT', async () => {
    const inputs = [{ name: 'INPUT0', datatype: 'BYTES', shape: [1, 1], contents: { bytes_contents: [Buffer.from('a')] } }];
    const refused = await grpcFailure(modelInfer({ inputs, parameters: { sequence_id: { int64_param: 42 }, sequence_start: { bool_param: true } } }));
    assert.equal(refused.code, grpc.status.INVALID_ARGUMENT);
    assert.match(refused.details, /inference request to model 'strings' must not specify sequence_id, sequence_start: the model is not configured for sequence batching/);
    const stringId = await grpcFailure(modelInfer({ inputs, parameters: { sequence_id: { string_param: 'session-1' } } }));
    assert.equal(stringId.code, grpc.status.INVALID_ARGUMENT);
    // "No sequence" as Triton's clients spell it passes.
    const none = await modelInfer({ inputs, parameters: { sequence_id: { int64_param: 0 }, sequence_start: { bool_param: false }, sequence_end: { bool_param: false } } });
    assert.equal(none.outputs[0]!.name, 'OUTPUT0');
  });
});

test('sequence parameters on a model without sequence_batching are 400 over REST', async () => {
  const input = [{ name: 'INPUT0', datatype: 'BYTES', shape: [1, 1], data: ['a'] }];
  for (const parameters of [{ sequence_id: 7 }, { sequence_id: 'abc' }, { sequence_end: true }]) {
    const reply = await infer(server.url, 'strings', input, { parameters });
    assert.equal(reply.status, 400, JSON.stringify(parameters));
    assert.match(String(reply.json['error']), /inference request to model 'strings' must not specify sequence_/);
  }
  assert.equal((await infer(server.url, 'strings', input, { parameters: { sequence_id: 0, sequence_start: false } })).status, 200);
});

describe('TF Serving', () => {
  test('REST predict: b64 strings round-trip exactly; a NUL byte or non-UTF-8 is 400 naming the element', async () => {
    const post = async (body: unknown): Promise<{ status: number; json: Record<string, unknown> }> => {
      const response = await fetch(`${server.url}/v1/models/strings:predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: response.status, json: (await response.json()) as Record<string, unknown> };
    };
    const good = await post({ inputs: { INPUT0: [VALID] } });
    assert.equal(good.status, 200, JSON.stringify(good.json));
    assert.deepEqual(good.json['outputs'], [VALID]);
    const nul = await post({ inputs: { INPUT0: [[{ b64: Buffer.from('ok').toString('base64') }, { b64: NUL.toString('base64') }]] } });
    assert.equal(nul.status, 400);
    assert.match(String(nul.json['error']), REFUSAL(1, /holds a NUL byte/));
    const latin = await post({ instances: [[{ b64: NOT_UTF8.toString('base64') }]] });
    assert.equal(latin.status, 400);
    assert.match(String(latin.json['error']), REFUSAL(0, /is not valid UTF-8/));
  });

  test('gRPC Predict: string_val round-trips exactly; NUL and non-UTF-8 are INVALID_ARGUMENT', async () => {
    const client = new TfsGrpcClient(`127.0.0.1:${server.ports.grpc}`);
    const tensor = (values: Buffer[]): object => ({ dtype: 'DT_STRING', tensor_shape: { dim: [{ size: 1 }, { size: values.length }] }, string_val: values });
    try {
      const elements = VALID.map((s) => Buffer.from(s, 'utf8'));
      const reply = await client.call<{ outputs: Record<string, { string_val: Buffer[] }> }>('Predict', { model_spec: { name: 'strings' }, inputs: { INPUT0: tensor(elements) } });
      assert.deepEqual(
        reply.outputs['OUTPUT0']!.string_val.map((b) => Buffer.from(b)),
        elements,
      );
      const nul = await grpcFailure(client.call('Predict', { model_spec: { name: 'strings' }, inputs: { INPUT0: tensor([NUL]) } }));
      assert.equal(nul.code, grpc.status.INVALID_ARGUMENT);
      assert.match(nul.details, REFUSAL(0, /holds a NUL byte/));
      const latin = await grpcFailure(client.call('Predict', { model_spec: { name: 'strings' }, inputs: { INPUT0: tensor([Buffer.from('x'), Buffer.from('y'), NOT_UTF8]) } }));
      assert.equal(latin.code, grpc.status.INVALID_ARGUMENT);
      assert.match(latin.details, REFUSAL(2, /is not valid UTF-8/));
    } finally {
      client.close();
    }
  });
});
