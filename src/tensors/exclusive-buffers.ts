/**
 * Buffers that hold the data of exactly one request and that nothing else reads once the request
 * is decoded: a request body read for that request alone. A tensor viewing part of such a buffer
 * may move to a worker thread with the whole buffer (transferred, not copied); the rest of the
 * buffer (the JSON header of the body, say) goes along unused.
 *
 * Whoever reads a body marks it; unmarked buffers (gRPC messages, Node's shared Buffer pool) are
 * copied view by view instead, because moving them would empty other users' views.
 */
const exclusive = new WeakSet<ArrayBufferLike>();

export function markExclusive(buffer: ArrayBufferLike): void {
  exclusive.add(buffer);
}

export function isExclusive(buffer: ArrayBufferLike): boolean {
  return exclusive.has(buffer);
}
