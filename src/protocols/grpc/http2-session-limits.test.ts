/**
 * The gRPC listener limits on a raw node:http2 server (as the gateway's gRPC front uses them), over
 * real loopback sockets: preface-only connections are closed after the idle timeout, connections
 * past the limit are closed at once, and a connection with a call in progress is left alone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { DEFAULT_LISTENER_LIMITS, type GrpcListenerLimits } from '../common/listener-limits.js';
import { applyHttp2SessionLimits } from './http2-session-limits.js';

const LIMITS: GrpcListenerLimits = { ...DEFAULT_LISTENER_LIMITS.grpc, idleTimeoutMs: 500, maxConnections: 20 };

async function startServer(): Promise<{ server: http2.Http2Server; port: number }> {
  const server = http2.createServer();
  applyHttp2SessionLimits(server, LIMITS);
  // Calls never answered: a stream stays open as long as the client keeps it.
  server.on('stream', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

function prefaceOnly(port: number): Promise<{ socket: Socket; closed: Promise<number> }> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  socket.on('data', () => undefined);
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now())));
  return new Promise((resolve) =>
    socket.once('connect', () => {
      socket.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
      resolve({ socket, closed });
    }),
  );
}

test('preface-only connections are closed after the idle timeout; a connection with a call stays', async () => {
  const { server, port } = await startServer();
  const client = http2.connect(`http://127.0.0.1:${port}`);
  client.on('error', () => undefined);
  const call = client.request({ ':method': 'POST', ':path': '/x' });
  call.on('error', () => undefined);
  const opened = Date.now();
  const idle = await Promise.all(Array.from({ length: 10 }, () => prefaceOnly(port)));
  const closedAt = await Promise.all(idle.map((c) => c.closed));
  for (const at of closedAt) assert.ok(at - opened < LIMITS.idleTimeoutMs + 3000, `closed after ${at - opened} ms`);
  assert.equal(client.closed || client.destroyed, false, 'the session with an open call is kept');
  call.close();
  client.destroy();
  await new Promise((resolve) => server.close(resolve));
});

test('connections beyond the limit are closed at once', async () => {
  const { server, port } = await startServer();
  const held = await Promise.all(Array.from({ length: LIMITS.maxConnections }, () => prefaceOnly(port)));
  const extra = await prefaceOnly(port);
  const startedAt = Date.now();
  const closedAt = await extra.closed;
  assert.ok(closedAt - startedAt < LIMITS.idleTimeoutMs, `the connection past the limit was closed after ${closedAt - startedAt} ms`);
  for (const c of held) c.socket.destroy();
  await new Promise((resolve) => server.close(resolve));
});
