/**
 * `--trace-config`, as Triton's command line has it: `--trace-config <setting>=<value>` for the
 * global settings (`level`, `rate`, `count`, `mode`) and `--trace-config <mode>,<setting>=<value>`
 * for a mode's own (`triton,file=`, `triton,log-frequency=`, `opentelemetry,url=`,
 * `opentelemetry,resource=<key>=<value>`, `opentelemetry,bsp_max_queue_size=`,
 * `opentelemetry,bsp_schedule_delay=`, `opentelemetry,bsp_max_export_batch_size=`). Repeatable;
 * `level` accumulates (TIMESTAMPS and TENSORS), a later value of any other setting wins.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { OPENTELEMETRY_DEFAULTS, type OpenTelemetryOptions } from './otel-export.js';
import { parseInteger, parseLevels, MIN_TRACE_COUNT, TRACE_LEVELS, type TraceLevel, type TraceMode, type TraceValues } from './trace-settings.js';
import type { TracerOptions } from './tracer.js';

const UINT32_MAX = 4_294_967_295;
const INT32_MAX = 2_147_483_647;

export interface TraceFlags {
  traceConfig: string[];
}

export interface TraceConfigEntry {
  /** Empty for a global setting. */
  readonly mode: '' | TraceMode;
  readonly setting: string;
  readonly value: string;
}

export function addTraceFlags(command: Command): Command {
  return command.option(
    '--trace-config <[mode,]setting=value>',
    'request tracing, as Triton: level=OFF|TIMESTAMPS|TENSORS (default OFF), rate=<n> (default 1000), count=<n> (default -1 = no limit), ' +
      'mode=triton|opentelemetry (default triton), triton,file=<path>, triton,log-frequency=<n> (default 0), opentelemetry,url=<OTLP/HTTP url> ' +
      `(default ${OPENTELEMETRY_DEFAULTS.url}), opentelemetry,resource=<key>=<value>, opentelemetry,bsp_max_queue_size=<n> (also bsp_schedule_delay, bsp_max_export_batch_size) (repeatable)`,
    (value: string, previous: string[]) => {
      parseTraceConfigEntry(value);
      return [...previous, value];
    },
    [] as string[],
  );
}

/** One `--trace-config` value; throws commander's InvalidArgumentError with Triton's wording. */
export function parseTraceConfigEntry(arg: string): TraceConfigEntry {
  const comma = arg.indexOf(',');
  const equals = arg.indexOf('=', comma + 1);
  let mode: '' | TraceMode = '';
  if (comma === 0) throw new InvalidArgumentError(`No trace mode specified. --trace-config option format is <trace mode>,<setting>=<value> or <setting>=<value>. Got ${arg}`);
  if (comma > 0 && (equals < 0 || comma < equals)) mode = parseMode(arg.slice(0, comma));
  const settingStart = mode === '' ? 0 : comma + 1;
  const setting = equals < 0 ? '' : arg.slice(settingStart, equals);
  const value = equals < 0 ? '' : arg.slice(equals + 1);
  if (setting === '' || value === '') throw new InvalidArgumentError(`--trace-config option format is '<trace mode>,<setting>=<value>'. Got ${arg}`);
  const known = mode === '' ? GLOBAL_SETTINGS : mode === 'triton' ? TRITON_SETTINGS : OPENTELEMETRY_SETTINGS;
  if (!known.includes(setting)) {
    throw new InvalidArgumentError(`unknown --trace-config setting '${mode === '' ? '' : `${mode},`}${setting}': expected ${known.map((s) => (mode === '' ? s : `${mode},${s}`)).join(', ')}`);
  }
  return { mode, setting, value };
}

const GLOBAL_SETTINGS = ['level', 'rate', 'count', 'mode'];
const TRITON_SETTINGS = ['file', 'log-frequency'];
const OPENTELEMETRY_SETTINGS = ['url', 'resource', 'bsp_max_queue_size', 'bsp_schedule_delay', 'bsp_max_export_batch_size'];

function parseMode(text: string): TraceMode {
  if (text === 'triton' || text === 'opentelemetry') return text;
  throw new InvalidArgumentError(`invalid value for trace mode option: ${text}. Available options are "triton" and "opentelemetry"`);
}

/**
 * The tracer's options from the flags (undefined: no `--trace-config` at all; tracing can still be
 * switched on at run time through the trace extension once a file is configured, so a server
 * always has a tracer). Environment variables `OTEL_BSP_*` give batch processor defaults, as in Triton.
 */
export function tracerOptionsFromFlags(entries: readonly string[], env: NodeJS.ProcessEnv = process.env): Omit<TracerOptions, 'onError'> {
  const levels = new Set<TraceLevel>();
  let explicitOff = false;
  let rate = 1000;
  let count = -1;
  let mode: TraceMode = 'triton';
  let file = '';
  let logFrequency = 0;
  const otel: { -readonly [K in keyof OpenTelemetryOptions]: OpenTelemetryOptions[K] } = {
    ...OPENTELEMETRY_DEFAULTS,
    resource: {},
    bspMaxQueueSize: envNumber(env, 'OTEL_BSP_MAX_QUEUE_SIZE', OPENTELEMETRY_DEFAULTS.bspMaxQueueSize),
    bspScheduleDelayMs: envNumber(env, 'OTEL_BSP_SCHEDULE_DELAY', OPENTELEMETRY_DEFAULTS.bspScheduleDelayMs),
    bspMaxExportBatchSize: envNumber(env, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE', OPENTELEMETRY_DEFAULTS.bspMaxExportBatchSize),
  };
  const resource: Record<string, string> = {};
  for (const arg of entries) {
    const { mode: scope, setting, value } = parseTraceConfigEntry(arg);
    const where = `--trace-config ${scope === '' ? '' : `${scope},`}${setting}`;
    const integer = (min: number, max: number): number => flagValue(where, () => parseInteger(setting, value, min, max));
    if (scope === '') {
      if (setting === 'level') {
        const parsed = flagValue(where, () => parseLevels([value]));
        if (parsed.length === 0) explicitOff = true;
        for (const level of parsed) levels.add(level);
      } else if (setting === 'rate') rate = integer(0, UINT32_MAX);
      else if (setting === 'count') count = integer(MIN_TRACE_COUNT, INT32_MAX);
      else mode = parseMode(value);
    } else if (scope === 'triton') {
      if (setting === 'file') file = value;
      else logFrequency = integer(0, UINT32_MAX);
    } else if (setting === 'url') otel.url = value;
    else if (setting === 'resource') {
      const equals = value.indexOf('=');
      if (equals <= 0) throw new InvalidArgumentError(`${where}: expected <key>=<value>, got '${value}'`);
      resource[value.slice(0, equals)] = value.slice(equals + 1);
    } else if (setting === 'bsp_max_queue_size') otel.bspMaxQueueSize = integer(1, UINT32_MAX);
    else if (setting === 'bsp_schedule_delay') otel.bspScheduleDelayMs = integer(0, UINT32_MAX);
    else otel.bspMaxExportBatchSize = integer(1, UINT32_MAX);
  }
  if (otel.bspMaxExportBatchSize > otel.bspMaxQueueSize) {
    throw new InvalidArgumentError(`--trace-config opentelemetry,bsp_max_export_batch_size (${otel.bspMaxExportBatchSize}) must not exceed bsp_max_queue_size (${otel.bspMaxQueueSize})`);
  }
  otel.resource = resource;
  const values: TraceValues = { levels: explicitOff && levels.size === 0 ? [] : TRACE_LEVELS.filter((level) => levels.has(level)), rate, count, logFrequency, file };
  if (values.levels.length > 0 && mode === 'triton' && file === '') {
    throw new InvalidArgumentError('--trace-config level=... in triton mode needs a trace file: add --trace-config triton,file=<path>');
  }
  return { mode, values, openTelemetry: otel };
}

function flagValue<T>(where: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new InvalidArgumentError(`Bad option: "${where}". ${(error as Error).message}`);
  }
}

function envNumber(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  return flagValue(name, () => parseInteger(name, text, 0, UINT32_MAX));
}
