import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Picker, type PickResult } from './picker.js';
import { rendezvous, SequenceOrder, sequenceKeyOf, StickySequences } from './sequence-affinity.js';
import { endpoint, tableOf } from '../../../test/helpers/gateway-tables.js';

describe('sequence keys', () => {
  it('gives no key for an absent, zero or empty id, nor for a non-integer number', () => {
    assert.equal(sequenceKeyOf(0), undefined);
    assert.equal(sequenceKeyOf(''), undefined);
    assert.equal(sequenceKeyOf(1.5), undefined);
  });
});

describe('sticky sequences', () => {
  const [a, b, c] = ['a', 'b', 'c'].map((id) => endpoint(id)) as [ReturnType<typeof endpoint>, ReturnType<typeof endpoint>, ReturnType<typeof endpoint>];

  it('rendezvous spreads sequences over replicas and is stable while they are', () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 3000; i++) {
      const chosen = rendezvous(`u:${i}`, [a, b, c])!;
      assert.equal(rendezvous(`u:${i}`, [c, a, b]), chosen, 'order of the candidates does not matter');
      counts.set(chosen.nodeId, (counts.get(chosen.nodeId) ?? 0) + 1);
    }
    for (const count of counts.values()) assert.ok(count > 800 && count < 1200, `uneven spread: ${[...counts.entries()].join(' ')}`);
  });

  it('keeps a sequence on its replica when another is added, moves it only when its replica goes', () => {
    const sticky = new StickySequences();
    const keys = Array.from({ length: 200 }, (_, i) => `u:${i}`);
    const first = new Map(keys.map((k) => [k, sticky.choose(k, [a, b])!.nodeId]));
    for (const k of keys) assert.equal(sticky.choose(k, [a, b, c])!.nodeId, first.get(k), 'a new replica takes no live sequence');
    for (const k of keys) {
      const now = sticky.choose(k, [b, c])!.nodeId;
      if (first.get(k) === 'b') assert.equal(now, 'b');
      else assert.notEqual(now, 'a');
    }
  });

  it('remembers at most its capacity, least recently used out first', () => {
    const sticky = new StickySequences(2);
    sticky.choose('x', [a]);
    sticky.choose('y', [a]);
    sticky.choose('x', [a]);
    sticky.choose('z', [a]);
    assert.equal(sticky.size, 2);
  });

  it('Picker: with a sequence key every request goes to the same replica, whatever the load', () => {
    const picker = new Picker({ isUp: () => true });
    const table = tableOf({ w1: { m: { 1: 'READY' } }, w2: { m: { 1: 'READY' } } });
    const chosen = new Set<string>();
    const nodeOf = (result: PickResult): string => (result.kind === 'pick' ? result.endpoint.nodeId : `failed: ${result.error.message}`);
    for (let i = 0; i < 10; i++) chosen.add(nodeOf(picker.pick(table, 'm', undefined, undefined, 'u:42'))); // never released: load grows
    assert.equal(chosen.size, 1);
    const other = picker.pick(table, 'm', 1, new Set([[...chosen][0] === 'w1' ? endpoint('w1').key : endpoint('w2').key]), 'u:42');
    assert.equal(other.kind, 'pick');
    assert.notEqual(nodeOf(other), [...chosen][0], 'excluded (failed) replica: another one');
  });
});

describe('SequenceOrder', () => {
  it('runs tasks of one key in call order, others at once', async () => {
    const order = new SequenceOrder();
    const log: string[] = [];
    const task = (name: string, ms: number) => () => new Promise<string>((resolve) => setTimeout(() => (log.push(name), resolve(name)), ms));
    const results = await Promise.all([
      order.run('k', task('k1', 30)),
      order.run('k', task('k2', 1)),
      order.run(undefined, task('free', 5)),
      order.run('k', () => Promise.reject(new Error('k3'))).catch((e: Error) => e.message),
      order.run('k', task('k4', 1)),
    ]);
    assert.deepEqual(results, ['k1', 'k2', 'free', 'k3', 'k4']);
    assert.deepEqual(log, ['free', 'k1', 'k2', 'k4']);
  });
});
