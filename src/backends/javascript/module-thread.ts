/**
 * The main thread's handle on one JavaScript model worker (one model instance): starts it, waits
 * for the module to import and initialize, sends runs and matches answers. Unlike an ONNX Runtime
 * session, a JavaScript worker can be terminated at any time, so a run that overstays is ended by
 * terminating its thread.
 */
import { Worker } from 'node:worker_threads';
import { CranberriesError, internal } from '../../core/index.js';
import type { Tensor } from '../../tensors/index.js';
import type { ExecutionResult } from '../backend.js';
import { transferableTensors } from '../onnx/worker-messages.js';
import type { FromModule, ModuleWorkerData, ToModule } from './module-messages.js';

const WORKER_URL = new URL('./module-worker.js', import.meta.url);

interface Pending {
  resolve(result: ExecutionResult): void;
  reject(error: Error): void;
}

export class ModuleThread {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** Why the thread can run nothing more (it crashed, exited or was terminated). */
  failure: Error | undefined;
  private finalized: ((error: string | undefined) => void) | undefined;

  private constructor(
    private readonly worker: Worker,
    private readonly label: string,
  ) {
    worker.on('message', (message: FromModule) => this.onMessage(message));
    worker.on('error', (error) => this.fail(internal(`${label}: the JavaScript model's thread crashed: ${error.message.slice(0, 1000)}`)));
    worker.on('exit', (code) => {
      this.finalized?.(undefined);
      this.fail(internal(`${label}: the JavaScript model's thread exited${code === 0 ? '' : ` with code ${code}`}`));
    });
  }

  /** Starts a worker; resolves once the module is imported and `initialize` has returned. */
  static start(data: ModuleWorkerData, label: string): Promise<ModuleThread> {
    const worker = new Worker(WORKER_URL, { workerData: data, env: process.env });
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(new CranberriesError('UNAVAILABLE', `${label}: model.mjs failed to load: ${error.message.slice(0, 1000)}`));
      const onExit = (code: number): void => reject(new CranberriesError('UNAVAILABLE', `${label}: model.mjs failed to load: its thread exited with code ${code}`));
      worker.once('error', onError);
      worker.once('exit', onExit);
      worker.once('message', (message: FromModule) => {
        worker.off('error', onError);
        worker.off('exit', onExit);
        if (message.kind === 'loaded') {
          resolve(new ModuleThread(worker, label));
          return;
        }
        void worker.terminate();
        const reason = message.kind === 'loadFailed' ? message.message : `unexpected ${message.kind}`;
        reject(new CranberriesError('UNAVAILABLE', `${label}: model.mjs failed to load: ${reason}`));
      });
    });
  }

  execute(requests: readonly (readonly Tensor[])[], outputNames: readonly string[]): Promise<ExecutionResult> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    const { tensors, transfer } = transferableTensors(requests.flat());
    const perRequest = requests[0]?.length ?? 0;
    const moved = requests.map((_, r) => tensors.slice(r * perRequest, (r + 1) * perRequest));
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ kind: 'run', id, requests: moved, outputs: outputNames } satisfies ToModule, transfer);
    });
  }

  /** Calls the module's `finalize` (waiting at most `graceMs`), then ends the thread. */
  async finalize(graceMs: number): Promise<string | undefined> {
    if (this.failure) {
      await this.worker.terminate();
      return undefined;
    }
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      new Promise<string | undefined>((resolve) => {
        this.finalized = resolve;
        this.worker.postMessage({ kind: 'finalize' } satisfies ToModule);
      }),
      new Promise<string>((resolve) => (timer = setTimeout(() => resolve(`finalize did not return within ${graceMs} ms`), graceMs))),
    ]);
    clearTimeout(timer);
    await this.terminate();
    return outcome;
  }

  /** Ends the thread at once; runs in flight fail with `reason`. */
  async terminate(reason?: Error): Promise<void> {
    this.fail(reason ?? internal(`${this.label}: the JavaScript model's thread was ended`));
    await this.worker.terminate();
  }

  private onMessage(message: FromModule): void {
    switch (message.kind) {
      case 'result':
        this.take(message.id)?.resolve({ outputs: [...message.outputs], timing: { computeInputNs: 0, computeInferNs: message.inferNs, computeOutputNs: message.outputNs } });
        return;
      case 'runFailed':
        this.take(message.id)?.reject(new CranberriesError(message.error.code, `${this.label}: model.mjs execute failed: ${message.error.message}`));
        return;
      case 'finalized':
        this.finalized?.(message.error);
        return;
      default:
        return;
    }
  }

  private take(id: number): Pending | undefined {
    const pending = this.pending.get(id);
    this.pending.delete(id);
    return pending;
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
  }
}
