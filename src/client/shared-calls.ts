/**
 * What both transports do the same way: deadlines and cancellation, version strings, load
 * parameters, and turning protocol documents (metadata, statistics, repository index) into the
 * client's typed shapes. The documents arrive as JSON (REST) or as decoded protobuf objects with
 * 64-bit integers as decimal strings (gRPC); the parsers accept both.
 */
import type {
  BatchStatistics,
  InferOptions,
  InferStatistics,
  LoadModelOptions,
  ModelIndexEntry,
  ModelMetadata,
  ModelStatistics,
  RequestedOutput,
  ServerMetadata,
  StatisticDuration,
  TensorMetadata,
} from './client-types.js';
import { InferenceServerError, clientArgumentError, malformedResponse } from './inference-server-error.js';

/** `version` option → wire string ('' = the server's choice); only decimal version numbers are valid. */
export function modelVersion(version: string | number | undefined): string {
  if (version === undefined || version === '') return '';
  const text = String(version);
  if (!/^[0-9]+$/.test(text)) throw clientArgumentError(`version '${text}' is not a version number (a non-negative decimal integer)`);
  return text;
}

/** Requested outputs as specs, checked. */
export function normalizeOutputs(outputs: InferOptions['outputs']): RequestedOutput[] | undefined {
  if (outputs === undefined) return undefined;
  return outputs.map((output) => {
    const spec = typeof output === 'string' ? { name: output } : output;
    if (!spec.name) throw clientArgumentError('a requested output has no name');
    const k = spec.classification;
    if (k !== undefined && (!Number.isSafeInteger(k) || k < 1)) {
      throw clientArgumentError(`output '${spec.name}': classification must be an integer >= 1, got ${k}`);
    }
    return spec;
  });
}

/** Load parameters as the protocol names them: `config` (JSON text) and `file:<version>/<name>` (bytes). */
export function loadParameters(model: string, options: LoadModelOptions): Record<string, string | Uint8Array> {
  const parameters: Record<string, string | Uint8Array> = {};
  if (options.config !== undefined) parameters['config'] = typeof options.config === 'string' ? options.config : JSON.stringify(options.config);
  for (const [path, bytes] of Object.entries(options.files ?? {})) {
    if (!(bytes instanceof Uint8Array)) throw clientArgumentError(`loadModel('${model}'): file '${path}' must be a Uint8Array`);
    parameters[`file:${path}`] = bytes;
  }
  return parameters;
}

/**
 * Runs `call` with a signal that fires at the deadline or when the caller aborts, and turns what
 * goes wrong below the protocol (timeouts, aborts, refused or reset connections) into
 * InferenceServerErrors: DEADLINE_EXCEEDED, CANCELLED, UNAVAILABLE.
 */
export async function withDeadline<T>(timeoutMs: number | undefined, signal: AbortSignal | undefined, what: string, call: (signal: AbortSignal | undefined) => Promise<T>): Promise<T> {
  if (signal?.aborted) throw new InferenceServerError('CANCELLED', `${what}: cancelled by the caller`);
  // A plain (ref'd) timer rather than AbortSignal.timeout, whose unref'd timer lets a process exit mid-call.
  const deadline = timeoutMs === undefined ? undefined : new AbortController();
  const timer = deadline === undefined ? undefined : setTimeout(() => deadline.abort(), timeoutMs);
  const signals = [deadline?.signal, signal].filter((s): s is AbortSignal => s !== undefined);
  const combined = signals.length === 0 ? undefined : signals.length === 1 ? signals[0] : AbortSignal.any(signals);
  try {
    return await call(combined);
  } catch (error) {
    if (error instanceof InferenceServerError) throw error;
    if (deadline?.signal.aborted) throw new InferenceServerError('DEADLINE_EXCEEDED', `${what}: no answer within ${timeoutMs} ms`, { cause: error });
    if (signal?.aborted) throw new InferenceServerError('CANCELLED', `${what}: cancelled by the caller`, { cause: error });
    const code = (error as { code?: unknown }).code;
    const detail = error instanceof Error ? error.message || String(code) : String(error);
    throw new InferenceServerError('UNAVAILABLE', `${what}: cannot reach the server (${detail})`, { cause: error });
  } finally {
    clearTimeout(timer);
  }
}

function record(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw malformedResponse(`${what} is not an object`);
  return value as Record<string, unknown>;
}

function list(value: unknown, what: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw malformedResponse(`${what} is not a list`);
  return value;
}

/** A count as JSON number or int64 decimal string → number (exact below 2^53). */
function count(value: unknown, what: string): number {
  if (value === undefined || value === null || value === '') return 0;
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
  if (!Number.isFinite(n)) throw malformedResponse(`${what} is not a number: ${JSON.stringify(value)}`);
  return n;
}

function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  return value === undefined || value === null ? '' : JSON.stringify(value);
}

export function parseServerMetadata(value: unknown): ServerMetadata {
  const json = record(value, 'server metadata');
  return { name: text(json['name']), version: text(json['version']), extensions: list(json['extensions'], 'extensions').map(text) };
}

function tensorMetadata(value: unknown, what: string): TensorMetadata {
  const tensor = record(value, what);
  return {
    name: text(tensor['name']),
    datatype: text(tensor['datatype']),
    shape: list(tensor['shape'], `${what}.shape`).map((dim, i) => count(dim, `${what}.shape[${i}]`)),
  };
}

export function parseModelMetadata(value: unknown): ModelMetadata {
  const json = record(value, 'model metadata');
  return {
    name: text(json['name']),
    versions: list(json['versions'], 'versions').map(text),
    platform: text(json['platform']),
    inputs: list(json['inputs'], 'inputs').map((t, i) => tensorMetadata(t, `inputs[${i}]`)),
    outputs: list(json['outputs'], 'outputs').map((t, i) => tensorMetadata(t, `outputs[${i}]`)),
  };
}

function duration(value: unknown, what: string): StatisticDuration {
  if (value === undefined || value === null) return { count: 0, ns: 0 };
  const json = record(value, what);
  return { count: count(json['count'], `${what}.count`), ns: count(json['ns'], `${what}.ns`) };
}

const INFER_STATS = ['success', 'fail', 'queue', 'compute_input', 'compute_infer', 'compute_output', 'cache_hit', 'cache_miss'] as const;

function modelStatistics(value: unknown, index: number): ModelStatistics {
  const what = `model_stats[${index}]`;
  const json = record(value, what);
  const inference = json['inference_stats'] === undefined || json['inference_stats'] === null ? {} : record(json['inference_stats'], `${what}.inference_stats`);
  const inferenceStats = Object.fromEntries(INFER_STATS.map((key) => [key, duration(inference[key], `${what}.inference_stats.${key}`)])) as unknown as InferStatistics;
  const batchStats = list(json['batch_stats'], `${what}.batch_stats`).map((entry, i): BatchStatistics => {
    const batch = record(entry, `${what}.batch_stats[${i}]`);
    return {
      batch_size: count(batch['batch_size'], 'batch_size'),
      compute_input: duration(batch['compute_input'], 'compute_input'),
      compute_infer: duration(batch['compute_infer'], 'compute_infer'),
      compute_output: duration(batch['compute_output'], 'compute_output'),
    };
  });
  return {
    name: text(json['name']),
    version: text(json['version']),
    last_inference: count(json['last_inference'], `${what}.last_inference`),
    inference_count: count(json['inference_count'], `${what}.inference_count`),
    execution_count: count(json['execution_count'], `${what}.execution_count`),
    inference_stats: inferenceStats,
    batch_stats: batchStats,
  };
}

export function parseStatistics(value: unknown): ModelStatistics[] {
  return list(record(value, 'statistics')['model_stats'], 'model_stats').map(modelStatistics);
}

/** REST gives a JSON array, gRPC a `models` list whose unset strings are empty: both end up alike. */
export function parseIndexEntries(value: unknown): ModelIndexEntry[] {
  return list(value, 'repository index').map((item, i) => {
    const json = record(item, `repository index[${i}]`);
    const entry: { name: string; version?: string; state?: string; reason?: string } = { name: text(json['name']) };
    for (const key of ['version', 'state', 'reason'] as const) {
      const field = text(json[key]);
      if (field !== '') entry[key] = field;
    }
    return entry;
  });
}
