/**
 * The OIP `id` of a relayed REST request, found without parsing the body. The gateway picks a
 * request's id as every Cranberries server does (`protocols/common/request-id.ts`: the `x-request-id`
 * header, else the OIP `id`, else a UUID) and sends it to the worker as `x-request-id`, so the
 * worker logs the same id. But the body may hold megabytes of JSON tensor data, so instead of a
 * JSON parse `peekJsonId` scans the top-level keys of the JSON object and gives up after a fixed
 * number of bytes. `tritonclient` writes `id` first, so the scan is short when there is one.
 */
import { usableRequestId } from '../../protocols/common/index.js';

/** Bytes of JSON scanned for a top-level `id` before giving up. */
const SCAN_LIMIT = 4096;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COLON = 0x3a;
const COMMA = 0x2c;

function isSpace(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

/**
 * The top-level string `id` of the JSON object at the start of `body`, if found within the scan
 * limit; undefined otherwise (no id, not JSON, too far in, or malformed).
 */
export function peekJsonId(body: Uint8Array, jsonLength = body.length): string | undefined {
  const end = Math.min(jsonLength, body.length, SCAN_LIMIT);
  let i = 0;
  const skipSpace = (): void => {
    while (i < end && isSpace(body[i])) i++;
  };
  /** Index just past the closing quote of the string starting at `i`, or -1. */
  const stringEnd = (from: number): number => {
    for (let j = from + 1; j < end; j++) {
      const byte = body[j];
      if (byte === BACKSLASH) j++;
      else if (byte === QUOTE) return j + 1;
    }
    return -1;
  };
  skipSpace();
  if (body[i] !== OPEN_BRACE) return undefined;
  i++;
  while (i < end) {
    skipSpace();
    if (body[i] === CLOSE_BRACE || body[i] !== QUOTE) return undefined;
    const keyEnd = stringEnd(i);
    if (keyEnd < 0) return undefined;
    const isId = keyEnd - i === 4 && body[i + 1] === 0x69 && body[i + 2] === 0x64; // "id"
    i = keyEnd;
    skipSpace();
    if (body[i] !== COLON) return undefined;
    i++;
    skipSpace();
    if (isId) {
      if (body[i] !== QUOTE) return undefined;
      const valueEnd = stringEnd(i);
      if (valueEnd < 0) return undefined;
      try {
        const id = JSON.parse(Buffer.from(body.buffer, body.byteOffset + i, valueEnd - i).toString('utf8')) as string;
        return usableRequestId(id);
      } catch {
        return undefined;
      }
    }
    i = skipValue(body, i, end, stringEnd);
    if (i < 0) return undefined;
    skipSpace();
    if (body[i] !== COMMA) return undefined;
    i++;
  }
  return undefined;
}

/** Index just past the JSON value starting at `start`, or -1 if it does not end before `end`. */
function skipValue(body: Uint8Array, start: number, end: number, stringEnd: (from: number) => number): number {
  const first = body[start];
  if (first === QUOTE) return stringEnd(start);
  if (first === OPEN_BRACE || first === OPEN_BRACKET) {
    let depth = 0;
    for (let j = start; j < end; j++) {
      const byte = body[j];
      if (byte === QUOTE) {
        j = stringEnd(j) - 1;
        if (j < 0) return -1;
      } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) depth++;
      else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    return -1;
  }
  // A number, true, false or null: up to the next delimiter.
  for (let j = start; j < end; j++) {
    const byte = body[j];
    if (byte === COMMA || byte === CLOSE_BRACE || isSpace(byte)) return j;
  }
  return -1;
}
