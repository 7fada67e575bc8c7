/** Parsers for command-line values, shared by the commands. */
import { InvalidArgumentError } from 'commander';

export function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`"${value}" is not a port (0-65535; 0 picks a free one)`);
  return n;
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`"${value}" is not a positive number`);
  return n;
}

export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** The longest delay a Node.js timer holds (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** `--execution-timeout-secs`: seconds ≥ 0 (0 = none) that a timer can hold. */
export function executionTimeoutSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`"${value}" is not a number ≥ 0`);
  if (n * 1000 > MAX_TIMER_MS) throw new InvalidArgumentError(`"${value}" is more than ${Math.floor(MAX_TIMER_MS / 1000)} seconds`);
  return n;
}

/** TF Serving's `--enable_serialization_as_tensor_content`, under Cranberries' flag spelling. */
export const TENSOR_CONTENT_HELP =
  "TF Serving gRPC Predict answers carry numbers as raw tensor_content bytes instead of the typed float_val/int64_val/... lists (TF Serving's --enable_serialization_as_tensor_content; off: typed lists, as TF Serving)";

export const VERSION_FOLDER_NAMES_HELP =
  "which version folder names are versions: strict = 1, 2, ... (Triton's; zero-padded names are reported, not served); digits = any all-digit name, 00000123 = version 123 (TF Serving's; two folders naming one number make the model unavailable). Models of --model-config-file always use digits";

export const EXECUTION_TIMEOUT_HELP = "fail a model execution that runs longer with DEADLINE_EXCEEDED and replace its instance; a model's execution_timeout_ms parameter overrides it; 0 = no timeout";
export function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`"${value}" is not a number ≥ 0`);
  return n;
}
