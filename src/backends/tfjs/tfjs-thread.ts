/**
 * The main thread's handle on one TensorFlow.js worker (`../instance-thread` does the messaging):
 * starts it, waits for the model, sends runs. One `TfjsThread` is one model instance.
 */
import { CranberriesError, internal } from '../../core/index.js';
import type { Tensor } from '../../tensors/index.js';
import type { ExecutionResult, ModelInstance } from '../backend.js';
import { InstanceThread, type InstanceThreadErrors } from '../instance-thread/index.js';
import type { TfjsMetadata, TfjsProtocol, TfjsWorkerData } from './worker-messages.js';

export type { TfjsMetadata } from './worker-messages.js';

const WORKER_URL = new URL('./tfjs-worker.js', import.meta.url);

function tfjsErrors(label: string): InstanceThreadErrors<TfjsProtocol> {
  return {
    loadCrashed: (error) => new CranberriesError('INVALID_ARGUMENT', `${label}: ${error.message}`),
    loadExited: (code) => internal(`${label}: TensorFlow.js worker exited with code ${code} while loading`),
    loadRefused: (reason) => new CranberriesError('INVALID_ARGUMENT', `${label}: TensorFlow.js cannot load the model: ${reason.slice(0, 500)}`),
    crashed: (error) => internal(`${label}: TensorFlow.js worker crashed: ${error.message}`, error),
    exited: (code) => (code !== 0 ? internal(`${label}: TensorFlow.js worker exited with code ${code}`) : undefined),
    runFailed: (message) => internal(`${label}: tensorflowjs: ${message.slice(0, 500)}`),
  };
}

export class TfjsThread implements ModelInstance {
  /** Tensors the worker's tfjs engine still held after disposing the model (set on release). */
  leftoverTensors: number | undefined;

  private constructor(private readonly thread: InstanceThread<TfjsProtocol>) {}

  /**
   * Starts a worker and resolves once its model is built (and warmed up). The weights are copied to
   * the worker (each instance owns its runtime and its weights).
   */
  static async start(data: TfjsWorkerData, label: string): Promise<TfjsThread> {
    return new TfjsThread(await InstanceThread.start(WORKER_URL, data, tfjsErrors(label)));
  }

  get metadata(): TfjsMetadata {
    return this.thread.loaded;
  }

  execute(requests: readonly (readonly Tensor[])[], outputNames: readonly string[]): Promise<ExecutionResult> {
    return this.thread.execute(requests, outputNames);
  }

  /** Disposes the model's tensors, then ends the thread (its wasm memory goes with it). */
  async release(): Promise<void> {
    if (!this.thread.failure) {
      const left = await this.thread.askRelease();
      if (left !== undefined) this.leftoverTensors = left;
    }
    await this.thread.terminate();
  }
}
