/**
 * The trace extension's setting calls, shared by REST (`GET/POST /v2[/models/{m}]/trace/setting`)
 * and gRPC (`TraceSetting`): both reduce their request to a map of raw values, and both answer
 * the setting as Triton does (every value a string, `trace_level` a list).
 */
import { clip, CranberriesError, invalidArgument } from '../core/index.js';
import { parseTraceUpdate, type RawSettingValue } from './trace-settings.js';
import type { Tracer } from './tracer.js';

/** What the trace-setting calls need of the inference service (`InferenceService` satisfies it). */
export interface TraceSettingService {
  readonly tracer?: Tracer | undefined;
  modelReady(model: string, version?: number): boolean;
}

/**
 * Reads (settings undefined) or updates and reads the settings of `model` (undefined: global).
 * A model must be READY (Triton: INVALID_ARGUMENT `Request for unknown model : <m>`).
 */
export function traceSettingCall(service: TraceSettingService, model: string | undefined, settings: ReadonlyMap<string, RawSettingValue> | undefined): Record<string, string | string[]> {
  const tracer = service.tracer;
  if (!tracer) throw new CranberriesError('UNAVAILABLE', 'the server does not support tracing');
  if (model !== undefined && !service.modelReady(model)) throw invalidArgument(`Request for unknown model : ${clip(model, 256)}`);
  if (settings !== undefined) tracer.update(model, parseTraceUpdate(settings));
  return tracer.response(model);
}

/**
 * A REST body's settings: `null` clears, a string (or an integer) sets, and `trace_level` also
 * takes a list of strings. Names the extension does not define are ignored, as in Triton.
 */
export function restSettingValues(body: Readonly<Record<string, unknown>>): Map<string, RawSettingValue> {
  const settings = new Map<string, RawSettingValue>();
  for (const [name, value] of Object.entries(body)) {
    if (!KNOWN_SETTINGS.has(name)) continue;
    if (value === null) settings.set(name, null);
    else if (typeof value === 'string') settings.set(name, [value]);
    else if (typeof value === 'number' && Number.isSafeInteger(value)) settings.set(name, [String(value)]);
    else if (name === 'trace_level' && Array.isArray(value) && value.every((v): v is string => typeof v === 'string')) settings.set(name, value);
    else throw invalidArgument(name === 'trace_level' ? `'trace_level' must be a list of strings or null` : `'${name}' must be a string or null`);
  }
  return settings;
}

const KNOWN_SETTINGS = new Set(['trace_level', 'trace_rate', 'trace_count', 'log_frequency', 'trace_file']);
