/**
 * Adjustments to `node-zookeeper-client` 1.1.3's connection handling that its public API does not
 * offer, made through its internal connection manager (`client.connectionManager`). Each hook
 * checks that the internals look as expected and does nothing otherwise, so another library
 * version degrades to the library's own behaviour instead of breaking.
 *
 * - Reconnect backoff: the library waits a random time below `spinDelay` between connection
 *   rounds (full jitter) but never grows it; we double it per failed attempt up to a cap.
 * - Handshake timeout: the library times out only the TCP connect, so a server that accepts the
 *   socket while starting up and never answers the session request would hang it forever.
 * - Abandon: closing a client that is between attempts makes its next attempt open a new
 *   session; instead we stop the loop for good.
 * - Requests written in batches: the library writes each request with its own `socket.write`, one
 *   system call each; we cork the socket for the rest of the turn of the event loop in which a
 *   request is queued, so the requests queued together leave in one `writev`.
 */
import { EventEmitter } from 'node:events';
import type { Client } from 'node-zookeeper-client';

/** The connection manager's states (lib/ConnectionManager.js). */
const DISCONNECTED = 0;
const CONNECTING = 1;
const CONNECTED = 2;
const CLOSED = -2;

interface ConnectionManager extends EventEmitter {
  spinDelay: number;
  /** The library's queue of requests to send; it emits `readable` for each request pushed. */
  packetQueue?: unknown;
  socket?: { destroy(): void; cork?(): void; uncork?(): void } | undefined;
  connectTimeoutHandler?: NodeJS.Timeout | null;
  connect(): void;
  onSocketConnected(): void;
}

function connectionManager(client: Client): ConnectionManager | undefined {
  const manager = (client as unknown as { connectionManager?: unknown }).connectionManager;
  if (manager instanceof EventEmitter && typeof (manager as Partial<ConnectionManager>).spinDelay === 'number') {
    return manager as ConnectionManager;
  }
  return undefined;
}

export interface ReconnectTuning {
  /** First bound of the random wait between rounds, doubled per failed attempt up to `maxMs`. */
  readonly initialMs: number;
  readonly maxMs: number;
  /** A connection attempt that has not completed its session handshake by then is cut off. */
  readonly handshakeMs: number;
}

export function tuneReconnects(client: Client, tuning: ReconnectTuning): void {
  const manager = connectionManager(client);
  if (!manager) return;
  let failures = 0;
  let handshake: NodeJS.Timeout | undefined;
  manager.on('state', (state: number) => {
    clearTimeout(handshake);
    handshake = undefined;
    if (state === CONNECTING) {
      handshake = setTimeout(() => manager.socket?.destroy(), tuning.handshakeMs).unref();
      return;
    }
    if (state === CONNECTED) failures = 0;
    else if (state === DISCONNECTED) failures++;
    else return;
    manager.spinDelay = Math.min(tuning.maxMs, tuning.initialMs * 2 ** Math.min(failures, 20));
  });
}

/**
 * Corks the client's socket when the first request of a turn of the event loop is queued and
 * uncorks it on the next tick: the requests queued meanwhile (a socket chunk of answers releases
 * up to a whole in-flight window of waiting requests at once) leave in one `writev` instead of a
 * `write` system call each — at 1,000 workers × 10,000 models the controller's single largest cost.
 * Runs before the library's own listener, which writes the request into the corked socket.
 * Back-pressure is unchanged: a write past the socket's buffer limit still returns false, and the
 * library resumes on `drain`, which follows the uncork's flush.
 */
export function writeRequestsInBatches(client: Client): void {
  const manager = connectionManager(client);
  const queue = manager?.packetQueue;
  if (!manager || !(queue instanceof EventEmitter)) return;
  let corked: ConnectionManager['socket'];
  queue.prependListener('readable', () => {
    const socket = manager.socket;
    if (!socket || socket === corked || typeof socket.cork !== 'function' || typeof socket.uncork !== 'function') return;
    corked = socket;
    socket.cork();
    process.nextTick(() => {
      corked = undefined;
      socket.uncork?.();
    });
  });
}

/** Closes a connected client's session; resolves once the library reports it closed, or after `timeoutMs`. */
export function closeClient(client: Client, timeoutMs: number): Promise<void> {
  const manager = connectionManager(client);
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    manager?.on('state', (state: number) => {
      if (state === CLOSED) {
        clearTimeout(timer);
        resolve();
      }
    });
    client.close();
  });
}

/**
 * Stops a disconnected client's reconnect loop for good: no new attempt starts, an attempt already
 * scheduled closes its socket as soon as it connects (the handler is looked up when the attempt
 * starts), and the current socket is closed.
 */
export function abandonClient(client: Client): void {
  const manager = connectionManager(client);
  if (!manager) {
    client.close();
    return;
  }
  manager.connect = () => {};
  manager.onSocketConnected = function (this: ConnectionManager) {
    if (this.connectTimeoutHandler) clearTimeout(this.connectTimeoutHandler);
    this.socket?.destroy();
  };
  manager.socket?.destroy();
}
