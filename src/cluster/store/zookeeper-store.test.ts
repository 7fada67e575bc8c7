/**
 * The ZooKeeper store against a real, private ZooKeeper server (Debian package): the shared
 * conformance suite, then what only a network store has: chroot, fail-fast while the server is
 * down, reconnect within the session, and a new session after expiry.
 */
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { CranberriesError } from '../../core/errors.js';
import { startZooKeeper, startZooKeeperLink, type TestZooKeeper, type ZooKeeperLink } from '../../../test/helpers/zookeeper.js';
import type { SessionState } from './coordination-store.js';
import { runStoreConformance } from './store-conformance.js';
import { parseZooKeeperAddress } from './zookeeper-address.js';
import { ZooKeeperStore } from './zookeeper-store.js';

const SESSION_MS = 2000;

function openStore(connectionString: string, extra: Partial<ConstructorParameters<typeof ZooKeeperStore>[0]> = {}): ZooKeeperStore {
  return new ZooKeeperStore({ connectionString, sessionTimeoutMs: SESSION_MS, operationTimeoutMs: 2000, connectTimeoutMs: 10_000, ...extra });
}

/** Counts the requests the store's client sends from now on (the library's queue of sent requests; pings and auth excluded). */
function countRequests(store: ZooKeeperStore): { sent(): number } {
  const pending = (store as unknown as { client: { connectionManager: { pendingQueue: unknown[] } } }).client.connectionManager.pendingQueue;
  let sent = 0;
  const push = pending.push.bind(pending);
  pending.push = (...items: unknown[]) => {
    sent += items.length;
    return push(...items);
  };
  return { sent: () => sent };
}

async function eventually(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

runStoreConformance('zookeeper store', async () => {
  const zk = await startZooKeeper();
  const opened = new Map<ZooKeeperStore, ZooKeeperLink>();
  return {
    async open() {
      // Each client talks through its own link, so a test can partition one client alone.
      const link = await startZooKeeperLink(zk.port);
      const store = openStore(`${link.connectionString}/conformance`);
      opened.set(store, link);
      await store.start();
      return store;
    },
    async expire(store) {
      assert.ok(store instanceof ZooKeeperStore);
      await opened.get(store)!.expireSessions(store.negotiatedSessionTimeoutMs ?? SESSION_MS, zk.tickTimeMs);
    },
    async close() {
      await Promise.all([...opened.keys()].map((s) => s.stop()));
      await Promise.all([...opened.values()].map((l) => l.close()));
      await zk.close();
    },
  };
});

describe('zookeeper connection strings', () => {
  it('parses servers and chroot, and names what is wrong', () => {
    assert.deepEqual(parseZooKeeperAddress('a:1,b:2/x/y'), { servers: 'a:1,b:2', chroot: '/x/y' });
    assert.deepEqual(parseZooKeeperAddress('127.0.0.1:2181'), { servers: '127.0.0.1:2181', chroot: undefined });
    assert.deepEqual(parseZooKeeperAddress('h:2181/'), { servers: 'h:2181', chroot: undefined });
    assert.throws(() => parseZooKeeperAddress('host'), /'host' is not host:port/);
    assert.throws(() => parseZooKeeperAddress('h:99999'), /'h:99999' is not host:port/);
    assert.throws(() => parseZooKeeperAddress('h:1,,h:2'), /expected host:port/);
    assert.throws(() => parseZooKeeperAddress('h:1/a//b'), /invalid chroot/);
  });
});

/**
 * A server that speaks ZooKeeper's handshake and answers every request with UNIMPLEMENTED (-6),
 * as a server before 3.6 answers `multiRead`, and pings with OK.
 */
async function startPre36Server(): Promise<{ connectionString: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let pending = Buffer.alloc(0);
    let connected = false;
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
        const frame = pending.subarray(4, 4 + pending.readInt32BE(0));
        pending = pending.subarray(4 + frame.length);
        const reply = Buffer.alloc(connected ? 16 : 37);
        if (!connected) {
          connected = true;
          reply.writeInt32BE(0, 0); // protocol version
          reply.writeInt32BE(4000, 4); // session timeout
          reply.writeBigInt64BE(1n, 8); // session id
          reply.writeInt32BE(16, 16); // password: 16 bytes (zeros); read-only flag: 0
        } else {
          const xid = frame.readInt32BE(0);
          reply.writeInt32BE(xid, 0); // zxid 0
          reply.writeInt32BE(xid === -2 ? 0 : -6, 12); // a ping is answered OK, anything else UNIMPLEMENTED
        }
        const framed = Buffer.alloc(4 + reply.length);
        framed.writeInt32BE(reply.length, 0);
        reply.copy(framed, 4);
        socket.write(framed);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    connectionString: `127.0.0.1:${port}`,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

describe('zookeeper store: server version', () => {
  it('start() fails with one clear sentence on a server before 3.6 (no multiRead, no persistent watches)', async () => {
    const old = await startPre36Server();
    const store = openStore(old.connectionString, { connectTimeoutMs: 5000 });
    await assert.rejects(store.start(), (e: unknown) => e instanceof CranberriesError && e.code === 'FAILED_PRECONDITION' && /needs ZooKeeper 3\.6 or newer/.test(e.message));
    await store.stop();
    await old.close();
  });
});

describe('zookeeper store: connection life', () => {
  let zk: TestZooKeeper;
  before(async () => {
    zk = await startZooKeeper();
  });
  after(async () => {
    await zk?.close();
  });

  it('applies the chroot (creating it) so callers see only their own paths', async () => {
    const chrooted = openStore(`${zk.connectionString}/apps/one`);
    const raw = openStore(zk.connectionString);
    await chrooted.start();
    await raw.start();
    assert.equal(await chrooted.create('/n', new Uint8Array([7]), 'persistent'), '/n');
    const seq = await chrooted.create('/s-', new Uint8Array(0), 'persistent-sequential');
    assert.match(seq, /^\/s-\d{10}$/);
    assert.deepEqual([...(await raw.get('/apps/one/n'))!.data], [7]);
    assert.deepEqual(await chrooted.children('/'), ['n', seq.slice(1)]);
    await chrooted.stop();
    await raw.stop();
  });

  it('6,000 requests at once (reads and watches) are all answered, at most 64 of them in flight in the client at a time', async () => {
    const store = openStore(`${zk.connectionString}/in-flight`, { operationTimeoutMs: 30_000 });
    await store.start();
    await store.ensurePath('/f');
    await Promise.all(Array.from({ length: 200 }, (_, i) => store.create(`/f/n${i}`, new Uint8Array([i]), 'persistent')));
    // The library's queue of sent, unanswered requests (its internals: a plain array).
    const client = (store as unknown as { client: { connectionManager: { pendingQueue: unknown[] } } }).client;
    const pending = client.connectionManager.pendingQueue;
    let peak = 0;
    const push = pending.push.bind(pending);
    pending.push = (...items: unknown[]) => {
      const length = push(...items);
      peak = Math.max(peak, length);
      return length;
    };
    let fired = 0;
    const unwatch = Array.from({ length: 2000 }, (_, i) => store.watch(`/f/n${i % 200}`, () => fired++));
    const reads = await Promise.all(Array.from({ length: 4000 }, (_, i) => store.get(`/f/n${i % 200}`)));
    assert.deepEqual(
      reads.map((node) => node?.data[0]),
      Array.from({ length: 4000 }, (_, i) => i % 200),
    );
    await store.set('/f/n7', new Uint8Array([70]));
    await eventually(() => fired >= 10, 10_000, 'the ten watches of /f/n7 to fire');
    assert.ok(peak > 0 && peak <= 64, `peak of requests in flight: ${peak}`);
    for (const stop of unwatch) stop();
    await store.stop();
  });

  it('a data-only watch ({ children: false }) fires on a set and on a removal, and sets no children watcher', async () => {
    const store = openStore(`${zk.connectionString}/data-only`);
    await store.start();
    await store.ensurePath('/leaf');
    let fired = 0;
    const stop = store.watch('/leaf', () => fired++, { children: false });
    const watchers = (store as unknown as { client: { connectionManager: { watcherManager: { childWatchers: Record<string, unknown>; dataWatchers: Record<string, unknown> } } } }).client
      .connectionManager.watcherManager;
    await eventually(() => Object.keys(watchers.dataWatchers).some((p) => p.endsWith('/leaf')), 5000, 'the data watcher');
    assert.deepEqual(
      Object.keys(watchers.childWatchers).filter((p) => p.endsWith('/leaf')),
      [],
    );
    await store.set('/leaf', new Uint8Array([1]));
    await eventually(() => fired === 1, 5000, 'the watch to fire on a set');
    await store.remove('/leaf');
    await eventually(() => fired === 2, 5000, 'the watch to fire on a removal');
    stop();
    await store.stop();
  });

  it('getMany reads 1,000 nodes with 10 requests, and is bounded by the operation timeout when the server stops answering', async () => {
    const link = await startZooKeeperLink(zk.port);
    const store = openStore(`${link.connectionString}/get-many`, { operationTimeoutMs: 800 });
    await store.start();
    await store.ensurePath('/f');
    const names = Array.from({ length: 1000 }, (_, i) => `n${i}`);
    await store.writeEach(names.map((n, i) => ({ kind: 'create', path: `/f/${n}`, data: new Uint8Array([i % 256]), mode: 'persistent' })));
    const requests = countRequests(store);
    const nodes = await store.getMany(names.map((n) => `/f/${n}`));
    assert.deepEqual(
      nodes.map((n) => n?.data[0]),
      names.map((_, i) => i % 256),
    );
    assert.equal(requests.sent(), 10);
    link.silence();
    const started = Date.now();
    await assert.rejects(store.getMany(['/f/n1']), (e: unknown) => e instanceof CranberriesError && e.code === 'UNAVAILABLE' && /within 800 ms/.test(e.message));
    assert.ok(Date.now() - started < 3000, `rejected after ${Date.now() - started} ms`);
    link.speak();
    await eventually(async () => (await store.getMany(['/f/n1']).catch(() => 'failed')) !== 'failed', 5000, 'reads to work once answers flow again');
    await store.stop();
    await link.close();
  });

  it('watchFolder follows 500 children with one request, and is added again after a reconnect', async () => {
    const link = await startZooKeeperLink(zk.port);
    const store = openStore(`${link.connectionString}/watch-folder`);
    const writer = openStore(`${zk.connectionString}/watch-folder`);
    await Promise.all([store.start(), writer.start()]);
    await writer.ensurePath('/f');
    const names = Array.from({ length: 500 }, (_, i) => `n${i}`);
    await writer.writeEach(names.map((n) => ({ kind: 'create', path: `/f/${n}`, data: new Uint8Array([0]), mode: 'persistent' })));
    const requests = countRequests(store);
    const heard = new Set<string | undefined>();
    const unwatch = store.watchFolder('/f', (name) => heard.add(name));
    assert.equal((await store.children('/f')).length, 500); // watch, then read: what the read saw, the watch follows
    await writer.writeEach(names.map((n) => ({ kind: 'set', path: `/f/${n}`, data: new Uint8Array([1]) })));
    await eventually(() => heard.size === 500, 10_000, 'all 500 changes to be heard');
    assert.equal(requests.sent(), 2, 'one addWatch and the read, nothing re-armed');
    // Cut and restored within the session: the connection's watches are gone, and come back.
    link.cut();
    await eventually(() => store.sessionState === 'disconnected', 5000, 'the store to see the cut');
    link.restore();
    await eventually(() => store.sessionState === 'connected', 10_000, 'the store to reconnect');
    await eventually(() => heard.has(undefined), 5000, 'the watch to report that anything may have changed');
    heard.clear();
    await writer.set('/f/n7', new Uint8Array([2]));
    await eventually(() => heard.has('n7'), 5000, 'a change after the reconnect to be heard');
    unwatch();
    await Promise.all([store.stop(), writer.stop()]);
    await link.close();
  });

  it('writeEach sends 450 writes as 5 multi requests of at most 100; a multi that one write refuses is applied write by write', async () => {
    const store = openStore(`${zk.connectionString}/write-each`);
    await store.start();
    await store.ensurePath('/w');
    const requests = countRequests(store);
    const names = Array.from({ length: 450 }, (_, i) => `n${i}`);
    const created = await store.writeEach(names.map((n) => ({ kind: 'create', path: `/w/${n}`, data: new Uint8Array([1]), mode: 'persistent' })));
    assert.ok(created.every((o) => o.version === 0));
    assert.equal(requests.sent(), 5);
    // One stale compare-and-set among ten: the multi is refused as a whole, then each write goes alone.
    const outcomes = await store.writeEach(names.slice(0, 10).map((n, i) => ({ kind: 'set', path: `/w/${n}`, data: new Uint8Array([2]), expectedVersion: i === 4 ? 3 : 0 })));
    assert.deepEqual(
      outcomes.map((o) => o.error?.code ?? o.version),
      [1, 1, 1, 1, 'FAILED_PRECONDITION', 1, 1, 1, 1, 1],
    );
    assert.equal(requests.sent(), 5 + 1 + 10);
    await store.stop();
  });

  it('requests started in one turn of the event loop leave in one socket write', async () => {
    const store = openStore(`${zk.connectionString}/batched-writes`);
    await store.start();
    const socket = (store as unknown as { client: { connectionManager: { socket: { _write: unknown; _writev: unknown } } } }).client.connectionManager.socket;
    let writes = 0;
    for (const method of ['_write', '_writev'] as const) {
      const original = socket[method] as (...args: unknown[]) => unknown;
      socket[method] = function (this: unknown, ...args: unknown[]) {
        writes++;
        return original.apply(this, args);
      };
    }
    const requests = countRequests(store);
    await Promise.all(Array.from({ length: 50 }, (_, i) => store.get(`/absent-${i}`)));
    assert.equal(requests.sent(), 50);
    // One write for the 50 (a keep-alive ping may add its own).
    assert.ok(writes >= 1 && writes <= 2, `${writes} socket writes for 50 requests`);
    await store.stop();
  });

  it('start() fails with UNAVAILABLE within its timeout when nothing listens', async () => {
    const started = Date.now();
    const store = openStore('127.0.0.1:1', { connectTimeoutMs: 800 });
    await assert.rejects(store.start(), (e: unknown) => e instanceof CranberriesError && e.code === 'UNAVAILABLE' && /within 800 ms/.test(e.message));
    assert.ok(Date.now() - started < 3000);
  });

  it('while the server is down operations fail fast; after it returns the session resumes and watches catch up', async () => {
    const store = openStore(zk.connectionString, { sessionTimeoutMs: 8000, backoffInitialMs: 50, backoffMaxMs: 400 });
    const states: SessionState[] = [];
    store.onSessionState((s) => states.push(s));
    await store.start();
    await store.ensurePath('/outage');
    await store.create('/outage/eph', new Uint8Array(0), 'ephemeral');
    let watchCalls = 0;
    store.watch('/outage', () => watchCalls++);
    await new Promise((r) => setTimeout(r, 100));

    await zk.stop();
    await eventually(() => store.sessionState === 'disconnected', 5000, 'the store to notice the outage');
    const started = Date.now();
    await assert.rejects(store.get('/outage'), (e: unknown) => e instanceof CranberriesError && e.code === 'UNAVAILABLE');
    assert.ok(Date.now() - started < 500, 'fails fast, not after a timeout');

    await zk.restart();
    await eventually(() => store.sessionState === 'connected', 8000, 'the store to reconnect');
    assert.deepEqual(states, ['connected', 'disconnected', 'connected'], 'the same session resumed (no expiry)');
    assert.deepEqual(await store.children('/outage'), ['eph'], 'its ephemeral survived');
    await eventually(() => watchCalls >= 1, 3000, 'a catch-up call of the watch');
    const seen = watchCalls;
    const other = openStore(zk.connectionString);
    await other.start();
    await other.create('/outage/new', new Uint8Array(0), 'persistent');
    await eventually(() => watchCalls > seen, 3000, 'the watch to fire after the reconnect');
    await other.stop();
    await store.stop();
  });

  it('stop() while the server is down returns promptly and leaves no reconnect loop behind', async () => {
    const store = openStore(zk.connectionString, { backoffInitialMs: 50, backoffMaxMs: 200 });
    await store.start();
    await zk.stop();
    await eventually(() => store.sessionState === 'disconnected', 5000, 'the store to notice the outage');
    const started = Date.now();
    await store.stop();
    assert.ok(Date.now() - started < 500);
    await zk.restart();
    // Were a reconnect loop still running, it would open a session now; the server counts them.
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(store.sessionState, 'disconnected');
  });

  it('an expired session is replaced: expired → connected, ephemerals recreated by the owner', async () => {
    const link = await startZooKeeperLink(zk.port);
    const store = openStore(link.connectionString);
    const observer = openStore(zk.connectionString);
    await store.start();
    await observer.start();
    await store.ensurePath('/expiry');
    await store.create('/expiry/me', new Uint8Array(0), 'ephemeral');
    const states: SessionState[] = [];
    store.onSessionState((s) => {
      states.push(s);
      if (s === 'connected') void store.create('/expiry/me', new Uint8Array(0), 'ephemeral').catch(() => {});
    });
    await link.expireSessions(store.negotiatedSessionTimeoutMs!, zk.tickTimeMs);
    assert.deepEqual(states, ['disconnected'], 'a cut-off client cannot know its session expired');
    await eventually(() => states.includes('expired') && store.sessionState === 'connected', 10_000, 'a new session');
    assert.deepEqual(states, ['disconnected', 'expired', 'connected']);
    await eventually(async () => (await observer.children('/expiry')).includes('me'), 5000, 'the ephemeral to be recreated');
    await store.stop();
    await eventually(async () => (await observer.children('/expiry')).length === 0, 5000, 'the ephemeral to vanish on stop');
    await observer.stop();
    await link.close();
  });
});
