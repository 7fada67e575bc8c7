/**
 * ZooKeeper ACLs of the cluster's nodes, against a real private ZooKeeper server: a store with the
 * cluster identity creates nodes only that identity may change or read; a plain client without the
 * credentials can neither create, set nor delete under them; a client with them can. The shared
 * store conformance suite passes with an identity too.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createClient, Exception, type Client } from 'node-zookeeper-client';
import { startZooKeeper, startZooKeeperLink, type TestZooKeeper, type ZooKeeperLink } from '../../../test/helpers/zookeeper.js';
import { runStoreConformance } from './store-conformance.js';
import { ZooKeeperStore } from './zookeeper-store.js';

const SESSION_MS = 2000;
const AUTH = { user: 'cranberries', password: 'p4ss:word' };

/** Store options built as a variable, so the test compiles against a store without the `auth` option too. */
function openStore(connectionString: string, auth: { user: string; password: string } | undefined): ZooKeeperStore {
  const options = { connectionString, sessionTimeoutMs: SESSION_MS, operationTimeoutMs: 2000, connectTimeoutMs: 10_000, auth };
  return new ZooKeeperStore(options);
}

runStoreConformance('zookeeper store with a cluster identity', async () => {
  const zk = await startZooKeeper();
  const opened = new Map<ZooKeeperStore, ZooKeeperLink>();
  return {
    async open() {
      const link = await startZooKeeperLink(zk.port);
      const store = openStore(`${link.connectionString}/conformance-acl`, AUTH);
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

/** A raw client, optionally authenticated, connected. */
async function rawClient(port: number, auth?: string): Promise<Client> {
  const client = createClient(`127.0.0.1:${port}`, { sessionTimeout: SESSION_MS, retries: 0 });
  if (auth !== undefined) client.addAuthInfo('digest', Buffer.from(auth));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('raw client did not connect')), 10_000);
    client.once('connected', () => {
      clearTimeout(timer);
      resolve();
    });
    client.connect();
  });
  return client;
}

/** The ZooKeeper error code of an operation, or 0 on success. */
function outcome(run: (done: (error: Error | Exception | null) => void) => void): Promise<number> {
  return new Promise((resolve) => run((error) => resolve(error === null ? 0 : error instanceof Exception ? error.getCode() : -1)));
}

describe('ZooKeeper ACLs of the cluster nodes', () => {
  let zk: TestZooKeeper;
  let store: ZooKeeperStore;
  const clients: Client[] = [];

  before(async () => {
    zk = await startZooKeeper();
    store = openStore(`127.0.0.1:${zk.port}/acl`, AUTH);
    await store.start();
    await store.ensurePath('/cranberries/models');
    await store.create('/cranberries/models/digits', new TextEncoder().encode('{"replicas":1}'), 'persistent');
  });
  after(async () => {
    for (const client of clients) client.close();
    await store?.stop();
    await zk?.close();
  });

  it("a client without the credentials cannot create, set, delete or read the cluster's nodes", async () => {
    const stranger = await rawClient(zk.port);
    clients.push(stranger);
    const node = '/acl/cranberries/models/digits';
    assert.equal(await outcome((done) => stranger.setData(node, Buffer.from('{"replicas":0}'), -1, done)), Exception.NO_AUTH, 'set');
    assert.equal(await outcome((done) => stranger.remove(node, -1, done)), Exception.NO_AUTH, 'delete');
    assert.equal(await outcome((done) => stranger.create('/acl/cranberries/models/evil', Buffer.from('{}'), done)), Exception.NO_AUTH, 'create');
    assert.equal(await outcome((done) => stranger.getData(node, done)), Exception.NO_AUTH, 'read');
    assert.deepEqual(new TextDecoder().decode((await store.get('/cranberries/models/digits'))!.data), '{"replicas":1}');
  });

  it('a client with wrong credentials cannot either; one with the cluster identity can', async () => {
    const wrong = await rawClient(zk.port, `${AUTH.user}:nope`);
    const member = await rawClient(zk.port, `${AUTH.user}:${AUTH.password}`);
    clients.push(wrong, member);
    const node = '/acl/cranberries/models/digits';
    assert.equal(await outcome((done) => wrong.setData(node, Buffer.from('{"replicas":0}'), -1, done)), Exception.NO_AUTH);
    assert.equal(await outcome((done) => member.setData(node, Buffer.from('{"replicas":2}'), -1, done)), 0);
    assert.equal(await outcome((done) => member.create('/acl/cranberries/models/other', Buffer.from('{}'), done)), 0);
    assert.equal(await outcome((done) => member.remove('/acl/cranberries/models/other', -1, done)), 0);
    assert.equal(new TextDecoder().decode((await store.get('/cranberries/models/digits'))!.data), '{"replicas":2}');
  });
});
