import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventChannel } from '../core/events.js';
import type { Tensor } from '../tensors/tensor.js';
import type { VersionStateEvent } from './model-manager.js';
import { ResponseCache, type CacheLookup } from './response-cache.js';

const V1 = { model: 'm', version: 1, stamp: 'a' };
const OUT = [{ name: 'y' }];

function input(values: number[], name = 'x', shape = [1, values.length]): Tensor {
  return { name, datatype: 'FP32', shape, data: new Float32Array(values) };
}

function answer(values: number[]): Tensor[] {
  return [{ name: 'y', datatype: 'FP32', shape: [1, values.length], data: new Float32Array(values) }];
}

function miss(lookup: CacheLookup): Extract<CacheLookup, { hit: false }> {
  assert.equal(lookup.hit, false, 'expected a miss');
  return lookup;
}

function hitValues(lookup: CacheLookup): number[] {
  assert.equal(lookup.hit, true, 'expected a hit');
  return [...(lookup.outputs[0]!.data as Float32Array)];
}

describe('ResponseCache', () => {
  test('the same request is a hit with the stored bytes; any difference in the key is a miss', () => {
    const cache = new ResponseCache({ maxBytes: 1 << 20 });
    miss(cache.lookup(V1, [input([1, 2])], OUT)).store(answer([10, 20]));
    assert.deepEqual(hitValues(cache.lookup(V1, [input([1, 2])], OUT)), [10, 20]);
    miss(cache.lookup(V1, [input([1, 3])], OUT));
    miss(cache.lookup(V1, [input([1, 2], 'x', [2, 1])], OUT));
    miss(cache.lookup(V1, [input([1, 2], 'z')], OUT));
    miss(cache.lookup(V1, [input([1, 2])], [{ name: 'y', classification: 1 }]));
    miss(cache.lookup(V1, [input([1, 2])], [{ name: 'q' }]));
    miss(cache.lookup({ ...V1, version: 2 }, [input([1, 2])], OUT));
    miss(cache.lookup({ ...V1, stamp: 'b' }, [input([1, 2])], OUT));
    miss(cache.lookup({ ...V1, model: 'n' }, [input([1, 2])], OUT));
    const bytes: Tensor = { name: 'x', datatype: 'BYTES', shape: [1], data: [new Uint8Array([1, 2])] };
    miss(cache.lookup(V1, [bytes], OUT));
    assert.deepEqual(cache.counters, { hits: 1, misses: 10, evictions: 0 });
  });

  test('the order of the inputs does not matter, their content does', () => {
    const cache = new ResponseCache({ maxBytes: 1 << 20 });
    miss(cache.lookup(V1, [input([1], 'a'), input([2], 'b')], OUT)).store(answer([3]));
    assert.deepEqual(hitValues(cache.lookup(V1, [input([2], 'b'), input([1], 'a')], OUT)), [3]);
    // Same concatenated bytes, split differently between the inputs: a different key.
    miss(cache.lookup(V1, [input([1, 2], 'a'), input([], 'b', [1, 0])], OUT));
  });

  test('BYTES inputs are keyed by their elements, not just their concatenation', () => {
    const cache = new ResponseCache({ maxBytes: 1 << 20 });
    const ab: Tensor = { name: 's', datatype: 'BYTES', shape: [2], data: [new Uint8Array([97]), new Uint8Array([98])] };
    const joined: Tensor = { name: 's', datatype: 'BYTES', shape: [2], data: [new Uint8Array([97, 98]), new Uint8Array([])] };
    miss(cache.lookup(V1, [ab], OUT)).store(answer([1]));
    miss(cache.lookup(V1, [joined], OUT));
    assert.deepEqual(hitValues(cache.lookup(V1, [{ ...ab, data: [new Uint8Array([97]), new Uint8Array([98])] }], OUT)), [1]);
  });

  test('the key survives its input buffers being transferred away before the answer is stored', () => {
    const cache = new ResponseCache({ maxBytes: 1 << 20 });
    const x = input([5, 6]);
    const lookup = miss(cache.lookup(V1, [x], OUT));
    structuredClone(x.data, { transfer: [(x.data as Float32Array).buffer as ArrayBuffer] });
    assert.equal((x.data as Float32Array).length, 0, 'the buffer is detached');
    lookup.store(answer([7]));
    assert.deepEqual(hitValues(cache.lookup(V1, [input([5, 6])], OUT)), [7]);
  });

  test('stored outputs are copies: changing the original answer later does not change the entry', () => {
    const cache = new ResponseCache({ maxBytes: 1 << 20 });
    const batchBuffer = new Float32Array([1, 2, 3, 4]);
    const view: Tensor = { name: 'y', datatype: 'FP32', shape: [1, 2], data: batchBuffer.subarray(2, 4) };
    miss(cache.lookup(V1, [input([0])], OUT)).store([view]);
    batchBuffer[2] = 99;
    const hit = cache.lookup(V1, [input([0])], OUT);
    assert.deepEqual(hitValues(hit), [3, 4]);
    const data = (hit as Extract<CacheLookup, { hit: true }>).outputs[0]!.data as Float32Array;
    assert.equal(data.buffer.byteLength, 8, 'the entry does not pin the whole batch buffer');
  });

  test('LRU within the byte budget: the least recently used entry goes first; a hit makes an entry recent', () => {
    const outputBytes = 4096;
    const big = (): Tensor[] => [{ name: 'y', datatype: 'FP32', shape: [1, outputBytes / 4], data: new Float32Array(outputBytes / 4) }];
    const cache = new ResponseCache({ maxBytes: 3 * outputBytes + 1500 });
    for (const v of [1, 2, 3]) miss(cache.lookup(V1, [input([v])], OUT)).store(big());
    assert.equal(cache.entryCount, 3);
    assert.ok(cache.sizeBytes <= cache.maxBytes && cache.sizeBytes >= 3 * outputBytes);
    assert.equal(cache.lookup(V1, [input([1])], OUT).hit, true); // 1 becomes the most recent
    miss(cache.lookup(V1, [input([4])], OUT)).store(big());
    assert.equal(cache.entryCount, 3);
    assert.equal(cache.lookup(V1, [input([2])], OUT).hit, false, '2 was the least recently used');
    for (const v of [1, 3, 4]) assert.equal(cache.lookup(V1, [input([v])], OUT).hit, true, `${v} is kept`);
    assert.equal(cache.counters.evictions, 1);
  });

  test('an answer larger than the whole budget is not stored', () => {
    const cache = new ResponseCache({ maxBytes: 1000 });
    miss(cache.lookup(V1, [input([1])], OUT)).store([{ name: 'y', datatype: 'FP32', shape: [1, 1000], data: new Float32Array(1000) }]);
    assert.equal(cache.entryCount, 0);
    assert.equal(cache.sizeBytes, 0);
  });

  test('an unloading version loses its entries, and answers computed before that are not stored', () => {
    const cache = new ResponseCache({ maxBytes: 1 << 20 });
    const states = new EventChannel<VersionStateEvent>();
    cache.followVersions(states);
    miss(cache.lookup(V1, [input([1])], OUT)).store(answer([1]));
    miss(cache.lookup({ ...V1, version: 2 }, [input([1])], OUT)).store(answer([2]));
    const inFlight = miss(cache.lookup(V1, [input([9])], OUT));
    states.publish({ model: 'm', version: 1, state: 'READY' });
    assert.equal(cache.entryCount, 2, 'READY drops nothing');
    states.publish({ model: 'm', version: 1, state: 'UNLOADING' });
    assert.equal(cache.lookup(V1, [input([1])], OUT).hit, false);
    assert.deepEqual(hitValues(cache.lookup({ ...V1, version: 2 }, [input([1])], OUT)), [2], 'other versions keep theirs');
    inFlight.store(answer([9]));
    assert.equal(cache.lookup(V1, [input([9])], OUT).hit, false, 'an answer from before the unload is not stored');
    miss(cache.lookup(V1, [input([3])], OUT)).store(answer([3]));
    assert.equal(cache.lookup(V1, [input([3])], OUT).hit, true, 'a reloaded version caches again');
  });
});
