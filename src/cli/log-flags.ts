/** `--log-format`, shared by every command that logs (serve, worker, controller, gateway, cluster up). */
import { Option } from 'commander';
import { defaultLogFormat, LOG_FORMATS, type LogFormat } from '../core/index.js';

export interface LogFormatFlags {
  logFormat: LogFormat;
}

export function logFormatOption(): Option {
  return new Option('--log-format <format>', 'text: human-readable lines (coloured on a terminal); json: one JSON object a line')
    .choices(LOG_FORMATS)
    .default(defaultLogFormat(process.stdout), 'text on a terminal, json otherwise');
}
