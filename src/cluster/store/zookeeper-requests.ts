/**
 * ZooKeeper 3.6 requests that `node-zookeeper-client` 1.1.3 does not speak, sent on its connection
 * (same session, same request ids, in order with its own requests), and the response framing that
 * lets us answer them:
 *
 * - `multiRead` (op 22): many `getData` in one request and one answer. A controller reading 10,000
 *   models sends 100 requests instead of 10,000; on two shared cores the per-request cost, on both
 *   sides, was most of a cold placement.
 * - `addWatch` (op 106) in mode PERSISTENT_RECURSIVE: one watch on a folder that reports every
 *   child created, removed or changed, and stays armed. One request replaces a one-shot watch per
 *   child and its re-arm after every event.
 * - `removeWatches` (op 18) to end such a watch.
 *
 * The library routes answers by the request's op code and drops the connection on one it does not
 * know, and it drops notifications for paths where it holds no one-shot watcher. So this module
 * frames the socket's bytes itself, hands each frame that answers one of our requests to that
 * request and every other frame to the library's parser, and sees every notification before the
 * library's watcher manager does. Every hook checks that the internals look as expected.
 *
 * Wire formats (jute, big-endian): a request is `length, xid, op, body`; an answer is `length, xid,
 * zxid (8 bytes), err, body`. Strings and buffers are an int32 length and bytes (-1: null).
 */
import { EventEmitter } from 'node:events';
import { Exception, type Client } from 'node-zookeeper-client';

const OP_MULTI_READ = 22;
const OP_GET_DATA = 4;
const OP_ERROR = -1;
const OP_ADD_WATCH = 106;
const OP_REMOVE_WATCHES = 18;
/** `addWatch` mode: the node and its whole subtree, until removed. */
const PERSISTENT_RECURSIVE = 1;
/** `removeWatches` watcher type of a persistent recursive watch. */
const WATCHER_PERSISTENT_RECURSIVE = 5;
/** Event types a notification carries; the library knows 1–4 and throws on any other. */
export const NODE_CREATED = 1;
export const NODE_DELETED = 2;
export const NODE_DATA_CHANGED = 3;
const NODE_CHILDREN_CHANGED = 4;

/**
 * The largest answer accepted: a `multiRead` of 100 nodes at ZooKeeper's 1 MB node limit, with
 * room to spare. A length beyond it is not ZooKeeper's.
 */
const MAX_FRAME_BYTES = 128 * 1024 * 1024;

/** Answers (and notifications) framed per turn of the event loop at most; the rest after other work. */
const MAX_FRAMES_PER_TURN = 200;

type RawCallback = (error: unknown, body?: Buffer) => void;

/** A request the library queues, numbers and sends like its own; its answer is ours to parse. */
class RawRequest {
  /** `xid` is set by the library when it sends the request. */
  readonly header: { xid: number; type: number };
  readonly payload = undefined;

  constructor(
    type: number,
    private readonly body: Buffer,
  ) {
    this.header = { xid: 0, type };
  }

  toBuffer(): Buffer {
    const frame = Buffer.allocUnsafe(12 + this.body.length);
    frame.writeInt32BE(8 + this.body.length, 0);
    frame.writeInt32BE(this.header.xid, 4);
    frame.writeInt32BE(this.header.type, 8);
    this.body.copy(frame, 12);
    return frame;
  }
}

interface Packet {
  readonly request: unknown;
  readonly callback: (error: unknown, response?: unknown) => void;
}

interface ConnectionManager extends EventEmitter {
  pendingQueue: Packet[];
  pendingBuffer?: Buffer | null;
  zxid: Buffer;
  socket?: { destroyed?: boolean; destroy(): void; pause?(): void; resume?(): void } | undefined;
  onSocketData: (this: ConnectionManager, buffer: Buffer) => void;
  queue(request: unknown, callback: (error: unknown, response?: unknown) => void): void;
  watcherManager: { emit: (this: unknown, event: WatcherEvent) => void };
}

interface WatcherEvent {
  readonly type: number;
  readonly path: string;
}

function connectionManager(client: Client): ConnectionManager | undefined {
  const manager = (client as unknown as { connectionManager?: Partial<ConnectionManager> }).connectionManager;
  if (
    manager instanceof EventEmitter &&
    Array.isArray(manager.pendingQueue) &&
    typeof manager.onSocketData === 'function' &&
    typeof manager.queue === 'function' &&
    typeof manager.watcherManager?.emit === 'function'
  ) {
    return manager as ConnectionManager;
  }
  return undefined;
}

/**
 * Takes over the framing of the client's socket bytes and watches its notifications; `onEvent`
 * sees every notification (type and full path), the library's watchers see those it knows after.
 * Must run before `client.connect()`: the socket's listener is bound to the method then.
 *
 * The framing also fixes two costs of the library's own: it re-copies the unparsed rest of a chunk
 * for every response (`Buffer.concat` with an empty buffer: a 64 KiB chunk of 1,000 small answers
 * copied ~32 MiB), and it parses a whole chunk in one turn (1,500 notifications: 20–30 ms).
 */
export function installRequests(client: Client, onEvent: (type: number, path: string) => void): boolean {
  const manager = connectionManager(client);
  if (!manager) return false;
  const parse = manager.onSocketData;
  let socket: ConnectionManager['socket'];
  /** Bytes received and not yet framed, in arrival order, and their total. */
  let chunks: Buffer[] = [];
  let bytes = 0;
  let paused = false;

  const frameAll = (): void => {
    let frames = 0;
    while (bytes >= 4 && !paused) {
      if (chunks[0]!.length < 4) chunks = [Buffer.concat(chunks)];
      const size = chunks[0]!.readInt32BE(0);
      if (size < 0 || size > MAX_FRAME_BYTES) {
        // Not a ZooKeeper stream (an HTTP server's "HTTP" reads as 1.2 GB): nothing is buffered
        // towards it; the library reconnects.
        chunks = [];
        bytes = 0;
        socket?.destroy();
        return;
      }
      if (bytes < 4 + size) return; // more is coming
      if (frames++ === MAX_FRAMES_PER_TURN) {
        // Enough for one turn: the rest after other work has run. No new chunk may be framed before
        // it (order), so the socket pauses meanwhile.
        const current = socket;
        paused = true;
        current?.pause?.();
        setImmediate(() => {
          paused = false;
          if (current !== socket) return; // a new connection meanwhile
          current?.resume?.();
          frameAll();
        });
        return;
      }
      if (chunks[0]!.length < 4 + size) chunks = [Buffer.concat(chunks)]; // one copy per frame split across chunks
      const head = chunks[0]!;
      const frame = head.subarray(0, 4 + size);
      if (head.length === 4 + size) chunks.shift();
      else chunks[0] = head.subarray(4 + size);
      bytes -= 4 + size;
      if (!answerRawRequest(manager, frame)) {
        manager.pendingBuffer = null;
        parse.call(manager, frame);
      }
      if (socket?.destroyed) return; // the library dropped the connection (its bytes go with it)
    }
  };

  manager.onSocketData = function (this: ConnectionManager, chunk: Buffer) {
    if (this.socket !== socket) {
      // A new connection: whatever was left of the old one's stream is void.
      socket = this.socket;
      chunks = [];
      bytes = 0;
      paused = false;
    }
    if (chunk.length === 0) return;
    chunks.push(chunk);
    bytes += chunk.length;
    frameAll();
  };

  const emit = manager.watcherManager.emit;
  manager.watcherManager.emit = function (this: unknown, event: WatcherEvent) {
    try {
      onEvent(event.type, event.path);
    } catch {
      // A listener's failure must not break the connection's parsing.
    }
    // Only the types the library knows (it throws on others, e.g. a removed-watch event).
    if (event.type >= NODE_CREATED && event.type <= NODE_CHILDREN_CHANGED) emit.call(this, event);
  };
  return true;
}

/** If `frame` answers the oldest request in flight and that request is ours, settles it. */
function answerRawRequest(manager: ConnectionManager, frame: Buffer): boolean {
  const head = manager.pendingQueue[0];
  if (!head || !(head.request instanceof RawRequest) || frame.length < 20) return false;
  if (frame.readInt32BE(4) !== head.request.header.xid) return false; // a notification, a ping, or the library's
  manager.pendingQueue.shift();
  const zxid = frame.subarray(8, 16);
  if (zxid.some((byte) => byte !== 0)) manager.zxid = Buffer.from(zxid); // as the library tracks it, for reconnects
  const err = frame.readInt32BE(16);
  head.callback(err === 0 ? null : zooKeeperException(err), frame.subarray(20));
  return true;
}

function zooKeeperException(code: number): unknown {
  try {
    return (Exception as unknown as { create(code: number): unknown }).create(code);
  } catch {
    return Object.assign(new Error(`ZooKeeper error ${code}`), { code });
  }
}

function send(client: Client, type: number, body: Buffer, callback: RawCallback): void {
  const manager = connectionManager(client);
  if (!manager) return callback(new Error('this ZooKeeper client library version is not supported for this request'));
  manager.queue(new RawRequest(type, body), callback as (error: unknown, response?: unknown) => void);
}

// ---- requests ----

/** One node as `multiRead` answers it: data and the stat fields the store uses. */
export interface ReadNode {
  readonly data: Uint8Array;
  readonly version: number;
  /** `mzxid` as hex: the node's last create or set. */
  readonly modified: string;
}

/** A node read, or the error code ZooKeeper answered for it (NO_NODE: -101). */
export type ReadOutcome = ReadNode | number;

/** `getData` of each of `paths` (full paths) in one request; outcomes in order. */
export function multiRead(client: Client, paths: readonly string[], callback: (error: unknown, outcomes?: ReadOutcome[]) => void): void {
  const writer = new JuteWriter();
  for (const path of paths) {
    writer.int(OP_GET_DATA).bool(false).int(-1); // multi header: type, done, err
    writer.string(path).bool(false); // GetDataRequest: path, watch
  }
  writer.int(-1).bool(true).int(-1);
  send(client, OP_MULTI_READ, writer.finish(), (error, body) => {
    if (error) return callback(error);
    let outcomes: ReadOutcome[];
    try {
      outcomes = parseMultiRead(body!);
    } catch (parseError) {
      return callback(parseError);
    }
    if (outcomes.length !== paths.length) return callback(new Error(`multiRead: ${outcomes.length} answers to ${paths.length} reads`));
    callback(null, outcomes);
  });
}

/** Starts a persistent recursive watch on `path` (full path) for this connection. */
export function addRecursiveWatch(client: Client, path: string, callback: (error: unknown) => void): void {
  send(client, OP_ADD_WATCH, new JuteWriter().string(path).int(PERSISTENT_RECURSIVE).finish(), (error) => callback(error));
}

/** Ends the persistent recursive watch on `path` (full path). */
export function removeRecursiveWatch(client: Client, path: string, callback: (error: unknown) => void): void {
  send(client, OP_REMOVE_WATCHES, new JuteWriter().string(path).int(WATCHER_PERSISTENT_RECURSIVE).finish(), (error) => callback(error));
}

/** A `multiRead` answer's body: a multi header and a result per read, then a header marked done. */
export function parseMultiRead(body: Buffer): ReadOutcome[] {
  const outcomes: ReadOutcome[] = [];
  let at = 0;
  const need = (n: number): void => {
    if (at + n > body.length) throw new Error('multiRead: truncated answer');
  };
  for (;;) {
    need(9);
    const type = body.readInt32BE(at);
    const done = body[at + 4] !== 0;
    at += 9; // type, done, err
    if (done) return outcomes;
    if (type === OP_ERROR) {
      need(4);
      outcomes.push(body.readInt32BE(at));
      at += 4;
    } else if (type === OP_GET_DATA) {
      need(4);
      const length = body.readInt32BE(at);
      at += 4;
      const size = Math.max(0, length);
      need(size + 68);
      // A copy: a view would keep the whole answer (up to 100 nodes) alive for as long as one node is kept.
      const data = new Uint8Array(body.subarray(at, at + size));
      at += size;
      // Stat: czxid, mzxid, ctime, mtime, version, cversion, aversion, ephemeralOwner, dataLength, numChildren, pzxid.
      outcomes.push({ data, version: body.readInt32BE(at + 32), modified: body.toString('hex', at + 8, at + 16) });
      at += 68;
    } else {
      throw new Error(`multiRead: unexpected result type ${type}`);
    }
  }
}

/** Writes jute records: big-endian ints, one-byte booleans, length-prefixed UTF-8 strings. */
class JuteWriter {
  private readonly parts: Buffer[] = [];

  int(value: number): this {
    const part = Buffer.allocUnsafe(4);
    part.writeInt32BE(value, 0);
    this.parts.push(part);
    return this;
  }

  bool(value: boolean): this {
    this.parts.push(Buffer.from([value ? 1 : 0]));
    return this;
  }

  string(value: string): this {
    const bytes = Buffer.from(value, 'utf8');
    return this.int(bytes.length).raw(bytes);
  }

  finish(): Buffer {
    return Buffer.concat(this.parts);
  }

  private raw(bytes: Buffer): this {
    this.parts.push(bytes);
    return this;
  }
}
