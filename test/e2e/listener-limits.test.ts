/**
 * Listener limits over real loopback sockets, against a real model server (ONNX Runtime behind it):
 * slow clients are cut within the timeouts while valid requests keep being answered, declared body
 * sizes do not reserve memory, decompression has a budget, and the listener's own answers use the
 * `{"error": ...}` shape.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { GrpcClient } from '../../src/client/index.js';
import { DEFAULT_LISTENER_LIMITS, type ListenerLimits } from '../../src/protocols/common/listener-limits.js';
import { addSubModel, createTempModelRepository, type TempModelRepository } from '../fixtures/onnx-models.js';
import { infer } from '../helpers/oip-client.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

const LIMITS: ListenerLimits = {
  http: { ...DEFAULT_LISTENER_LIMITS.http, headerTimeoutMs: 1500, requestTimeoutMs: 2500, idleTimeoutMs: 2000, maxInflatingBytes: 32 * 1024 * 1024 },
  grpc: { ...DEFAULT_LISTENER_LIMITS.grpc, idleTimeoutMs: 1500, maxConnections: 1200 },
};
const SLOW_SOCKETS = 1100;

let repo: TempModelRepository;
let server: TestServer;

before(async () => {
  repo = await createTempModelRepository({ simple: { versions: { 1: addSubModel('FP32', [4]) } } });
  server = await startTestServer({ modelRepository: repo.root, listenerLimits: LIMITS });
});

after(async () => {
  await server?.stop();
  await repo?.remove();
});

const validInfer = (): ReturnType<typeof infer> =>
  infer(server.url, 'simple', [
    { name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] },
    { name: 'INPUT1', datatype: 'FP32', shape: [1, 4], data: [1, 1, 1, 1] },
  ]);

/** Opens `count` sockets to `port`, each writing `first` at once and then one byte of `drip` every 300 ms. */
async function openSlowSockets(port: number, count: number, first: string, drip: string): Promise<{ sockets: Socket[]; closedAt: Map<Socket, number>; stop(): void }> {
  const sockets: Socket[] = [];
  const closedAt = new Map<Socket, number>();
  const timers: NodeJS.Timeout[] = [];
  for (let i = 0; i < count; i++) {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.on('data', () => undefined);
    socket.once('close', () => closedAt.set(socket, Date.now()));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()).once('error', () => resolve()));
    socket.write(first);
    let sent = 0;
    const timer = setInterval(() => {
      if (socket.destroyed || drip === '') return;
      socket.write(drip[sent % drip.length]!);
      sent++;
    }, 300);
    timers.push(timer);
    sockets.push(socket);
  }
  return {
    sockets,
    closedAt,
    stop: () => {
      for (const timer of timers) clearInterval(timer);
      for (const socket of sockets) socket.destroy();
    },
  };
}

/** Opens slow sockets, checks valid requests keep a bounded latency meanwhile, and that the server closes every slow socket in time. */
async function slowClientsAreCut(first: string, drip: string, cutWithinMs: number): Promise<void> {
  const openedAt = Date.now();
  const slow = await openSlowSockets(server.ports.http, SLOW_SOCKETS, first, drip);
  try {
    // While they are open, valid requests are answered promptly.
    for (let i = 0; i < 5; i++) {
      const started = Date.now();
      assert.equal((await validInfer()).status, 200);
      assert.ok(Date.now() - started < 2000, `a valid request took ${Date.now() - started} ms`);
    }
    const deadline = openedAt + cutWithinMs + 10_000;
    while (slow.closedAt.size < SLOW_SOCKETS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    assert.equal(slow.closedAt.size, SLOW_SOCKETS, `the server closed ${slow.closedAt.size} of ${SLOW_SOCKETS} slow sockets`);
    assert.equal((await validInfer()).status, 200);
  } finally {
    slow.stop();
  }
}

const POST_HEAD = (extra: string): string => `POST /v2/models/simple/infer HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;

test('byte-by-byte headers are cut within the header timeout', { timeout: 120_000 }, async () => {
  await slowClientsAreCut('POST /v2/models/simple/infer HTTP/1.1\r\n', 'X-Slow: aaaaaaaaaaaaaaaaaaaa\r\n', LIMITS.http.headerTimeoutMs);
});

test('a Content-Length body trickled byte by byte is cut within the request timeout', { timeout: 120_000 }, async () => {
  await slowClientsAreCut(POST_HEAD('Content-Length: 100000\r\n'), '{', LIMITS.http.requestTimeoutMs);
});

test('a chunked body trickled byte by byte is cut within the request timeout', { timeout: 120_000 }, async () => {
  await slowClientsAreCut(POST_HEAD('Transfer-Encoding: chunked\r\n'), '1\r\n{\r\n', LIMITS.http.requestTimeoutMs);
});

test('a slow request is answered 408 in the {"error"} shape', { timeout: 30_000 }, async () => {
  const socket = connect(server.ports.http, '127.0.0.1');
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  socket.write(POST_HEAD('Content-Length: 100\r\n') + '{');
  await new Promise((resolve) => socket.once('close', resolve));
  assert.match(text, /^HTTP\/1\.1 408 /);
  assert.deepEqual(Object.keys(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as object), ['error']);
});

test('malformed HTTP is answered 400 in the {"error"} shape and the connection closed', { timeout: 30_000 }, async () => {
  const socket = connect(server.ports.http, '127.0.0.1');
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  socket.write('GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n');
  await new Promise((resolve) => socket.once('close', resolve));
  assert.match(text, /^HTTP\/1\.1 400 /);
  const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
  assert.deepEqual(Object.keys(body), ['error']);
});

/** Virtual memory of this process (the server runs in it), from /proc. */
function virtualMemoryBytes(): number {
  const match = /VmSize:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return Number(match?.[1] ?? 0) * 1024;
}

test('a declared Content-Length reserves no memory before the body arrives', { timeout: 60_000 }, async () => {
  const count = 200;
  const before = virtualMemoryBytes();
  const sockets: Socket[] = [];
  for (let i = 0; i < count; i++) {
    const socket = connect(server.ports.http, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.write(POST_HEAD('Inference-Header-Content-Length: 10\r\nContent-Length: 67108864\r\n') + '{');
    sockets.push(socket);
  }
  await new Promise((r) => setTimeout(r, 1000));
  const grown = virtualMemoryBytes() - before;
  for (const socket of sockets) socket.destroy();
  // 200 × 64 MiB would be 12.5 GiB; 200 × 1 MiB (the eager part) is 200 MiB.
  assert.ok(grown < 1024 * 1024 * 1024, `virtual memory grew by ${(grown / 2 ** 20).toFixed(0)} MiB`);
  assert.equal((await validInfer()).status, 200);
});

test('parallel gzip bombs beyond the decompression budget get 503 {"error"}', { timeout: 60_000 }, async () => {
  // 30 MiB of zeros inflates from ~30 KiB: 16 of them at once need 480 MiB, the budget is 32.
  const bomb = gzipSync(Buffer.alloc(30 * 1024 * 1024));
  const answers = await Promise.all(
    Array.from({ length: 16 }, async () => {
      const response = await fetch(`${server.url}/v2/models/simple/infer`, { method: 'POST', headers: { 'content-encoding': 'gzip' }, body: bomb });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    }),
  );
  const refused = answers.filter((a) => a.status === 503);
  assert.ok(refused.length > 0, `statuses: ${answers.map((a) => a.status).join(',')}`);
  for (const answer of refused) assert.match(String(answer.body['error']), /decompressing too many/);
  assert.equal((await validInfer()).status, 200);
});

test('gRPC connections that only sent the preface are closed; valid calls keep working', { timeout: 120_000 }, async () => {
  const openedAt = Date.now();
  const slow = await openSlowSockets(server.ports.grpc, SLOW_SOCKETS, 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', '');
  const client = new GrpcClient({ url: `grpc://127.0.0.1:${server.ports.grpc}`, timeoutMs: 5000 });
  try {
    assert.equal(await client.serverLive(), true);
    const deadline = openedAt + LIMITS.grpc.idleTimeoutMs + 15_000;
    while (slow.closedAt.size < SLOW_SOCKETS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    assert.equal(slow.closedAt.size, SLOW_SOCKETS, `the server closed ${slow.closedAt.size} of ${SLOW_SOCKETS} preface-only connections`);
    assert.equal(await client.serverLive(), true);
  } finally {
    slow.stop();
    await client.close();
  }
});
