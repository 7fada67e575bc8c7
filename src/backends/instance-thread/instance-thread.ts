/**
 * The main thread's handle on one model instance's worker thread: starts the worker and waits for
 * its model, sends runs (tensor buffers transferred, not copied) and matches the answers to their
 * callers, fails every call in flight when the thread crashes or exits, and asks the worker to
 * release its model. What it loads, how it runs and the words of its errors are the backend's
 * (`InstanceThreadErrors`, the worker's `InstanceWorker`).
 */
import { Worker } from 'node:worker_threads';
import { giveBack } from '../../tensors/index.js';
import type { Tensor } from '../../tensors/index.js';
import type { ExecutionResult } from '../backend.js';
import { transferableTensors, type FromInstance, type InstanceProtocol, type ToInstance } from './messages.js';

/** The errors a backend reports, in its own words and codes. */
export interface InstanceThreadErrors<P extends InstanceProtocol> {
  /** The worker threw before its model was ready (a module that fails to import, say). */
  loadCrashed(error: Error): Error;
  /** The worker exited before its model was ready. */
  loadExited(code: number): Error;
  /** The worker could not load its model: its `loadFailed` message, or `unexpected <kind>`. */
  loadRefused(reason: string): Error;
  /** The worker threw an uncaught error after its model was ready. */
  crashed(error: Error): Error;
  /** The worker exited: the error that fails the calls in flight and every later one, or undefined when the exit is no failure. */
  exited(code: number): Error | undefined;
  /** A run threw in the worker; the error is the caller's alone, the thread serves on. */
  runFailed(error: P['runError']): Error;
}

interface Pending {
  resolve(result: ExecutionResult): void;
  reject(error: Error): void;
}

const RELEASE: ToInstance = { kind: 'release' };

export class InstanceThread<P extends InstanceProtocol> {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failed: Error | undefined;
  /** Set while a release waits for the worker's answer (undefined: it exited first). */
  private released: ((detail: P['released'] | undefined) => void) | undefined;
  /** Called once no run is pending any more (`whenIdle`). */
  private idle: (() => void) | undefined;

  private constructor(
    private readonly worker: Worker,
    /** What the worker reported once its model was ready. */
    readonly loaded: P['loaded'],
    private readonly errors: InstanceThreadErrors<P>,
  ) {
    worker.on('message', (message: FromInstance<P>) => this.onMessage(message));
    worker.on('error', (error) => this.fail(errors.crashed(error)));
    worker.on('exit', (code) => {
      this.released?.(undefined);
      const failure = errors.exited(code);
      if (failure) this.fail(failure);
    });
  }

  /** Starts a worker and resolves once it reports its model ready (`loaded`). */
  static start<P extends InstanceProtocol>(workerUrl: URL, data: P['data'], errors: InstanceThreadErrors<P>): Promise<InstanceThread<P>> {
    const worker = new Worker(workerUrl, { workerData: data, env: process.env });
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(errors.loadCrashed(error));
      const onExit = (code: number): void => reject(errors.loadExited(code));
      worker.once('error', onError);
      worker.once('exit', onExit);
      worker.once('message', (message: FromInstance<P>) => {
        worker.off('error', onError);
        worker.off('exit', onExit);
        if (message.kind === 'loaded') {
          resolve(new InstanceThread(worker, message.loaded, errors));
          return;
        }
        void worker.terminate();
        reject(errors.loadRefused(message.kind === 'loadFailed' ? message.message : `unexpected ${message.kind}`));
      });
    });
  }

  /** Why the thread can run nothing more (it crashed, exited or was terminated), if it cannot. */
  get failure(): Error | undefined {
    return this.failed;
  }

  execute(requests: readonly (readonly Tensor[])[], outputNames: readonly string[]): Promise<ExecutionResult> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.nextId++;
    const { tensors, transfer } = transferableTensors(requests.flat());
    const perRequest = requests[0]?.length ?? 0;
    const moved = requests.map((_, r) => tensors.slice(r * perRequest, (r + 1) * perRequest));
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const message: ToInstance = { kind: 'run', id, requests: moved, outputs: outputNames };
      this.worker.postMessage(message, transfer);
    });
  }

  /**
   * Asks the worker to release its model; resolves with its answer, or with undefined if the
   * thread exits first. The thread lives on: end it with `terminate`.
   */
  askRelease(): Promise<P['released'] | undefined> {
    return new Promise((resolve) => {
      this.released = resolve;
      this.worker.postMessage(RELEASE);
    });
  }

  /** Ends the thread at once; with a `reason`, the runs in flight and every later one fail with it. */
  async terminate(reason?: Error): Promise<void> {
    if (reason) this.fail(reason);
    await this.worker.terminate();
  }

  /** Resolves once no run is pending (at once when none is). */
  whenIdle(): Promise<void> {
    if (this.pending.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => (this.idle = resolve));
  }

  private onMessage(message: FromInstance<P>): void {
    switch (message.kind) {
      case 'result': {
        if (message.recycled) for (const buffer of message.recycled) giveBack(buffer);
        this.take(message.id)?.resolve({
          outputs: message.outputs,
          timing: { computeInputNs: message.computeInputNs, computeInferNs: message.computeInferNs, computeOutputNs: message.computeOutputNs },
        });
        return;
      }
      case 'runFailed':
        this.take(message.id)?.reject(this.errors.runFailed(message.error));
        return;
      case 'released':
        this.released?.(message.detail);
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
    this.failed ??= error;
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
    this.idle?.();
  }
}
