import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createClient } from 'node-zookeeper-client';
import { parseResponsesInLinearTime } from './zookeeper-client-tuning.js';

/** A watcher notification as the server frames it: length, reply header (xid -1, zxid, err), event (type, state, path). */
function notification(path: string): Buffer {
  const pathBytes = Buffer.from(path);
  const body = Buffer.alloc(4 + 8 + 4 + 4 + 4 + 4 + pathBytes.length);
  let at = body.writeInt32BE(-1, 0); // XID_NOTIFICATION
  at = body.writeBigInt64BE(0n, at);
  at = body.writeInt32BE(0, at); // err
  at = body.writeInt32BE(3, at); // NODE_DATA_CHANGED
  at = body.writeInt32BE(3, at); // SYNC_CONNECTED
  at = body.writeInt32BE(pathBytes.length, at);
  pathBytes.copy(body, at);
  const framed = Buffer.alloc(4 + body.length);
  framed.writeInt32BE(body.length, 0);
  body.copy(framed, 4);
  return framed;
}

interface Manager {
  onSocketData(buffer: Buffer): void;
  watcherManager: { emit(event: { path: string }): void };
}

/** Feeds `chunks` to a real client's response parser; returns the paths it parsed and the bytes `Buffer.concat` copied meanwhile. */
function parse(chunks: readonly Buffer[], tuned: boolean): { paths: string[]; copied: number } {
  const client = createClient('127.0.0.1:1');
  if (tuned) parseResponsesInLinearTime(client);
  const manager = (client as unknown as { connectionManager: Manager }).connectionManager;
  const paths: string[] = [];
  manager.watcherManager.emit = (event) => void paths.push(event.path);
  const saved = Object.getOwnPropertyDescriptor(Buffer, 'concat')!;
  const concat = Buffer.concat.bind(Buffer);
  let copied = 0;
  Buffer.concat = (list: readonly Uint8Array[], length?: number) => {
    const result = concat(list, length);
    copied += result.length;
    return result;
  };
  try {
    for (const chunk of chunks) manager.onSocketData(chunk);
  } finally {
    Object.defineProperty(Buffer, 'concat', saved);
  }
  return { paths, copied };
}

describe('zookeeper client tuning: response parsing', () => {
  const expected = Array.from({ length: 1500 }, (_, i) => `/scale/models/model-${String(i).padStart(5, '0')}`);
  const stream = Buffer.concat(expected.map(notification));

  it('one socket chunk of 1,500 responses is parsed without copying the rest of the chunk per response', () => {
    const untuned = parse([stream], false);
    assert.deepEqual(untuned.paths, expected, 'the library parses the chunk');
    const tuned = parse([stream], true);
    assert.deepEqual(tuned.paths, expected);
    assert.equal(tuned.copied, 0, `copied ${tuned.copied} bytes of a ${stream.length}-byte chunk (the library alone: ${untuned.copied})`);
  });

  it('responses split across chunks (a partial response pending) are parsed whole, copying each chunk at most once', () => {
    const chunks: Buffer[] = [];
    for (let at = 0; at < stream.length; at += 997) chunks.push(stream.subarray(at, at + 997));
    const tuned = parse(chunks, true);
    assert.deepEqual(tuned.paths, expected);
    assert.ok(tuned.copied <= 2 * stream.length, `copied ${tuned.copied} bytes for a ${stream.length}-byte stream`);
  });

  it('at most 200 responses of a chunk are parsed per turn of the event loop; the socket pauses until the rest is parsed', async () => {
    const client = createClient('127.0.0.1:1');
    parseResponsesInLinearTime(client);
    const manager = (client as unknown as { connectionManager: Manager & { socket?: unknown } }).connectionManager;
    const paths: string[] = [];
    manager.watcherManager.emit = (event) => void paths.push(event.path);
    const calls: string[] = [];
    manager.socket = { destroy() {}, pause: () => calls.push('pause'), resume: () => calls.push('resume') };
    manager.onSocketData(stream);
    assert.ok(paths.length > 0 && paths.length <= 201, `${paths.length} parsed in the first turn`);
    assert.equal(calls[0], 'pause');
    for (let turn = 0; turn < 20 && paths.length < expected.length; turn++) await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(paths, expected, 'all parsed, in order');
    assert.equal(calls.filter((c) => c === 'pause').length, calls.filter((c) => c === 'resume').length);
  });
});
