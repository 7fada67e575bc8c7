/**
 * What a JavaScript model's worker thread (`module-worker.ts`) is started with and reports, in the
 * shared instance-thread messages (`../instance-thread`).
 */
import type { ModelConfig } from '../../repository/index.js';

export interface ModuleWorkerData {
  /** Absolute path of `<version>/model.mjs`. */
  readonly modulePath: string;
  readonly config: ModelConfig;
  readonly version: string;
  /** The version folder (where the module's own files sit). */
  readonly folder: string;
  /** `parameters` of the config as plain strings. */
  readonly parameters: Readonly<Record<string, string>>;
}

/** An error thrown by the module: its message and, when it names one, its code (see the contract). */
export interface ModuleError {
  readonly message: string;
  readonly code: 'INVALID_ARGUMENT' | 'INTERNAL';
}

export interface ModuleProtocol {
  readonly data: ModuleWorkerData;
  readonly loaded: undefined;
  /** What `finalize` threw, if it threw. */
  readonly released: string | undefined;
  readonly runError: ModuleError;
}

/** Longest module error message passed on to a client (module messages may echo inputs). */
export const MAX_MODULE_MESSAGE = 1000;

export function boundedMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.length > MAX_MODULE_MESSAGE ? `${text.slice(0, MAX_MODULE_MESSAGE)}…` : text;
}
