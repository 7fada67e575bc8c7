/**
 * What a REST relay costs in Node, against nginx and HAProxy: B8 finds the gateway spending three
 * times nginx's CPU per relayed request, and this says how much of that any Node relay pays.
 *
 * One upstream (a bare `node:http` server that spins `--spin-us` of CPU per request, so that, as in
 * B8, the upstream bounds throughput and every relay runs at about the same rate), and in front of it,
 * one process each:
 *
 * - `gateway`: the gateway's real relay (fast lane, router, picker, retry budget, `HttpUpstreams`)
 *   over a fixed one-worker table;
 * - `node:http + undici`: a `node:http` server relaying through an undici Pool (what the gateway did
 *   before its own pools);
 * - `node:http + WorkerPool`: the same through the gateway's own HTTP/1.1 pool, no routing;
 * - `bytes`: plain sockets both sides, framed by Content-Length alone (no HTTP parser, no routing,
 *   no header handling): the floor of a relay written in Node;
 * - nginx and HAProxy as B8 runs them (`peers.ts`), when installed.
 *
 * The load is closed-loop on plain sockets (`--concurrency`, 16), in `--rounds` alternating rounds;
 * reported: req/s and the relay process's CPU µs per request (from /proc), median over rounds.
 *
 *     node dist/bench/relay-floor.js [--rounds 3] [--secs 3] [--spin-us 80] [--concurrency 16]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, createServer as createNetServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { EndpointHealth, HttpUpstreams, installRestFastLane, Picker, RequestRouter, RetryBudget } from '../src/gateway/index.js';
import { EndpointTable } from '../src/gateway/routing/endpoint-table.js';
import { WorkerPool } from '../src/gateway/rest/worker-pool.js';
import { ensurePeerBinaries, freePort, startPeer, type Peer } from './suite/peers.js';
import { processCpuSeconds } from './suite/process-cpu.js';

const BODY = Buffer.alloc(96, 7);
const MODEL_PATH = '/v2/models/tiny/infer';
const RESPONSE_HEADERS = { 'content-type': 'application/octet-stream', 'inference-header-content-length': '64' };

type Role = 'upstream' | 'gateway' | 'undici' | 'pool' | 'bytes';
const RELAYS: Record<Exclude<Role, 'upstream'>, string> = {
  gateway: 'gateway (fast lane, router, own pools)',
  undici: 'node:http + undici',
  pool: 'node:http + WorkerPool',
  bytes: 'bytes (plain sockets, Content-Length framing)',
};

/** Reads a request body, then answers through `answer`. */
function withBody(req: IncomingMessage, then: (body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => then(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
}

function reply(res: ServerResponse, status: number, headers: Record<string, string | string[]>, body: Buffer): void {
  res.writeHead(status, { ...headers, 'content-length': String(body.length) });
  res.end(body);
}

function relayHeaders(req: IncomingMessage): Record<string, string> {
  return { 'content-type': String(req.headers['content-type'] ?? 'application/octet-stream'), 'inference-header-content-length': String(req.headers['inference-header-content-length'] ?? '0') };
}

/** Starts one role in this process and listens on `port`. */
function serve(role: Role, port: number, upstream: string, spinMicros: number): void {
  const listen = (server: { listen(port: number, host: string): unknown }): void => void server.listen(port, '127.0.0.1');
  switch (role) {
    case 'upstream':
      listen(
        createServer((req, res) =>
          withBody(req, () => {
            const until = performance.now() + spinMicros / 1000;
            while (performance.now() < until);
            reply(res, 200, RESPONSE_HEADERS, BODY);
          }),
        ),
      );
      return;
    case 'undici': {
      // dispatch with a handler, as the gateway used it: no body stream or promise per request.
      const pool = new Pool(`http://${upstream}`, { connections: 128, pipelining: 1, keepAliveTimeout: 30_000 });
      listen(
        createServer((req, res) =>
          withBody(req, (body) => {
            const chunks: Buffer[] = [];
            let status = 0;
            pool.dispatch(
              { method: 'POST', path: req.url ?? '/', headers: relayHeaders(req), body },
              {
                onRequestStart: () => undefined,
                onResponseStart: (_controller, statusCode) => void (status = statusCode),
                onResponseData: (_controller, chunk) => void chunks.push(chunk),
                onResponseEnd: () => reply(res, status, RESPONSE_HEADERS, Buffer.concat(chunks)),
                onResponseError: () => reply(res, 502, {}, Buffer.alloc(0)),
              },
            );
          }),
        ),
      );
      return;
    }
    case 'pool': {
      const pool = new WorkerPool({ address: upstream, maxConnections: 128, connectTimeoutMs: 2000 });
      listen(
        createServer((req, res) =>
          withBody(req, (body) => {
            pool.send({ method: 'POST', path: req.url ?? '/', headers: relayHeaders(req), body }).then(
              (answer) => reply(res, answer.statusCode, RESPONSE_HEADERS, Buffer.concat(answer.body, answer.length)),
              () => reply(res, 502, {}, Buffer.alloc(0)),
            );
          }),
        ),
      );
      return;
    }
    case 'gateway': {
      const table = EndpointTable.build({
        workers: new Map([
          [
            'w1',
            {
              node: { id: 'w1', httpAddress: upstream, grpcAddress: upstream, memoryCapacityBytes: 1 << 30, labels: {}, startedAt: 0 },
              status: { models: { tiny: { versions: { '1': { state: 'READY' } } } } },
            },
          ],
        ]),
        deployments: new Map([['tiny', { name: 'tiny', replicas: 1, memoryBytes: 0, memoryMeasured: false }]]),
      });
      const health = new EndpointHealth({ probe: () => Promise.resolve(true), initialProbeDelayMs: 3_600_000 });
      const router = new RequestRouter({ table: () => table, picker: new Picker(health), health, budget: new RetryBudget() });
      const unused = (): Promise<never> => Promise.reject(new Error('not relayed in this bench'));
      const server = createServer((_req, res) => reply(res, 404, {}, Buffer.alloc(0)));
      installRestFastLane(server, {
        service: { live: () => true, anyUpEndpoint: () => undefined, fetchModelMetadata: unused, fetchModelConfig: unused, fetchModelStatistics: unused },
        router,
        http: new HttpUpstreams(),
        maxBodyBytes: 64 << 20,
      });
      listen(server);
      return;
    }
    case 'bytes':
      listen(createNetServer((client) => bytesRelay(client, upstream)));
      return;
  }
}

/** One message framed by Content-Length, or undefined until it has all arrived. */
class Framer {
  private buffer: Buffer | undefined;

  push(chunk: Buffer): Buffer | undefined {
    const buffer = this.buffer === undefined ? chunk : Buffer.concat([this.buffer, chunk]);
    const end = buffer.indexOf('\r\n\r\n');
    if (end >= 0) {
      const length = /\r\ncontent-length: *(\d+)/i.exec(buffer.toString('latin1', 0, end));
      const total = end + 4 + Number(length?.[1] ?? 0);
      if (buffer.length >= total) {
        this.buffer = buffer.length > total ? buffer.subarray(total) : undefined;
        return buffer.subarray(0, total);
      }
    }
    this.buffer = buffer;
    return undefined;
  }
}

/** The floor: each client connection gets its own upstream connection, messages passed as bytes. */
function bytesRelay(client: Socket, upstream: string): void {
  const [host, port] = upstream.split(':') as [string, string];
  const server = connect({ host, port: Number(port), noDelay: true });
  client.setNoDelay(true);
  const fromClient = new Framer();
  const fromServer = new Framer();
  client.on('data', (chunk: Buffer) => {
    const message = fromClient.push(chunk);
    if (message) server.write(message);
  });
  server.on('data', (chunk: Buffer) => {
    const message = fromServer.push(chunk);
    if (message) client.write(message);
  });
  for (const socket of [client, server]) socket.on('error', () => undefined).on('close', () => (socket === client ? server : client).destroy());
}

/** Closed-loop load on plain sockets: `concurrency` connections, each sending the next request as its answer arrives. */
async function load(address: string, pid: number, concurrency: number, secs: number): Promise<{ requestsPerSecond: number; cpuMicrosPerRequest: number }> {
  const [host, port] = address.split(':') as [string, string];
  const request = Buffer.concat([
    Buffer.from(`POST ${MODEL_PATH} HTTP/1.1\r\nhost: ${address}\r\ncontent-type: application/octet-stream\r\ninference-header-content-length: 64\r\ncontent-length: ${BODY.length}\r\n\r\n`, 'latin1'),
    BODY,
  ]);
  let counting = false;
  let completed = 0;
  let stopped = false;
  const sockets: Socket[] = [];
  const open = (): void => {
    const socket = connect({ host, port: Number(port), noDelay: true });
    const framer = new Framer();
    socket.on('connect', () => socket.write(request));
    socket.on('data', (chunk: Buffer) => {
      let message = framer.push(chunk);
      while (message) {
        if (counting) completed++;
        if (!stopped) socket.write(request);
        message = framer.push(Buffer.alloc(0));
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (!stopped) open();
    });
    sockets.push(socket);
  };
  for (let i = 0; i < concurrency; i++) open();
  await sleep(1000);
  counting = true;
  const cpu0 = processCpuSeconds(pid);
  const t0 = performance.now();
  await sleep(secs * 1000);
  const cpu1 = processCpuSeconds(pid);
  const elapsed = (performance.now() - t0) / 1000;
  counting = false;
  stopped = true;
  for (const socket of sockets) socket.destroy();
  if (completed === 0) throw new Error(`nothing answered on ${address} in ${secs} s`);
  return { requestsPerSecond: completed / elapsed, cpuMicrosPerRequest: ((cpu1 - cpu0) * 1e6) / completed };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function waitListening(port: number): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (up) return;
    await sleep(50);
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after 5 s`);
}

interface Side {
  readonly name: string;
  readonly address: string;
  readonly pid: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      role: { type: 'string' },
      port: { type: 'string' },
      upstream: { type: 'string', default: '' },
      'spin-us': { type: 'string', default: '80' },
      rounds: { type: 'string', default: '3' },
      secs: { type: 'string', default: '3' },
      concurrency: { type: 'string', default: '16' },
    },
  });
  const spinMicros = Number(values['spin-us']);
  if (values.role !== undefined) {
    serve(values.role as Role, Number(values.port), values.upstream, spinMicros);
    return;
  }
  const children: ChildProcess[] = [];
  const peers: Peer[] = [];
  const start = async (role: Role, upstream: string): Promise<Side> => {
    const port = await freePort();
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--role', role, '--port', String(port), '--upstream', upstream, '--spin-us', String(spinMicros)], { stdio: 'inherit' });
    children.push(child);
    await waitListening(port);
    return { name: role === 'upstream' ? 'direct (no relay)' : RELAYS[role], address: `127.0.0.1:${port}`, pid: child.pid as number };
  };
  try {
    const upstream = await start('upstream', '');
    const sides: Side[] = [upstream];
    for (const role of Object.keys(RELAYS) as (keyof typeof RELAYS)[]) sides.push(await start(role, upstream.address));
    const skipped = ensurePeerBinaries((message) => console.log(message));
    for (const name of ['nginx', 'haproxy'] as const) {
      if (skipped[name]) {
        console.log(`${name} skipped: ${skipped[name]}`);
        continue;
      }
      const peer = await startPeer(name, { http: upstream.address, grpc: upstream.address });
      peers.push(peer);
      sides.push({ name, address: peer.http, pid: peer.pid });
    }
    const rounds = Number(values.rounds);
    const results = new Map<string, { requestsPerSecond: number; cpuMicrosPerRequest: number }[]>();
    for (let round = 1; round <= rounds; round++) {
      console.log(`round ${round}/${rounds}: ${sides.map((s) => s.name).join(', ')}`);
      for (const side of sides) {
        const result = await load(side.address, side.pid, Number(values.concurrency), Number(values.secs));
        results.set(side.name, [...(results.get(side.name) ?? []), result]);
      }
    }
    const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
    console.log(`\nupstream spins ${spinMicros} µs per request; concurrency ${values.concurrency}; median of ${rounds} rounds of ${values.secs} s`);
    console.log(`${'relay'.padEnd(48)} ${'req/s'.padStart(8)} ${'CPU µs/req'.padStart(11)}  (rounds)`);
    for (const side of sides) {
      const rows = results.get(side.name) ?? [];
      const cpu = rows.map((r) => Math.round(r.cpuMicrosPerRequest));
      console.log(`${side.name.padEnd(48)} ${String(Math.round(median(rows.map((r) => r.requestsPerSecond)))).padStart(8)} ${String(median(cpu)).padStart(11)}  (${cpu.join(', ')})`);
    }
  } finally {
    for (const peer of peers) await peer.stop().catch(() => undefined);
    for (const child of children) child.kill('SIGKILL');
  }
}

await main();
