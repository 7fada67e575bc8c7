/**
 * A worker thread that owns one TensorFlow.js runtime and one model (one model instance).
 *
 * tfjs on the WebAssembly backend computes synchronously on the thread that calls it, so models
 * never run on the main thread. Each worker is its own V8 isolate, hence its own tfjs engine and
 * wasm memory: ending the thread returns all of it. SIMD is used when the CPU has it; wasm threads
 * are off (the server already runs one worker per instance, and threads need cross-origin isolation
 * machinery Node's wasm backend build does not use).
 */
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { ReusedRows } from '../../tensors/index.js';
import type { Tensor } from '../../tensors/index.js';
import { joinBatch, lowerComputePriority, sendBatchResult, sendRunFailed, serveInstance, errorText, type RunMessage } from '../instance-thread/index.js';
import type { TfjsProtocol, TfjsValueInfo, TfjsWorkerData } from './worker-messages.js';

type Model = { kind: 'graph'; model: tf.GraphModel } | { kind: 'layers'; model: tf.LayersModel };

const TFJS_DTYPES: Readonly<Record<string, tf.DataType>> = { FP32: 'float32', INT32: 'int32', BOOL: 'bool' };

function toTf(tensor: Tensor): tf.Tensor {
  const dtype = TFJS_DTYPES[tensor.datatype];
  if (!dtype || Array.isArray(tensor.data)) throw new Error(`input '${tensor.name}': TensorFlow.js models take FP32, INT32 or BOOL tensors, not ${tensor.datatype}`);
  return tf.tensor(tensor.data as Float32Array | Int32Array | Uint8Array, [...tensor.shape], dtype);
}

function fromTf(name: string, value: tf.Tensor): Tensor {
  const data = value.dataSync();
  switch (value.dtype) {
    case 'float32':
      return { name, datatype: 'FP32', shape: value.shape, data: data as Float32Array };
    case 'int32':
      return { name, datatype: 'INT32', shape: value.shape, data: data as Int32Array };
    case 'bool':
      return { name, datatype: 'BOOL', shape: value.shape, data: data as Uint8Array };
    default:
      throw new Error(`output '${name}' is a ${value.dtype} tensor, which Cranberries cannot return`);
  }
}

function shapeOf(shape: readonly (number | null)[] | undefined): number[] | undefined {
  return shape?.map((d) => (typeof d === 'number' && d >= 0 ? d : -1));
}

function describe(model: Model): { inputs: TfjsValueInfo[]; outputs: TfjsValueInfo[] } {
  if (model.kind === 'layers') {
    const m = model.model;
    return {
      inputs: m.inputs.map((t, i) => ({ name: layersInputNames(m)[i]!, dtype: t.dtype, shape: shapeOf(t.shape) })),
      outputs: m.outputs.map((t, i) => ({ name: layersOutputNames(m)[i]!, dtype: t.dtype, shape: shapeOf(t.shape) })),
    };
  }
  const m = model.model;
  const info = (t: { name: string; dtype: string; shape?: number[] | undefined }): TfjsValueInfo => ({ name: t.name, dtype: t.dtype, shape: shapeOf(t.shape) });
  return { inputs: m.inputs.map(info), outputs: m.outputs.map(info) };
}

/**
 * A Keras model's tensors are named after the layers that make them (`input_1`, `dense_3`), as Keras
 * and TF Serving name a model's signature; a layer with several outputs gets `<layer>:<index>`.
 * (`inputNames`/`outputNames` are empty on a loaded Sequential model, so the layers are asked.)
 */
function layerNames(tensors: readonly tf.SymbolicTensor[]): string[] {
  const names = tensors.map((t) => t.sourceLayer.name);
  return names.map((name, i) => (names.indexOf(name) === names.lastIndexOf(name) ? name : `${name}:${tensors[i]!.outputTensorIndex ?? i}`));
}
const layersInputNames = (m: tf.LayersModel): string[] => layerNames(m.inputs);
const layersOutputNames = (m: tf.LayersModel): string[] => layerNames(m.outputs);

/** Runs the model; the returned tensors are the caller's to dispose. */
async function predict(model: Model, inputs: readonly Tensor[], outputNames: readonly string[]): Promise<tf.Tensor[]> {
  const feeds = inputs.map(toTf);
  try {
    if (model.kind === 'layers') {
      const m = model.model;
      const ordered = layersInputNames(m).map((name) => {
        const i = inputs.findIndex((t) => t.name === name);
        if (i < 0) throw new Error(`input '${name}' is missing`);
        return feeds[i]!;
      });
      const result = m.predict(ordered.length === 1 ? ordered[0]! : ordered);
      const all = Array.isArray(result) ? result : [result];
      const picked = outputNames.map((name) => {
        const i = layersOutputNames(m).indexOf(name);
        if (i < 0) throw new Error(`the model has no output '${name}'`);
        return all[i]!;
      });
      for (const t of all) if (!picked.includes(t)) t.dispose();
      return picked;
    }
    const named: tf.NamedTensorMap = {};
    inputs.forEach((t, i) => (named[t.name] = feeds[i]!));
    let result: tf.Tensor | tf.Tensor[];
    try {
      result = model.model.execute(named, [...outputNames]);
    } catch (error) {
      // Control flow (While, If...) needs the asynchronous executor; tfjs says so by throwing.
      if (!(error instanceof Error) || !/executeAsync/.test(error.message)) throw error;
      result = await model.model.executeAsync(named, [...outputNames]);
    }
    return Array.isArray(result) ? result : [result];
  } finally {
    for (const t of feeds) t.dispose();
  }
}

/** Zeros for every input, unknown dimensions set to 1: makes tfjs compile and allocate once. */
function warmupInputs(info: readonly TfjsValueInfo[]): Tensor[] | undefined {
  const tensors: Tensor[] = [];
  for (const v of info) {
    if (!v.shape) return undefined;
    const shape = v.shape.map((d) => (d < 0 ? 1 : d));
    const size = shape.reduce((a, b) => a * b, 1);
    if (v.dtype === 'float32') tensors.push({ name: v.name, datatype: 'FP32', shape, data: new Float32Array(size) });
    else if (v.dtype === 'int32') tensors.push({ name: v.name, datatype: 'INT32', shape, data: new Int32Array(size) });
    else return undefined;
  }
  return tensors;
}

/**
 * A graph model's model.json seldom states its outputs' shapes (only Placeholders carry one): run the
 * model once on zeros (unknown dimensions 1) and take the shapes it gives. When every input has a
 * variable first dimension, an output's first dimension of 1 is the batch and reported as -1.
 */
async function probeOutputShapes(model: Model, info: { inputs: TfjsValueInfo[]; outputs: TfjsValueInfo[] }): Promise<void> {
  const inputs = warmupInputs(info.inputs);
  if (!inputs) return;
  const batched = info.inputs.length > 0 && info.inputs.every((i) => i.shape?.[0] === -1);
  try {
    const results = await predict(
      model,
      inputs,
      info.outputs.map((o) => o.name),
    );
    info.outputs = info.outputs.map((o, i) => {
      const shape = results[i]!.shape.map((d, axis) => (axis === 0 && batched && d === 1 ? -1 : d));
      return { ...o, shape: o.shape ?? shape, dtype: o.dtype || results[i]!.dtype };
    });
    for (const t of results) t.dispose();
  } catch {
    // The model refuses zeros: its outputs keep no shape and the config must state them.
  }
}

/** The model and whether the wasm backend runs its SIMD build. */
interface Loaded {
  readonly model: Model;
  readonly simd: boolean;
}

async function load(options: TfjsWorkerData): Promise<Loaded> {
  lowerComputePriority();
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  setWasmPaths(options.wasmDir.endsWith('/') ? options.wasmDir : `${options.wasmDir}/`);
  if (!(await tf.setBackend('wasm'))) throw new Error('the TensorFlow.js WebAssembly backend did not start');
  const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
  const artifacts = { ...options.extra, modelTopology: options.modelTopology, weightSpecs: options.weightSpecs, weightData: options.weightData } as tf.io.ModelArtifacts;
  const handler: tf.io.IOHandler = { load: () => Promise.resolve(artifacts) };
  const model: Model = options.kind === 'graph' ? { kind: 'graph', model: await tf.loadGraphModel(handler) } : { kind: 'layers', model: await tf.loadLayersModel(handler) };
  return { model, simd };
}

async function ready({ model, simd }: Loaded, options: TfjsWorkerData): Promise<TfjsProtocol['loaded']> {
  const info = describe(model);
  if (info.outputs.some((o) => !o.shape)) await probeOutputShapes(model, info);
  if (options.warmup) {
    const inputs = warmupInputs(info.inputs);
    // Warm-up is an optimisation, never a failure (a model may refuse zeros).
    if (inputs)
      await predict(
        model,
        inputs,
        info.outputs.map((o) => o.name),
      )
        .then((out) => out.forEach((t) => t.dispose()))
        .catch(() => undefined);
  }
  return { ...info, simd };
}

const batchBuffers = new ReusedRows();

async function run({ model }: Loaded, message: RunMessage): Promise<void> {
  let results: tf.Tensor[] = [];
  try {
    const t0 = process.hrtime.bigint();
    const inputs = joinBatch(message.requests, batchBuffers);
    const t1 = process.hrtime.bigint();
    results = await predict(model, inputs, message.outputs);
    // dataSync copies out of the wasm heap: the outputs own their buffers.
    const outputs = message.outputs.map((name, i) => fromTf(name, results[i]!));
    const t2 = process.hrtime.bigint();
    sendBatchResult(message, outputs, batchBuffers, Number(t1 - t0), Number(t2 - t1), t2);
  } catch (error) {
    sendRunFailed<TfjsProtocol>(message.id, errorText(error));
  } finally {
    for (const t of results) t.dispose();
  }
}

serveInstance<TfjsProtocol, Loaded>('tfjs-worker', {
  load,
  ready,
  run,
  release: ({ model }, done) => {
    model.model.dispose();
    tf.disposeVariables();
    done(tf.memory().numTensors);
  },
});
