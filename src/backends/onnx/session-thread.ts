/**
 * The main thread's handle on one session worker (`../instance-thread` does the messaging): starts
 * it, waits for the session, sends runs. One `SessionThread` is one model instance.
 */
import { basename, dirname } from 'node:path';
import { CranberriesError, internal } from '../../core/index.js';
import type { Tensor } from '../../tensors/index.js';
import type { ExecutionResult, ModelInstance } from '../backend.js';
import { InstanceThread, type InstanceThreadErrors } from '../instance-thread/index.js';
import type { SessionMetadata, SessionProtocol, SessionWorkerData } from './worker-messages.js';

export type { SessionMetadata } from './worker-messages.js';

const WORKER_URL = new URL('./session-worker.js', import.meta.url);

function sessionErrors(data: SessionWorkerData, label: string): InstanceThreadErrors<SessionProtocol> {
  return {
    loadCrashed: (error) => new CranberriesError('INVALID_ARGUMENT', `${label}: ${error.message}`),
    loadExited: (code) => internal(`${label}: session worker exited with code ${code} while loading`),
    loadRefused: (message) => {
      // ONNX Runtime's messages name the file's absolute path, and those of files beside it
      // (external data); users see them as the file name and `<version folder>/<file>`.
      const versionDir = dirname(data.modelPath);
      const reason = message.replaceAll(data.modelPath, basename(data.modelPath)).replaceAll(`${versionDir}/`, `${basename(versionDir)}/`);
      return new CranberriesError('INVALID_ARGUMENT', `${label}: ONNX Runtime cannot load the model: ${reason}`);
    },
    crashed: (error) => internal(`${label}: session worker crashed: ${error.message}`, error),
    exited: (code) => (code !== 0 ? internal(`${label}: session worker exited with code ${code}`) : undefined),
    runFailed: (message) => internal(`${label}: onnxruntime: ${message}`),
  };
}

export class SessionThread implements ModelInstance {
  private constructor(private readonly thread: InstanceThread<SessionProtocol>) {}

  /** Starts a worker and resolves once its session is created (and warmed up). */
  static async start(data: SessionWorkerData, label: string): Promise<SessionThread> {
    return new SessionThread(await InstanceThread.start(WORKER_URL, data, sessionErrors(data, label)));
  }

  get metadata(): SessionMetadata {
    return this.thread.loaded;
  }

  execute(requests: readonly (readonly Tensor[])[], outputNames: readonly string[]): Promise<ExecutionResult> {
    return this.thread.execute(requests, outputNames);
  }

  /** Releases the session and ends the thread; the thread's memory goes back with it. */
  async release(): Promise<void> {
    if (!this.thread.failure) await this.thread.askRelease();
    await this.thread.terminate();
  }

  /**
   * Ends the thread once every run it was given has returned. A run in ONNX Runtime cannot be
   * interrupted: `session.run` computes synchronously in native code on the worker's thread, the
   * Node.js binding accepts no run-termination flag, and `worker.terminate()` during a run aborts
   * the whole process when the native call returns (measured with onnxruntime-node 1.30:
   * `terminate called after throwing an instance of 'Napi::Error'`, exit code 134). So a run that
   * overstays is abandoned, not killed: it computes to its end, then its thread is released.
   */
  async releaseWhenIdle(): Promise<void> {
    await this.thread.whenIdle();
    await this.release();
  }
}
