/**
 * A process-wide budget of bytes being decompressed at once (`--http-max-inflating-mb`). Every
 * compressed request body reserves the bytes its decoder produces, up to the body limit, and gives
 * them back when its decoder finishes or fails; a request whose next chunk would take the total
 * over the budget fails with 503 `{"error": ...}` at once, so many parallel decompression bombs
 * cannot hold more than the budget (plus one decoder chunk each) however large the body limit is.
 */
/** Thrown into a decoder that would overrun the budget; the error handler answers its `statusCode` (503). */
class InflateBudgetExceeded extends Error {
  readonly statusCode = 503;
  readonly code = 'CRANBERRIES_INFLATE_BUDGET';
  constructor() {
    super('the server is decompressing too many request bodies at once; retry later');
  }
}

export class InflateBudget {
  private inUse = 0;

  /** `maxBytes` 0: no limit. */
  constructor(readonly maxBytes: number) {}

  /** Bytes reserved now, over all requests. */
  get reservedBytes(): number {
    return this.inUse;
  }

  /** Reserves `bytes`; false (nothing reserved) when that would pass the budget. */
  tryReserve(bytes: number): boolean {
    if (this.maxBytes > 0 && this.inUse + bytes > this.maxBytes) return false;
    this.inUse += bytes;
    return true;
  }

  release(bytes: number): void {
    this.inUse = Math.max(0, this.inUse - bytes);
  }

  static exceeded(): Error {
    return new InflateBudgetExceeded();
  }
}
