/**
 * The short soak (the same code as `npm run soak`, bench/soak/, on a short schedule): a cluster of
 * real processes (ZooKeeper, two controllers, three workers in poll mode, the gateway) serving the
 * bundled models digits and diabetes with 2 replicas each (set through the gateway's admin API)
 * and word_ids with 1, under mixed OIP REST JSON / binary, OIP gRPC, TF Serving REST and gRPC load,
 * while one after the other: a worker is SIGKILLed and restarted, a new model version is dropped
 * into the repository, ZooKeeper is restarted, the leading controller is SIGKILLed, and one worker
 * is flooded with 200 slow HTTP sockets and 50 preface-only HTTP/2 connections.
 *
 * Not one request of a replicated model may fail; word_ids (one replica) is expected to fail while
 * its worker is down, and only reported. Throughput is reported, never asserted.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { CHAOS_ACTIONS, runSoak } from '../../bench/soak/soak-run.js';
import { formatSoakSummary, replicatedFailures } from '../../bench/soak/soak-report.js';

const MODELS = fileURLToPath(new URL('../../../models', import.meta.url));

describe('short soak: chaos under mixed load (real processes)', { timeout: 300_000 }, () => {
  it('fails no request of a model with 2 replicas while workers, ZooKeeper and the leader die and a worker is flooded', async (t) => {
    const result = await runSoak({
      durationMs: 75_000,
      workers: 3,
      replicas: { digits: 2, diabetes: 2 },
      concurrency: 6,
      intervalMs: 15_000,
      requestTimeoutMs: 30_000,
      actions: CHAOS_ACTIONS,
      pauseMs: 2000,
      downMs: 3000,
      flood: { httpSockets: 200, grpcSockets: 50, tickMs: 1000, durationMs: 12_000 },
      modelRepository: MODELS,
      log: (line) => t.diagnostic(line),
    });
    for (const line of formatSoakSummary(result).split('\n')) t.diagnostic(line);

    assert.deepEqual(
      result.events.slice(0, CHAOS_ACTIONS.length).map((e) => e.action),
      [...CHAOS_ACTIONS],
      'every chaos action ran (a second round runs while time remains)',
    );
    for (const event of result.events) assert.ok(event.recoveredAfterMs !== undefined, `the cluster recovered after ${event.action}: ${event.detail}`);
    assert.match(result.events.find((e) => e.action === 'controller-failover')?.detail ?? '', /took over/, 'a standby controller took over');
    assert.match(result.events.find((e) => e.action === 'version-swap')?.detail ?? '', /READY on every replica/, 'the new version became READY everywhere');
    for (const model of ['digits', 'diabetes']) assert.ok((result.load.byModel[model]?.ok ?? 0) > 0, `${model} was served`);
    const samples = result.load.failureSamples.filter((f) => result.replicatedModels.includes(f.model));
    assert.equal(replicatedFailures(result), 0, `failed requests of replicated models: ${JSON.stringify(samples.slice(0, 5))}`);
  });
});
