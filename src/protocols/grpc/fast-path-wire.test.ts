/**
 * The fast path answers exactly as grpc-js: every call is sent byte for byte to a grpc-js server on
 * its own port (the reference) and to the raw HTTP/2 front (`H2UnaryFront` with the ModelInfer and
 * Predict handlers, grpc-js behind it over an in-memory connection), and the two answers — headers,
 * message bytes, trailers — must be equal (the `date` header and generated request ids aside).
 */
import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import { duplexPair } from 'node:stream';
import { after, before, beforeEach, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { CranberriesError } from '../../core/index.js';
import { addModel, echoInfer, exampleModels, FakeInferenceService } from '../../../test/doubles/fake-inference-service.js';
import { tfServingFastPaths, tfServingGrpcServices, PREDICTION_SERVICE_NAME } from '../tfserving/index.js';
import { createGrpcServer } from './grpc-server.js';
import { H2UnaryFront, type FrontHandler } from './h2-unary-front.js';
import { oipFastPaths } from './oip-fast-path.js';
import { OIP_SERVICE_NAME } from './oip-service.js';
import { oipPackageDefinition, serviceDefinition, tfServingPackageDefinition } from './proto-loader.js';

const MAX = 64 * 1024;
const MODEL_INFER = `/${OIP_SERVICE_NAME}/ModelInfer`;
const PREDICT = `/${PREDICTION_SERVICE_NAME}/Predict`;
const oip = serviceDefinition(oipPackageDefinition(), OIP_SERVICE_NAME);
const tfs = serviceDefinition(tfServingPackageDefinition(), PREDICTION_SERVICE_NAME);

interface Answer {
  headers: Record<string, unknown>;
  data: Buffer;
  trailers: Record<string, unknown> | undefined;
}

/** One raw gRPC call: the framed message as given, the answer as received. */
function rawCall(port: number, path: string, framed: Buffer, extra: http2.OutgoingHttpHeaders = {}, resetAfterMs?: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...extra });
    let headers: Record<string, unknown> = {};
    let trailers: Record<string, unknown> | undefined;
    const chunks: Buffer[] = [];
    stream.on('response', (h) => {
      headers = { ...h };
      delete headers['date'];
    });
    stream.on('trailers', (t: http2.IncomingHttpHeaders) => {
      trailers = { ...t };
    });
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('error', () => undefined);
    stream.on('close', () => {
      session.close();
      resolve({ headers, data: Buffer.concat(chunks), trailers });
    });
    stream.end(framed);
    if (resetAfterMs !== undefined) setTimeout(() => stream.close(http2.constants.NGHTTP2_CANCEL), resetAfterMs);
  });
}

function frame(message: Buffer, compressed = false): Buffer {
  const prefix = Buffer.alloc(5);
  prefix[0] = compressed ? 1 : 0;
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}

const inferRequest = (fields: Record<string, unknown>): Buffer =>
  frame(
    oip['ModelInfer']!.requestSerialize({
      model_name: 'm',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3] }],
      raw_input_contents: [Buffer.from(new Float32Array([1, 2, 3]).buffer)],
      ...fields,
    }),
  );

describe('gRPC fast path: the same answer as grpc-js', () => {
  const fake = new FakeInferenceService(exampleModels());
  addModel(fake, 'm');
  let reference: grpc.Server;
  let referencePort = 0;
  let front: H2UnaryFront;
  let frontPort = 0;
  const handled = new Map<string, number>();

  before(async () => {
    const make = (): grpc.Server => createGrpcServer({ service: fake, maxMessageBytes: MAX, services: tfServingGrpcServices(fake, undefined, MAX) });
    reference = make();
    referencePort = await new Promise<number>((resolve, reject) =>
      reference.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port))),
    );
    const behind = make();
    const injector = behind.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    const handlers = new Map<string, FrontHandler>();
    const fast = [...oipFastPaths(fake, { maxMessageBytes: MAX }), ...tfServingFastPaths(fake, { maxMessageBytes: MAX, maxDecodedBytes: MAX, serialization: 'proto_field' })];
    for (const [path, handler] of fast) {
      handlers.set(path, (call) => {
        handled.set(path, (handled.get(path) ?? 0) + 1);
        handler(call);
      });
    }
    front = new H2UnaryFront({
      handlers,
      connectFallback: () => {
        const [ours, theirs] = duplexPair();
        injector.injectConnection(theirs);
        return ours;
      },
      maxMessageBytes: MAX,
    });
    frontPort = await front.listen('127.0.0.1', 0);
  });

  after(async () => {
    await front.close();
    reference.forceShutdown();
  });

  beforeEach(() => {
    fake.inferHandler = undefined;
    handled.clear();
  });

  /** Sends the call to both; returns the front's answer once both agree (ids the server generated count as equal). */
  async function same(path: string, framed: Buffer, extra: http2.OutgoingHttpHeaders = {}): Promise<Answer> {
    const normalize = (a: Answer): Answer => {
      const id = a.headers['x-request-id'];
      if (extra['x-request-id'] !== undefined || typeof id !== 'string') return a;
      assert.match(id, /^[0-9a-f]+-[0-9]+$/);
      return { ...a, headers: { ...a.headers, 'x-request-id': 'generated' } };
    };
    const expected = normalize(await rawCall(referencePort, path, framed, extra));
    const actual = normalize(await rawCall(frontPort, path, framed, extra));
    assert.deepEqual(actual.headers, expected.headers);
    assert.deepEqual(actual.trailers, expected.trailers);
    assert.ok(actual.data.equals(expected.data), `message bytes differ: ${actual.data.toString('hex')} vs ${expected.data.toString('hex')}`);
    return actual;
  }

  it('answers a ModelInfer with the same headers, message bytes and trailers', async () => {
    const answer = await same(MODEL_INFER, inferRequest({ id: 'call-7' }), { 'x-request-id': 'trace-1' });
    assert.equal(handled.get(MODEL_INFER), 1, 'the front answered it itself');
    assert.equal(answer.headers['x-request-id'], 'trace-1');
    assert.equal(answer.trailers?.['grpc-status'], '0');
    const decoded = oip['ModelInfer']!.responseDeserialize(answer.data.subarray(5)) as { id: string; raw_output_contents: Buffer[] };
    assert.equal(decoded.id, 'call-7');
    assert.deepEqual([...new Float32Array(new Uint8Array(decoded.raw_output_contents[0]!).buffer)], [1, 2, 3]);
  });

  it('echoes a generated request id the same way', async () => {
    const answer = await same(MODEL_INFER, inferRequest({}));
    assert.equal(answer.headers['x-request-id'], 'generated');
    assert.equal(handled.get(MODEL_INFER), 1);
  });

  it('fails the same way: unknown model, bad version, an error of the model, an over-sized answer', async () => {
    await same(MODEL_INFER, inferRequest({ model_name: 'nope' }), { 'x-request-id': 'a' });
    await same(MODEL_INFER, inferRequest({ model_version: 'one' }), { 'x-request-id': 'b' });
    await same(MODEL_INFER, inferRequest({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4] }] }), { 'x-request-id': 'c' });
    fake.inferHandler = () => Promise.reject(new CranberriesError('UNAVAILABLE', 'model is busy'));
    await same(MODEL_INFER, inferRequest({}), { 'x-request-id': 'd' });
    fake.inferHandler = (request) => ({ model: request.model, version: 1, outputs: [{ name: 'y', datatype: 'FP32', shape: [MAX], data: new Float32Array(MAX) }] });
    const big = await same(MODEL_INFER, inferRequest({}), { 'x-request-id': 'e' });
    assert.equal(big.trailers?.['grpc-status'], '8');
    assert.equal(handled.get(MODEL_INFER), 5);
  });

  it('answers a passed deadline with DEADLINE_EXCEEDED at once and aborts the work', async () => {
    const signals: AbortSignal[] = [];
    fake.inferHandler = (_request, context) =>
      new Promise((_resolve, reject) => {
        if (context?.signal) signals.push(context.signal);
        context?.signal?.addEventListener('abort', () => reject(context.signal?.reason as Error));
      });
    const answer = await same(MODEL_INFER, inferRequest({}), { 'x-request-id': 'f', 'grpc-timeout': '50m' });
    assert.equal(answer.trailers?.['grpc-status'], '4');
    assert.equal(signals.length, 2);
    for (const signal of signals) assert.equal((signal.reason as CranberriesError).code, 'DEADLINE_EXCEEDED');
  });

  it('aborts the work with CANCELLED when the client resets the stream', async () => {
    let signal: AbortSignal | undefined;
    fake.inferHandler = (_request, context) =>
      new Promise((_resolve, reject) => {
        signal = context?.signal;
        signal?.addEventListener('abort', () => reject(signal?.reason as Error));
      });
    await rawCall(frontPort, MODEL_INFER, inferRequest({}), {}, 100);
    const deadline = Date.now() + 2000;
    while (signal?.aborted !== true && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal((signal?.reason as CranberriesError | undefined)?.code, 'CANCELLED');
  });

  it('hands undecodable, compressed and over-sized requests to grpc-js, whose answers they get', async () => {
    await same(MODEL_INFER, frame(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f])));
    await same(MODEL_INFER, frame(Buffer.from('not a real deflate stream'), true), { 'grpc-encoding': 'gzip' });
    await same(MODEL_INFER, inferRequest({ raw_input_contents: [Buffer.alloc(MAX + 1)] }));
    assert.equal(handled.get(MODEL_INFER), 1, 'only the undecodable one reached the handler, which handed it over');
  });

  it('proxies every other method to grpc-js (metadata, TF Serving GetModelMetadata)', async () => {
    await same(`/${OIP_SERVICE_NAME}/ModelMetadata`, frame(oip['ModelMetadata']!.requestSerialize({ name: 'm' })));
    await same(`/${OIP_SERVICE_NAME}/ServerLive`, frame(Buffer.alloc(0)));
    assert.equal(handled.size, 0);
  });

  it('answers a TF Serving Predict the same, success and failure', async () => {
    const predict = (name: string, values: number[]): Buffer =>
      frame(tfs['Predict']!.requestSerialize({ model_spec: { name }, inputs: { x: { dtype: 'DT_FLOAT', tensor_shape: { dim: [{ size: values.length }] }, float_val: values } } }));
    const ok = await same(PREDICT, predict('simple', [1, 2, 3]));
    assert.equal(ok.trailers?.['grpc-status'], '0');
    await same(PREDICT, predict('nope', [1]));
    await same(PREDICT, predict('simple', [1, 2]), { 'cranberries-tensor-serialization': 'tensor_content' });
    await same(PREDICT, predict('simple', [1, 2]), { 'cranberries-tensor-serialization': 'bogus' });
    assert.equal(handled.get(PREDICT), 4);
    fake.inferHandler = echoInfer;
  });
});
