/**
 * B3's limit: ONNX Runtime alone, in a worker thread (as the server's instances run it), with the
 * server's session options (`sessionOptions`: graph optimisation `all`, the same intra-op threads),
 * running batches of a given size back to back. Its inferences per second are the most the
 * machine can do for that model and batch size; served throughput is compared against it.
 *
 * The same file is the worker: `runRawOrt` starts it on itself.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import { sessionOptions } from '../../src/backends/onnx/session-options.js';

export interface RawOrtOptions {
  readonly modelPath: string;
  readonly inputName: string;
  /** Item dims (without the batch dim). */
  readonly itemShape: readonly number[];
  readonly batch: number;
  readonly intraOpThreads: number;
  readonly warmupSecs: number;
  readonly measureSecs: number;
}

export interface RawOrtResult {
  readonly batch: number;
  readonly runs: number;
  readonly seconds: number;
  readonly inferencesPerSecond: number;
  /** Mean time of one run, ms. */
  readonly runMs: number;
}

export function runRawOrt(options: RawOrtOptions): Promise<RawOrtResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: options });
    worker.once('message', (result: RawOrtResult) => {
      resolve(result);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

async function measure(options: RawOrtOptions): Promise<RawOrtResult> {
  const session = await ort.InferenceSession.create(options.modelPath, sessionOptions(options.intraOpThreads, 'all'));
  const dims = [options.batch, ...options.itemShape];
  const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = Math.random();
  const feeds = { [options.inputName]: new ort.Tensor('float32', data, dims) };
  const loop = async (seconds: number): Promise<{ runs: number; seconds: number }> => {
    const start = process.hrtime.bigint();
    const end = start + BigInt(Math.round(seconds * 1e9));
    let runs = 0;
    let now = start;
    while (now < end || runs === 0) {
      await session.run(feeds);
      runs++;
      now = process.hrtime.bigint();
    }
    return { runs, seconds: Number(now - start) / 1e9 };
  };
  await loop(options.warmupSecs);
  const { runs, seconds } = await loop(options.measureSecs);
  await session.release();
  return { batch: options.batch, runs, seconds, inferencesPerSecond: (runs * options.batch) / seconds, runMs: (seconds * 1000) / runs };
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  void measure(workerData as RawOrtOptions).then((result) => port.postMessage(result));
}
