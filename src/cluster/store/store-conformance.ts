/**
 * The coordination-store conformance suite (hono's pattern): one runner that every implementation's
 * test calls, so the in-process store and ZooKeeper are held to the same behaviour. A test file
 * passes a harness that opens client sessions on one shared backing store and can expire a
 * session; cases an implementation cannot run are listed in `skip` with the reason.
 *
 * Each case works under its own fresh root path, so cases never see each other's nodes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CranberriesError, type ErrorCode } from '../../core/index.js';
import type { CoordinationStore, SessionState } from './coordination-store.js';

export interface StoreHarness {
  /** Opens (and starts) a new client session on the shared backing store. */
  open(): Promise<CoordinationStore>;
  /** Makes the server expire `store`'s session; resolves once the server has dropped it. */
  expire(store: CoordinationStore): Promise<void>;
  /** Releases whatever the harness holds (servers, clients it opened). */
  close(): Promise<void>;
}

export interface ConformanceOptions {
  /** Case name → why this implementation skips it. */
  readonly skip?: Readonly<Record<string, string>>;
  /** Upper bound for waiting on a notification or state change. Default 10 s. */
  readonly waitMs?: number;
}

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (data: Uint8Array | undefined): string | undefined => (data ? new TextDecoder().decode(data) : undefined);

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof CranberriesError, `expected a CranberriesError, got ${String(error)}`);
    assert.equal(error.code, code, `expected ${code}, got ${error.code}: ${error.message}`);
    return true;
  });
}

/** Polls `check` every 20 ms until true, or fails after `timeoutMs`. */
async function eventually(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

let rootCounter = 0;

export function runStoreConformance(name: string, makeHarness: () => Promise<StoreHarness>, options: ConformanceOptions = {}): void {
  const waitMs = options.waitMs ?? 10_000;
  describe(`${name}: coordination store conformance`, () => {
    let harness: StoreHarness;
    let a: CoordinationStore;
    let b: CoordinationStore;
    let root: string;

    before(async () => {
      harness = await makeHarness();
      a = await harness.open();
      b = await harness.open();
    });
    after(async () => {
      await harness?.close();
    });

    const test = (title: string, body: () => Promise<void>): void => {
      const reason = options.skip?.[title];
      it(title, reason ? { skip: reason } : {}, async () => {
        root = `/conformance-${process.pid}-${Date.now()}-${rootCounter++}`;
        await a.ensurePath(root);
        await body();
      });
    };

    test('create, get, set and remove a node', async () => {
      const path = `${root}/n`;
      assert.equal(await a.get(path), undefined);
      assert.equal(await a.create(path, bytes('one'), 'persistent'), path);
      const node = await b.get(path);
      assert.equal(text(node?.data), 'one');
      assert.equal(node?.version, 0);
      assert.equal(await b.set(path, bytes('two')), 1);
      assert.equal(text((await a.get(path))?.data), 'two');
      await a.remove(path);
      assert.equal(await b.get(path), undefined);
      await a.remove(path); // a missing node is not an error
    });

    test('a node removed and created again has a new modification though its version is 0 again; a set changes it, a read does not', async () => {
      const path = `${root}/m`;
      await a.create(path, bytes('one'), 'ephemeral');
      const first = await b.get(path);
      assert.equal(typeof first?.modification, 'string');
      assert.equal((await a.get(path))?.modification, first?.modification, 'two reads of an unchanged node, two sessions: one modification');
      await a.remove(path);
      await a.create(path, bytes('two'), 'ephemeral');
      const again = await b.get(path);
      assert.equal(again?.version, 0);
      assert.notEqual(again?.modification, first?.modification);
      await a.set(path, bytes('three'));
      const set = await b.get(path);
      assert.notEqual(set?.modification, again?.modification);
      assert.notEqual(set?.modification, first?.modification);
    });

    test('binary data round-trips unchanged', async () => {
      const data = Uint8Array.from({ length: 256 }, (_, i) => i);
      await a.create(`${root}/bin`, data, 'persistent');
      assert.deepEqual([...((await b.get(`${root}/bin`))?.data ?? [])], [...data]);
      await a.create(`${root}/empty`, new Uint8Array(0), 'persistent');
      assert.equal((await b.get(`${root}/empty`))?.data.byteLength, 0);
    });

    test('errors: existing node, missing parent, missing node, children of an ephemeral, bad path', async () => {
      await a.create(`${root}/x`, bytes(''), 'persistent');
      await rejectsWith(b.create(`${root}/x`, bytes(''), 'persistent'), 'ALREADY_EXISTS');
      await rejectsWith(a.create(`${root}/missing/child`, bytes(''), 'persistent'), 'NOT_FOUND');
      await rejectsWith(a.set(`${root}/missing`, bytes('')), 'NOT_FOUND');
      await a.create(`${root}/eph`, bytes(''), 'ephemeral');
      await rejectsWith(a.create(`${root}/eph/child`, bytes(''), 'persistent'), 'FAILED_PRECONDITION');
      await rejectsWith(a.get('relative/path'), 'INVALID_ARGUMENT');
      await rejectsWith(a.get(`${root}/`), 'INVALID_ARGUMENT');
      await rejectsWith(a.remove('/', { recursive: true }), 'INVALID_ARGUMENT');
    });

    test('compare-and-set: a stale version is refused and changes nothing', async () => {
      const path = `${root}/cas`;
      await a.create(path, bytes('v0'), 'persistent');
      assert.equal(await a.set(path, bytes('v1'), 0), 1);
      await rejectsWith(b.set(path, bytes('stale'), 0), 'FAILED_PRECONDITION');
      assert.equal(text((await a.get(path))?.data), 'v1');
      await rejectsWith(b.remove(path, { expectedVersion: 0 }), 'FAILED_PRECONDITION');
      assert.notEqual(await a.get(path), undefined);
      await b.remove(path, { expectedVersion: 1 });
      assert.equal(await a.get(path), undefined);
    });

    test('sequential nodes get increasing 10-digit suffixes', async () => {
      const first = await a.create(`${root}/s-`, bytes(''), 'persistent-sequential');
      const second = await b.create(`${root}/s-`, bytes(''), 'persistent-sequential');
      const third = await a.create(`${root}/s-`, bytes(''), 'ephemeral-sequential');
      for (const path of [first, second, third]) assert.match(path, new RegExp(`^${root}/s-\\d{10}$`));
      assert.ok(first < second && second < third, `${first} < ${second} < ${third}`);
      assert.deepEqual(
        await b.children(root),
        [first, second, third].map((p) => p.slice(root.length + 1)),
      );
    });

    test('children are names, sorted; a missing node has none', async () => {
      for (const name of ['c', 'a', 'b']) await a.create(`${root}/${name}`, bytes(''), 'persistent');
      assert.deepEqual(await b.children(root), ['a', 'b', 'c']);
      assert.deepEqual(await b.children(`${root}/nothing`), []);
    });

    test('ensurePath creates missing parents and is idempotent', async () => {
      await a.ensurePath(`${root}/p/q/r`);
      await b.ensurePath(`${root}/p/q/r`);
      assert.deepEqual(await a.children(`${root}/p/q`), ['r']);
      assert.notEqual(await b.get(`${root}/p`), undefined);
    });

    test('remove: refused with children unless recursive', async () => {
      await a.ensurePath(`${root}/tree/x/y`);
      await a.create(`${root}/tree/z`, bytes('z'), 'persistent');
      await rejectsWith(b.remove(`${root}/tree`), 'FAILED_PRECONDITION');
      await b.remove(`${root}/tree`, { recursive: true });
      assert.equal(await a.get(`${root}/tree`), undefined);
      assert.deepEqual(await a.children(root), []);
    });

    test('ephemeral nodes vanish when their session ends', async () => {
      const other = await harness.open();
      await other.create(`${root}/eph`, bytes('e'), 'ephemeral');
      await other.create(`${root}/per`, bytes('p'), 'persistent');
      assert.notEqual(await a.get(`${root}/eph`), undefined);
      await other.stop();
      await eventually(async () => (await a.get(`${root}/eph`)) === undefined, waitMs, 'the ephemeral node to vanish');
      assert.equal(text((await a.get(`${root}/per`))?.data), 'p');
    });

    test('session expiry: ephemerals vanish, the store reports expired then connected and works again', async () => {
      const other = await harness.open();
      const states: SessionState[] = [];
      const unsubscribe = other.onSessionState((state) => states.push(state));
      await other.create(`${root}/eph`, bytes('e'), 'ephemeral');
      let watchCalls = 0;
      const unwatch = other.watch(`${root}/watched`, () => watchCalls++);
      const folderCalls: (string | undefined)[] = [];
      const unwatchFolder = other.watchFolder(root, (name) => folderCalls.push(name));
      await harness.expire(other);
      await eventually(() => states.includes('expired') && other.sessionState === 'connected', waitMs, 'expired then connected');
      assert.ok(states.indexOf('expired') < states.lastIndexOf('connected'), `states: ${states.join(', ')}`);
      assert.equal(await a.get(`${root}/eph`), undefined);
      // Owners recreate their ephemerals on the new session.
      await other.create(`${root}/eph`, bytes('again'), 'ephemeral');
      assert.equal(text((await a.get(`${root}/eph`))?.data), 'again');
      // Watches survive the new session: listeners were called after it, and still fire on changes.
      await eventually(() => watchCalls >= 1, waitMs, 'a watch call after the new session');
      const before = watchCalls;
      await a.create(`${root}/watched`, bytes(''), 'persistent');
      await eventually(() => watchCalls > before, waitMs, 'the watch to fire on the new session');
      // So do folder watches: told that anything may have changed, then of each change again.
      assert.ok(folderCalls.includes(undefined), `folder calls: ${folderCalls.join(', ')}`);
      await a.set(`${root}/watched`, bytes('x'));
      await eventually(() => folderCalls.lastIndexOf('watched') > folderCalls.indexOf(undefined), waitMs, 'the folder watch to fire on the new session');
      unwatchFolder();
      unwatch();
      unsubscribe();
      await other.stop();
      assert.equal(await a.get(`${root}/eph`), undefined);
    });

    test('watches fire on data changes, and keep firing (re-armed)', async () => {
      const path = `${root}/w`;
      await a.create(path, bytes('0'), 'persistent');
      let calls = 0;
      const unwatch = b.watch(path, () => calls++);
      await settle();
      const start = calls;
      await a.set(path, bytes('1'));
      await eventually(() => calls > start, waitMs, 'the first data notification');
      const second = calls;
      await a.set(path, bytes('2'));
      await eventually(() => calls > second, waitMs, 'the second data notification');
      unwatch();
      const stopped = calls;
      await a.set(path, bytes('3'));
      await settle();
      assert.equal(calls, stopped, 'no calls after unwatching');
    });

    test('watches fire on creation and deletion of the node', async () => {
      const path = `${root}/later`;
      let calls = 0;
      const unwatch = b.watch(path, () => calls++);
      await settle();
      const start = calls;
      await a.create(path, bytes(''), 'persistent');
      await eventually(() => calls > start, waitMs, 'a notification of creation');
      const created = calls;
      await a.remove(path);
      await eventually(() => calls > created, waitMs, 'a notification of deletion');
      unwatch();
    });

    test('watches fire on children changes, including ephemerals of ended sessions', async () => {
      let calls = 0;
      const unwatch = b.watch(root, () => calls++);
      await settle();
      const start = calls;
      await a.create(`${root}/kid`, bytes(''), 'persistent');
      await eventually(() => calls > start, waitMs, 'a notification of a new child');
      const other = await harness.open();
      await eventually(async () => (await b.children(root)).length === 1, waitMs, 'the first child');
      const beforeEphemeral = calls;
      await other.create(`${root}/eph`, bytes(''), 'ephemeral');
      await eventually(() => calls > beforeEphemeral, waitMs, 'a notification of the ephemeral child');
      const beforeEnd = calls;
      await other.stop();
      await eventually(() => calls > beforeEnd, waitMs, 'a notification when the ephemeral child vanishes');
      assert.deepEqual(await b.children(root), ['kid']);
      unwatch();
    });

    test('several watches on one path are independent', async () => {
      const path = `${root}/multi`;
      await a.create(path, bytes(''), 'persistent');
      let first = 0;
      let second = 0;
      const stopFirst = b.watch(path, () => first++);
      const stopSecond = b.watch(path, () => second++);
      await settle();
      stopFirst();
      const [f, s] = [first, second];
      await a.set(path, bytes('x'));
      await eventually(() => second > s, waitMs, 'the remaining watch to fire');
      assert.equal(first, f);
      stopSecond();
    });

    test("a node under a data-only watch reads as it is: right after its own write, and after another client's once notified", async () => {
      const path = `${root}/watched`;
      await a.create(path, bytes('v0'), 'persistent');
      let calls = 0;
      const unwatch = a.watch(path, () => calls++, { children: false });
      assert.equal(text((await a.get(path))?.data), 'v0');
      await a.set(path, bytes('v1'));
      assert.equal(text((await a.get(path))?.data), 'v1', "a read after the reader's own write sees it");
      await settle(); // the notification of the reader's own write
      const before = calls;
      await b.set(path, bytes('v2'));
      await eventually(() => calls > before, waitMs, "the notification of the other client's write");
      assert.equal(text((await a.get(path))?.data), 'v2');
      await b.remove(path);
      await eventually(async () => (await a.get(path)) === undefined, waitMs, 'the removal to be seen');
      unwatch();
      await b.create(path, bytes('v3'), 'persistent');
      assert.equal(text((await a.get(path))?.data), 'v3', 'an unwatched node is read from the store');
    });

    test('getMany: 250 nodes and missing ones, in the order asked, as get reads each', async () => {
      const names = Array.from({ length: 250 }, (_, i) => `m${String(i).padStart(3, '0')}`);
      await a.writeEach(names.map((n) => ({ kind: 'create', path: `${root}/${n}`, data: bytes(n), mode: 'persistent' })));
      await a.set(`${root}/m007`, bytes('changed'));
      const paths = [`${root}/absent`, ...names.map((n) => `${root}/${n}`).reverse(), `${root}/m000/below`];
      const nodes = await b.getMany(paths);
      assert.equal(nodes.length, paths.length);
      assert.equal(nodes[0], undefined);
      assert.equal(nodes[paths.length - 1], undefined);
      assert.deepEqual(
        nodes.slice(1, -1).map((node) => text(node?.data)),
        names.map((n) => (n === 'm007' ? 'changed' : n)).reverse(),
      );
      const single = await b.get(`${root}/m007`);
      const many = nodes[paths.indexOf(`${root}/m007`)];
      assert.deepEqual([many?.version, many?.modification], [single?.version, single?.modification]);
      assert.deepEqual(await b.getMany([]), []);
      await rejectsWith(b.getMany([`${root}/ok`, 'not-absolute']), 'INVALID_ARGUMENT');
    });

    test('watchFolder: each child created, set or removed is named, a change deeper names its child; stopping ends it', async () => {
      await a.create(`${root}/old`, bytes(''), 'persistent');
      const heard: (string | undefined)[] = [];
      const unwatch = b.watchFolder(root, (name) => heard.push(name));
      const other = await harness.open();
      await a.create(`${root}/new`, bytes('1'), 'persistent');
      await a.set(`${root}/old`, bytes('2'));
      await other.create(`${root}/eph`, bytes(''), 'ephemeral');
      await a.create(`${root}/old/deeper`, bytes(''), 'persistent');
      await a.remove(`${root}/new`);
      await eventually(() => heard.filter((n) => n === 'new').length >= 2 && heard.includes('eph') && heard.filter((n) => n === 'old').length >= 2, waitMs, 'every change to be heard');
      const beforeEnd = heard.length;
      await other.stop();
      await eventually(() => heard.slice(beforeEnd).includes('eph'), waitMs, "the ended session's ephemeral child to be heard");
      assert.ok(!heard.includes(undefined), `heard: ${heard.join(', ')}`);
      await a.set(root, bytes('the folder itself')); // not a child
      unwatch();
      await a.create(`${root}/after`, bytes(''), 'persistent');
      await settle();
      assert.ok(!heard.includes('after'), 'nothing after stopping');
      assert.ok(!heard.includes(root.slice(root.lastIndexOf('/') + 1)), 'the folder does not report itself');
    });

    test('watchFolder: several watches of one folder are independent; watch, then read: nothing slips between', async () => {
      const first: (string | undefined)[] = [];
      const second: (string | undefined)[] = [];
      const stopFirst = b.watchFolder(root, (name) => first.push(name));
      const stopSecond = b.watchFolder(root, (name) => second.push(name));
      assert.deepEqual(await b.children(root), []);
      await a.create(`${root}/x`, bytes(''), 'persistent');
      await eventually(() => first.includes('x') && second.includes('x'), waitMs, 'both to hear x');
      stopFirst();
      await a.create(`${root}/y`, bytes(''), 'persistent');
      await eventually(() => second.includes('y'), waitMs, 'the remaining watch to hear y');
      await settle();
      assert.ok(!first.includes('y'));
      stopSecond();
    });

    test('writeEach: each write applied or refused on its own, outcomes in order', async () => {
      await a.create(`${root}/x`, bytes('x0'), 'persistent');
      await a.create(`${root}/y`, bytes('y0'), 'persistent');
      await a.set(`${root}/y`, bytes('y1'));
      await a.create(`${root}/z`, bytes('z0'), 'persistent');
      const outcomes = await a.writeEach([
        { kind: 'create', path: `${root}/new`, data: bytes('n'), mode: 'persistent' },
        { kind: 'set', path: `${root}/x`, data: bytes('x1'), expectedVersion: 0 }, // compare-and-set against the first version
        { kind: 'set', path: `${root}/y`, data: bytes('stale'), expectedVersion: 0 }, // y is at version 1
        { kind: 'create', path: `${root}/x`, data: bytes('dup'), mode: 'persistent' },
        { kind: 'set', path: `${root}/missing`, data: bytes('m') },
        { kind: 'remove', path: `${root}/z`, expectedVersion: 3 },
        { kind: 'remove', path: `${root}/gone` }, // a missing node is not an error, as for remove()
        { kind: 'set', path: `${root}/x`, data: bytes('x2') }, // after the first set of x, which it follows
      ]);
      assert.deepEqual(
        outcomes.map((o) => (o.error ? o.error.code : o.version)),
        [0, 1, 'FAILED_PRECONDITION', 'ALREADY_EXISTS', 'NOT_FOUND', 'FAILED_PRECONDITION', -1, 2],
      );
      assert.equal(text((await b.get(`${root}/new`))?.data), 'n');
      assert.equal(text((await b.get(`${root}/x`))?.data), 'x2');
      assert.deepEqual([text((await b.get(`${root}/y`))?.data), (await b.get(`${root}/y`))?.version], ['y1', 1]);
      assert.equal(text((await b.get(`${root}/z`))?.data), 'z0');
      assert.deepEqual(await a.writeEach([]), []);
    });

    test('writeEach: 450 creates, then 450 compare-and-sets at version 0, all applied', async () => {
      const names = Array.from({ length: 450 }, (_, i) => `n${String(i).padStart(3, '0')}`);
      const created = await a.writeEach(names.map((n) => ({ kind: 'create', path: `${root}/${n}`, data: bytes(n), mode: 'persistent' })));
      assert.ok(created.every((o) => o.version === 0));
      const set = await a.writeEach(names.map((n) => ({ kind: 'set', path: `${root}/${n}`, data: bytes(`${n}!`), expectedVersion: 0 })));
      assert.ok(set.every((o) => o.version === 1));
      // Expected version 0 is a real condition, not "any version": both are at version 1 now.
      const stale = await a.writeEach(names.slice(0, 2).map((n) => ({ kind: 'set', path: `${root}/${n}`, data: bytes('stale'), expectedVersion: 0 })));
      assert.deepEqual(
        stale.map((o) => o.error?.code),
        ['FAILED_PRECONDITION', 'FAILED_PRECONDITION'],
      );
      assert.deepEqual(await b.children(root), names);
      assert.equal(text((await b.get(`${root}/n449`))?.data), 'n449!');
    });
  });
}

/** Lets in-flight notifications land (a store may deliver them a little later). */
function settle(): Promise<void> {
  return new Promise((r) => setTimeout(r, 150));
}
