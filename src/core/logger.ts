/**
 * Logs (pino): one root logger per process, children per component. JSON lines, or human lines
 * when asked (`--log-format text`, the default on a terminal); level and format change at run time
 * through the logging extension (`core/log-settings.ts`).
 */
import type { Logger } from 'pino';
import { createRootLogger, defaultLogFormat, type LogFormat, type LogLevel } from './log-settings.js';

export type { Logger };
export { LOG_LEVELS, LOG_FORMATS, type LogLevel, type LogFormat } from './log-settings.js';

export function createLogger(level: LogLevel, name = 'cranberries', format: LogFormat = defaultLogFormat(process.stdout)): Logger {
  return createRootLogger({ level, format, name });
}
