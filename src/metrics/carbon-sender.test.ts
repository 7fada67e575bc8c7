import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { CarbonSender } from './carbon-sender.js';

/** A line receiver on 127.0.0.1 that records every line; `port` 0 picks a free one. */
async function receiver(port = 0): Promise<{ server: Server; port: number; lines: string[]; sockets: Set<Socket>; close(): Promise<void> }> {
  const lines: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    let rest = '';
    socket.on('data', (chunk: Buffer) => {
      const parts = (rest + chunk.toString()).split('\n');
      rest = parts.pop() ?? '';
      lines.push(...parts);
    });
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const bound = (server.address() as { port: number }).port;
  return {
    server,
    port: bound,
    lines,
    sockets,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

const line = (i: number): string => `a.b ${i} 100\n`;

test('lines reach carbon in order', async () => {
  const carbon = await receiver();
  const sender = new CarbonSender({ host: '127.0.0.1', port: carbon.port, maxBufferedLines: 100 });
  sender.start();
  sender.enqueue([line(1), line(2)]);
  sender.enqueue([line(3)]);
  await until(() => carbon.lines.length === 3, '3 lines');
  assert.deepEqual(carbon.lines, ['a.b 1 100', 'a.b 2 100', 'a.b 3 100']);
  assert.equal(sender.sent, 3);
  await sender.close();
  await carbon.close();
});

test('while carbon is down lines are buffered (the oldest dropped beyond the bound) and sent once it is up', async () => {
  const probe = await receiver();
  const port = probe.port;
  await probe.close();
  const sender = new CarbonSender({ host: '127.0.0.1', port, maxBufferedLines: 5, minBackoffMs: 10, maxBackoffMs: 40 });
  sender.start();
  const started = performance.now();
  for (let i = 1; i <= 8; i++) sender.enqueue([line(i)]);
  assert.ok(performance.now() - started < 50, 'enqueue never waits for the network');
  assert.equal(sender.buffered, 5);
  assert.equal(sender.dropped, 3);
  const carbon = await receiver(port);
  await until(() => carbon.lines.length === 5, 'the buffered lines');
  assert.deepEqual(
    carbon.lines,
    [4, 5, 6, 7, 8].map((i) => `a.b ${i} 100`),
  );
  assert.equal(sender.dropped, 3);
  await sender.close();
  await carbon.close();
});

test('after a connection loss the recently written lines are sent again', async () => {
  const carbon = await receiver();
  const sender = new CarbonSender({ host: '127.0.0.1', port: carbon.port, maxBufferedLines: 100, minBackoffMs: 10, maxBackoffMs: 40 });
  sender.start();
  sender.enqueue([line(1)]);
  await until(() => carbon.lines.length === 1, 'the first line');
  for (const s of carbon.sockets) s.destroy();
  await until(() => carbon.lines.length === 2, 'the replayed line');
  sender.enqueue([line(2)]);
  await until(() => carbon.lines.length === 3, 'the next line');
  assert.deepEqual(carbon.lines, ['a.b 1 100', 'a.b 1 100', 'a.b 2 100']);
  await sender.close();
  await carbon.close();
});

test('close gives buffered lines a grace period, then stops for good', async () => {
  const carbon = await receiver();
  const sender = new CarbonSender({ host: '127.0.0.1', port: carbon.port, maxBufferedLines: 100 });
  sender.start();
  sender.enqueue([line(1)]);
  await sender.close();
  await until(() => carbon.lines.length === 1, 'the line sent before closing');
  sender.enqueue([line(2)]);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(carbon.lines.length, 1);
  await carbon.close();
});
