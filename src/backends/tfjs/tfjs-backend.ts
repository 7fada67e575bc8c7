/**
 * The TensorFlow.js backend (`backend: "tensorflowjs"`, platforms `tensorflowjs_graph` and
 * `tensorflowjs_layers`): `<version>/model.json` and its weight shards, a graph model
 * (tf.loadGraphModel) or a Keras layers model (tf.loadLayersModel), on tfjs's WebAssembly backend.
 * Each model instance is one worker thread with its own tfjs runtime (`tfjs-worker.ts`).
 *
 * At load, the model may instead be converted to ONNX and served by ONNX Runtime (parameter
 * `convert_to_onnx`, see `chooseRuntime`): which runtime serves a version is reported in the served
 * config's parameters `runtime` and `runtime_reason`, and logged.
 */
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { CranberriesError, asCranberriesError, invalidArgument, type Logger } from '../../core/index.js';
import type { DataType, Tensor } from '../../tensors/index.js';
import type { ModelConfig } from '../../repository/index.js';
import type { Backend, LoadSpec, LoadedModel, ModelInstance, ModelSignature, TensorSignature, ExecutionResult } from '../backend.js';
import type { OnnxBackend } from '../onnx/onnx-backend.js';
import { convertInWorker, type OnnxConversion, type TfjsArtifacts } from '../tfjs-to-onnx/index.js';
import { readTfjsModel, type TfjsModelFiles } from './model-files.js';
import { parityFailure, parityInputs } from './parity.js';
import { TfjsThread, type TfjsMetadata } from './tfjs-thread.js';
import type { TfjsModelKind, TfjsValueInfo, TfjsWorkerData } from './worker-messages.js';

export type ConvertMode = 'auto' | 'never' | 'require';
const CONVERT_MODES: readonly ConvertMode[] = ['auto', 'never', 'require'];

export interface TfjsBackendOptions {
  /** Serves the models converted to ONNX. */
  readonly onnx: OnnxBackend;
  readonly logger?: Logger | undefined;
  /** The TF.js → ONNX converter (tests inject one; the default is the build's converter, run in a worker thread). */
  readonly convert?: ((artifacts: TfjsArtifacts) => OnnxConversion | Promise<OnnxConversion>) | undefined;
}

const PLATFORM_KINDS: Readonly<Record<string, TfjsModelKind>> = { tensorflowjs_graph: 'graph', tensorflowjs_layers: 'layers' };

/** The folder holding tfjs-backend-wasm's .wasm files (its package's dist/). */
export const WASM_DIR = join(dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');

export class TfjsBackend implements Backend {
  readonly name = 'tensorflowjs';
  readonly defaultModelFilename = 'model.json';

  private constructor(
    readonly platform: string,
    private readonly options: TfjsBackendOptions,
  ) {}

  /** The registry entries: one per platform, both named backend `tensorflowjs`. */
  static family(options: TfjsBackendOptions): TfjsBackend[] {
    return Object.keys(PLATFORM_KINDS).map((platform) => new TfjsBackend(platform, options));
  }

  async inspect(modelPath: string): Promise<ModelSignature> {
    const files = await readTfjsModel(modelPath);
    const thread = await TfjsThread.start(workerData(files, false), modelPath);
    try {
      return toSignature(thread.metadata, modelPath);
    } finally {
      await thread.release();
    }
  }

  async load(spec: LoadSpec): Promise<LoadedModel> {
    const mode = convertMode(spec.config, spec.label);
    const files = await readTfjsModel(spec.modelPath);
    const wanted = PLATFORM_KINDS[spec.config.platform];
    if (wanted && wanted !== files.kind) {
      throw invalidArgument(`${spec.label}: platform '${spec.config.platform}' expects a ${wanted} model but ${basename(spec.modelPath)} holds a ${files.kind} model`);
    }
    const data = workerData(files, true);
    const first = await TfjsThread.start(data, spec.label);
    let signature: ModelSignature;
    try {
      signature = toSignature(first.metadata, spec.label);
    } catch (error) {
      await first.release();
      throw error;
    }
    const model = spec.config.name || spec.label;
    let reason = 'convert_to_onnx is "never"';
    if (mode !== 'never') {
      const choice = await this.tryOnnx(spec, files, first, signature);
      if (choice.kind === 'onnx') {
        await first.release();
        this.options.logger?.info({ model, label: spec.label }, `model '${model}' runs on ONNX Runtime (converted from TensorFlow.js, parity checked)`);
        return choice.loaded;
      }
      reason = choice.reason;
      if (mode === 'require') {
        await first.release();
        throw invalidArgument(`${spec.label}: convert_to_onnx is "require" but the model cannot run on ONNX Runtime: ${reason}`);
      }
    }
    this.options.logger?.info({ model, label: spec.label, simd: first.metadata.simd }, `model '${model}' runs on TensorFlow.js: ${reason}`);
    const count = instanceCount(spec.config);
    const more = await Promise.allSettled(Array.from({ length: count - 1 }, () => TfjsThread.start(data, spec.label)));
    const threads = [first, ...more.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []))];
    const failed = more.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      await Promise.all(threads.map((t) => t.release()));
      throw failed.reason;
    }
    return {
      signature,
      instances: threads,
      parameters: { runtime: 'tensorflowjs', runtime_reason: reason },
      unload: async () => {
        await Promise.all(threads.map((t) => t.release()));
      },
    };
  }

  /** Converts, loads on ONNX Runtime and checks parity; or says why the model stays on tfjs. */
  private async tryOnnx(spec: LoadSpec, files: TfjsModelFiles, tfjs: TfjsThread, signature: ModelSignature): Promise<{ kind: 'onnx'; loaded: LoadedModel } | { kind: 'tfjs'; reason: string }> {
    let conversion: OnnxConversion;
    try {
      conversion = await (this.options.convert ?? convertInWorker)(files.artifacts);
    } catch (error) {
      return { kind: 'tfjs', reason: `the converter failed: ${asCranberriesError(error).message.slice(0, 300)}` };
    }
    if (conversion.kind === 'unsupported') return { kind: 'tfjs', reason: conversion.reason.slice(0, 500) };
    const { inputNames, outputNames } = conversion;
    if (inputNames.length !== signature.inputs.length || outputNames.length !== signature.outputs.length) {
      return {
        kind: 'tfjs',
        reason: `the converted model has ${inputNames.length} input(s) and ${outputNames.length} output(s), the TF.js model ${signature.inputs.length} and ${signature.outputs.length}`,
      };
    }
    const inputs = parityInputs(signature.inputs);
    if (typeof inputs === 'string') return { kind: 'tfjs', reason: `no parity check possible: ${inputs}` };
    let onnx: LoadedModel;
    try {
      onnx = await this.options.onnx.loadBytes(spec, conversion.onnx);
    } catch (error) {
      return { kind: 'tfjs', reason: `ONNX Runtime cannot load the converted model: ${asCranberriesError(error).message.slice(0, 300)}` };
    }
    const renamed = renameInstances(onnx, signature, inputNames, outputNames);
    const names = signature.outputs.map((o) => o.name);
    let failure: string | undefined;
    try {
      const copy = (): Tensor[] => inputs.map((t) => ({ ...t, data: (t.data as Float32Array).slice() }));
      const expected = await tfjs.execute([copy()], names);
      const actual = await renamed.instances[0]!.execute([copy()], names);
      failure = parityFailure(expected.outputs, actual.outputs);
    } catch (error) {
      failure = `the parity run failed: ${asCranberriesError(error).message.slice(0, 300)}`;
    }
    if (failure !== undefined) {
      await onnx.unload();
      this.options.logger?.warn({ model: spec.config.name, label: spec.label }, `model '${spec.config.name}': the ONNX conversion fails the parity check: ${failure}`);
      return { kind: 'tfjs', reason: `the converted model fails the parity check: ${failure}` };
    }
    return { kind: 'onnx', loaded: { ...renamed, parameters: { runtime: 'onnxruntime', runtime_reason: 'converted from TensorFlow.js at load; parity checked' } } };
  }
}

/** `convert_to_onnx`: `auto` (default), `never` or `require`. */
export function convertMode(config: ModelConfig, label: string): ConvertMode {
  const value = config.parameters['convert_to_onnx']?.string_value;
  if (value === undefined || value === '') return 'auto';
  if (!(CONVERT_MODES as readonly string[]).includes(value)) throw invalidArgument(`${label}: parameter convert_to_onnx must be one of ${CONVERT_MODES.join(', ')}, got "${value.slice(0, 40)}"`);
  return value as ConvertMode;
}

function instanceCount(config: ModelConfig): number {
  return Math.max(
    1,
    config.instance_group.reduce((sum, group) => sum + group.count, 0),
  );
}

function workerData(files: TfjsModelFiles, warmup: boolean): TfjsWorkerData {
  const { modelTopology, weightSpecs, weightData, format, signature, userDefinedMetadata } = files.artifacts;
  const extra: Record<string, unknown> = { ...files.extra };
  if (format !== undefined) extra['format'] = format;
  if (signature !== undefined) extra['signature'] = signature;
  if (userDefinedMetadata !== undefined) extra['userDefinedMetadata'] = userDefinedMetadata;
  return { kind: files.kind, modelTopology, weightSpecs, weightData, extra, wasmDir: WASM_DIR, warmup };
}

const DATATYPES: Readonly<Record<string, DataType>> = { float32: 'FP32', int32: 'INT32', bool: 'BOOL' };

function toSignature(metadata: TfjsMetadata, label: string): ModelSignature {
  const convert = (values: readonly TfjsValueInfo[], kind: string): TensorSignature[] =>
    values.map((v) => {
      const datatype = DATATYPES[v.dtype];
      if (!datatype) throw new CranberriesError('INVALID_ARGUMENT', `${label}: ${kind} '${v.name}' is a ${v.dtype} tensor, which Cranberries cannot serve from TensorFlow.js`);
      if (!v.shape) throw new CranberriesError('INVALID_ARGUMENT', `${label}: ${kind} '${v.name}' has no shape in model.json`);
      return { name: v.name, datatype, shape: [...v.shape] };
    });
  return { inputs: convert(metadata.inputs, 'input'), outputs: convert(metadata.outputs, 'output') };
}

/**
 * The converted model's instances under the TF.js model's tensor names (the converter's names
 * correspond by position), so the served signature is the model's whatever the converter named.
 */
function renameInstances(onnx: LoadedModel, signature: ModelSignature, inputNames: readonly string[], outputNames: readonly string[]): LoadedModel {
  const inputMap = new Map(signature.inputs.map((t, i) => [t.name, inputNames[i]!]));
  const outputMap = new Map(signature.outputs.map((t, i) => [t.name, outputNames[i]!]));
  const back = new Map(signature.outputs.map((t, i) => [outputNames[i]!, t.name]));
  const wrap = (inner: ModelInstance): ModelInstance => ({
    execute: async (requests, names): Promise<ExecutionResult> => {
      const result = await inner.execute(
        requests.map((r) => r.map((t) => ({ ...t, name: inputMap.get(t.name) ?? t.name }))),
        names.map((n) => outputMap.get(n) ?? n),
      );
      return { ...result, outputs: result.outputs.map((t) => ({ ...t, name: back.get(t.name) ?? t.name })) };
    },
  });
  return {
    signature,
    instances: onnx.instances.map(wrap),
    unload: () => onnx.unload(),
    ...(onnx.unavailableReason ? { unavailableReason: () => onnx.unavailableReason?.() } : {}),
  };
}
