/**
 * Bounds the requests one ZooKeeper client has in flight; the rest wait here, first come first
 * served. node-zookeeper-client keeps its sent requests in a plain array and takes each answer's
 * request with `shift()`; once that array holds more than ~16,000 entries V8 keeps it in its
 * large-object space, where `shift()` moves every element, so each answer costs time proportional to
 * the requests still pending. A controller arming 20,000 watches (two requests each) at once spent
 * most of its time there. The bound also bounds one turn of the event loop: a socket chunk holds at
 * most that many answers, each of which may start the next waiting request. The store uses 64:
 * at 1,000 workers × 10,000 models its controller's loop p99 went from 28 ms (256) to 14 ms.
 */
export class InFlightLimit {
  private inFlight = 0;
  private waiting: (((release: () => void) => void) | undefined)[] = [];
  private head = 0;
  private pumping = false;

  constructor(readonly max: number) {}

  /** Requests started and not yet released. */
  get active(): number {
    return this.inFlight;
  }

  /** Requests waiting for a slot. */
  get queued(): number {
    return this.waiting.length - this.head;
  }

  /**
   * Calls `start` once a slot is free (at once if one is) with the slot's `release`, which `start`
   * must call once the request is answered (further calls do nothing; calling it synchronously is fine).
   */
  run(start: (release: () => void) => void): void {
    this.waiting.push(start);
    this.pump();
  }

  private pump(): void {
    // One loop even when starts release synchronously (a disconnected client fails every waiting
    // request at once): a release during the loop only frees the slot.
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.inFlight < this.max && this.head < this.waiting.length) {
        const start = this.waiting[this.head]!;
        this.waiting[this.head++] = undefined;
        this.inFlight++;
        let released = false;
        start(() => {
          if (released) return;
          released = true;
          this.inFlight--;
          this.pump();
        });
      }
      if (this.head === this.waiting.length) {
        this.waiting = [];
        this.head = 0;
      } else if (this.head >= 1024 && this.head * 2 >= this.waiting.length) {
        this.waiting = this.waiting.slice(this.head);
        this.head = 0;
      }
    } finally {
      this.pumping = false;
    }
  }
}
