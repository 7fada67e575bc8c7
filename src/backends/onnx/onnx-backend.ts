/**
 * The ONNX Runtime backend: each model instance is one worker thread owning one session.
 */
import { CranberriesError, invalidArgument } from '../../core/index.js';
import { dataTypeFromOrt } from '../../tensors/index.js';
import type { ModelConfig } from '../../repository/index.js';
import type { Backend, LoadSpec, LoadedModel, ModelSignature, TensorSignature } from '../backend.js';
import type { SessionWorkerData, RawValueMetadata } from './worker-messages.js';
import { SessionThread, type SessionMetadata } from './session-thread.js';
import { TimedInstance, type InstanceEvents } from './timed-instance.js';

type GraphLevel = SessionWorkerData['graphOptimizationLevel'];
const GRAPH_LEVELS: readonly GraphLevel[] = ['disabled', 'basic', 'extended', 'all'];

export interface OnnxBackendOptions {
  /** Execution timeout of models whose config sets no `execution_timeout_ms`; 0 = none. */
  readonly defaultExecutionTimeoutMs?: number | undefined;
  /** Told when an instance times out and is replaced (for logs). */
  readonly instanceEvents?: InstanceEvents | undefined;
}

export class OnnxBackend implements Backend {
  readonly name = 'onnxruntime';
  readonly platform = 'onnxruntime_onnx';
  readonly defaultModelFilename = 'model.onnx';

  /** Abandoned threads whose timed-out runs still compute. */
  private readonly abandoned = new Set<Promise<void>>();

  constructor(private readonly options: OnnxBackendOptions = {}) {}

  /** Abandoned runs still computing (after execution timeouts). */
  get abandonedRuns(): number {
    return this.abandoned.size;
  }

  /**
   * Resolves once every abandoned run has returned and its thread ended. A process must not exit
   * before: exiting while a worker is inside `session.run` waits for the run anyway and then aborts
   * (exit code 134, see `SessionThread.releaseWhenIdle`).
   */
  async whenAbandonedRunsEnd(): Promise<void> {
    while (this.abandoned.size > 0) await Promise.all(this.abandoned);
  }

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
      intraOpThreads: intraOpThreadsOf(spec),
      graphOptimizationLevel: graphLevel(spec.config),
      warmup: true,
    };
    return this.start(spec, data);
  }

  /**
   * Loads a model given as ONNX bytes rather than a file (a model converted at load time, e.g. from
   * TF.js): the same instances, threads and timeouts as `load`. Each instance's worker gets a copy.
   */
  async loadBytes(spec: LoadSpec, model: Uint8Array): Promise<LoadedModel> {
    const data: SessionWorkerData = {
      modelPath: spec.modelPath,
      modelBytes: model,
      intraOpThreads: intraOpThreadsOf(spec),
      graphOptimizationLevel: graphLevel(spec.config),
      warmup: true,
    };
    return this.start(spec, data);
  }

  private async start(spec: LoadSpec, data: SessionWorkerData): Promise<LoadedModel> {
    const count = Math.max(
      1,
      spec.config.instance_group.reduce((sum, group) => sum + group.count, 0),
    );
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
    const timeoutMs = executionTimeoutMs(spec, this.options.defaultExecutionTimeoutMs ?? 0);
    if (timeoutMs === 0) {
      return {
        signature,
        instances: threads,
        unload: async () => {
          await Promise.all(threads.map((t) => t.release()));
        },
      };
    }
    // A replacement skips the warm-up run: it must take over fast, and the warm-up of a model
    // that just overstayed may overstay too.
    const replacement = (): Promise<SessionThread> => SessionThread.start({ ...data, warmup: false }, spec.label);
    const track = (ended: Promise<void>): void => {
      this.abandoned.add(ended);
      void ended.finally(() => this.abandoned.delete(ended));
    };
    const instances = threads.map((t) => new TimedInstance(t, replacement, timeoutMs, spec.label, this.options.instanceEvents, track));
    return {
      signature,
      instances,
      unload: async () => {
        await Promise.all(instances.map((i) => i.unload()));
      },
    };
  }
}

/**
 * Threads per instance: `intra_op_thread_count` from the config when given, else the cores shared
 * among the instances, so N instances do not oversubscribe the machine (measured 40 % slower).
 */
export function intraOpThreadsOf(spec: LoadSpec): number {
  const fromConfig = spec.config.parameters['intra_op_thread_count']?.string_value;
  if (fromConfig !== undefined && fromConfig !== '') {
    const n = Number(fromConfig);
    if (!Number.isInteger(n) || n < 0) throw invalidArgument(`${spec.label}: parameter intra_op_thread_count must be a non-negative integer, got "${fromConfig}"`);
    return n;
  }
  return spec.intraOpThreads;
}

/**
 * `execution_timeout_ms` from the config (0 turns a server-wide default off for this model), else
 * the server's default. Bounded so a typo cannot overflow Node's timer (about 24.8 days).
 */
export function executionTimeoutMs(spec: LoadSpec, serverDefault: number): number {
  const fromConfig = spec.config.parameters['execution_timeout_ms']?.string_value;
  if (fromConfig === undefined || fromConfig === '') return serverDefault;
  const n = Number(fromConfig);
  if (!/^[0-9]+$/.test(fromConfig) || !Number.isSafeInteger(n) || n > MAX_TIMER_MS) {
    throw invalidArgument(`${spec.label}: parameter execution_timeout_ms must be a whole number of milliseconds from 0 (none) to ${MAX_TIMER_MS}, got "${fromConfig.slice(0, 40)}"`);
  }
  return n;
}

/** The longest delay `setTimeout` honours. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

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

function toSignature(metadata: SessionMetadata, label: string): ModelSignature {
  const convert = (values: readonly RawValueMetadata[], kind: string): TensorSignature[] =>
    values.map((v) => {
      const datatype = v.isTensor && v.type ? dataTypeFromOrt(v.type) : undefined;
      if (!datatype) {
        throw new CranberriesError('INVALID_ARGUMENT', `${label}: ${kind} '${v.name}' is ${v.isTensor ? `a ${v.type} tensor` : 'not a tensor (a sequence or map)'}, which Cranberries cannot serve`);
      }
      return { name: v.name, datatype, shape: (v.shape ?? []).map((d) => (typeof d === 'number' && d >= 0 ? d : -1)) };
    });
  return { inputs: convert(metadata.inputs, 'input'), outputs: convert(metadata.outputs, 'output') };
}
