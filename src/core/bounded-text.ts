/**
 * Error messages that quote what a client sent, with bounded size.
 *
 * A message that echoes input verbatim grows with the input: an 8 MB `datatype` string made an
 * 8 MB error body, and a 20,000-dimension shape made a gRPC status message larger than a client's
 * metadata limit (8 KiB by default in gRPC), so the client saw a transport error instead of the
 * answer. Every place an error quotes input goes through `quoteInput` / `describeJsonValue` /
 * `formatShape`, and the protocol adapters cap whole messages with `boundMessage` as a last guard.
 *
 * Nothing here recurses into the value: a client's JSON may be nested thousands of levels deep
 * (JSON.parse accepts it; JSON.stringify of it overflows the stack).
 */

/** Longest quoted piece of client input in an error message, in characters. */
export const MAX_QUOTED_CHARS = 120;

/** Longest error message any protocol sends, in characters (the gRPC status travels in a header). */
export const MAX_ERROR_MESSAGE_CHARS = 1024;

/** `text` cut to `max` characters with an ellipsis and the original length when cut. */
export function clip(text: string, max = MAX_QUOTED_CHARS): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}…(${text.length} chars)`;
}

/** A string from the client, quoted and clipped: `'FP3…(8388608 chars)'`. */
export function quoteInput(text: string, max = MAX_QUOTED_CHARS): string {
  return `'${clip(text, max)}'`;
}

/**
 * A short description of a parsed JSON value for an error message: scalars as JSON (strings
 * clipped), arrays and objects by kind and size, never their contents.
 */
export function describeJsonValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length} element(s)`;
  switch (typeof value) {
    case 'string':
      return JSON.stringify(clip(value, MAX_QUOTED_CHARS));
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(value);
    case 'object':
      return 'an object';
    default:
      return typeof value;
  }
}

/** A shape for an error message: `[1,2,3]`, or its first dimensions and its rank when long. */
export function formatShape(shape: readonly unknown[], maxDims = 16): string {
  if (shape.length <= maxDims) return `[${shape.map(dimText).join(',')}]`;
  return `[${shape.slice(0, maxDims).map(dimText).join(',')},…] (${shape.length} dimensions)`;
}

function dimText(dim: unknown): string {
  return typeof dim === 'number' || typeof dim === 'bigint' ? String(dim) : typeof dim === 'string' ? clip(dim, 24) : describeJsonValue(dim);
}

/** A whole error message capped to `MAX_ERROR_MESSAGE_CHARS` (a last guard at the protocol edge). */
export function boundMessage(message: string): string {
  return message.length <= MAX_ERROR_MESSAGE_CHARS ? message : `${message.slice(0, MAX_ERROR_MESSAGE_CHARS)}… (message truncated)`;
}
