/**
 * The main thread's handle on one JavaScript model worker (one model instance; `../instance-thread`
 * does the messaging): starts it, waits for the module to import and initialize, sends runs.
 * Unlike an ONNX Runtime session, a JavaScript worker can be terminated at any time, so a run that
 * overstays is ended by terminating its thread.
 */
import { CranberriesError, internal } from '../../core/index.js';
import type { Tensor } from '../../tensors/index.js';
import type { ExecutionResult } from '../backend.js';
import { InstanceThread, type InstanceThreadErrors } from '../instance-thread/index.js';
import type { ModuleProtocol, ModuleWorkerData } from './module-messages.js';

const WORKER_URL = new URL('./module-worker.js', import.meta.url);

function moduleErrors(label: string): InstanceThreadErrors<ModuleProtocol> {
  return {
    loadCrashed: (error) => new CranberriesError('UNAVAILABLE', `${label}: model.mjs failed to load: ${error.message.slice(0, 1000)}`),
    loadExited: (code) => new CranberriesError('UNAVAILABLE', `${label}: model.mjs failed to load: its thread exited with code ${code}`),
    loadRefused: (reason) => new CranberriesError('UNAVAILABLE', `${label}: model.mjs failed to load: ${reason}`),
    crashed: (error) => internal(`${label}: the JavaScript model's thread crashed: ${error.message.slice(0, 1000)}`),
    exited: (code) => internal(`${label}: the JavaScript model's thread exited${code === 0 ? '' : ` with code ${code}`}`),
    runFailed: (error) => new CranberriesError(error.code, `${label}: model.mjs execute failed: ${error.message}`),
  };
}

export class ModuleThread {
  private constructor(
    private readonly thread: InstanceThread<ModuleProtocol>,
    private readonly label: string,
  ) {}

  /** Starts a worker; resolves once the module is imported and `initialize` has returned. */
  static async start(data: ModuleWorkerData, label: string): Promise<ModuleThread> {
    return new ModuleThread(await InstanceThread.start(WORKER_URL, data, moduleErrors(label)), label);
  }

  /** Why the thread can run nothing more (it crashed, exited or was terminated). */
  get failure(): Error | undefined {
    return this.thread.failure;
  }

  execute(requests: readonly (readonly Tensor[])[], outputNames: readonly string[]): Promise<ExecutionResult> {
    return this.thread.execute(requests, outputNames);
  }

  /** Calls the module's `finalize` (waiting at most `graceMs`), then ends the thread. */
  async finalize(graceMs: number): Promise<string | undefined> {
    if (this.thread.failure) {
      await this.thread.terminate();
      return undefined;
    }
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([this.thread.askRelease(), new Promise<string>((resolve) => (timer = setTimeout(() => resolve(`finalize did not return within ${graceMs} ms`), graceMs)))]);
    clearTimeout(timer);
    await this.terminate();
    return outcome;
  }

  /** Ends the thread at once; runs in flight fail with `reason`. */
  async terminate(reason?: Error): Promise<void> {
    await this.thread.terminate(reason ?? internal(`${this.label}: the JavaScript model's thread was ended`));
  }
}
