/**
 * A model instance served by a Python stub process, with its recovery: a stub that ends on its
 * own (an exit, a segfault, the OOM killer) fails the execution in flight with UNAVAILABLE and is
 * restarted after a backoff; while it is down, executions fail fast with UNAVAILABLE and the
 * reason, and `downReason` says why. An execution that overstays the execution timeout fails with
 * DEADLINE_EXCEEDED and its stub is killed (unlike an ONNX Runtime thread, a process can be
 * stopped) and restarted.
 */
import { CranberriesError, type ErrorCode } from '../../core/index.js';
import { concatRows } from '../../tensors/index.js';
import type { Tensor } from '../../tensors/index.js';
import type { ExecutionResult, ModelInstance } from '../backend.js';
import { StubExitedError, type StubProcess, type StubReply } from './stub-process.js';
import { BodyBuilder, decodeTensor } from './wire.js';

const ERROR_CODES: ReadonlySet<ErrorCode> = new Set(['INVALID_ARGUMENT', 'NOT_FOUND', 'UNAVAILABLE', 'UNIMPLEMENTED', 'ALREADY_EXISTS', 'CANCELLED', 'INTERNAL']);

/** Restart delays: the first crash restarts at once, repeated ones wait longer, up to this. */
export const MAX_RESTART_DELAY_MS = 10_000;
const FIRST_RESTART_DELAY_MS = 100;

export interface PythonInstanceOptions {
  readonly label: string;
  /** Whether the runtime takes the batch joined along dim 0 (sklearn, TorchScript) or per request (model.py). */
  readonly joinsBatch: boolean;
  /** 0 = none. */
  readonly timeoutMs: number;
  /** Starts a stub and runs its `initialize`; rejects when it cannot. */
  readonly startStub: () => Promise<StubProcess>;
  readonly onEvent?: ((event: { label: string; kind: 'crashed' | 'timed-out' | 'restarted' | 'restart-failed'; detail: string }) => void) | undefined;
}

export class PythonInstance implements ModelInstance {
  private stub: StubProcess | undefined;
  private down: string | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private consecutiveFailures = 0;
  private unloaded = false;

  constructor(
    first: StubProcess,
    private readonly options: PythonInstanceOptions,
  ) {
    this.adopt(first);
  }

  /** Why the instance cannot execute now (its stub is down and restarting), or undefined. */
  get downReason(): string | undefined {
    return this.down;
  }

  /** The serving stub's process id (for tests and logs). */
  get pid(): number | undefined {
    return this.stub?.pid;
  }

  async execute(requests: readonly (readonly Tensor[])[], outputNames: readonly string[]): Promise<ExecutionResult> {
    const { label } = this.options;
    const stub = this.stub;
    if (!stub || this.down !== undefined) {
      throw new CranberriesError('UNAVAILABLE', `${label}: the Python stub is restarting (${this.down ?? 'not started'}); retry shortly`);
    }
    const started = process.hrtime.bigint();
    const body = new BodyBuilder();
    const parts = this.options.joinsBatch ? [joinRequests(requests)] : requests;
    const header = { op: 'execute', outputs: outputNames, requests: parts.map((inputs) => ({ inputs: inputs.map((t) => body.add(t)) })) };
    const inputDone = process.hrtime.bigint();
    const reply = await this.call(stub, header, body);
    const inferDone = process.hrtime.bigint();
    const outputs = this.readOutputs(reply, parts, outputNames);
    this.consecutiveFailures = 0;
    const done = process.hrtime.bigint();
    return { outputs, timing: { computeInputNs: Number(inputDone - started), computeInferNs: Number(inferDone - inputDone), computeOutputNs: Number(done - inferDone) } };
  }

  /** Ends the stub: `finalize()` gets `graceMs`, then the process is killed. */
  async unload(graceMs = 5000): Promise<void> {
    this.unloaded = true;
    clearTimeout(this.restartTimer);
    const stub = this.stub;
    this.stub = undefined;
    if (!stub?.alive) return;
    const finalized = stub.call({ op: 'finalize' }).catch(() => undefined);
    const timer = setTimeout(() => stub.kill(), graceMs);
    await finalized;
    await stub.stop(graceMs);
    clearTimeout(timer);
  }

  private async call(stub: StubProcess, header: Record<string, unknown>, body: BodyBuilder): Promise<StubReply> {
    const { label, timeoutMs } = this.options;
    let timer: NodeJS.Timeout | undefined;
    const expired =
      timeoutMs > 0
        ? new Promise<never>((_, reject) => {
            timer = setTimeout(() => {
              this.options.onEvent?.({ label, kind: 'timed-out', detail: `${timeoutMs} ms` });
              this.markDown(`its execution overstayed the execution timeout of ${timeoutMs} ms and it was killed`);
              stub.kill();
              reject(new CranberriesError('DEADLINE_EXCEEDED', `${label}: the model execution did not finish within its execution timeout of ${timeoutMs} ms; the Python stub is being restarted`));
            }, timeoutMs);
          })
        : undefined;
    try {
      const run = stub.call(header, body);
      return await (expired ? Promise.race([run, expired]) : run);
    } catch (error) {
      if (error instanceof StubExitedError) {
        throw new CranberriesError('UNAVAILABLE', `${label}: the Python stub process ${error.reason} during the execution; it is being restarted`);
      }
      if (error instanceof CranberriesError) throw error;
      throw new CranberriesError('INTERNAL', `${label}: ${(error as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }

  private readOutputs(reply: StubReply, parts: readonly (readonly Tensor[])[], outputNames: readonly string[]): Tensor[] {
    const { label } = this.options;
    const header = reply.header;
    if (header['ok'] !== true) throw modelError(label, header['error']);
    const responses = header['responses'];
    if (!Array.isArray(responses) || responses.length !== parts.length) throw new CranberriesError('INTERNAL', `${label}: the Python stub answered ${parts.length} requests with a malformed reply`);
    const perResponse: Tensor[][] = [];
    for (const response of responses as Record<string, unknown>[]) {
      // One failed response fails the whole batch: the instance contract answers for the batch.
      if (response['error'] !== undefined) throw modelError(label, response['error']);
      const outputs = response['outputs'];
      if (!Array.isArray(outputs)) throw new CranberriesError('INTERNAL', `${label}: a response holds no outputs`);
      perResponse.push(outputs.map((raw) => decodeTensor(raw, reply.body, label)));
    }
    const names = outputNames.length > 0 ? outputNames : (perResponse[0] ?? []).map((t) => t.name);
    return names.map((name) => {
      const pieces = perResponse.map((outputs, i) => {
        const found = outputs.find((t) => t.name === name);
        if (!found) throw new CranberriesError('INTERNAL', `${label}: the model returned no output '${name.slice(0, 200)}'`);
        if (!this.options.joinsBatch && parts.length > 1) {
          const rows = parts[i]![0]?.shape[0];
          if (found.shape[0] !== rows) {
            throw new CranberriesError(
              'INTERNAL',
              `${label}: output '${name.slice(0, 200)}' has ${found.shape[0] ?? 0} rows for a request of ${rows ?? 0} (a batching model answers each request with its own rows)`,
            );
          }
        }
        return found;
      });
      return concatRows(pieces);
    });
  }

  private adopt(stub: StubProcess): void {
    this.stub = stub;
    this.down = undefined;
    void stub.exited.then((reason) => {
      if (this.unloaded || this.stub !== stub || this.down !== undefined) return;
      this.options.onEvent?.({ label: this.options.label, kind: 'crashed', detail: reason });
      this.markDown(`the Python stub process ${reason}`);
    });
  }

  /** Takes the instance out of service and schedules a restart (once per outage). */
  private markDown(reason: string): void {
    if (this.unloaded) return;
    const first = this.down === undefined;
    this.down = reason;
    if (!first) return;
    this.scheduleRestart();
  }

  private scheduleRestart(): void {
    const delay = Math.min(MAX_RESTART_DELAY_MS, this.consecutiveFailures === 0 ? 0 : FIRST_RESTART_DELAY_MS * 2 ** (this.consecutiveFailures - 1));
    this.consecutiveFailures++;
    this.restartTimer = setTimeout(() => {
      this.options.startStub().then(
        (stub) => {
          if (this.unloaded) {
            void stub.stop(1000);
            return;
          }
          this.adopt(stub);
          this.options.onEvent?.({ label: this.options.label, kind: 'restarted', detail: `pid ${stub.pid ?? '?'}` });
        },
        (error: unknown) => {
          if (this.unloaded) return;
          this.down = `the Python stub could not be restarted: ${(error as Error).message}`;
          this.options.onEvent?.({ label: this.options.label, kind: 'restart-failed', detail: (error as Error).message });
          this.scheduleRestart();
        },
      );
    }, delay);
  }
}

function joinRequests(requests: readonly (readonly Tensor[])[]): readonly Tensor[] {
  if (requests.length === 1) return requests[0]!;
  return requests[0]!.map((_, i) => concatRows(requests.map((inputs) => inputs[i]!)));
}

function modelError(label: string, raw: unknown): CranberriesError {
  const error = (raw ?? {}) as { message?: unknown; code?: unknown };
  const code = typeof error.code === 'string' && ERROR_CODES.has(error.code as ErrorCode) ? (error.code as ErrorCode) : 'INTERNAL';
  const message = typeof error.message === 'string' ? error.message.slice(0, 2000) : 'unknown error';
  return new CranberriesError(code, `${label}: ${message}`);
}
