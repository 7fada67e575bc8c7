/**
 * Large request buffers, recycled. A request body of a few hundred KB is read into fresh memory,
 * moves to a session worker with its tensors, and comes back once the run is over; the next body
 * of about that size is read into it again. Touching fresh pages is what costs (page faults: on
 * this project's 2-core VM ~20 µs per 4 KiB page, so 3 ms for a 600 KB image), not the copy.
 *
 * Only buffers of at least `MIN_POOLED_BYTES` are kept, at most `MAX_POOLED_BYTES` in all; a taken
 * buffer may be up to twice the size asked for. One pool per thread (module state): buffers are
 * given back on the thread that reads bodies.
 */
export const MIN_POOLED_BYTES = 64 * 1024;
const MAX_POOLED_BYTES = 64 * 1024 * 1024;

const free: ArrayBuffer[] = [];
let pooledBytes = 0;

/** An ArrayBuffer of at least `byteLength` bytes, recycled when one fits, else new. */
export function takeBuffer(byteLength: number): ArrayBuffer {
  if (byteLength >= MIN_POOLED_BYTES) {
    let best = -1;
    for (let i = 0; i < free.length; i++) {
      const size = free[i]!.byteLength;
      if (size >= byteLength && size <= 2 * byteLength && (best < 0 || size < free[best]!.byteLength)) best = i;
    }
    if (best >= 0) {
      const buffer = free[best]!;
      free[best] = free[free.length - 1]!;
      free.pop();
      pooledBytes -= buffer.byteLength;
      return buffer;
    }
  }
  return new ArrayBuffer(byteLength);
}

/** Returns a buffer no one uses any more; small ones, and any beyond the pool's budget, are dropped. */
export function giveBack(buffer: ArrayBuffer): void {
  if (buffer.byteLength < MIN_POOLED_BYTES || buffer.byteLength === 0 || pooledBytes + buffer.byteLength > MAX_POOLED_BYTES) return;
  free.push(buffer);
  pooledBytes += buffer.byteLength;
}

/** Bytes held for reuse now (for tests and metrics). */
export function pooledByteCount(): number {
  return pooledBytes;
}
