import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CranberriesError } from '../../core/errors.js';
import type { SessionState } from './coordination-store.js';
import { MemoryStore, MemoryStoreServer } from './memory-store.js';
import { runStoreConformance } from './store-conformance.js';

runStoreConformance('memory store', () => {
  const server = new MemoryStoreServer();
  const opened: MemoryStore[] = [];
  return Promise.resolve({
    async open() {
      const store = new MemoryStore(server);
      opened.push(store);
      await store.start();
      return store;
    },
    expire(store) {
      assert.ok(store instanceof MemoryStore);
      store.expireSession();
      return Promise.resolve();
    },
    async close() {
      await Promise.all(opened.map((s) => s.stop()));
    },
  });
});

describe('memory store: connection loss (test aids)', () => {
  it('fails fast while cut off, keeps its ephemerals, and calls every watch once on reconnect', async () => {
    const server = new MemoryStoreServer();
    const store = new MemoryStore(server);
    const observer = new MemoryStore(server);
    await store.start();
    await observer.start();
    await store.create('/eph', new Uint8Array([1]), 'ephemeral');
    let calls = 0;
    store.watch('/eph', () => calls++);
    const states: SessionState[] = [];
    store.onSessionState((s) => states.push(s));

    store.disconnect();
    assert.equal(store.sessionState, 'disconnected');
    await assert.rejects(store.get('/eph'), (e: unknown) => e instanceof CranberriesError && e.code === 'UNAVAILABLE');
    await observer.set('/eph', new Uint8Array([2]));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(calls, 0, 'a cut-off client hears no notifications');
    assert.notEqual(await observer.get('/eph'), undefined, 'the session (and its ephemeral) lives on');

    store.reconnect();
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(calls, 1, 'one catch-up call after reconnecting');
    assert.deepEqual(states, ['disconnected', 'connected']);
    await store.stop();
    await observer.stop();
  });

  it('a session expired while cut off is noticed on reconnect: expired, then connected on a new session', async () => {
    const server = new MemoryStoreServer();
    const store = new MemoryStore(server);
    await store.start();
    const firstSession = store.sessionId;
    await store.create('/eph', new Uint8Array(0), 'ephemeral');
    const states: SessionState[] = [];
    store.onSessionState((s) => states.push(s));
    store.disconnect();
    store.expireSession();
    assert.equal(server.get('/eph'), undefined);
    assert.deepEqual(states, ['disconnected']);
    store.reconnect();
    assert.deepEqual(states, ['disconnected', 'expired', 'connected']);
    assert.notEqual(store.sessionId, firstSession);
    await store.stop();
  });

  it("stores copies: mutating the caller's or the returned buffer changes nothing stored", async () => {
    const store = new MemoryStore();
    await store.start();
    const data = new Uint8Array([1, 2, 3]);
    await store.create('/n', data, 'persistent');
    data[0] = 9;
    const got = await store.get('/n');
    got!.data[1] = 9;
    assert.deepEqual([...(await store.get('/n'))!.data], [1, 2, 3]);
    await store.stop();
  });
});
