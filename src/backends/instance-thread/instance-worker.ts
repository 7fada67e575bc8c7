/**
 * The worker side of an instance thread: the handshake (load, then `loaded` or `loadFailed`), the
 * dispatch of `run` and `release`, and the helpers a backend's run uses (joining a batch,
 * answering with the buffers transferred, sending large input buffers back for reuse).
 *
 * A run is the backend's own async function, which answers itself (`sendBatchResult`,
 * `sendResult` or `sendRunFailed`): wrapping it here would cost every call a second promise.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { basename } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { MIN_POOLED_BYTES, concatRows, type ReusedRows } from '../../tensors/index.js';
import type { Tensor } from '../../tensors/index.js';
import { transferableTensors, type FromInstance, type InstanceProtocol, type ResultMessage, type RunMessage, type ToInstance } from './messages.js';

/** What a backend's worker script does; `serveInstance` drives it. */
export interface InstanceWorker<P extends InstanceProtocol, Model> {
  /** Builds the model from the worker's data; a throw answers the start with `loadFailed`. */
  load(data: P['data']): Promise<Model>;
  /**
   * What to report once the model is built (after any warm-up). Not a load failure if it throws:
   * the error is uncaught and the main thread sees the worker crash.
   */
  ready(model: Model, data: P['data']): Promise<P['loaded']>;
  /** The `loadFailed` text of what `load` threw (default: its message). */
  loadFailure?(error: unknown): string;
  /** Runs one batch and answers it (`sendBatchResult`, `sendResult` or `sendRunFailed`); it must not reject. */
  run(model: Model, message: RunMessage): Promise<void>;
  /** Releases the model and then calls `done` with the answer for the main thread. */
  release(model: Model, done: (detail: P['released']) => void): void;
}

function send(message: FromInstance<InstanceProtocol>, transfer?: readonly ArrayBuffer[]): void {
  parentPort!.postMessage(message, transfer);
}

/**
 * Runs `worker` in this thread: loads its model, answers the main thread's handshake, then serves
 * runs and the release. `script` names the worker in the error thrown off a worker thread.
 */
export function serveInstance<P extends InstanceProtocol, Model>(script: string, worker: InstanceWorker<P, Model>): void {
  const port = parentPort;
  if (!port) throw new Error(`${script} must run in a worker thread`);
  const data = workerData as P['data'];
  void worker.load(data).then(
    async (model) => {
      send({ kind: 'loaded', loaded: await worker.ready(model, data) });
      port.on('message', (message: ToInstance) => {
        if (message.kind === 'release') {
          worker.release(model, (detail) => send({ kind: 'released', detail }));
          return;
        }
        void worker.run(model, message);
      });
    },
    (error: unknown) => send({ kind: 'loadFailed', message: worker.loadFailure ? worker.loadFailure(error) : errorText(error) }),
  );
}

/** Answers a run; `transfer` lists the buffers that move with it (outputs and `recycled`). */
export function sendResult(message: ResultMessage, transfer: readonly ArrayBuffer[]): void {
  send(message, transfer);
}

/**
 * Answers a run with its outputs, each moving with its buffer (an output in a buffer of `reused`, as
 * an identity graph's may be, leaves as a copy), and sends the requests' large input buffers back for
 * reuse. `outputStart` (hrtime) is when the run began handling its outputs: that phase is timed up to
 * the send.
 */
export function sendBatchResult(message: RunMessage, outputs: readonly Tensor[], reused: ReusedRows | undefined, computeInputNs: number, computeInferNs: number, outputStart: bigint): void {
  const { tensors, transfer } = transferableTensors(outputs, reused && ((buffer) => reused.owns(buffer)));
  const recycled = recyclableInputs(message.requests, transfer);
  const computeOutputNs = Number(process.hrtime.bigint() - outputStart);
  send({ kind: 'result', id: message.id, outputs: tensors, computeInputNs, computeInferNs, computeOutputNs, recycled }, [...transfer, ...recycled]);
}

/** Answers a run that threw. */
export function sendRunFailed<P extends InstanceProtocol>(id: number, error: P['runError']): void {
  send({ kind: 'runFailed', id, error });
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The batch's inputs joined along dim 0 (one request's inputs as they are). With `reused`, into
 * buffers kept from run to run (see `concatRows` for why), else into fresh ones.
 */
export function joinBatch(requests: readonly (readonly Tensor[])[], reused?: ReusedRows): readonly Tensor[] {
  return requests.length === 1
    ? requests[0]!
    : requests[0]!.map((input, i) =>
        concatRows(
          requests.map((r) => r[i]!),
          reused?.allocator(input.name),
        ),
      );
}

/** The large buffers the requests' inputs arrived in, except any leaving as an output. */
function recyclableInputs(requests: readonly (readonly Tensor[])[], leaving: readonly ArrayBuffer[]): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const inputs of requests) {
    for (const input of inputs) {
      const data = input.data;
      if (!Array.isArray(data) && data.buffer instanceof ArrayBuffer && data.buffer.byteLength >= MIN_POOLED_BYTES) buffers.add(data.buffer);
    }
  }
  for (const buffer of leaving) buffers.delete(buffer);
  return [...buffers];
}

/**
 * Niceness of the compute threads: this thread and any pool the runtime creates from it, which
 * inherits the value. The main thread (niceness 0) then gets a core the moment it has work, so a
 * busy model delays health checks, queueing and answers less (benchmark B7).
 */
const COMPUTE_NICENESS = 5;

/** Linux only (a thread is a task with its own niceness); elsewhere, or if refused, stays as is. */
export function lowerComputePriority(): void {
  try {
    setPriority(Number(basename(readlinkSync('/proc/thread-self'))), COMPUTE_NICENESS);
  } catch {
    // Not Linux, or not allowed: compute at the process's priority.
  }
}
