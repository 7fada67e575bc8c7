/**
 * The ONNX Runtime backend: each model instance is one worker thread owning one session.
 */
import { availableParallelism } from 'node:os';
import { CranberriesError, invalidArgument } from '../../core/errors.js';
import { dataTypeFromOrt } from '../../tensors/data-type.js';
import type { ModelConfig } from '../../repository/model-config.js';
import type { Backend, LoadSpec, LoadedModel, ModelSignature, TensorSignature } from '../backend.js';
import type { SessionWorkerData, RawValueMetadata } from './worker-messages.js';
import { SessionThread, type SessionMetadata } from './session-thread.js';

type GraphLevel = SessionWorkerData['graphOptimizationLevel'];
const GRAPH_LEVELS: readonly GraphLevel[] = ['disabled', 'basic', 'extended', 'all'];

export class OnnxBackend implements Backend {
  readonly name = 'onnxruntime';
  readonly platform = 'onnxruntime_onnx';
  readonly defaultModelFilename = 'model.onnx';

  async inspect(modelPath: string): Promise<ModelSignature> {
    const thread = await SessionThread.start({ modelPath, intraOpThreads: 1, graphOptimizationLevel: 'basic', warmup: false }, modelPath);
    try {
      return toSignature(thread.metadata, modelPath);
    } finally {
      await thread.release();
    }
  }

  async load(spec: LoadSpec): Promise<LoadedModel> {
    const data: SessionWorkerData = {
      modelPath: spec.modelPath,
      intraOpThreads: intraOpThreads(spec),
      graphOptimizationLevel: graphLevel(spec.config),
      warmup: true,
    };
    const count = Math.max(1, spec.config.instance_group.reduce((sum, group) => sum + group.count, 0));
    const started = await Promise.allSettled(Array.from({ length: count }, () => SessionThread.start(data, spec.label)));
    const threads = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      await Promise.all(threads.map((t) => t.release()));
      throw failed.reason;
    }
    let signature: ModelSignature;
    try {
      signature = toSignature(threads[0]!.metadata, spec.label);
    } catch (error) {
      await Promise.all(threads.map((t) => t.release()));
      throw error;
    }
    return {
      signature,
      instances: threads,
      unload: async () => {
        await Promise.all(threads.map((t) => t.release()));
      },
    };
  }
}

/**
 * Threads per instance: `intra_op_thread_count` from the config when given, else the cores shared
 * among the instances, so N instances do not oversubscribe the machine (measured 40 % slower).
 */
function intraOpThreads(spec: LoadSpec): number {
  const fromConfig = spec.config.parameters['intra_op_thread_count']?.string_value;
  if (fromConfig !== undefined && fromConfig !== '') {
    const n = Number(fromConfig);
    if (!Number.isInteger(n) || n < 0) throw invalidArgument(`${spec.label}: parameter intra_op_thread_count must be a non-negative integer, got "${fromConfig}"`);
    return n;
  }
  return spec.intraOpThreads;
}

function graphLevel(config: ModelConfig): GraphLevel {
  const fromParameter = config.parameters['graph_optimization_level']?.string_value;
  if (fromParameter !== undefined) {
    if (!(GRAPH_LEVELS as readonly string[]).includes(fromParameter)) {
      throw invalidArgument(`parameter graph_optimization_level must be one of ${GRAPH_LEVELS.join(', ')}, got "${fromParameter}"`);
    }
    return fromParameter as GraphLevel;
  }
  // Triton's ORT backend: optimization.graph.level -1 = basic, 0 (default) or 1 = all.
  const level = config.optimization?.graph?.level ?? 0;
  return level < 0 ? 'basic' : 'all';
}

/** Default instance threads when the server divides `cores` among `instances`. */
export function defaultIntraOpThreads(instances: number, cores = availableParallelism()): number {
  return Math.max(1, Math.floor(cores / Math.max(1, instances)));
}

function toSignature(metadata: SessionMetadata, label: string): ModelSignature {
  const convert = (values: readonly RawValueMetadata[], kind: string): TensorSignature[] =>
    values.map((v) => {
      const datatype = v.isTensor && v.type ? dataTypeFromOrt(v.type) : undefined;
      if (!datatype) {
        throw new CranberriesError(
          'INVALID_ARGUMENT',
          `${label}: ${kind} '${v.name}' is ${v.isTensor ? `a ${v.type} tensor` : 'not a tensor (a sequence or map)'}, which Cranberries cannot serve`,
        );
      }
      return { name: v.name, datatype, shape: (v.shape ?? []).map((d) => (typeof d === 'number' && d >= 0 ? d : -1)) };
    });
  return { inputs: convert(metadata.inputs, 'input'), outputs: convert(metadata.outputs, 'output') };
}
