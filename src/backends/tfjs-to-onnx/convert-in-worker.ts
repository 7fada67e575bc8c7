/**
 * Runs the converter in a short-lived worker thread. Converting Inception v3 takes about 0.8 s of CPU;
 * on the server's main thread that would stall every other model's requests while a TF.js model loads.
 */
import { Worker } from 'node:worker_threads';
import type { OnnxConversion, TfjsArtifacts } from './convert.js';

const WORKER_URL = new URL('./conversion-worker.js', import.meta.url);

/**
 * Converts `artifacts` off the calling thread. The weights are copied into the worker (the caller keeps
 * its own); a worker that dies or fails to start comes back as `unsupported` with the reason, like any
 * other conversion the backend cannot use.
 */
export function convertInWorker(artifacts: TfjsArtifacts): Promise<OnnxConversion> {
  return new Promise((resolve) => {
    const worker = new Worker(WORKER_URL, { workerData: artifacts });
    let settled = false;
    const settle = (conversion: OnnxConversion): void => {
      if (settled) return;
      settled = true;
      resolve(conversion);
      void worker.terminate();
    };
    worker.once('message', (conversion: OnnxConversion) => settle(conversion));
    worker.once('error', (error) => settle({ kind: 'unsupported', reason: `the conversion worker failed: ${error.message.slice(0, 200)}` }));
    worker.once('exit', (code) => settle({ kind: 'unsupported', reason: `the conversion worker exited with code ${code} before answering` }));
  });
}
