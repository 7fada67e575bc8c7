/**
 * The sequence key of a REST inference request (routing/sequence-affinity.ts explains the
 * affinity): read from the JSON header of an uncompressed body, never from the tensors.
 */
import { sequenceKeyOf } from '../routing/index.js';

/**
 * The sequence key of a REST inference body: the JSON header (`Inference-Header-Content-Length`
 * bytes, else the whole body) is parsed only when it mentions `sequence_id`.
 */
export function restSequenceKey(body: Buffer | undefined, headerLength: string | string[] | undefined, contentEncoding: string | string[] | undefined): string | undefined {
  if (!body || (contentEncoding ?? 'identity') !== 'identity') return undefined;
  const length = headerLength === undefined ? body.length : Number(headerLength);
  if (!Number.isInteger(length) || length <= 0 || length > body.length) return undefined;
  const header = body.subarray(0, length);
  if (header.indexOf('"sequence_id"') < 0) return undefined;
  try {
    const parsed = JSON.parse(header.toString('utf8')) as { parameters?: Record<string, unknown> } | null;
    return sequenceKeyOf(parsed?.parameters?.['sequence_id']);
  } catch {
    return undefined; // the worker answers the malformed body
  }
}
