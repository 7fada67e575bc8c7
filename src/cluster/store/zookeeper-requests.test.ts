/**
 * The framing and parsing behind the ZooKeeper 3.6 requests, fed with bytes as the server frames
 * them (a real client's parser, no server): notifications reach both our listener and the library,
 * a chunk of many answers costs no copy per answer and at most 200 answers per turn, and an answer
 * to one of our requests goes to it, not to the library. The requests against a real server are in
 * zookeeper-store.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createClient } from 'node-zookeeper-client';
import { installRequests, multiRead, parseMultiRead } from './zookeeper-requests.js';

function frame(body: Buffer): Buffer {
  const framed = Buffer.alloc(4 + body.length);
  framed.writeInt32BE(body.length, 0);
  body.copy(framed, 4);
  return framed;
}

/** A watcher notification as the server frames it: reply header (xid -1, zxid, err), event (type, state, path). */
function notification(path: string, type = 3): Buffer {
  const pathBytes = Buffer.from(path);
  const body = Buffer.alloc(4 + 8 + 4 + 4 + 4 + 4 + pathBytes.length);
  let at = body.writeInt32BE(-1, 0); // XID_NOTIFICATION
  at = body.writeBigInt64BE(0n, at);
  at = body.writeInt32BE(0, at); // err
  at = body.writeInt32BE(type, at);
  at = body.writeInt32BE(3, at); // SYNC_CONNECTED
  at = body.writeInt32BE(pathBytes.length, at);
  pathBytes.copy(body, at);
  return frame(body);
}

interface Manager {
  onSocketData(buffer: Buffer): void;
  watcherManager: { emit: (this: unknown, event: { path: string }) => void };
  pendingQueue: { request: { header: { xid: number } } }[];
  packetQueue: { shift(): { request: { header: { xid: number }; toBuffer(): Buffer } } | undefined };
  zxid: Buffer;
  socket?: unknown;
}

/** A real client, never connected, with our framing installed; what its parser and our listener see. */
function tunedClient(): { manager: Manager; library: string[]; ours: string[] } {
  const client = createClient('127.0.0.1:1');
  const manager = (client as unknown as { connectionManager: Manager }).connectionManager;
  const library: string[] = [];
  // The library's watcher manager as our hook finds it: what reaches it is recorded.
  const emit = manager.watcherManager.emit;
  manager.watcherManager.emit = function (this: unknown, event) {
    library.push(event.path);
    // Nothing registered: the library's own emit drops it; calling it checks it does not throw.
    emit.call(this, event);
  };
  const ours: string[] = [];
  assert.ok(installRequests(client, (type, path) => ours.push(`${type}:${path}`)));
  return { manager, library, ours };
}

/** Counts the bytes `Buffer.concat` copies while `fn` runs. */
function copiedBy(fn: () => void): number {
  const saved = Object.getOwnPropertyDescriptor(Buffer, 'concat')!;
  const concat = Buffer.concat.bind(Buffer);
  let copied = 0;
  Buffer.concat = (list: readonly Uint8Array[], length?: number) => {
    const result = concat(list, length);
    copied += result.length;
    return result;
  };
  try {
    fn();
  } finally {
    Object.defineProperty(Buffer, 'concat', saved);
  }
  return copied;
}

async function turns(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('zookeeper requests: response framing', () => {
  const expected = Array.from({ length: 150 }, (_, i) => `/scale/models/model-${String(i).padStart(5, '0')}`);
  const stream = Buffer.concat(expected.map((path) => notification(path)));

  it('one socket chunk of 150 notifications is framed without copying; each reaches our listener, then the library', () => {
    const { manager, library, ours } = tunedClient();
    const copied = copiedBy(() => manager.onSocketData(stream));
    assert.equal(copied, 0, `copied ${copied} bytes of a ${stream.length}-byte chunk`);
    assert.deepEqual(library, expected);
    assert.deepEqual(
      ours,
      expected.map((path) => `3:${path}`),
    );
  });

  it('frames split across chunks are put together, each byte copied at most twice', () => {
    const { manager, library } = tunedClient();
    const copied = copiedBy(() => {
      for (let at = 0; at < stream.length; at += 37) manager.onSocketData(stream.subarray(at, at + 37));
    });
    assert.deepEqual(library, expected);
    assert.ok(copied <= 2 * stream.length, `copied ${copied} bytes for a ${stream.length}-byte stream`);
  });

  it('event types the library does not know (a removed watch: 7) reach our listener and not the library, which would throw', () => {
    const { manager, library, ours } = tunedClient();
    manager.onSocketData(Buffer.concat([notification('/a', 7), notification('/b', 1)]));
    assert.deepEqual(ours, ['7:/a', '1:/b']);
    assert.deepEqual(library, ['/b']);
  });

  it('at most 200 frames of a chunk per turn of the event loop; the socket pauses until the rest is framed', async () => {
    const { manager, library } = tunedClient();
    const calls: string[] = [];
    manager.socket = { destroy() {}, pause: () => calls.push('pause'), resume: () => calls.push('resume') };
    const many = Array.from({ length: 1500 }, (_, i) => `/m/${i}`);
    manager.onSocketData(Buffer.concat(many.map((path) => notification(path))));
    assert.equal(library.length, 200, `${library.length} framed in the first turn`);
    assert.equal(calls[0], 'pause');
    manager.onSocketData(notification('/late')); // arrives meanwhile: framed after the rest, in order
    for (let turn = 0; turn < 20 && library.length < many.length + 1; turn++) await turns(1);
    assert.deepEqual(library, [...many, '/late']);
    assert.equal(calls.filter((c) => c === 'pause').length, calls.filter((c) => c === 'resume').length);
  });

  it('a length no ZooKeeper answer has (an HTTP server answering: "HTTP" is 1.2 GB) drops the connection, buffering nothing', () => {
    const { manager, library } = tunedClient();
    let destroyed = 0;
    manager.socket = {
      destroy() {
        destroyed++;
        (this as { destroyed?: boolean }).destroyed = true;
      },
    };
    manager.onSocketData(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'));
    assert.equal(destroyed, 1);
    assert.deepEqual(library, []);
  });

  it("an answer to one of our requests goes to it (not to the library's parser), in order with the library's", () => {
    const { manager, library } = tunedClient();
    const client = { connectionManager: manager } as unknown as Parameters<typeof multiRead>[0];
    const answers: unknown[] = [];
    multiRead(client, ['/a', '/b'], (error, outcomes) => answers.push(error ?? outcomes));
    // Sent as the library sends its own: numbered, and kept in its queue of requests in flight.
    const packet = manager.packetQueue.shift()!;
    packet.request.header.xid = 7;
    manager.pendingQueue.push(packet);
    const request = packet.request.toBuffer();
    assert.deepEqual([request.readInt32BE(0), request.readInt32BE(4), request.readInt32BE(8)], [request.length - 4, 7, 22]);

    const stat = Buffer.alloc(68);
    stat.writeBigInt64BE(0x11n, 0); // czxid
    stat.writeBigInt64BE(0x22n, 8); // mzxid
    stat.writeInt32BE(5, 32); // version
    const body = Buffer.concat([header(4, false, 0), int(2), Buffer.from('hi'), stat, header(-1, false, -101), int(-101), header(-1, true, -1)]);
    const reply = Buffer.concat([int(7), Buffer.from([0, 0, 0, 0, 0, 0, 0, 9]), int(0), body]);
    manager.onSocketData(Buffer.concat([notification('/before'), frame(reply), notification('/after')]));
    assert.deepEqual(library, ['/before', '/after']);
    assert.equal(manager.pendingQueue.length, 0);
    assert.equal(manager.zxid.readBigInt64BE(0), 9n, 'the last zxid seen, as the library tracks it for reconnects');
    assert.deepEqual(answers, [[{ data: new Uint8Array(Buffer.from('hi')), version: 5, modified: '0000000000000022' }, -101]]);
  });
});

function int(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeInt32BE(value, 0);
  return bytes;
}

function header(type: number, done: boolean, err: number): Buffer {
  return Buffer.concat([int(type), Buffer.from([done ? 1 : 0]), int(err)]);
}

describe('zookeeper requests: multiRead answers', () => {
  it('a truncated answer or an unexpected result type is an error, not a wrong read', () => {
    assert.throws(() => parseMultiRead(Buffer.concat([header(4, false, 0), int(10), Buffer.from('short')])), /truncated/);
    assert.throws(() => parseMultiRead(Buffer.concat([header(5, false, 0)])), /unexpected result type 5/);
    assert.deepEqual(parseMultiRead(header(-1, true, -1)), []);
  });

  it('a null data buffer (length -1) reads as empty data', () => {
    const [node] = parseMultiRead(Buffer.concat([header(4, false, 0), int(-1), Buffer.alloc(68), header(-1, true, -1)]));
    assert.ok(typeof node === 'object');
    assert.equal(node.data.length, 0);
  });
});
