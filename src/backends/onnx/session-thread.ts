/**
 * The main thread's handle on one session worker: starts it, waits for the session, sends runs and
 * matches answers to callers. One `SessionThread` is one model instance.
 */
import { basename, dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import { CranberriesError, internal } from '../../core/index.js';
import { giveBack } from '../../tensors/index.js';
import type { Tensor } from '../../tensors/index.js';
import type { ExecutionResult, ModelInstance } from '../backend.js';
import { transferableTensors, type FromWorker, type RawValueMetadata, type SessionWorkerData, type ToWorker } from './worker-messages.js';

const WORKER_URL = new URL('./session-worker.js', import.meta.url);

interface Pending {
  resolve(result: ExecutionResult): void;
  reject(error: Error): void;
}

export interface SessionMetadata {
  readonly inputs: readonly RawValueMetadata[];
  readonly outputs: readonly RawValueMetadata[];
}

export class SessionThread implements ModelInstance {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: Error | undefined;
  private released: (() => void) | undefined;
  /** Called once no run is pending any more (`releaseWhenIdle`). */
  private idle: (() => void) | undefined;

  private constructor(
    private readonly worker: Worker,
    readonly metadata: SessionMetadata,
    private readonly label: string,
  ) {
    worker.on('message', (message: FromWorker) => this.onMessage(message));
    worker.on('error', (error) => this.fail(internal(`${label}: session worker crashed: ${error.message}`, error)));
    worker.on('exit', (code) => {
      this.released?.();
      if (code !== 0) this.fail(internal(`${label}: session worker exited with code ${code}`));
    });
  }

  /** Starts a worker and resolves once its session is created (and warmed up). */
  static start(data: SessionWorkerData, label: string): Promise<SessionThread> {
    const worker = new Worker(WORKER_URL, { workerData: data, env: process.env });
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(new CranberriesError('INVALID_ARGUMENT', `${label}: ${error.message}`));
      const onExit = (code: number): void => reject(internal(`${label}: session worker exited with code ${code} while loading`));
      worker.once('error', onError);
      worker.once('exit', onExit);
      worker.once('message', (message: FromWorker) => {
        worker.off('error', onError);
        worker.off('exit', onExit);
        if (message.kind === 'loaded') {
          resolve(new SessionThread(worker, message, label));
        } else {
          void worker.terminate();
          // ONNX Runtime's messages name the file's absolute path, and those of files beside it
          // (external data); users see them as the file name and `<version folder>/<file>`.
          const versionDir = dirname(data.modelPath);
          const reason =
            message.kind === 'loadFailed'
              ? message.message.replaceAll(data.modelPath, basename(data.modelPath)).replaceAll(`${versionDir}/`, `${basename(versionDir)}/`)
              : `unexpected ${message.kind}`;
          reject(new CranberriesError('INVALID_ARGUMENT', `${label}: ONNX Runtime cannot load the model: ${reason}`));
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
      const message: ToWorker = { kind: 'run', id, requests: moved, outputs: outputNames };
      this.worker.postMessage(message, transfer);
    });
  }

  /** Releases the session and ends the thread; the thread's memory goes back with it. */
  async release(): Promise<void> {
    if (this.failure) {
      await this.worker.terminate();
      return;
    }
    const done = new Promise<void>((resolve) => (this.released = resolve));
    this.worker.postMessage({ kind: 'release' } satisfies ToWorker);
    await done;
    await this.worker.terminate();
  }

  /**
   * Ends the thread once every run it was given has returned. A run in ONNX Runtime cannot be
   * interrupted: `session.run` computes synchronously in native code on the worker's thread, the
   * Node.js binding accepts no run-termination flag, and `worker.terminate()` during a run aborts
   * the whole process when the native call returns (measured with onnxruntime-node 1.30:
   * `terminate called after throwing an instance of 'Napi::Error'`, exit code 134). So a run that
   * overstays is abandoned, not killed: it computes to its end, then its thread is released.
   */
  releaseWhenIdle(): Promise<void> {
    if (this.pending.size === 0) return this.release();
    return new Promise<void>((resolve) => (this.idle = resolve)).then(() => this.release());
  }

  private onMessage(message: FromWorker): void {
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
        this.take(message.id)?.reject(internal(`${this.label}: onnxruntime: ${message.message}`));
        return;
      case 'released':
        this.released?.();
        return;
      default:
        return;
    }
  }

  private take(id: number): Pending | undefined {
    const pending = this.pending.get(id);
    this.pending.delete(id);
    if (this.pending.size === 0) this.idle?.();
    return pending;
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
    this.idle?.();
  }
}
