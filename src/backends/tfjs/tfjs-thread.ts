/**
 * The main thread's handle on one TensorFlow.js worker: starts it, waits for the model, sends runs
 * and matches answers to callers. One `TfjsThread` is one model instance.
 */
import { Worker } from 'node:worker_threads';
import { CranberriesError, internal } from '../../core/index.js';
import { giveBack } from '../../tensors/index.js';
import type { Tensor } from '../../tensors/index.js';
import type { ExecutionResult, ModelInstance } from '../backend.js';
import { transferableTensors } from '../onnx/worker-messages.js';
import type { FromTfjsWorker, TfjsValueInfo, TfjsWorkerData, ToTfjsWorker } from './worker-messages.js';

const WORKER_URL = new URL('./tfjs-worker.js', import.meta.url);

interface Pending {
  resolve(result: ExecutionResult): void;
  reject(error: Error): void;
}

export interface TfjsMetadata {
  readonly inputs: readonly TfjsValueInfo[];
  readonly outputs: readonly TfjsValueInfo[];
  /** Whether the wasm backend runs its SIMD build. */
  readonly simd: boolean;
}

export class TfjsThread implements ModelInstance {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: Error | undefined;
  private released: ((numTensors: number) => void) | undefined;
  /** Tensors the worker's tfjs engine still held after disposing the model (set on release). */
  leftoverTensors: number | undefined;

  private constructor(
    private readonly worker: Worker,
    readonly metadata: TfjsMetadata,
    private readonly label: string,
  ) {
    worker.on('message', (message: FromTfjsWorker) => this.onMessage(message));
    worker.on('error', (error) => this.fail(internal(`${label}: TensorFlow.js worker crashed: ${error.message}`, error)));
    worker.on('exit', (code) => {
      this.released?.(-1);
      if (code !== 0) this.fail(internal(`${label}: TensorFlow.js worker exited with code ${code}`));
    });
  }

  /**
   * Starts a worker and resolves once its model is built (and warmed up). The weights are copied to
   * the worker (each instance owns its runtime and its weights).
   */
  static start(data: TfjsWorkerData, label: string): Promise<TfjsThread> {
    const worker = new Worker(WORKER_URL, { workerData: data, env: process.env });
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(new CranberriesError('INVALID_ARGUMENT', `${label}: ${error.message}`));
      const onExit = (code: number): void => reject(internal(`${label}: TensorFlow.js worker exited with code ${code} while loading`));
      worker.once('error', onError);
      worker.once('exit', onExit);
      worker.once('message', (message: FromTfjsWorker) => {
        worker.off('error', onError);
        worker.off('exit', onExit);
        if (message.kind === 'loaded') {
          resolve(new TfjsThread(worker, message, label));
        } else {
          void worker.terminate();
          const reason = message.kind === 'loadFailed' ? message.message : `unexpected ${message.kind}`;
          reject(new CranberriesError('INVALID_ARGUMENT', `${label}: TensorFlow.js cannot load the model: ${reason.slice(0, 500)}`));
        }
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
      const message: ToTfjsWorker = { kind: 'run', id, requests: moved, outputs: outputNames };
      this.worker.postMessage(message, transfer);
    });
  }

  /** Disposes the model's tensors, then ends the thread (its wasm memory goes with it). */
  async release(): Promise<void> {
    if (!this.failure) {
      const done = new Promise<number>((resolve) => (this.released = resolve));
      this.worker.postMessage({ kind: 'release' } satisfies ToTfjsWorker);
      const left = await done;
      if (left >= 0) this.leftoverTensors = left;
    }
    await this.worker.terminate();
  }

  private onMessage(message: FromTfjsWorker): void {
    switch (message.kind) {
      case 'result': {
        for (const buffer of message.recycled) giveBack(buffer);
        const pending = this.take(message.id);
        pending?.resolve({
          outputs: [...message.outputs],
          timing: { computeInputNs: message.computeInputNs, computeInferNs: message.computeInferNs, computeOutputNs: message.computeOutputNs },
        });
        return;
      }
      case 'runFailed':
        this.take(message.id)?.reject(internal(`${this.label}: tensorflowjs: ${message.message.slice(0, 500)}`));
        return;
      case 'released':
        this.released?.(message.numTensors);
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
