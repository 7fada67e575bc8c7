/**
 * B2 — batching gain. The MLP and ResNet-18, each loaded twice in one server (dynamic batching on,
 * and off: same model, every request executed alone), swept over concurrency with one-row requests
 * over REST binary. On and off are measured alternately at each level so machine noise hits both.
 * Gain = inferences/s on ÷ off (MLP target ≥ 3× at concurrency 32 and above). At low load (concurrency
 * 1 and 2) batching must cost nothing: on ÷ off ≥ 0.95 for the MLP and the tiny model. Which side
 * goes first alternates from level to level, so neither always meets a colder server.
 *
 * The same server then serves B3 (the served side at concurrency 64) and B7 (responsiveness).
 */
import { restTarget, type SuiteContext } from './context.js';
import { BATCHING, NO_BATCHING, type ModelFiles, writeRepository } from './models.js';
import type { ServerProcess } from './server-process.js';
import { levelSummary, type LevelSummary } from './level-summary.js';

export interface B2Level {
  readonly concurrency: number;
  readonly on: LevelSummary;
  readonly off: LevelSummary;
  /** Inferences/s with batching ÷ without. */
  readonly gain: number;
}

export interface B2Model {
  readonly model: string;
  readonly levels: readonly B2Level[];
  /** The smallest gain at concurrency ≥ 32. */
  readonly gainAt32Plus: number;
  /** The smallest gain at concurrency 1 and 2 (batching must cost nothing at low load). */
  readonly gainAtLowLoad: number;
}

export const B2_LOW_LOAD_LEVELS = [1, 2];
export const B2_MIN_LOW_LOAD_GAIN = 0.95;

export interface B2Result {
  readonly protocol: 'rest-binary';
  readonly configOn: string;
  readonly configOff: string;
  readonly mlp: B2Model;
  readonly conv: B2Model;
  /** The tiny add/sub model at low load only (where a batching cost would show most). */
  readonly tiny?: B2Model;
}

export const B2_MLP_LEVELS = [1, 2, 4, 8, 16, 32, 64];
export const B2_CONV_LEVELS = [1, 4, 16, 64];

export function b2Repository(ctx: SuiteContext, models: ModelFiles): Promise<string> {
  return writeRepository(ctx, 'b2', {
    mlp: { file: models.mlp, config: BATCHING },
    mlp_nobatch: { file: models.mlp, config: NO_BATCHING },
    resnet18: { file: models.resnet18, config: BATCHING },
    resnet18_nobatch: { file: models.resnet18, config: NO_BATCHING },
    tiny: { file: models.tiny, config: BATCHING },
    tiny_nobatch: { file: models.tiny, config: NO_BATCHING },
  });
}

export async function runB2(ctx: SuiteContext, server: ServerProcess): Promise<B2Result> {
  const mlp = await sweep(ctx, server, 'mlp', B2_MLP_LEVELS, ctx.secs(2), ctx.secs(5));
  const conv = await sweep(ctx, server, 'resnet18', B2_CONV_LEVELS, ctx.secs(3), ctx.secs(8));
  const tiny = await sweep(ctx, server, 'tiny', B2_LOW_LOAD_LEVELS, ctx.secs(2), ctx.secs(4));
  return { protocol: 'rest-binary', configOn: BATCHING.trim(), configOff: NO_BATCHING.trim(), mlp, conv, tiny };
}

async function sweep(ctx: SuiteContext, server: ServerProcess, model: string, levels: readonly number[], warmup: number, measure: number): Promise<B2Model> {
  const connections = Math.max(...levels);
  const on = await restTarget(server.httpUrl, model, { binary: true, connections, serverPid: server.pid });
  const off = await restTarget(server.httpUrl, `${model}_nobatch`, { binary: true, connections, serverPid: server.pid });
  const results: B2Level[] = [];
  try {
    for (const [index, concurrency] of levels.entries()) {
      if (B2_LOW_LOAD_LEVELS.includes(concurrency)) {
        // The low-load figure is a ≥ 0.95 target, finer than this machine's drift between two
        // windows (a backlog of the previous level draining, a compile elsewhere): on, off, off, on,
        // and each side's better window counts, so a disturbance of one window weighs on neither.
        ctx.log(`B2: ${model} at concurrency ${concurrency}, batching on / off / off / on (best window of each)`);
        const on1 = await on.run(concurrency, warmup, measure);
        const off1 = await off.run(concurrency, warmup, measure);
        const off2 = await off.run(concurrency, warmup, measure);
        const on2 = await on.run(concurrency, warmup, measure);
        const best = (a: LevelSummary, b: LevelSummary): LevelSummary => (a.inferencesPerSecond >= b.inferencesPerSecond ? a : b);
        const [batched, alone] = [best(levelSummary(on1), levelSummary(on2)), best(levelSummary(off1), levelSummary(off2))];
        results.push({ concurrency, on: batched, off: alone, gain: batched.inferencesPerSecond / alone.inferencesPerSecond });
        continue;
      }
      const onFirst = index % 2 === 0;
      ctx.log(`B2: ${model} at concurrency ${concurrency}, batching ${onFirst ? 'on / off' : 'off / on'}`);
      const first = await (onFirst ? on : off).run(concurrency, warmup, measure);
      const second = await (onFirst ? off : on).run(concurrency, warmup, measure);
      const [batched, alone] = onFirst ? [first, second] : [second, first];
      results.push({ concurrency, on: levelSummary(batched), off: levelSummary(alone), gain: batched.inferencesPerSecond / alone.inferencesPerSecond });
    }
  } finally {
    await on.close();
    await off.close();
  }
  const high = results.filter((l) => l.concurrency >= 32).map((l) => l.gain);
  const low = results.filter((l) => B2_LOW_LOAD_LEVELS.includes(l.concurrency)).map((l) => l.gain);
  return { model, levels: results, gainAt32Plus: high.length > 0 ? Math.min(...high) : Number.NaN, gainAtLowLoad: low.length > 0 ? Math.min(...low) : Number.NaN };
}
