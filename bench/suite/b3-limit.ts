/**
 * B3 — distance to the limit. Served inferences/s at concurrency 64 with batching (from B2) against
 * ONNX Runtime alone in a worker thread, same session options and threads, running batches of the
 * served average batch size back to back (rounded). Ratio = served ÷ raw (targets: conv ≥ 0.9,
 * MLP ≥ 0.7). Measured after the server has stopped, so the raw run has the machine to itself.
 */
import { availableParallelism } from 'node:os';
import type { SuiteContext } from './context.js';
import type { B2Model } from './b2-batching.js';
import { MLP_SHAPE, RESNET_ITEM_SHAPE, type ModelFiles } from './models.js';
import { runRawOrt, type RawOrtResult } from './raw-ort.js';

export interface B3Model {
  readonly model: string;
  readonly concurrency: number;
  readonly servedInferencesPerSecond: number;
  readonly servedAvgBatch: number;
  readonly raw: RawOrtResult;
  readonly ratio: number;
}

export interface B3Result {
  readonly intraOpThreads: number;
  readonly mlp: B3Model;
  readonly conv: B3Model;
}

export async function runB3(ctx: SuiteContext, models: ModelFiles, mlp: B2Model, conv: B2Model): Promise<B3Result> {
  const intraOpThreads = availableParallelism();
  const one = async (name: string, sweep: B2Model, modelPath: string, itemShape: readonly number[], measure: number): Promise<B3Model> => {
    const top = sweep.levels[sweep.levels.length - 1]!;
    const avgBatch = top.on.avgBatch ?? 1;
    const batch = Math.max(1, Math.round(avgBatch));
    ctx.log(`B3: raw ONNX Runtime on ${name} at batch ${batch} (served average ${avgBatch.toFixed(2)})`);
    const raw = await runRawOrt({ modelPath, inputName: 'input', itemShape, batch, intraOpThreads, warmupSecs: ctx.secs(2), measureSecs: measure });
    return {
      model: name,
      concurrency: top.concurrency,
      servedInferencesPerSecond: top.on.inferencesPerSecond,
      servedAvgBatch: avgBatch,
      raw,
      ratio: top.on.inferencesPerSecond / raw.inferencesPerSecond,
    };
  };
  return {
    intraOpThreads,
    mlp: await one('mlp', mlp, models.mlp, [MLP_SHAPE.inputSize], ctx.secs(5)),
    conv: await one('resnet18', conv, models.resnet18, RESNET_ITEM_SHAPE, ctx.secs(8)),
  };
}
