/**
 * B3 — distance to the limit. Served inferences/s at concurrency 64 with dynamic batching (one-row
 * requests over REST binary) against ONNX Runtime alone in a worker thread of the benchmark process,
 * with the server's session options and threads, running batches of the served average batch size
 * (rounded) back to back. Served and raw alternate over rounds, the raw run while the server idles,
 * so both see the same machine. Ratio = mean served ÷ mean raw (targets: conv ≥ 0.9, MLP ≥ 0.7).
 * The same requests against a bare `node:http` server give the HTTP ceiling: what one-row requests
 * could reach here if serving cost nothing.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { measureLevel } from '../../src/load-generator/bench-runner.js';
import { encodeRestRequest } from '../../src/load-generator/rest-transport.js';
import { startBareReplay } from './bare-server.js';
import { levelSummary } from './level-summary.js';
import { restTarget, type SuiteContext } from './context.js';
import { MLP_SHAPE, RESNET_ITEM_SHAPE, type ModelFiles } from './models.js';
import { runRawOrt, type RawOrtResult } from './raw-ort.js';
import type { ServerProcess } from './server-process.js';

export interface B3Round {
  readonly servedInferencesPerSecond: number;
  readonly servedAvgBatch: number;
  readonly servedP99Ms: number;
  readonly raw: RawOrtResult;
}

export interface B3Model {
  readonly model: string;
  readonly concurrency: number;
  readonly rounds: readonly B3Round[];
  readonly servedInferencesPerSecond: number;
  readonly servedAvgBatch: number;
  readonly rawInferencesPerSecond: number;
  readonly ratio: number;
  /**
   * The ceiling for one-row HTTP requests: a bare `node:http` server answering the same requests
   * with recorded bytes (no decoding, queueing, model or encoding) at the same concurrency, in
   * inferences/s ÷ raw. No server can do better than this on the same machine and load generator.
   */
  readonly bareInferencesPerSecond: number;
  readonly ceiling: number;
  /** Served ÷ the HTTP ceiling's inferences/s: the figure to steer (target ≥ B3_MIN_SERVED_VS_CEILING for the MLP). */
  readonly servedVsCeiling: number;
  /** Server CPU µs per inference while serving one-row requests (mean over rounds). */
  readonly servedCpuUsPerInference: number;
  /** What clients gain by sending rows together: the same rows in flight, in requests of 8 and 32 rows. */
  readonly batchedRequests: readonly B3BatchedRequests[];
}

export interface B3BatchedRequests {
  readonly rowsPerRequest: number;
  readonly concurrency: number;
  readonly inferencesPerSecond: number;
  readonly serverCpuUsPerInference: number | undefined;
  readonly avgBatch: number | undefined;
}

export const B3_MIN_SERVED_VS_CEILING = 0.7;
export const B3_ROWS_PER_REQUEST = [8, 32];

export interface B3Result {
  readonly intraOpThreads: number;
  readonly mlp: B3Model;
  readonly conv: B3Model;
}

export const B3_CONCURRENCY = 64;
const ROUNDS = 2;

/** Runs on the B2 server (models `mlp` and `resnet18` with batching on). */
export async function runB3(ctx: SuiteContext, server: ServerProcess, models: ModelFiles): Promise<B3Result> {
  const intraOpThreads = availableParallelism();
  const one = async (model: string, modelPath: string, itemShape: readonly number[], warmup: number, measure: number, withBatchedRequests: boolean): Promise<B3Model> => {
    const target = await restTarget(server.httpUrl, model, { binary: true, connections: B3_CONCURRENCY, serverPid: server.pid });
    const rounds: B3Round[] = [];
    const cpuPerInference: number[] = [];
    const batchedRequests: B3BatchedRequests[] = [];
    let bareInferencesPerSecond = 0;
    try {
      for (let round = 1; round <= ROUNDS; round++) {
        ctx.log(`B3 round ${round}/${ROUNDS}: ${model} served at concurrency ${B3_CONCURRENCY}, then raw ONNX Runtime`);
        const served = await target.run(B3_CONCURRENCY, warmup, measure);
        const summary = levelSummary(served);
        if (summary.serverCpuUsPerInference !== undefined) cpuPerInference.push(summary.serverCpuUsPerInference);
        const avgBatch = served.server?.avgBatch ?? 1;
        const batch = Math.max(1, Math.round(avgBatch));
        const raw = await runRawOrt({ modelPath, inputName: 'input', itemShape, batch, intraOpThreads, warmupSecs: warmup, measureSecs: measure });
        rounds.push({ servedInferencesPerSecond: served.inferencesPerSecond, servedAvgBatch: avgBatch, servedP99Ms: served.latency.p99Ms, raw });
      }
      ctx.log(`B3: ${model}, the same requests against a bare node:http server (the HTTP ceiling)`);
      const request = encodeRestRequest({ model, inputs: target.inputs }, true);
      const bare = await startBareReplay(server.httpUrl, request, join(ctx.reposDir, `b3-${model}-answer.bin`), B3_CONCURRENCY);
      try {
        const mode = { kind: 'concurrency', concurrency: B3_CONCURRENCY } as const;
        bareInferencesPerSecond = (await measureLevel({ mode, send: bare.send, rowsPerRequest: 1, warmupSecs: warmup, measureSecs: measure })).inferencesPerSecond;
      } finally {
        await bare.stop();
      }
      if (withBatchedRequests) {
        for (const rowsPerRequest of B3_ROWS_PER_REQUEST) {
          const concurrency = Math.max(2, Math.round(B3_CONCURRENCY / rowsPerRequest));
          ctx.log(`B3: ${model}, requests of ${rowsPerRequest} rows at concurrency ${concurrency} (the same rows in flight)`);
          const batchedTarget = await restTarget(server.httpUrl, model, { binary: true, connections: concurrency, batchSize: rowsPerRequest, serverPid: server.pid });
          try {
            const level = levelSummary(await batchedTarget.run(concurrency, warmup, measure));
            batchedRequests.push({ rowsPerRequest, concurrency, inferencesPerSecond: level.inferencesPerSecond, serverCpuUsPerInference: level.serverCpuUsPerInference, avgBatch: level.avgBatch });
          } finally {
            await batchedTarget.close();
          }
        }
      }
    } finally {
      await target.close();
    }
    const mean = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0) / values.length;
    const served = mean(rounds.map((r) => r.servedInferencesPerSecond));
    const raw = mean(rounds.map((r) => r.raw.inferencesPerSecond));
    return {
      model,
      concurrency: B3_CONCURRENCY,
      rounds,
      servedInferencesPerSecond: served,
      servedAvgBatch: mean(rounds.map((r) => r.servedAvgBatch)),
      rawInferencesPerSecond: raw,
      ratio: served / raw,
      bareInferencesPerSecond,
      ceiling: bareInferencesPerSecond / raw,
      servedVsCeiling: served / bareInferencesPerSecond,
      servedCpuUsPerInference: cpuPerInference.length > 0 ? mean(cpuPerInference) : Number.NaN,
      batchedRequests,
    };
  };
  return {
    intraOpThreads,
    mlp: await one('mlp', models.mlp, [MLP_SHAPE.inputSize], ctx.secs(2), ctx.secs(4), true),
    conv: await one('resnet18', models.resnet18, RESNET_ITEM_SHAPE, ctx.secs(3), ctx.secs(8), false),
  };
}
