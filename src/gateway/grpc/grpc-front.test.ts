import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import { connect, createServer, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { EndpointHealth, EndpointTable, type WorkerSnapshot, Picker, RequestRouter, RetryBudget } from '../routing/index.js';
import { GrpcFront, parseTimeout } from './grpc-front.js';
import { H2Upstreams } from './h2-upstreams.js';
import { lengthDelimited, stringField } from './wire-fields.js';

const MODEL_INFER = '/inference.GRPCInferenceService/ModelInfer';
const FALLBACK_ONLY = '/inference.GRPCInferenceService/ServerLive';
const identity = (b: Buffer): Buffer => b;
const MAX = 4096;

/** A ModelInferRequest naming `model` (and an OIP id), with some payload the gateway must not touch. */
function inferMessage(model: string, id = '', payload = Buffer.from([1, 2, 3, 250, 0, 7])): Buffer {
  return Buffer.concat([stringField(1, model), stringField(3, id), lengthDelimited(7, payload)]);
}

type UnaryHandler = grpc.handleUnaryCall<Buffer, Buffer>;

interface Worker {
  readonly address: string;
  readonly calls: { metadata: grpc.Metadata; request: Buffer }[];
  stop(): void;
}

async function grpcServer(methods: Record<string, UnaryHandler>, options: grpc.ServerOptions = {}): Promise<{ server: grpc.Server; address: string }> {
  const server = new grpc.Server(options);
  for (const [path, handler] of Object.entries(methods)) server.register(path, handler, identity, identity, 'unary');
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  return { server, address: `127.0.0.1:${port}` };
}

/** A worker whose ModelInfer runs `answer` (default: echo the request after `<name>:`, with the request id in its metadata). */
async function startWorker(name: string, answer?: UnaryHandler): Promise<Worker> {
  const calls: Worker['calls'] = [];
  const handler: UnaryHandler = (call, callback) => {
    calls.push({ metadata: call.metadata, request: call.request });
    if (answer) {
      answer(call, callback);
      return;
    }
    const metadata = new grpc.Metadata();
    metadata.set('x-request-id', String(call.metadata.get('x-request-id')[0] ?? ''));
    call.sendMetadata(metadata);
    const trailing = new grpc.Metadata();
    trailing.set('served-by', name);
    callback(null, Buffer.concat([Buffer.from(`${name}:`), call.request]), trailing);
  };
  const { server, address } = await grpcServer({ [MODEL_INFER]: handler });
  return { address, calls, stop: () => server.forceShutdown() };
}

/** A gRPC port that kills the whole connection as soon as a call arrives (a worker dying mid-call). */
async function startCrashingWorker(): Promise<Worker> {
  const server = http2.createServer();
  server.on('stream', (stream) => stream.session?.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { address: `127.0.0.1:${(server.address() as AddressInfo).port}`, calls: [], stop: () => server.close() };
}

async function closedPort(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `127.0.0.1:${port}`;
}

function tableFor(workers: readonly { id: string; grpc: string }[]): EndpointTable {
  const snapshots = new Map<string, WorkerSnapshot>(
    workers.map((w) => [
      w.id,
      {
        node: { id: w.id, httpAddress: '127.0.0.1:1', grpcAddress: w.grpc, memoryCapacityBytes: 1 << 30, labels: {}, startedAt: 0 },
        status: { models: { m: { versions: { '1': { state: 'READY' } } } } },
      },
    ]),
  );
  return EndpointTable.build({ workers: snapshots, deployments: new Map([['m', { name: 'm', replicas: workers.length, memoryBytes: 0, memoryMeasured: false }]]) });
}

interface Answer {
  error: grpc.ServiceError | null;
  response: Buffer | undefined;
  metadata: grpc.Metadata | undefined;
}

function call(address: string, path: string, message: Buffer, metadata = new grpc.Metadata(), options: grpc.CallOptions = {}, clientOptions: grpc.ClientOptions = {}): Promise<Answer> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), clientOptions);
  return new Promise((resolve) => {
    let received: grpc.Metadata | undefined;
    const pending = client.makeUnaryRequest(path, identity, identity, message, metadata, options, (error, response) => {
      client.close();
      resolve({ error, response, metadata: received });
    });
    pending.on('metadata', (m: grpc.Metadata) => {
      received = m;
    });
  });
}

describe('GrpcFront', () => {
  const workers: Worker[] = [];
  let fallback: { server: grpc.Server; address: string };
  /** What the fallback server and the silent worker saw. */
  const events: string[] = [];
  let table: EndpointTable;
  let health: EndpointHealth;
  let upstreams: H2Upstreams;
  let front: GrpcFront;
  let address: string;

  const relay = async (ids: readonly string[], run: () => Promise<void>): Promise<void> => {
    table = tableFor(ids.map((id) => ({ id, grpc: workerAddress.get(id) ?? '' })));
    await run();
  };
  const workerAddress = new Map<string, string>();

  before(async () => {
    const named = async (id: string, worker: Promise<Worker>): Promise<void> => {
      const started = await worker;
      workers.push(started);
      workerAddress.set(id, started.address);
    };
    await named('w1', startWorker('w1'));
    await named('w2', startWorker('w2'));
    await named(
      'unavailable',
      startWorker('unavailable', (_call, callback) => callback({ code: grpc.status.UNAVAILABLE, details: 'the version is unloading' })),
    );
    await named(
      'stale',
      startWorker('stale', (_call, callback) => callback({ code: grpc.status.NOT_FOUND, details: "Request for unknown model: 'm' is not found" })),
    );
    await named(
      'bad',
      startWorker('bad', (_call, callback) => {
        const trailing = new grpc.Metadata();
        trailing.set('why', 'shape');
        callback({ code: grpc.status.INVALID_ARGUMENT, details: "input 'X': wrong shape", metadata: trailing });
      }),
    );
    await named(
      'silent',
      startWorker('silent', (call) => {
        const deadline = call.getDeadline();
        events.push(`silent got a deadline in ${(deadline instanceof Date ? deadline.getTime() : deadline) - Date.now()} ms`);
        call.on('cancelled', () => events.push('silent cancelled'));
      }),
    );
    await named('crashing', startCrashingWorker());
    workerAddress.set('gone', await closedPort());
    fallback = await grpcServer(
      {
        [MODEL_INFER]: (callIn, callback) => {
          events.push(`ModelInfer ${callIn.request.length}`);
          callback(null, Buffer.from('from grpc-js'));
        },
        [FALLBACK_ONLY]: (_call, callback) => {
          events.push('ServerLive');
          callback(null, Buffer.from([8, 1]));
        },
      },
      { 'grpc.max_receive_message_length': MAX },
    );
    health = new EndpointHealth({ probe: () => Promise.resolve(false), initialProbeDelayMs: 60_000 });
    // Ties go to the first replica listed, so tests choose which worker is tried first.
    const router = new RequestRouter({ table: () => table, picker: new Picker(health, { random: () => 0.99 }), health, budget: new RetryBudget() });
    upstreams = new H2Upstreams({ maxMessageBytes: MAX });
    front = new GrpcFront({ router, upstreams, connectFallback: () => connect(Number(fallback.address.split(':')[1]), '127.0.0.1'), maxMessageBytes: MAX });
    address = `127.0.0.1:${await front.listen('127.0.0.1', 0)}`;
  });

  after(async () => {
    await front.close();
    upstreams.close();
    health.stop();
    fallback.server.forceShutdown();
    for (const worker of workers) worker.stop();
  });

  it('relays ModelInfer bytes both ways, with the metadata, the request id and the trailing metadata', () =>
    relay(['w1'], async () => {
      const metadata = new grpc.Metadata();
      metadata.set('x-request-id', 'caller-id');
      metadata.set('x-custom', 'kept');
      const message = inferMessage('m', 'oip-id');
      const answer = await call(address, MODEL_INFER, message, metadata);
      assert.equal(answer.error, null);
      assert.deepEqual(answer.response, Buffer.concat([Buffer.from('w1:'), message]));
      assert.equal(answer.metadata?.get('x-request-id')[0], 'caller-id');
      const seen = workers[0]?.calls.at(-1);
      assert.deepEqual(seen?.request, message, 'the worker got the very bytes');
      assert.equal(seen?.metadata.get('x-request-id')[0], 'caller-id');
      assert.equal(seen?.metadata.get('x-custom')[0], 'kept');

      // Without a header the OIP id is the request id; without either one is made up.
      await call(address, MODEL_INFER, inferMessage('m', 'oip-id'));
      assert.equal(workers[0]?.calls.at(-1)?.metadata.get('x-request-id')[0], 'oip-id');
      await call(address, MODEL_INFER, inferMessage('m'));
      assert.match(String(workers[0]?.calls.at(-1)?.metadata.get('x-request-id')[0]), /^[0-9a-f]{12}-[0-9a-f]+$/);
    }));

  it("relays the worker's error status, message and trailing metadata unchanged", () =>
    relay(['bad'], async () => {
      const answer = await call(address, MODEL_INFER, inferMessage('m'));
      assert.equal(answer.error?.code, grpc.status.INVALID_ARGUMENT);
      assert.equal(answer.error?.details, "input 'X': wrong shape");
      assert.equal(answer.error?.metadata.get('why')[0], 'shape');
    }));

  it('answers for the cluster when nothing can serve: NOT_FOUND with the request id, INVALID_ARGUMENT for a message naming no model', () =>
    relay(['w1'], async () => {
      const metadata = new grpc.Metadata();
      metadata.set('x-request-id', 'lost-1');
      const unknown = await call(address, MODEL_INFER, inferMessage('nope'), metadata);
      assert.equal(unknown.error?.code, grpc.status.NOT_FOUND);
      assert.equal(unknown.error?.details, "Request for unknown model: 'nope' is not found (request id: lost-1)");
      assert.equal(unknown.metadata?.get('x-request-id')[0], 'lost-1');
      const nameless = await call(address, MODEL_INFER, inferMessage(''));
      assert.equal(nameless.error?.code, grpc.status.INVALID_ARGUMENT);
      assert.match(nameless.error?.details ?? '', /model_name/);
    }));

  it('hands other methods, compressed and over-sized messages to grpc-js, which answers in its own words', () =>
    relay(['w1'], async () => {
      events.length = 0;
      const live = await call(address, FALLBACK_ONLY, Buffer.alloc(0));
      assert.equal(live.error, null);
      assert.deepEqual(live.response, Buffer.from([8, 1]));
      const unimplemented = await call(address, '/inference.GRPCInferenceService/Nothing', Buffer.alloc(0));
      assert.equal(unimplemented.error?.code, grpc.status.UNIMPLEMENTED);
      const tooLarge = await call(address, MODEL_INFER, inferMessage('m', '', Buffer.alloc(MAX)));
      assert.equal(tooLarge.error?.code, grpc.status.RESOURCE_EXHAUSTED);
      assert.match(tooLarge.error?.details ?? '', /larger than max/);
      const compressible = inferMessage('m', '', Buffer.alloc(600, 1));
      const compressed = await call(address, MODEL_INFER, compressible, new grpc.Metadata(), {}, { 'grpc.default_compression_algorithm': 2 });
      assert.equal(compressed.error, null);
      assert.deepEqual(compressed.response, Buffer.from('from grpc-js'));
      assert.deepEqual(events, ['ServerLive', `ModelInfer ${compressible.length}`]);
    }));

  it('retries on another replica when a worker refuses the connection, and marks it down', () =>
    relay(['gone', 'w2'], async () => {
      const answer = await call(address, MODEL_INFER, inferMessage('m'));
      assert.equal(answer.error, null);
      assert.equal(answer.response?.subarray(0, 3).toString(), 'w2:');
      const gone = table.endpoints.find((e) => e.nodeId === 'gone');
      assert.ok(gone && !health.isUp(gone.key), 'the refusing worker is marked down');
    }));

  it('retries on another replica when the connection breaks mid-call', () =>
    relay(['crashing', 'w2'], async () => {
      const answer = await call(address, MODEL_INFER, inferMessage('m'));
      assert.equal(answer.error, null);
      assert.equal(answer.response?.subarray(0, 3).toString(), 'w2:');
      const crashing = table.endpoints.find((e) => e.nodeId === 'crashing');
      assert.ok(crashing && health.isUp(crashing.key), 'a broken connection does not mark a worker down');
    }));

  it("retries a worker's UNAVAILABLE elsewhere, and relays it when there is nowhere else", async () => {
    await relay(['unavailable', 'w2'], async () => {
      const answer = await call(address, MODEL_INFER, inferMessage('m'));
      assert.equal(answer.response?.subarray(0, 3).toString(), 'w2:');
    });
    await relay(['unavailable'], async () => {
      const answer = await call(address, MODEL_INFER, inferMessage('m'));
      assert.equal(answer.error?.code, grpc.status.UNAVAILABLE);
      assert.equal(answer.error?.details, 'the version is unloading');
    });
  });

  it("retries a worker's NOT_FOUND for a model the table lists there (the table is behind) elsewhere, and relays it when there is nowhere else", async () => {
    await relay(['stale', 'w2'], async () => {
      const answer = await call(address, MODEL_INFER, inferMessage('m'));
      assert.equal(answer.response?.subarray(0, 3).toString(), 'w2:');
    });
    await relay(['stale'], async () => {
      const answer = await call(address, MODEL_INFER, inferMessage('m'));
      assert.equal(answer.error?.code, grpc.status.NOT_FOUND);
      assert.equal(answer.error?.details, "Request for unknown model: 'm' is not found");
    });
  });

  it('cancels the worker call when the client cancels, and enforces and forwards the deadline', () =>
    relay(['silent'], async () => {
      events.length = 0;
      const client = new grpc.Client(address, grpc.credentials.createInsecure());
      const cancelled = new Promise<grpc.ServiceError | null>((resolve) => {
        const pending = client.makeUnaryRequest(MODEL_INFER, identity, identity, inferMessage('m'), (error) => resolve(error));
        const poll = setInterval(() => {
          if (events.length > 0) {
            clearInterval(poll);
            pending.cancel();
          }
        }, 10);
      });
      assert.equal((await cancelled)?.code, grpc.status.CANCELLED);
      for (let i = 0; i < 100 && !events.includes('silent cancelled'); i++) await new Promise((r) => setTimeout(r, 20));
      assert.ok(events.includes('silent cancelled'), `the worker saw the cancellation: ${events.join(', ')}`);
      client.close();

      // A raw HTTP/2 client that does not enforce its own deadline: the front (or the worker it told) does.
      events.length = 0;
      const session = http2.connect(`http://${address}`);
      const message = inferMessage('m');
      const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, message.length]), message]);
      const stream = session.request({ ':method': 'POST', ':path': MODEL_INFER, 'content-type': 'application/grpc', te: 'trailers', 'grpc-timeout': '300m' });
      const status = new Promise<string | undefined>((resolve) => {
        stream.on('response', (headers: http2.IncomingHttpHeaders) => {
          if (headers['grpc-status'] !== undefined) resolve(String(headers['grpc-status']));
        });
        stream.on('trailers', (trailers: http2.IncomingHttpHeaders) => resolve(String(trailers['grpc-status'])));
        stream.on('close', () => resolve(undefined));
        stream.resume();
      });
      stream.end(frame);
      assert.equal(await status, String(grpc.status.DEADLINE_EXCEEDED));
      session.close();
      const forwarded = /silent got a deadline in (\d+) ms/.exec(events[0] ?? '');
      assert.ok(forwarded && Number(forwarded[1]) <= 300 && Number(forwarded[1]) > 0, `the worker got the deadline: ${events.join(', ')}`);
    }));

  it('reads grpc-timeout values', () => {
    assert.equal(parseTimeout('250m'), 250);
    assert.equal(parseTimeout('2S'), 2000);
    assert.equal(parseTimeout('1H'), 3_600_000);
    assert.equal(parseTimeout('1500u'), 1.5);
    assert.equal(parseTimeout('123456789m'), undefined);
    assert.equal(parseTimeout('5x'), undefined);
    assert.equal(parseTimeout(''), undefined);
  });
});
