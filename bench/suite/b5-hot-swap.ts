/**
 * B5 — hot swap. ResNet-18 served in poll mode under load (REST binary, concurrency 8). A version 2
 * folder is staged beside the repository's versions and renamed into place (it appears whole); we
 * time how long until version 2 answers READY and until version 1 has left, and count every failed
 * request over the whole run (target: zero).
 */
import { copyFile, mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { LatencyHistogram } from '../../src/load-generator/latency-histogram.js';
import { restTarget, type SuiteContext } from './context.js';
import { BATCHING, type ModelFiles, writeRepository } from './models.js';
import { pollUntil, ServerProcess } from './server-process.js';
import type { LevelSummary } from './level-summary.js';

export interface B5Result {
  readonly model: string;
  readonly pollSeconds: number;
  readonly concurrency: number;
  /** From the version folder appearing to version 2 READY, ms (undefined: never within the run). */
  readonly appearToReadyMs: number | undefined;
  /** From the folder appearing to version 1 no longer READY, ms. */
  readonly appearToOldGoneMs: number | undefined;
  readonly load: LevelSummary;
  readonly requests: number;
  readonly failed: number;
  readonly errors: Readonly<Record<string, number>>;
}

export const B5_POLL_SECONDS = 0.5;
export const B5_CONCURRENCY = 8;
/** The load stops after this long even if the swap has not finished (it is then reported as never). */
export const B5_MAX_SECONDS = 90;

export async function runB5(ctx: SuiteContext, models: ModelFiles): Promise<B5Result> {
  const repository = await writeRepository(ctx, 'b5', { resnet18: { file: models.resnet18, config: BATCHING } });
  const server = await ServerProcess.start({ repository, flags: ['--model-control-mode', 'poll', '--repository-poll-secs', String(B5_POLL_SECONDS)] });
  try {
    const target = await restTarget(server.httpUrl, 'resnet18', { binary: true, connections: B5_CONCURRENCY });
    const staged = join(repository, 'resnet18', '.incoming');
    await mkdir(staged, { recursive: true });
    await copyFile(models.resnet18, join(staged, 'model.onnx'));
    const readyState = async (version: number): Promise<boolean> => (await fetch(`${server.httpUrl}/v2/models/resnet18/versions/${version}/ready`).catch(() => undefined))?.status === 200;

    // Closed-loop load that runs until the swap is over (plus a tail), bounded by B5_MAX_SECONDS.
    const latency = new LatencyHistogram();
    const errors = new Map<string, number>();
    let completed = 0;
    let failed = 0;
    let running = true;
    const loadStarted = performance.now();
    const callers = Array.from({ length: B5_CONCURRENCY }, async () => {
      while (running && performance.now() - loadStarted < B5_MAX_SECONDS * 1000) {
        const t0 = performance.now();
        try {
          await target.send();
          completed++;
          latency.record((performance.now() - t0) * 1000);
        } catch (error) {
          failed++;
          const message = error instanceof Error ? error.message : String(error);
          errors.set(message, (errors.get(message) ?? 0) + 1);
        }
      }
    });
    ctx.log(`B5: ResNet-18 under load at concurrency ${B5_CONCURRENCY}, poll every ${B5_POLL_SECONDS} s; version 2 appears in ${ctx.secs(3)} s`);
    await new Promise((r) => setTimeout(r, ctx.secs(3) * 1000));
    const appeared = performance.now();
    await rename(staged, join(repository, 'resnet18', '2'));
    const remaining = (): number => Math.max(1000, B5_MAX_SECONDS * 1000 - (performance.now() - loadStarted));
    const readyMs = await pollUntil(() => readyState(2), remaining(), 'version 2 READY').then(
      () => performance.now() - appeared,
      () => undefined,
    );
    const goneMs = await pollUntil(async () => !(await readyState(1)), remaining(), 'version 1 to leave').then(
      () => performance.now() - appeared,
      () => undefined,
    );
    await new Promise((r) => setTimeout(r, ctx.secs(3) * 1000));
    running = false;
    await Promise.all(callers);
    const seconds = (performance.now() - loadStarted) / 1000;
    await target.close();
    const summary = latency.summary();
    return {
      model: 'resnet18',
      pollSeconds: B5_POLL_SECONDS,
      concurrency: B5_CONCURRENCY,
      appearToReadyMs: readyMs,
      appearToOldGoneMs: goneMs,
      load: {
        requestsPerSecond: completed / seconds,
        inferencesPerSecond: completed / seconds,
        p50Ms: summary.p50Ms,
        p99Ms: summary.p99Ms,
        failed,
        avgBatch: undefined,
        queueUs: undefined,
        computeUs: undefined,
      },
      requests: completed + failed,
      failed,
      errors: Object.fromEntries(errors),
    };
  } finally {
    await server.stop();
  }
}
