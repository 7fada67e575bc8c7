/**
 * ONNX Runtime computes synchronously on the calling thread; sessions therefore live in worker
 * threads. Proof: while a slow model's inference runs, health, metadata and another model's
 * inference are all answered.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { addSubModel, createTempModelRepository, slowModel, type TempModelRepository } from '../fixtures/onnx-models.js';
import { infer } from '../helpers/oip-client.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

let repo: TempModelRepository;
let server: TestServer;

before(async () => {
  repo = await createTempModelRepository({
    slow: { versions: { 1: slowModel({ size: 512, repeats: 1200 }) }, config: 'parameters { key: "intra_op_thread_count" value: { string_value: "1" } }' },
    simple: { versions: { 1: addSubModel('FP32', [4]) } },
  });
  server = await startTestServer({ modelRepository: repo.root });
});

after(async () => {
  await server?.stop();
  await repo?.remove();
});

test('other requests are answered while a slow inference runs', async () => {
  const size = 512;
  let slowDone = false;
  const slow = infer(server.url, 'slow', [{ name: 'x', datatype: 'FP32', shape: [size, size], bytes: new Uint8Array(size * size * 4) }], { binaryOutput: true }).then((r) => {
    slowDone = true;
    return r;
  });
  // Give the slow request time to reach its worker.
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(slowDone, false, 'the slow inference should still be running');
  const answered: string[] = [];
  for (let i = 0; i < 5; i++) {
    assert.equal((await fetch(`${server.url}/v2/health/ready`)).status, 200);
    assert.equal((await fetch(`${server.url}/v2/models/simple`)).status, 200);
    const result = await infer(server.url, 'simple', [
      { name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] },
      { name: 'INPUT1', datatype: 'FP32', shape: [1, 4], data: [1, 1, 1, 1] },
    ]);
    assert.equal(result.status, 200);
    answered.push(slowDone ? 'after' : 'during');
  }
  assert.ok(
    answered.every((a) => a === 'during'),
    `all 15 requests were answered while the slow one ran (${answered.join(',')})`,
  );
  const result = await slow;
  assert.equal(result.status, 200);
});
