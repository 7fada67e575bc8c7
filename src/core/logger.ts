/**
 * Structured JSON logs (pino). One logger per process, children per component.
 */
import { pino, type Logger } from 'pino';

export type { Logger };
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function createLogger(level: LogLevel, name = 'cranberries'): Logger {
  return pino({ name, level, base: { pid: process.pid } });
}
