import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { ConnectionFailure, WorkerPool, type WorkerPoolOptions } from './worker-pool.js';

const POST = { method: 'POST', path: '/v2/models/m/infer', headers: { 'content-type': 'application/octet-stream' } };

interface Worker {
  readonly server: Server | NetServer;
  readonly address: string;
  /** Connections the worker accepted. */
  readonly accepted: Socket[];
}

const workers: Worker[] = [];

async function listen(server: Server | NetServer): Promise<Worker> {
  const accepted: Socket[] = [];
  server.on('connection', (socket: Socket) => accepted.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const worker = { server, address: `127.0.0.1:${(server.address() as AddressInfo).port}`, accepted };
  workers.push(worker);
  return worker;
}

/** An HTTP worker echoing the body with the request line and a header it saw. */
function echoWorker(handle?: (req: IncomingMessage, res: ServerResponse, body: Buffer) => boolean): Promise<Worker> {
  return listen(
    createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        if (handle?.(req, res, body)) return;
        res.writeHead(200, { 'x-seen': `${req.method ?? ''} ${req.url ?? ''} ${req.headers['content-type'] ?? ''}` });
        res.end(body);
      });
    }),
  );
}

function pool(worker: Worker, options: Partial<WorkerPoolOptions> = {}): WorkerPool {
  const created = new WorkerPool({ address: worker.address, maxConnections: 4, connectTimeoutMs: 1000, ...options });
  pools.push(created);
  return created;
}
const pools: WorkerPool[] = [];

async function closedPort(): Promise<string> {
  const probe = createNetServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = `127.0.0.1:${(probe.address() as AddressInfo).port}`;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return address;
}

after(async () => {
  for (const p of pools) p.destroy();
  for (const { server, accepted } of workers) {
    for (const socket of accepted) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
});

describe('WorkerPool', () => {
  it('sends method, path, headers and body, and reuses one connection for requests in turn', async () => {
    const worker = await echoWorker();
    const connections = pool(worker);
    for (const size of [0, 5, 100_000]) {
      const body = Buffer.alloc(size, 7);
      const answer = await connections.send({ ...POST, body: size === 0 ? undefined : body });
      assert.equal(answer.statusCode, 200);
      assert.equal(answer.headers['x-seen'], 'POST /v2/models/m/infer application/octet-stream');
      assert.deepEqual(Buffer.concat(answer.body), size === 0 ? Buffer.alloc(0) : body, `a body of ${size} bytes comes back intact`);
    }
    assert.equal(worker.accepted.length, 1);
  });

  it('opens at most maxConnections and queues the rest in order', async () => {
    const worker = await echoWorker();
    const connections = pool(worker, { maxConnections: 2 });
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => connections.send({ ...POST, body: Buffer.from(String(i)) })));
    assert.deepEqual(
      answers.map((a) => Buffer.concat(a.body).toString()),
      Array.from({ length: 12 }, (_, i) => String(i)),
    );
    assert.equal(worker.accepted.length, 2);
    assert.equal(connections.connections, 2);
  });

  it('fails with ECONNREFUSED on a closed port', async () => {
    const connections = new WorkerPool({ address: await closedPort(), maxConnections: 2, connectTimeoutMs: 1000 });
    await assert.rejects(connections.send({ ...POST, body: undefined }), { code: 'ECONNREFUSED' });
    assert.equal(connections.connections, 0);
  });

  it('fails with CONNECT_TIMEOUT when a TLS handshake does not complete in time', async () => {
    // Accepts TCP and never answers the ClientHello.
    const silent = await listen(createNetServer(() => undefined));
    const connections = pool(silent, { connectTimeoutMs: 150, tls: { rejectUnauthorized: true } });
    const started = Date.now();
    await assert.rejects(connections.send({ ...POST, body: undefined }), { code: 'CONNECT_TIMEOUT' });
    assert.ok(Date.now() - started < 2000);
  });

  it('fails with a connection error when the worker dies mid-answer, and serves the next request on a fresh connection', async () => {
    let calls = 0;
    const worker = await echoWorker((_req, res) => {
      if (++calls > 1) return false;
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
      setTimeout(() => res.socket?.destroy(), 20);
      return true;
    });
    const connections = pool(worker);
    await assert.rejects(connections.send({ ...POST, body: Buffer.from('a') }), (error: unknown) => error instanceof ConnectionFailure || (error as { code?: string }).code === 'ECONNRESET');
    const answer = await connections.send({ ...POST, body: Buffer.from('b') });
    assert.equal(Buffer.concat(answer.body).toString(), 'b');
    assert.equal(worker.accepted.length, 2);
  });

  it("closes an idle connection before the worker's announced keep-alive timeout", async () => {
    const worker = await echoWorker();
    (worker.server as Server).keepAliveTimeout = 1000;
    const connections = pool(worker);
    await connections.send({ ...POST, body: Buffer.from('a') });
    assert.equal(connections.connections, 1);
    // Announced 1 s: closed after half of it, before the worker would.
    await new Promise((resolve) => setTimeout(resolve, 700));
    assert.equal(connections.connections, 0);
    await connections.send({ ...POST, body: Buffer.from('b') });
    assert.equal(worker.accepted.length, 2);
  });

  it('notices an idle connection the worker closed and does not use it again', async () => {
    // A worker that answers without a keep-alive hint, then closes the connection 50 ms later.
    const worker = await listen(
      createNetServer((socket) => {
        socket.on('data', () => {
          socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
          setTimeout(() => socket.end(), 50);
        });
      }),
    );
    const connections = pool(worker);
    await connections.send({ ...POST, body: Buffer.from('a') });
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.equal(connections.connections, 0);
    const answer = await connections.send({ ...POST, body: Buffer.from('b') });
    assert.equal(Buffer.concat(answer.body).toString(), 'ok');
  });

  it('drops a connection whose worker sends bytes with no request in flight', async () => {
    const worker = await listen(
      createNetServer((socket) => {
        socket.on('data', () => {
          socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
          setTimeout(() => socket.write('HTTP/1.1 200 OK\r\n'), 30);
        });
      }),
    );
    const connections = pool(worker);
    await connections.send({ ...POST, body: Buffer.from('a') });
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(connections.connections, 0);
  });

  it('aborts a request in flight (its connection goes) and one still queued (the others carry on)', async () => {
    const hung: ServerResponse[] = [];
    const worker = await echoWorker((req, res) => {
      if (req.url !== '/hang') return false;
      hung.push(res);
      return true;
    });
    const connections = pool(worker, { maxConnections: 1 });
    let abortInFlight: ((reason: unknown) => void) | undefined;
    let abortQueued: ((reason: unknown) => void) | undefined;
    const inFlight = connections.send({ ...POST, path: '/hang', body: undefined }, (abort) => (abortInFlight = abort));
    const queued = connections.send({ ...POST, body: Buffer.from('q') }, (abort) => (abortQueued = abort));
    const after = connections.send({ ...POST, body: Buffer.from('next') });
    await new Promise((resolve) => setTimeout(resolve, 50));
    abortQueued?.(new Error('queued one cancelled'));
    await assert.rejects(queued, /queued one cancelled/);
    abortInFlight?.(new Error('client gone'));
    await assert.rejects(inFlight, /client gone/);
    assert.equal(Buffer.concat((await after).body).toString(), 'next', 'the request behind them is served on a fresh connection');
    assert.equal(hung.length, 1);
    assert.equal(worker.accepted.length, 2);
  });

  it('fails a request whose worker goes silent for the response timeout', async () => {
    const worker = await echoWorker(() => true);
    const connections = pool(worker, { responseTimeoutMs: 150 });
    await assert.rejects(connections.send({ ...POST, body: undefined }), { code: 'UPSTREAM_TIMEOUT' });
  });

  it('refuses to write a request line or header that would split the request', async () => {
    const worker = await echoWorker();
    const connections = pool(worker);
    await assert.rejects(connections.send({ ...POST, path: '/a\r\nX: y', body: undefined }), { code: 'INVALID_REQUEST' });
    await assert.rejects(connections.send({ ...POST, path: '/a b', body: undefined }), { code: 'INVALID_REQUEST' });
    await assert.rejects(connections.send({ ...POST, headers: { 'x-a': 'v\r\nX-Injected: 1' }, body: undefined }), { code: 'INVALID_REQUEST' });
    assert.equal(worker.accepted.length, 0);
  });

  it('after close: idle connections are gone and new requests fail', async () => {
    const worker = await echoWorker();
    const connections = pool(worker);
    await connections.send({ ...POST, body: Buffer.from('a') });
    connections.close();
    assert.equal(connections.connections, 0);
    await assert.rejects(connections.send({ ...POST, body: undefined }), { code: 'UPSTREAM_CLOSED' });
  });
});
