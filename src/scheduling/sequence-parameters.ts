/**
 * The sequence parameters of an inference request, as Triton's clients send them: `sequence_id`
 * (an unsigned integer or a string; 0 and "" mean "no sequence"), `sequence_start` and
 * `sequence_end` (booleans). Over gRPC they are `InferParameter`s (uint64 / int64 / string / bool);
 * over REST they are JSON values, where an integer id is exact only up to 2^53 - 1.
 */
import { clip, quoteInput, invalidArgument } from '../core/index.js';
import type { Parameters } from '../core/index.js';
import type { CorrelationId } from './sequence-controls.js';

export interface SequenceFlags {
  /** Undefined when the request names no sequence (no `sequence_id`, or 0 / ""). */
  readonly id: CorrelationId | undefined;
  readonly start: boolean;
  readonly end: boolean;
}

export const SEQUENCE_PARAMETERS: readonly string[] = ['sequence_id', 'sequence_start', 'sequence_end'];

/** A string id longer than this is refused (it is kept per live sequence and echoed in errors). */
export const MAX_STRING_SEQUENCE_ID_BYTES = 256;

const UINT64_MAX = 2n ** 64n - 1n;

function flag(parameters: Parameters | undefined, key: string): boolean {
  const value = parameters?.[key];
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw invalidArgument(`parameter '${key}' must be a boolean`);
  return value;
}

/** Reads `sequence_id`, `sequence_start` and `sequence_end`; throws INVALID_ARGUMENT on a malformed one. */
export function sequenceFlags(parameters: Parameters | undefined): SequenceFlags {
  const raw = parameters?.['sequence_id'];
  let id: CorrelationId | undefined;
  if (typeof raw === 'string') {
    if (Buffer.byteLength(raw) > MAX_STRING_SEQUENCE_ID_BYTES) throw invalidArgument(`parameter 'sequence_id' is longer than ${MAX_STRING_SEQUENCE_ID_BYTES} bytes`);
    id = raw === '' ? undefined : raw;
  } else if (typeof raw === 'number') {
    if (!Number.isSafeInteger(raw) || raw < 0) {
      throw invalidArgument(`parameter 'sequence_id' must be an unsigned integer (at most 2^53 - 1 as a JSON number) or a string, got ${quoteInput(String(raw))}`);
    }
    id = raw === 0 ? undefined : BigInt(raw);
  } else if (typeof raw === 'bigint') {
    // An int64 parameter above 2^63 - 1 arrives negative when a client wrote a uint64 into it.
    const unsigned = raw < 0n ? raw + 2n ** 64n : raw;
    if (unsigned < 0n || unsigned > UINT64_MAX) throw invalidArgument(`parameter 'sequence_id' must be an unsigned 64-bit integer or a string`);
    id = unsigned === 0n ? undefined : unsigned;
  } else if (raw !== undefined) {
    throw invalidArgument(`parameter 'sequence_id' must be an unsigned integer or a string`);
  }
  return { id, start: flag(parameters, 'sequence_start'), end: flag(parameters, 'sequence_end') };
}

/** A correlation id as Triton prints it in messages (the decimal number, or the string as given, bounded). */
export function formatCorrelationId(id: CorrelationId): string {
  return typeof id === 'bigint' ? id.toString() : clip(id);
}
