import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EndpointHealth, type HealthChange } from './endpoint-health.js';
import type { Endpoint } from './endpoint-table.js';
import { endpoint } from '../../../test/helpers/gateway-tables.js';

/** Polls until `check` holds (bounded). */
async function until(check: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('EndpointHealth', () => {
  it('marks a worker down, probes it with backoff, and marks it up when a probe answers', async () => {
    const probes: number[] = [];
    let alive = false;
    const health = new EndpointHealth({
      initialProbeDelayMs: 10,
      maxProbeDelayMs: 40,
      probe: () => {
        probes.push(Date.now());
        return Promise.resolve(alive);
      },
    });
    const changes: HealthChange[] = [];
    health.changed.subscribe((change) => changes.push(change));
    const w1 = endpoint('w1');
    try {
      assert.ok(health.isUp(w1.key));
      health.markDown(w1, 'connect ECONNREFUSED');
      health.markDown(w1, 'again'); // idempotent
      assert.ok(!health.isUp(w1.key));
      assert.deepEqual(health.downKeys(), [w1.key]);
      await until(() => probes.length >= 4, 'four failed probes');
      const gaps = probes.slice(1).map((t, i) => t - (probes[i] ?? t));
      assert.ok((gaps[2] ?? 0) >= (gaps[0] ?? 0), `delays grow: ${gaps.join(', ')}`);
      assert.ok(!health.isUp(w1.key));
      alive = true;
      await until(() => health.isUp(w1.key), 'the worker to come back');
      assert.deepEqual(
        changes.map((c) => [c.endpoint.nodeId, c.up, c.reason]),
        [
          ['w1', false, 'connect ECONNREFUSED'],
          ['w1', true, 'liveness probe answered'],
        ],
      );
    } finally {
      health.stop();
    }
  });

  it('a probe that throws counts as a failed probe', async () => {
    let calls = 0;
    const health = new EndpointHealth({
      initialProbeDelayMs: 5,
      probe: () => {
        calls++;
        return calls < 3 ? Promise.reject(new Error('boom')) : Promise.resolve(true);
      },
    });
    const w1 = endpoint('w1');
    try {
      health.markDown(w1, 'reset');
      await until(() => health.isUp(w1.key), 'recovery after throwing probes');
      assert.equal(calls, 3);
    } finally {
      health.stop();
    }
  });

  it('forgets workers that leave the table and stops probing them', async () => {
    const probed: string[] = [];
    const health = new EndpointHealth({
      initialProbeDelayMs: 5,
      maxProbeDelayMs: 5,
      probe: (e: Endpoint) => {
        probed.push(e.nodeId);
        return Promise.resolve(false);
      },
    });
    const [gone, kept] = [endpoint('gone'), endpoint('kept')];
    try {
      health.markDown(gone, 'refused');
      health.markDown(kept, 'refused');
      await until(() => probed.includes('gone') && probed.includes('kept'), 'both probed');
      health.retainOnly([kept]);
      assert.ok(health.isUp(gone.key), 'a forgotten worker starts up when it returns');
      assert.ok(!health.isUp(kept.key));
      probed.length = 0;
      await until(() => probed.filter((id) => id === 'kept').length >= 3, 'kept probed again');
      assert.ok(!probed.includes('gone'));
    } finally {
      health.stop();
    }
  });
});
