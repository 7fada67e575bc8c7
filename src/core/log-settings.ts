/**
 * The process's log output and its settings, changeable at run time (Triton's logging extension,
 * `GET/POST /v2/logging` and the gRPC `LogSettings` RPC).
 *
 * Every logger of the process writes through one `LogOutput`: it drops the levels that are
 * switched off and renders each record as a JSON line or as a human line (pino-pretty). Triton's
 * settings are independent switches (`log_info`, `log_warning`, `log_error`, `log_verbose_level`),
 * which a single pino threshold cannot express (info off, verbose on): the root logger's threshold
 * is the lowest level any switch lets through, so disabled levels below it cost nothing, and the
 * output filters the rest. Child loggers inherit the root's threshold through their prototype
 * (none of ours sets its own level), so a change reaches every existing child at once.
 */
import { pino, type Logger, type LevelWithSilent } from 'pino';
import { prettyFactory } from 'pino-pretty';
import { CranberriesError, invalidArgument } from './errors.js';
import { formatTextMessage } from './text-line.js';

export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Text on a terminal, JSON lines otherwise (a pipe, a file, a log collector). */
export function defaultLogFormat(stream: { readonly isTTY?: boolean | undefined }): LogFormat {
  return stream.isTTY === true ? 'text' : 'json';
}

/** Triton's log settings, as `GET /v2/logging` answers them. */
export interface LogSettingsSnapshot {
  /** Always "": logs go to standard output. */
  readonly log_file: string;
  readonly log_info: boolean;
  readonly log_warning: boolean;
  readonly log_error: boolean;
  readonly log_verbose_level: number;
  readonly log_format: LogFormat;
}

export const LOG_SETTING_NAMES = ['log_file', 'log_info', 'log_warning', 'log_error', 'log_verbose_level', 'log_format'] as const;

/** Which levels are written. `fatal` lines are written unless `--log-level silent` (or with log_error). */
interface LevelSwitches {
  info: boolean;
  warning: boolean;
  error: boolean;
  fatal: boolean;
  /** 0: no debug or trace; 1: debug; ≥ 2: debug and trace. */
  verboseLevel: number;
}

/** The switches of a `--log-level`: that level and every more severe one. */
export function switchesOf(level: LogLevel): LevelSwitches {
  const rank = LOG_LEVELS.indexOf(level);
  const on = (name: LogLevel): boolean => level !== 'silent' && LOG_LEVELS.indexOf(name) <= rank;
  return { info: on('info'), warning: on('warn'), error: on('error'), fatal: on('fatal'), verboseLevel: level === 'trace' ? 2 : level === 'debug' ? 1 : 0 };
}

/** Whether a record of pino level `level` (10 trace ... 60 fatal) is written. */
export function writes(switches: LevelSwitches, level: number): boolean {
  if (level >= 60) return switches.fatal || switches.error;
  if (level >= 50) return switches.error;
  if (level >= 40) return switches.warning;
  if (level >= 30) return switches.info;
  if (level >= 20) return switches.verboseLevel >= 1;
  return switches.verboseLevel >= 2;
}

/** The root logger's threshold: the lowest level written. */
export function thresholdOf(switches: LevelSwitches): LevelWithSilent {
  const candidates: [number, LevelWithSilent][] = [
    [10, 'trace'],
    [20, 'debug'],
    [30, 'info'],
    [40, 'warn'],
    [50, 'error'],
    [60, 'fatal'],
  ];
  return candidates.find(([n]) => writes(switches, n))?.[1] ?? 'silent';
}

/** One value of a settings change: any JSON value (REST; checked by `update`), or undefined for a gRPC SettingValue with no value set. */
export type LogSettingValue = unknown;

export interface LogOutputOptions {
  readonly level: LogLevel;
  readonly format: LogFormat;
  /** Where lines go. Default: standard output. */
  readonly destination?: { write(text: string): unknown } | undefined;
  /** Colour the text format. Default: when the destination is standard output on a terminal and NO_COLOR is unset. */
  readonly colors?: boolean | undefined;
}

/**
 * The destination every logger of the process writes to. pino hands it each record's level before
 * the line (`needsMetadataGsym`), which is how it drops the levels that are off.
 */
export class LogOutput {
  readonly [pino.symbols.needsMetadataGsym] = true as const;
  lastLevel = 0;
  lastTime = '';
  lastMsg = '';
  lastObj: object = {};
  lastLogger: Logger | undefined;
  /** The settings of this output; set once by `createRootLogger`. */
  settings!: LogSettings;
  private readonly destination: { write(text: string): unknown };
  private readonly pretty: (line: string) => string;

  constructor(options: LogOutputOptions) {
    this.destination = options.destination ?? pino.destination({ dest: 1, sync: false });
    const colors = options.colors ?? (options.destination === undefined && process.stdout.isTTY === true && !process.env['NO_COLOR']);
    this.pretty = prettyFactory({
      colorize: colors,
      translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
      ignore: 'pid,hostname,name',
      hideObject: true,
      // `2026-01-31 12:00:00.000 INFO: message`, without brackets around the time.
      customPrettifiers: { time: (time) => (typeof time === 'string' ? time : JSON.stringify(time)) },
      messageFormat: (log, _messageKey, _levelLabel, extras) => formatTextMessage(log, colors ? extras.colors : undefined),
    });
  }

  write(line: string): void {
    if (!writes(this.settings.switches, this.lastLevel)) return;
    this.destination.write(this.settings.format === 'json' ? line : this.pretty(line));
  }

  flush(): void {
    const destination = this.destination as { flush?: () => void };
    destination.flush?.();
  }

  flushSync(): void {
    const destination = this.destination as { flushSync?: () => void };
    destination.flushSync?.();
  }
}

/** The run-time log settings of one process (its root logger and every child of it). */
export class LogSettings {
  switches: LevelSwitches;
  format: LogFormat;

  constructor(
    private readonly root: Logger,
    level: LogLevel,
    format: LogFormat,
  ) {
    this.switches = switchesOf(level);
    this.format = format;
  }

  snapshot(): LogSettingsSnapshot {
    const s = this.switches;
    return { log_file: '', log_info: s.info, log_warning: s.warning, log_error: s.error, log_verbose_level: s.verboseLevel, log_format: this.format };
  }

  /**
   * Applies a change (only the settings it names; null leaves a setting as it is) and answers
   * every setting. All-or-nothing: one refused setting leaves every setting unchanged.
   */
  update(changes: Readonly<Record<string, LogSettingValue>>): LogSettingsSnapshot {
    const next: LevelSwitches = { ...this.switches };
    let format = this.format;
    for (const [name, value] of Object.entries(changes)) {
      if (!(LOG_SETTING_NAMES as readonly string[]).includes(name)) {
        throw invalidArgument(`unknown log setting '${name.slice(0, 64)}'${name.length > 64 ? '…' : ''}; the settings are ${LOG_SETTING_NAMES.join(', ')}`);
      }
      if (name === 'log_file') {
        // As Triton: the file is chosen at startup only (here: standard output, always).
        if (value !== null) throw new CranberriesError('UNIMPLEMENTED', 'log file location can not be updated through network protocol');
        continue;
      }
      if (value === null) continue;
      switch (name) {
        case 'log_info':
        case 'log_warning':
        case 'log_error': {
          if (typeof value !== 'boolean') throw invalidArgument(`expect boolean for '${name}'`);
          if (name === 'log_info') next.info = value;
          else if (name === 'log_warning') next.warning = value;
          else next.error = value;
          break;
        }
        case 'log_verbose_level':
          if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffffffff) {
            throw invalidArgument(`expect a whole number from 0 to ${0xffffffff} for 'log_verbose_level'`);
          }
          next.verboseLevel = value;
          break;
        case 'log_format':
          if (typeof value !== 'string') throw invalidArgument(`expect string for 'log_format'`);
          if (!(LOG_FORMATS as readonly string[]).includes(value)) {
            throw invalidArgument(`invalid argument for log_format, got: ${JSON.stringify(value.slice(0, 40))}; the formats are ${LOG_FORMATS.join(', ')}`);
          }
          format = value as LogFormat;
          break;
      }
    }
    this.switches = next;
    this.format = format;
    this.root.level = thresholdOf(next);
    const snapshot = this.snapshot();
    const changed = Object.keys(changes).filter((name) => changes[name] !== null && name !== 'log_file');
    if (changed.length > 0) {
      const said = changed.map((name) => `${name}=${String(snapshot[name as keyof LogSettingsSnapshot])}`).join(' ');
      this.root.info({ settings: snapshot }, `log settings changed: ${said}`);
    }
    return snapshot;
  }
}

export interface RootLoggerOptions extends LogOutputOptions {
  readonly name?: string | undefined;
}

/** The process's root logger, writing through a new `LogOutput` whose settings it carries. */
export function createRootLogger(options: RootLoggerOptions): Logger {
  const output = new LogOutput(options);
  const root = pino({ name: options.name ?? 'cranberries', level: 'trace', base: { pid: process.pid } }, output);
  output.settings = new LogSettings(root, options.level, options.format);
  root.level = thresholdOf(output.settings.switches);
  return root;
}

/** The run-time settings of a logger made by `createRootLogger` (or a child of one); undefined for any other logger. */
export function logSettingsOf(logger: Logger | undefined): LogSettings | undefined {
  if (logger === undefined) return undefined;
  const stream = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym];
  return stream instanceof LogOutput ? stream.settings : undefined;
}
