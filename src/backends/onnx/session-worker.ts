/**
 * A worker thread that owns exactly one ONNX Runtime session (one model instance).
 *
 * `onnxruntime-node` computes synchronously on the thread that calls it, so sessions never live on
 * the main thread: there, a slow model would freeze every other request. Runs arrive one at a time
 * (the scheduler never sends a second before the first answers), so the buffers a batch is joined
 * into are free again once its run has answered.
 */
import ort from 'onnxruntime-node';
import { dataTypeFromOrt, ortTypeOf, ReusedRows } from '../../tensors/index.js';
import { sessionOptions } from './session-options.js';
import type { Tensor } from '../../tensors/index.js';
import { joinBatch, lowerComputePriority, sendBatchResult, sendRunFailed, serveInstance, errorText, type RunMessage } from '../instance-thread/index.js';
import type { RawValueMetadata, SessionProtocol, SessionWorkerData } from './worker-messages.js';

const decoder = new TextDecoder();
const encoder = new TextEncoder();

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

async function load(options: SessionWorkerData): Promise<ort.InferenceSession> {
  lowerComputePriority();
  const settings = sessionOptions(options.intraOpThreads, options.graphOptimizationLevel);
  return options.modelBytes ? ort.InferenceSession.create(options.modelBytes, settings) : ort.InferenceSession.create(options.modelPath, settings);
}

async function ready(session: ort.InferenceSession, options: SessionWorkerData): Promise<SessionProtocol['loaded']> {
  if (options.warmup) {
    const feeds = warmupFeeds(session);
    // A model may reject zeros (e.g. an index input); warm-up is an optimisation, never a failure,
    // so ORT is told not to print its refusal (severity 4 = fatal only) on the server's stderr.
    if (feeds) await session.run(feeds, { logSeverityLevel: 4 }).catch(() => undefined);
  }
  return { inputs: describe(session.inputMetadata), outputs: describe(session.outputMetadata) };
}

/** Batch inputs are joined into buffers kept from run to run (see `concatRows` for why). */
const batchBuffers = new ReusedRows();

async function run(session: ort.InferenceSession, message: RunMessage): Promise<void> {
  try {
    const t0 = process.hrtime.bigint();
    const inputs = joinBatch(message.requests, batchBuffers);
    const feeds: Record<string, ort.Tensor> = {};
    for (const input of inputs) feeds[input.name] = toOrt(input);
    const t1 = process.hrtime.bigint();
    const results = await session.run(feeds, [...message.outputs]);
    const t2 = process.hrtime.bigint();
    const outputs = message.outputs.map((name) => fromOrt(name, results[name]!));
    // An output that shares a batch buffer (an identity graph may) leaves with a copy.
    sendBatchResult(message, outputs, batchBuffers, Number(t1 - t0), Number(t2 - t1), t2);
  } catch (error) {
    sendRunFailed<SessionProtocol>(message.id, errorText(error));
  }
}

serveInstance<SessionProtocol, ort.InferenceSession>('session-worker', {
  load,
  ready,
  run,
  release: (session, done) => void session.release().finally(() => done(undefined)),
});
