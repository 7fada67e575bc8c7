/**
 * Trace settings as Triton keeps them (its `TraceManager`): one global setting, optional per-model
 * settings, and for each setting which fields were given explicitly. A field a model setting does
 * not give follows the global setting, also when the global setting changes later; clearing a
 * field (JSON `null`, or an empty value list over gRPC) makes it follow again, and a model setting
 * left with no explicit field is removed. Clearing a global field restores its startup value.
 *
 * Every update replaces the setting object instead of changing it, so its sampling counters start
 * over (as in Triton) and traces already sampled keep the setting they were sampled under.
 */
import { CranberriesError, invalidArgument, clip } from '../core/index.js';

export type TraceMode = 'triton' | 'opentelemetry';
/** Trace levels that can be set; an empty list means OFF. */
export type TraceLevel = 'TIMESTAMPS' | 'TENSORS';

export const TRACE_LEVELS: readonly TraceLevel[] = ['TIMESTAMPS', 'TENSORS'];
/** Triton's `TraceManager::MIN_TRACE_COUNT_VALUE`: -1 = no limit. */
export const MIN_TRACE_COUNT = -1;
const UINT32_MAX = 4_294_967_295;
const INT32_MAX = 2_147_483_647;

/** The fields a client may set, and how they are answered. */
export interface TraceValues {
  readonly levels: readonly TraceLevel[];
  /** One of every `rate` requests is traced; 0 samples none (only propagated OpenTelemetry contexts). */
  readonly rate: number;
  /** Traces still to collect; -1 = unlimited. */
  readonly count: number;
  /** Triton mode: write `<file>.<n>` every this many traces; 0 = write `<file>` at shutdown. */
  readonly logFrequency: number;
  readonly file: string;
}

/** A change: a value sets the field, `null` clears it (the field follows its fallback again). */
export interface TraceUpdate {
  levels?: readonly TraceLevel[] | null;
  rate?: number | null;
  count?: number | null;
  logFrequency?: number | null;
}

type Field = 'levels' | 'rate' | 'count' | 'logFrequency';
const FIELDS: readonly Field[] = ['levels', 'rate', 'count', 'logFrequency'];

/**
 * One setting object. The sampling counters live here, so a new object (after an update) samples
 * from scratch. `count` goes down as traces are sampled; GET answers the remaining count.
 */
export class TraceSetting {
  readonly levels: readonly TraceLevel[];
  readonly rate: number;
  count: number;
  readonly logFrequency: number;
  readonly file: string;
  readonly mode: TraceMode;
  /** Why nothing is sampled under this setting, or undefined when it samples. */
  readonly invalidReason: string | undefined;
  readonly timestamps: boolean;
  readonly tensors: boolean;
  /** Requests seen under this setting (Triton's `sample_`). */
  private seen = 0;

  constructor(
    values: TraceValues,
    mode: TraceMode,
    /** Fields given explicitly (for model settings: the others follow the global setting). */
    readonly specified: ReadonlySet<Field>,
  ) {
    this.levels = values.levels;
    this.rate = values.rate;
    this.count = values.count;
    this.logFrequency = values.logFrequency;
    this.file = values.file;
    this.mode = mode;
    this.timestamps = values.levels.includes('TIMESTAMPS');
    this.tensors = values.levels.includes('TENSORS');
    if (values.levels.length === 0) this.invalidReason = 'tracing is disabled';
    else if (values.rate === 0) this.invalidReason = 'sample rate must be non-zero';
    else if (mode === 'triton' && values.file === '') this.invalidReason = 'trace file name is not given';
    else this.invalidReason = undefined;
  }

  get values(): TraceValues {
    return { levels: this.levels, rate: this.rate, count: this.count, logFrequency: this.logFrequency, file: this.file };
  }

  /** Whether a context propagated by the client forces a trace (OpenTelemetry mode, tracing on). */
  get followsPropagation(): boolean {
    return this.mode === 'opentelemetry' && this.levels.length > 0;
  }

  /**
   * Triton's `TraceSetting::SampleTrace`: every `rate`-th request is traced while `count` allows;
   * `force` (a propagated context) traces regardless of rate and count.
   */
  sample(force: boolean): boolean {
    let hit = false;
    if (this.rate !== 0) {
      if (this.invalidReason !== undefined && !force) return false;
      hit = ++this.seen % this.rate === 0;
      if (hit && this.count > 0) this.count--;
      else if (hit && this.count === 0) hit = false;
    }
    return hit || force;
  }
}

/** The global setting and the per-model ones, with Triton's fallback rules. */
export class TraceSettings {
  private readonly startup: TraceSetting;
  private global: TraceSetting;
  private readonly models = new Map<string, TraceSetting>();
  /** Listeners told about every replaced setting (the trace file flushes what it collected). */
  private readonly replaced: ((old: TraceSetting) => void)[] = [];

  /** True when any setting may sample (checked first on every request, so OFF costs one read). */
  active: boolean;

  constructor(
    initial: TraceValues,
    readonly mode: TraceMode,
  ) {
    this.startup = new TraceSetting(initial, mode, new Set());
    this.global = new TraceSetting(initial, mode, new Set());
    this.active = this.global.invalidReason === undefined || this.global.followsPropagation;
  }

  onReplaced(listener: (old: TraceSetting) => void): void {
    this.replaced.push(listener);
  }

  /** The setting a request for `model` is sampled under. */
  settingFor(model: string): TraceSetting {
    return this.models.size === 0 ? this.global : (this.models.get(model) ?? this.global);
  }

  /** Every setting in use (for flushing at shutdown). */
  all(): TraceSetting[] {
    return [this.global, ...this.models.values()];
  }

  /** Applies `update` to the global setting (model undefined) or to `model`'s. */
  update(model: string | undefined, update: TraceUpdate): void {
    if (model === undefined) {
      this.replace(undefined, this.build(this.global, this.startup, update));
      // Model settings that follow the global one for some fields take its new values.
      for (const [name, setting] of [...this.models]) {
        if (setting.specified.size < FIELDS.length) this.replace(name, this.build(setting, this.global, {}));
      }
    } else {
      const current = this.models.get(model);
      const next = this.build(current, this.global, update);
      if (next.specified.size === 0) {
        if (current) {
          this.models.delete(model);
          this.retire(current);
        }
      } else {
        this.replace(model, next);
      }
    }
    this.active = this.all().some((s) => s.invalidReason === undefined || s.followsPropagation);
  }

  /** Triton's `UpdateTraceSettingInternal`: fallback values, overridden by specified ones. */
  private build(current: TraceSetting | undefined, fallback: TraceSetting, update: TraceUpdate): TraceSetting {
    const specified = new Set<Field>();
    const values: { -readonly [K in keyof TraceValues]: TraceValues[K] } = { ...fallback.values };
    for (const field of FIELDS) {
      const change = update[field];
      if (change === null) continue;
      if (change !== undefined) {
        specified.add(field);
        (values as Record<Field, unknown>)[field] = change;
      } else if (current?.specified.has(field)) {
        specified.add(field);
        (values as Record<Field, unknown>)[field] = current.values[field];
      }
    }
    const setting = new TraceSetting(values, this.mode, specified);
    // The only invalid setting allowed is one that turns tracing off.
    if (setting.invalidReason !== undefined && setting.levels.length > 0) {
      throw invalidArgument(`Attempting to set invalid trace setting :${setting.invalidReason}`);
    }
    return setting;
  }

  private replace(model: string | undefined, next: TraceSetting): void {
    const old = model === undefined ? this.global : this.models.get(model);
    if (model === undefined) this.global = next;
    else this.models.set(model, next);
    if (old) this.retire(old);
  }

  private retire(old: TraceSetting): void {
    for (const listener of this.replaced) listener(old);
  }
}

/** A setting's answer: Triton's `$trace_setting_response` (every value a string or string list). */
export function settingResponse(setting: TraceSetting, options: Readonly<Record<string, string>>): Record<string, string | string[]> {
  const answer: Record<string, string | string[]> = {
    trace_level: setting.levels.length === 0 ? ['OFF'] : [...setting.levels],
    trace_rate: String(setting.rate),
    trace_count: String(setting.count),
  };
  if (setting.mode === 'triton') {
    answer['log_frequency'] = String(setting.logFrequency);
    answer['trace_file'] = setting.file;
  }
  answer['trace_mode'] = setting.mode;
  for (const [key, value] of Object.entries(options)) answer[key] = value;
  return answer;
}

/**
 * One setting of a request, as the protocols carry it: REST gives a JSON value (a string, a list
 * of strings for `trace_level`, or null), gRPC a list of strings (empty = clear). Both reduce to a
 * list of strings or null.
 */
export type RawSettingValue = readonly string[] | null;

/** Validates a request's settings into an update, with Triton's messages. Unknown names are ignored, as in Triton. */
export function parseTraceUpdate(settings: ReadonlyMap<string, RawSettingValue>): TraceUpdate {
  const update: TraceUpdate = {};
  if (settings.has('trace_file')) {
    throw new CranberriesError('UNIMPLEMENTED', 'trace file location can not be updated through network protocol');
  }
  const levels = settings.get('trace_level');
  if (levels !== undefined) update.levels = levels === null ? null : parseLevels(levels);
  const rate = settings.get('trace_rate');
  if (rate !== undefined) update.rate = rate === null ? null : parseInteger('trace_rate', single('trace_rate', rate), 0, UINT32_MAX);
  const count = settings.get('trace_count');
  if (count !== undefined) update.count = count === null ? null : parseInteger('trace_count', single('trace_count', count), MIN_TRACE_COUNT, INT32_MAX);
  const frequency = settings.get('log_frequency');
  if (frequency !== undefined) {
    update.logFrequency = frequency === null ? null : parseInteger('log_frequency', single('log_frequency', frequency), 0, UINT32_MAX);
  }
  return update;
}

export function parseLevels(values: readonly string[]): TraceLevel[] {
  const levels = new Set<TraceLevel>();
  for (const value of values) {
    if (value === 'OFF') {
      if (values.length !== 1) throw invalidArgument("Expect only one trace level 'OFF' is specified");
    } else if (value === 'TIMESTAMPS' || value === 'TENSORS') {
      levels.add(value);
    } else {
      throw invalidArgument(`unknown trace level '${clip(value, 64)}': expected OFF, TIMESTAMPS or TENSORS`);
    }
  }
  return TRACE_LEVELS.filter((level) => levels.has(level));
}

function single(name: string, values: readonly string[]): string {
  if (values.length !== 1) throw invalidArgument(`expect only 1 value for '${name}'`);
  return values[0]!;
}

export function parseInteger(name: string, text: string, min: number, max: number): number {
  const trimmed = text.trim();
  if (!/^[+-]?\d+$/.test(trimmed)) throw invalidArgument(`Unable to parse '${name}', got: ${clip(text, 64)}`);
  const value = Number(trimmed);
  if (value < min || value > max) {
    throw invalidArgument(`Unable to parse '${name}', value is out of range [ ${min}, ${max} ], got: ${clip(text, 64)}`);
  }
  return value;
}
