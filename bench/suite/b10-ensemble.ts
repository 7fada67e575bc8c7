/**
 * B10, ensembles: what running a pipeline inside the server costs or saves against a client that
 * calls the steps one by one. The bundled digits_pipeline (JavaScript preprocess → ONNX digits →
 * JavaScript postprocess) in one server process; sequential requests (concurrency 1) over REST
 * binary: the ensemble in one call, then the same three models called in turn by the client, which
 * passes each answer's tensor to the next call. Alternating rounds, median latency per path.
 */
import { cp, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createClient } from '../../src/client/index.js';
import type { SuiteContext } from './context.js';
import { ROOT, ServerProcess } from './server-process.js';

export interface B10Result {
  readonly requests: number;
  readonly rounds: number;
  /** Median µs of one ensemble request. */
  readonly ensembleMicros: number;
  /** Median µs of the three step calls made by the client. */
  readonly chainedMicros: number;
  /** Median µs of one direct call of the ONNX step alone (the floor of one round trip). */
  readonly singleStepMicros: number;
}

const MODELS = ['digits', 'digits_preprocess', 'digits_postprocess', 'digits_pipeline'];
const PIXELS = Uint8Array.from({ length: 64 }, (_, i) => (i * 37) % 256);

function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export async function runB10(ctx: SuiteContext): Promise<B10Result> {
  const repository = join(ctx.reposDir, 'b10');
  await rm(repository, { recursive: true, force: true });
  await mkdir(repository, { recursive: true });
  for (const model of MODELS) await cp(join(ROOT, 'models', model), join(repository, model), { recursive: true });
  const server = await ServerProcess.start({ repository });
  const client = createClient({ url: server.httpUrl, connections: 1 });
  const requests = ctx.quick ? 50 : 150;
  const rounds = 3;
  const ensemble: number[] = [];
  const chained: number[] = [];
  const single: number[] = [];
  const time = async (samples: number[], call: () => Promise<unknown>): Promise<void> => {
    for (let i = 0; i < requests; i++) {
      const t0 = process.hrtime.bigint();
      await call();
      samples.push(Number(process.hrtime.bigint() - t0) / 1000);
    }
  };
  const pixels = [{ name: 'pixels', datatype: 'UINT8' as const, shape: [1, 64], data: PIXELS }];
  const viaEnsemble = () => client.infer('digits_pipeline', pixels);
  const viaClient = async () => {
    const pre = await client.infer('digits_preprocess', pixels);
    const image = pre.output('image');
    const scores = await client.infer('digits', [{ name: 'image', datatype: 'FP32', shape: [...image.shape], data: image.data }], { outputs: ['probabilities'] });
    const probabilities = scores.output('probabilities');
    return client.infer('digits_postprocess', [{ name: 'probabilities', datatype: 'FP32', shape: [...probabilities.shape], data: probabilities.data }]);
  };
  const image = Float32Array.from(PIXELS, (p) => (p * 16) / 255);
  const viaOneStep = () => client.infer('digits', [{ name: 'image', datatype: 'FP32', shape: [1, 1, 8, 8], data: image }], { outputs: ['probabilities'] });
  try {
    for (let i = 0; i < 50; i++) await Promise.all([viaEnsemble(), viaClient(), viaOneStep()]);
    for (let round = 0; round < rounds; round++) {
      await time(ensemble, viaEnsemble);
      await time(chained, viaClient);
      await time(single, viaOneStep);
    }
  } finally {
    await client.close();
    await server.stop();
  }
  const result = { requests, rounds, ensembleMicros: median(ensemble), chainedMicros: median(chained), singleStepMicros: median(single) };
  ctx.log(`B10: ensemble ${result.ensembleMicros.toFixed(0)} µs, client chain ${result.chainedMicros.toFixed(0)} µs, one step ${result.singleStepMicros.toFixed(0)} µs`);
  return result;
}
