/**
 * The JavaScript backend (`backend: "javascript"`): a model is an ES module, `<version>/model.mjs`,
 * run in a worker thread per instance. For custom logic and pre/post-processing steps.
 *
 * The module's contract:
 * - `export async function initialize({ config, version, folder, parameters })` (optional): called
 *   once per instance before the model is READY. `config` is the complete model config, `version`
 *   the version folder's name, `folder` its absolute path (for files next to the module),
 *   `parameters` the config's `parameters` as `{ key: string_value }`, `importPackage(name)` imports
 *   a package the server has installed (jpeg-js, pngjs, ...) wherever the model folder lives;
 *   a bare `import` in the module resolves from the module's own folder. Throwing (or an import
 *   error) leaves the version UNAVAILABLE with the message as the reason.
 * - `export async function execute(inputs, context)` (required): `inputs` maps each input name to
 *   `{ name, datatype, shape, data }`, where `data` is the typed array of the datatype
 *   (FP32 → Float32Array, INT64 → BigInt64Array, BOOL → Uint8Array, FP16 → Uint16Array bits) and
 *   BYTES data is an array of Uint8Array, one per element. With `max_batch_size > 0` the inputs of
 *   the batch's requests are joined along dim 0 (`context.batchSize` rows from `context.requests`
 *   requests) and every output must keep that dim 0, rows in the same order. `context.outputs`
 *   names the outputs to return. It returns `{ [output]: { shape, data, datatype? } }`: `data` a
 *   typed array of the datatype (or a plain array of numbers), for BYTES an array of
 *   Uint8Array / Buffer / string; `datatype` defaults to the config's. A thrown error fails every
 *   request of the execution with the error's message (at most 1000 characters), as
 *   INVALID_ARGUMENT when `error.code === 'INVALID_ARGUMENT'`, else INTERNAL.
 * - `export async function finalize()` (optional): called once per instance at unload (5 s at most).
 *
 * Inputs and outputs are declared in config.pbtxt (names, data_type and dims): the module has no
 * way to declare them. An execution that overstays `execution_timeout_ms` (the config's parameter,
 * else the server's `--execution-timeout-ms`) fails with DEADLINE_EXCEEDED and its thread is
 * terminated; the instance starts afresh (import and `initialize`) for the next execution. Without a
 * timeout a module that never returns holds its instance for good (other models are unaffected).
 * A thread that crashes fails its executions with INTERNAL and is restarted on the next one.
 */
import { basename, dirname } from 'node:path';
import { CranberriesError, asCranberriesError, invalidArgument } from '../../core/index.js';
import { dataTypeFromConfig } from '../../tensors/index.js';
import type { Tensor } from '../../tensors/index.js';
import type { ModelConfig, ModelInput, ModelOutput } from '../../repository/index.js';
import type { Backend, ExecutionResult, LoadSpec, LoadedModel, ModelInstance, ModelSignature, TensorSignature } from '../backend.js';
import { executionTimeoutMs } from '../onnx/onnx-backend.js';
import type { ModuleWorkerData } from './module-messages.js';
import { ModuleThread } from './module-thread.js';

export interface JavaScriptBackendOptions {
  /** Execution timeout of models whose config sets no `execution_timeout_ms`; 0 = none. */
  readonly defaultExecutionTimeoutMs?: number | undefined;
  /** How long `finalize()` may take at unload before the thread is terminated. */
  readonly finalizeGraceMs?: number | undefined;
}

export class JavaScriptBackend implements Backend {
  readonly name = 'javascript';
  readonly platform = '';
  readonly defaultModelFilename = 'model.mjs';

  constructor(private readonly options: JavaScriptBackendOptions = {}) {}

  /** A module declares no signature: the config's inputs and outputs are the signature. */
  inspect(): Promise<ModelSignature> {
    return Promise.resolve({ inputs: [], outputs: [] });
  }

  async load(spec: LoadSpec): Promise<LoadedModel> {
    const signature = signatureFromConfig(spec.config);
    const parameters: Record<string, string> = {};
    for (const [key, value] of Object.entries(spec.config.parameters)) parameters[key] = value.string_value;
    const folder = dirname(spec.modelPath);
    const data: ModuleWorkerData = { modulePath: spec.modelPath, config: spec.config, version: basename(folder), folder, parameters };
    const timeoutMs = executionTimeoutMs(spec, this.options.defaultExecutionTimeoutMs ?? 0);
    const count = Math.max(
      1,
      spec.config.instance_group.reduce((sum, group) => sum + group.count, 0),
    );
    const started = await Promise.allSettled(Array.from({ length: count }, () => ModuleThread.start(data, spec.label)));
    const threads = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      await Promise.all(threads.map((t) => t.terminate()));
      throw failed.reason;
    }
    const grace = this.options.finalizeGraceMs ?? 5000;
    const instances = threads.map((t) => new JavaScriptInstance(t, () => ModuleThread.start(data, spec.label), timeoutMs, spec.label));
    return {
      signature,
      instances,
      unload: async () => {
        await Promise.all(instances.map((i) => i.unload(grace)));
      },
    };
  }
}

/** One instance: its current thread, replaced after a crash or an execution timeout. */
class JavaScriptInstance implements ModelInstance {
  private current: Promise<ModuleThread>;

  constructor(
    first: ModuleThread,
    private readonly startThread: () => Promise<ModuleThread>,
    private readonly timeoutMs: number,
    private readonly label: string,
  ) {
    this.current = Promise.resolve(first);
  }

  async execute(requests: readonly (readonly Tensor[])[], outputNames: readonly string[]): Promise<ExecutionResult> {
    const thread = await this.thread();
    const run = thread.execute(requests, outputNames);
    if (this.timeoutMs === 0) return run;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new CranberriesError('DEADLINE_EXCEEDED', `${this.label}: model.mjs execute did not return within the execution timeout of ${this.timeoutMs} ms; its thread was terminated`);
        void thread.terminate(error);
        reject(error);
      }, this.timeoutMs);
    });
    try {
      return await Promise.race([run, expired]);
    } finally {
      clearTimeout(timer);
    }
  }

  async unload(graceMs: number): Promise<void> {
    const thread = await this.current.catch(() => undefined);
    await thread?.finalize(graceMs);
  }

  /** The live thread, or a fresh one when the last one crashed or was terminated. */
  private async thread(): Promise<ModuleThread> {
    const thread = await this.current.catch(() => undefined);
    if (thread && !thread.failure) return thread;
    this.current = this.startThread();
    try {
      return await this.current;
    } catch (error) {
      throw new CranberriesError('UNAVAILABLE', `${this.label}: the JavaScript model's thread could not be restarted: ${asCranberriesError(error).message}`);
    }
  }
}

/** The config's inputs and outputs, which a JavaScript model must declare in full. */
function signatureFromConfig(config: ModelConfig): ModelSignature {
  const batch = config.max_batch_size > 0 ? [-1] : [];
  const convert = (tensors: readonly (ModelInput | ModelOutput)[], kind: string): TensorSignature[] =>
    tensors.map((t) => {
      const datatype = dataTypeFromConfig(t.data_type);
      if (!datatype) throw invalidArgument(`${config.name}: ${kind} '${t.name}' needs a data_type (a JavaScript model declares its tensors in config.pbtxt)`);
      return { name: t.name, datatype, shape: [...batch, ...(t.reshape ? t.reshape.shape : t.dims)] };
    });
  if (config.input.length === 0 || config.output.length === 0) throw invalidArgument(`${config.name}: a JavaScript model declares its inputs and outputs in config.pbtxt`);
  return { inputs: convert(config.input, 'input'), outputs: convert(config.output, 'output') };
}
