/**
 * The Python backend family: one stub process per model instance (python/cranberries_backend).
 * The runtime follows the model file: `model.py` (Triton's `TritonPythonModel` contract),
 * `model.joblib` / `model.pkl` (a scikit-learn estimator, no code) or `model.pt` (TorchScript).
 * Three registry entries share it, so each config spelling finds it:
 *   backend "python"   (default file model.py; another `default_model_filename` picks another runtime)
 *   backend "sklearn"  (default file model.joblib)
 *   platform "pytorch_libtorch" / backend "pytorch" (default file model.pt), as in Triton.
 */
import { existsSync } from 'node:fs';
import { basename, dirname, extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CranberriesError, invalidArgument, type ErrorCode } from '../../core/index.js';
import type { Logger } from '../../core/index.js';
import { dataTypeFromConfig, isDataType, type DataType } from '../../tensors/index.js';
import type { ModelConfig, ModelInput, ModelOutput } from '../../repository/index.js';
import type { Backend, LoadSpec, LoadedModel, ModelSignature, TensorSignature } from '../backend.js';
import { executionTimeoutMs, intraOpThreadsOf } from '../onnx/onnx-backend.js';
import { PythonInstance } from './python-instance.js';
import { StubProcess } from './stub-process.js';

export type PythonRuntime = 'python' | 'sklearn' | 'torchscript';

/** The interpreter: Debian's, unless `CRANBERRIES_PYTHON` names another. */
export const DEFAULT_PYTHON = process.env['CRANBERRIES_PYTHON'] ?? '/usr/bin/python3';

/** The shipped Python package (next to dist/ in a checkout and in the npm package). */
export const PYTHON_PACKAGE_ROOT = fileURLToPath(new URL('../../../../python', import.meta.url));

/** Bodies from 1 MiB travel through a file in /dev/shm rather than the pipe (see the benchmark). */
export const DEFAULT_FILE_THRESHOLD = 1024 * 1024;

export interface PythonBackendOptions {
  readonly python?: string | undefined;
  /** Execution timeout of models whose config sets no `execution_timeout_ms`; 0 = none. */
  readonly defaultExecutionTimeoutMs?: number | undefined;
  readonly logger?: Logger | undefined;
  readonly fileThreshold?: number | undefined;
  /** How long `finalize()` may take at unload before the process is killed. */
  readonly finalizeGraceMs?: number | undefined;
}

/** A model's live instances, for tests and for the process-level view. */
export interface PythonLoadedModel extends LoadedModel {
  readonly instances: readonly PythonInstance[];
}

export class PythonBackend implements Backend {
  private constructor(
    readonly name: string,
    readonly platform: string,
    readonly defaultModelFilename: string,
    private readonly options: PythonBackendOptions,
  ) {}

  /** The three registry entries of the family. */
  static family(options: PythonBackendOptions = {}): PythonBackend[] {
    return [new PythonBackend('python', '', 'model.py', options), new PythonBackend('sklearn', '', 'model.joblib', options), new PythonBackend('pytorch', 'pytorch_libtorch', 'model.pt', options)];
  }

  async inspect(modelPath: string): Promise<ModelSignature> {
    const runtime = runtimeOf(modelPath, this.name);
    if (runtime !== 'sklearn') return { inputs: [], outputs: [] };
    const stub = await this.startStub({ runtime, modelPath, label: modelPath, threads: 1, init: {} });
    try {
      return stub.signature ?? { inputs: [], outputs: [] };
    } finally {
      await stub.process.stop(1000);
    }
  }

  async load(spec: LoadSpec): Promise<PythonLoadedModel> {
    const runtime = runtimeOf(spec.modelPath, this.name);
    const count = Math.max(
      1,
      spec.config.instance_group.reduce((sum, group) => sum + group.count, 0),
    );
    const threads = intraOpThreadsOf(spec);
    const timeoutMs = executionTimeoutMs(spec, this.options.defaultExecutionTimeoutMs ?? 0);
    const version = basename(dirname(spec.modelPath));
    const init = (index: number): Record<string, unknown> => ({
      config_inputs: spec.config.input.map(configTensor),
      config_outputs: spec.config.output.map(configTensor),
      // Triton's `args` to initialize(): every value a string, model_config as JSON.
      args: {
        model_config: JSON.stringify(spec.config),
        model_instance_kind: 'CPU',
        model_instance_name: `${spec.config.name}_${index}`,
        model_instance_device_id: '0',
        model_repository: dirname(dirname(spec.modelPath)),
        model_version: version,
        model_name: spec.config.name,
      },
    });
    const start = (index: number) => () => this.startStub({ runtime, modelPath: spec.modelPath, label: spec.label, threads, init: init(index) }).then((s) => s.process);
    const started = await Promise.allSettled(Array.from({ length: count }, (_, i) => this.startStub({ runtime, modelPath: spec.modelPath, label: spec.label, threads, init: init(i) })));
    const stubs = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      await Promise.all(stubs.map((s) => s.process.stop(1000)));
      throw failed.reason;
    }
    const signature = stubs[0]!.signature ?? signatureFromConfig(spec.config);
    const log = this.options.logger;
    const instances = stubs.map(
      (s, i) =>
        new PythonInstance(s.process, {
          label: spec.label,
          joinsBatch: runtime !== 'python',
          timeoutMs,
          startStub: start(i),
          onEvent: (event) => log?.warn({ model: event.label, event: event.kind, detail: event.detail }, `Python stub ${event.kind}`),
        }),
    );
    return {
      signature,
      instances,
      unload: async () => {
        await Promise.all(instances.map((i) => i.unload(this.options.finalizeGraceMs ?? 5000)));
      },
      // Down only when every instance is: with one up, requests still run.
      unavailableReason: () => (instances.every((i) => i.downReason !== undefined) ? instances[0]!.downReason : undefined),
    };
  }

  private async startStub(request: {
    runtime: PythonRuntime;
    modelPath: string;
    label: string;
    threads: number;
    init: Record<string, unknown>;
  }): Promise<{ process: StubProcess; signature: ModelSignature | undefined }> {
    const python = this.options.python ?? DEFAULT_PYTHON;
    if (!existsSync(python)) {
      throw new CranberriesError('UNAVAILABLE', `${request.label}: the Python backend needs ${python} (Debian: apt-get install python3 python3-numpy)`);
    }
    const fileThreshold = this.options.fileThreshold ?? DEFAULT_FILE_THRESHOLD;
    const stub = new StubProcess({ python, packageRoot: PYTHON_PACKAGE_ROOT, label: request.label, threads: request.threads, fileThreshold, logger: this.options.logger });
    try {
      const reply = await stub.call({
        op: 'init',
        kind: request.runtime,
        model_path: request.modelPath,
        threads: request.threads,
        file_dir: stub.fileDir,
        file_threshold: fileThreshold,
        ...request.init,
      });
      const header = reply.header;
      if (header['ok'] !== true) {
        const error = (header['error'] ?? {}) as { message?: unknown; code?: unknown };
        const code: ErrorCode = error.code === 'UNAVAILABLE' ? 'UNAVAILABLE' : 'INVALID_ARGUMENT';
        throw new CranberriesError(
          code,
          `${request.label}: ${basename(request.modelPath)} failed to initialize: ${(typeof error.message === 'string' ? error.message : 'unknown error').slice(0, 2000)}`,
        );
      }
      return { process: stub, signature: header['signature'] ? parseSignature(header['signature'], request.label) : undefined };
    } catch (error) {
      stub.kill();
      await stub.exited;
      if (error instanceof CranberriesError) throw error;
      const message = (error as Error).message;
      const hint = message.includes('No module named') || message.includes('code 1') ? ' (is python3-numpy installed?)' : '';
      throw new CranberriesError('UNAVAILABLE', `${request.label}: ${message}${hint}`);
    }
  }
}

/** The runtime a model file asks for. */
export function runtimeOf(modelPath: string, backendName: string): PythonRuntime {
  const ext = extname(modelPath).toLowerCase();
  if (ext === '.py') return 'python';
  if (ext === '.joblib' || ext === '.pkl' || ext === '.pickle') return 'sklearn';
  if (ext === '.pt' || ext === '.pth' || ext === '.torchscript') return 'torchscript';
  if (backendName === 'pytorch') return 'torchscript';
  if (backendName === 'sklearn') return 'sklearn';
  throw invalidArgument(`${basename(modelPath)}: the Python backend runs model.py, model.joblib / model.pkl (scikit-learn) or model.pt (TorchScript) files`);
}

function configTensor(tensor: ModelInput | ModelOutput): { name: string; datatype: DataType | undefined } {
  return { name: tensor.name, datatype: dataTypeFromConfig(tensor.data_type) };
}

/** Runtimes whose files carry no signature take the config's own (Triton requires it there). */
function signatureFromConfig(config: ModelConfig): ModelSignature {
  const batch = config.max_batch_size > 0 ? [-1] : [];
  const convert = (tensors: readonly (ModelInput | ModelOutput)[], kind: string): TensorSignature[] =>
    tensors.map((t) => {
      const datatype = dataTypeFromConfig(t.data_type);
      if (!datatype) throw invalidArgument(`${config.name}: ${kind} '${t.name}' needs a data_type (a Python model's file declares none)`);
      return { name: t.name, datatype, shape: [...batch, ...(t.reshape ? t.reshape.shape : t.dims)] };
    });
  return { inputs: convert(config.input, 'input'), outputs: convert(config.output, 'output') };
}

function parseSignature(raw: unknown, label: string): ModelSignature {
  const convert = (list: unknown): TensorSignature[] => {
    if (!Array.isArray(list)) throw new CranberriesError('INTERNAL', `${label}: malformed signature from the Python stub`);
    return list.map((t: { name?: unknown; datatype?: unknown; shape?: unknown }) => {
      if (typeof t.name !== 'string' || typeof t.datatype !== 'string' || !isDataType(t.datatype) || !Array.isArray(t.shape)) {
        throw new CranberriesError('INTERNAL', `${label}: malformed signature from the Python stub`);
      }
      return { name: t.name, datatype: t.datatype, shape: t.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)) };
    });
  };
  const signature = raw as { inputs?: unknown; outputs?: unknown };
  return { inputs: convert(signature.inputs), outputs: convert(signature.outputs) };
}
