/**
 * A slow-client flood ("slowloris") against one server: plain TCP sockets that
 *
 * - dribble HTTP request headers one byte per tick and never finish them (`header` sockets),
 * - send complete headers announcing a body and dribble the body one byte per tick (`body` sockets),
 * - open an HTTP/2 connection to the gRPC port, send the client preface and nothing else (`h2` sockets).
 *
 * A socket the server closes is opened again (up to a bounded number of reopenings), so the flood
 * keeps its size for its whole duration: its intensity is the number of sockets and the tick. While
 * it runs, a probe asks the flooded server's HTTP readiness over a fresh connection once a second,
 * which tells whether the server itself still answers new clients (the gateway's pooled connections
 * to it may be fine either way). Only loopback addresses are flooded.
 */
import { readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';

export interface SlowClientFloodOptions {
  /** `127.0.0.1:<port>` of the HTTP endpoint. */
  readonly httpAddress: string;
  /** `127.0.0.1:<port>` of the gRPC endpoint. */
  readonly grpcAddress: string;
  /** Slow HTTP sockets: half dribble headers, the other half bodies. */
  readonly httpSockets: number;
  /** HTTP/2 connections that only send the preface. */
  readonly grpcSockets: number;
  /** Time between two bytes on each dribbling socket. */
  readonly tickMs: number;
  readonly durationMs: number;
  /** The flooded server's pid, to follow its resident memory (from /proc) during the flood. */
  readonly pid?: number | undefined;
}

export interface SlowClientFloodResult {
  readonly httpAddress: string;
  readonly grpcAddress: string;
  /** The sockets the flood tried to keep open. */
  readonly target: { readonly header: number; readonly body: number; readonly h2: number };
  /** Connections opened (reopenings included). */
  readonly opened: number;
  /** Most sockets connected at once. */
  readonly peakOpen: number;
  /** Closed or reset by the server (its timeouts or limits at work), per kind of socket. */
  readonly closedByServer: { readonly header: number; readonly body: number; readonly h2: number };
  /** Connections that could not be made: error code → count. */
  readonly connectErrors: Record<string, number>;
  /** Fresh-connection readiness probes of the flooded server during the flood. */
  readonly probes: { readonly ok: number; readonly failed: number; readonly maxMs: number };
  /** The flooded server's resident memory before the flood and at its highest during it (MiB); undefined without a pid. */
  readonly rssMiB?: { readonly before: number; readonly peak: number } | undefined;
  readonly durationMs: number;
}

type Kind = 'header' | 'body' | 'h2';

const H2_PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';
const PROBE_TIMEOUT_MS = 3000;

function hostPort(address: string): { host: string; port: number } {
  const cut = address.lastIndexOf(':');
  const host = address.slice(0, cut);
  if (host !== '127.0.0.1' && host !== 'localhost') throw new Error(`refusing to flood ${address}: only loopback addresses`);
  return { host, port: Number(address.slice(cut + 1)) };
}

/** Floods, waits `durationMs`, closes every socket, and reports. */
export async function floodWithSlowClients(options: SlowClientFloodOptions): Promise<SlowClientFloodResult> {
  const http = hostPort(options.httpAddress);
  const h2 = hostPort(options.grpcAddress);
  const rssBefore = options.pid === undefined ? undefined : await residentMiB(options.pid);
  const started = Date.now();
  const deadline = started + options.durationMs;
  const headerSockets = Math.ceil(options.httpSockets / 2);
  const bodySockets = options.httpSockets - headerSockets;
  const total = options.httpSockets + options.grpcSockets;
  // Bounded: each socket may be reopened at most this often during the flood.
  let reopenings = total * 20;
  const live = new Map<Socket, { kind: Kind; pending: string }>();
  let opened = 0;
  let peakOpen = 0;
  const closedByServer = { header: 0, body: 0, h2: 0 };
  const connectErrors: Record<string, number> = {};
  let ending = false;

  const open = (kind: Kind): void => {
    const target = kind === 'h2' ? h2 : http;
    const socket = connect(target);
    let connected = false;
    opened++;
    socket.setNoDelay(true);
    socket.on('connect', () => {
      connected = true;
      live.set(socket, { kind, pending: kind === 'header' ? `GET /v2/health/ready HTTP/1.1\r\nHost: 127.0.0.1:${http.port}\r\n` : '' });
      peakOpen = Math.max(peakOpen, live.size);
      // Body sockets send their headers at once and then dribble the body.
      if (kind === 'h2') socket.write(H2_PREFACE);
      else if (kind === 'body') socket.write(bodyHeaders(http.port));
    });
    socket.on('data', () => undefined);
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (!connected) connectErrors[error.code ?? 'error'] = (connectErrors[error.code ?? 'error'] ?? 0) + 1;
    });
    socket.on('close', () => {
      live.delete(socket);
      if (ending) return;
      if (connected) closedByServer[kind]++;
      if (Date.now() < deadline && reopenings > 0) {
        reopenings--;
        // A refused connection is retried after a pause, not in a tight loop.
        setTimeout(() => !ending && open(kind), connected ? 0 : 200);
      }
    });
  };

  for (let i = 0; i < headerSockets; i++) open('header');
  for (let i = 0; i < bodySockets; i++) open('body');
  for (let i = 0; i < options.grpcSockets; i++) open('h2');

  const tick = setInterval(() => {
    for (const [socket, state] of live) {
      if (state.kind === 'h2') continue;
      if (state.pending === '') state.pending = state.kind === 'header' ? `X-Slow-${opened % 1000}: a\r\n` : 'a';
      socket.write(state.pending[0]!);
      state.pending = state.pending.slice(1);
    }
  }, options.tickMs);

  const probes = { ok: 0, failed: 0, maxMs: 0 };
  let rssMiB = rssBefore === undefined ? undefined : { before: rssBefore, peak: rssBefore };
  while (Date.now() < deadline) {
    const rss = options.pid === undefined ? undefined : await residentMiB(options.pid);
    if (rssMiB && rss !== undefined) rssMiB = { ...rssMiB, peak: Math.max(rssMiB.peak, rss) };
    const probeStarted = Date.now();
    const ok = await probeReady(http);
    probes.maxMs = Math.max(probes.maxMs, Date.now() - probeStarted);
    if (ok) probes.ok++;
    else probes.failed++;
    await new Promise((r) => setTimeout(r, Math.max(0, Math.min(1000, deadline - Date.now()))));
  }

  ending = true;
  clearInterval(tick);
  for (const socket of live.keys()) socket.destroy();
  return {
    httpAddress: options.httpAddress,
    grpcAddress: options.grpcAddress,
    target: { header: headerSockets, body: bodySockets, h2: options.grpcSockets },
    opened,
    peakOpen,
    closedByServer,
    connectErrors,
    probes,
    rssMiB,
    durationMs: Date.now() - started,
  };
}

/** VmRSS of a process in MiB, from /proc; undefined when it cannot be read (process gone, not Linux). */
async function residentMiB(pid: number): Promise<number | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  return match ? Math.round(Number(match[1]) / 1024) : undefined;
}

function bodyHeaders(port: number): string {
  return `POST /v2/models/digits/infer HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n`;
}

/** GET /v2/health/ready over a new connection: true on 200 within the timeout. */
function probeReady(address: { host: string; port: number }): Promise<boolean> {
  return new Promise((resolve) => {
    const request = httpRequest({ ...address, path: '/v2/health/ready', agent: false, timeout: PROBE_TIMEOUT_MS }, (answer) => {
      answer.resume();
      answer.on('end', () => resolve(answer.statusCode === 200));
      answer.on('error', () => resolve(false));
    });
    request.on('timeout', () => request.destroy(new Error('probe timeout')));
    request.on('error', () => resolve(false));
    request.end();
  });
}
