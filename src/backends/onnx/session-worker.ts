/**
 * A worker thread that owns exactly one ONNX Runtime session (one model instance).
 *
 * `onnxruntime-node` computes synchronously on the thread that calls it, so sessions never live on
 * the main thread: there, a slow model would freeze every other request. Runs arrive one at a time
 * (the scheduler never sends a second before the first answers), so the buffers a batch is joined
 * into are free again once its run has answered.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { basename } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import { dataTypeFromOrt, ortTypeOf, MIN_POOLED_BYTES, concatRows, ReusedRows } from '../../tensors/index.js';
import { sessionOptions } from './session-options.js';
import type { Tensor } from '../../tensors/index.js';
import { transferableTensors, type FromWorker, type RawValueMetadata, type SessionWorkerData, type ToWorker } from './worker-messages.js';

const port = parentPort;
if (!port) throw new Error('session-worker must run in a worker thread');
const options = workerData as SessionWorkerData;
const decoder = new TextDecoder();
const encoder = new TextEncoder();

function send(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

function describe(values: readonly ort.InferenceSession.ValueMetadata[]): RawValueMetadata[] {
  return values.map((v) => (v.isTensor ? { name: v.name, isTensor: true, type: v.type, shape: [...v.shape] } : { name: v.name, isTensor: false }));
}

function toOrt(tensor: Tensor): ort.Tensor {
  const type = ortTypeOf(tensor.datatype);
  if (!type) throw new Error(`ONNX Runtime has no ${tensor.datatype} tensors`);
  const dims = [...tensor.shape];
  if (Array.isArray(tensor.data))
    return new ort.Tensor(
      'string',
      tensor.data.map((b) => decoder.decode(b)),
      dims,
    );
  return new ort.Tensor(type as 'float32', tensor.data as Float32Array, dims);
}

function fromOrt(name: string, value: ort.OnnxValue): Tensor {
  const datatype = dataTypeFromOrt(value.type);
  if (!datatype) throw new Error(`output '${name}' has type ${value.type}, which Cranberries cannot return`);
  const data = datatype === 'BYTES' ? (value.data as string[]).map((s) => encoder.encode(s)) : (value.data as Tensor['data']);
  return { name, datatype, shape: [...value.dims], data };
}

/** Zeros for every input, symbolic dimensions set to 1: enough to make ORT allocate and plan. */
function warmupFeeds(session: ort.InferenceSession): Record<string, ort.Tensor> | undefined {
  const feeds: Record<string, ort.Tensor> = {};
  for (const meta of session.inputMetadata) {
    if (!meta.isTensor) return undefined;
    const dims = meta.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : 1));
    const size = dims.reduce((a, b) => a * b, 1);
    // "0" rather than "": models that parse their strings as numbers (Cast to int) accept it.
    if (meta.type === 'string') feeds[meta.name] = new ort.Tensor('string', new Array<string>(size).fill('0'), dims);
    else {
      const datatype = dataTypeFromOrt(meta.type);
      if (!datatype) return undefined;
      feeds[meta.name] = toOrt({ name: meta.name, datatype, shape: dims, data: new (zeroArray(meta.type))(size) });
    }
  }
  return feeds;
}

function zeroArray(type: string): new (n: number) => Exclude<Tensor['data'], Uint8Array[]> {
  switch (type) {
    case 'float32':
      return Float32Array;
    case 'float64':
      return Float64Array;
    case 'int8':
      return Int8Array;
    case 'int16':
      return Int16Array;
    case 'int32':
      return Int32Array;
    case 'int64':
      return BigInt64Array;
    case 'uint16':
    case 'float16':
      return Uint16Array;
    case 'uint32':
      return Uint32Array;
    case 'uint64':
      return BigUint64Array;
    default:
      return Uint8Array;
  }
}

/**
 * Niceness of the compute threads: this thread and ONNX Runtime's intra-op pool, which it creates
 * and which inherits the value. The main thread (niceness 0) then gets a core the moment it has
 * work, so a busy model delays health checks, queueing and answers less (benchmark B7).
 */
const COMPUTE_NICENESS = 5;

/** Linux only (a thread is a task with its own niceness); elsewhere, or if refused, stays as is. */
function lowerComputePriority(): void {
  try {
    setPriority(Number(basename(readlinkSync('/proc/thread-self'))), COMPUTE_NICENESS);
  } catch {
    // Not Linux, or not allowed: compute at the process's priority.
  }
}

async function main(): Promise<void> {
  lowerComputePriority();
  let session: ort.InferenceSession;
  try {
    const settings = sessionOptions(options.intraOpThreads, options.graphOptimizationLevel);
    session = await (options.modelBytes ? ort.InferenceSession.create(options.modelBytes, settings) : ort.InferenceSession.create(options.modelPath, settings));
  } catch (error) {
    send({ kind: 'loadFailed', message: error instanceof Error ? error.message : String(error) });
    return;
  }
  if (options.warmup) {
    const feeds = warmupFeeds(session);
    // A model may reject zeros (e.g. an index input); warm-up is an optimisation, never a failure,
    // so ORT is told not to print its refusal (severity 4 = fatal only) on the server's stderr.
    if (feeds) await session.run(feeds, { logSeverityLevel: 4 }).catch(() => undefined);
  }
  send({ kind: 'loaded', inputs: describe(session.inputMetadata), outputs: describe(session.outputMetadata) });

  port!.on('message', (message: ToWorker) => {
    if (message.kind === 'release') {
      void session.release().finally(() => send({ kind: 'released' }));
      return;
    }
    void run(session, message);
  });
}

/** Batch inputs are joined into buffers kept from run to run (see `concatRows` for why). */
const batchBuffers = new ReusedRows();

async function run(session: ort.InferenceSession, message: Extract<ToWorker, { kind: 'run' }>): Promise<void> {
  try {
    const t0 = process.hrtime.bigint();
    const { requests } = message;
    const inputs =
      requests.length === 1
        ? requests[0]!
        : requests[0]!.map((input, i) =>
            concatRows(
              requests.map((r) => r[i]!),
              batchBuffers.allocator(input.name),
            ),
          );
    const feeds: Record<string, ort.Tensor> = {};
    for (const input of inputs) feeds[input.name] = toOrt(input);
    const t1 = process.hrtime.bigint();
    const results = await session.run(feeds, [...message.outputs]);
    const t2 = process.hrtime.bigint();
    const outputs = message.outputs.map((name) => fromOrt(name, results[name]!));
    // An output that shares a batch buffer (an identity graph may) leaves with a copy.
    const { tensors, transfer } = transferableTensors(outputs, (buffer) => batchBuffers.owns(buffer));
    const recycled = recyclable(requests, transfer);
    const t3 = process.hrtime.bigint();
    send({ kind: 'result', id: message.id, outputs: tensors, computeInputNs: Number(t1 - t0), computeInferNs: Number(t2 - t1), computeOutputNs: Number(t3 - t2), recycled }, [
      ...transfer,
      ...recycled,
    ]);
  } catch (error) {
    send({ kind: 'runFailed', id: message.id, message: error instanceof Error ? error.message : String(error) });
  }
}

/** The large buffers the requests' inputs arrived in, except any leaving as an output. */
function recyclable(requests: readonly (readonly Tensor[])[], leaving: readonly ArrayBuffer[]): ArrayBuffer[] {
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

void main();
