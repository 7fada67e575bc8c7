/**
 * Messages between the main thread and a JavaScript model's worker thread (`module-worker.ts`).
 * Numeric tensor buffers travel in the transfer list, as with ONNX sessions (`transferableTensors`).
 */
import type { Tensor } from '../../tensors/index.js';
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

export type ToModule = { readonly kind: 'run'; readonly id: number; readonly requests: readonly (readonly Tensor[])[]; readonly outputs: readonly string[] } | { readonly kind: 'finalize' };

/** An error thrown by the module: its message and, when it names one, its code (see the contract). */
export interface ModuleError {
  readonly message: string;
  readonly code: 'INVALID_ARGUMENT' | 'INTERNAL';
}

export type FromModule =
  | { readonly kind: 'loaded' }
  | { readonly kind: 'loadFailed'; readonly message: string }
  | { readonly kind: 'result'; readonly id: number; readonly outputs: readonly Tensor[]; readonly inferNs: number; readonly outputNs: number }
  | { readonly kind: 'runFailed'; readonly id: number; readonly error: ModuleError }
  | { readonly kind: 'finalized'; readonly error?: string | undefined };

/** Longest module error message passed on to a client (module messages may echo inputs). */
export const MAX_MODULE_MESSAGE = 1000;

export function boundedMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.length > MAX_MODULE_MESSAGE ? `${text.slice(0, MAX_MODULE_MESSAGE)}…` : text;
}
