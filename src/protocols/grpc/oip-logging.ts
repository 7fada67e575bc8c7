/**
 * Triton's logging extension over gRPC: `LogSettings` changes the settings its request names and
 * answers them all. Each value must be of the type Triton expects (`bool_param` for log_info,
 * log_warning and log_error, `uint32_param` for log_verbose_level, `string_param` for log_format),
 * else INVALID_ARGUMENT; naming `log_file` is UNIMPLEMENTED, as Triton answers it.
 */
import { CranberriesError } from '../../core/index.js';
import type { LogSettings, LogSettingsSnapshot, LogSettingValue } from '../../core/index.js';

type SettingChoice = 'bool_param' | 'uint32_param' | 'string_param';

export interface WireLogSettingValue {
  bool_param?: boolean;
  uint32_param?: number;
  string_param?: string;
  parameter_choice?: SettingChoice | undefined;
}

export interface WireLogSettings {
  settings?: Record<string, WireLogSettingValue> | undefined;
}

/** The type each setting takes on the wire. */
const EXPECTED: Readonly<Record<string, SettingChoice>> = {
  log_info: 'bool_param',
  log_warning: 'bool_param',
  log_error: 'bool_param',
  log_verbose_level: 'uint32_param',
  log_format: 'string_param',
};

function valueOf(name: string, wire: WireLogSettingValue): LogSettingValue {
  const expected = EXPECTED[name];
  if (expected === undefined) return wire.parameter_choice === undefined ? undefined : wire[wire.parameter_choice];
  if (wire.parameter_choice !== expected) {
    const what = expected === 'bool_param' ? 'boolean' : expected === 'uint32_param' ? 'uint32' : 'string';
    throw new CranberriesError('INVALID_ARGUMENT', `expect ${what} for '${name}'`);
  }
  return wire[expected];
}

function encode(snapshot: LogSettingsSnapshot): WireLogSettings {
  return {
    settings: {
      log_file: { string_param: snapshot.log_file, parameter_choice: 'string_param' },
      log_info: { bool_param: snapshot.log_info, parameter_choice: 'bool_param' },
      log_warning: { bool_param: snapshot.log_warning, parameter_choice: 'bool_param' },
      log_error: { bool_param: snapshot.log_error, parameter_choice: 'bool_param' },
      log_verbose_level: { uint32_param: snapshot.log_verbose_level, parameter_choice: 'uint32_param' },
      log_format: { string_param: snapshot.log_format, parameter_choice: 'string_param' },
    },
  };
}

export function handleLogSettings(settings: LogSettings, request: WireLogSettings): WireLogSettings {
  const changes: Record<string, LogSettingValue> = {};
  for (const [name, wire] of Object.entries(request.settings ?? {})) {
    // log_file is refused whatever its value (the settings object refuses any non-null one).
    changes[name] = name === 'log_file' ? (wire.parameter_choice === undefined ? '' : (wire[wire.parameter_choice] ?? '')) : valueOf(name, wire);
  }
  return encode(settings.update(changes));
}
