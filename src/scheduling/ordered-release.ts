/**
 * `preserve_ordering`: answers leave in the order their requests arrived, even when a later batch
 * finishes first on another instance. Each accepted request takes a ticket; an answer is held until
 * every earlier ticket has been answered. Requests that never run (timed out, cancelled) are
 * answered at once and only free their place in the line. Without ordering, answers leave at once.
 */
export class OrderedRelease {
  private issued = 0;
  private next = 0;
  private readonly held = new Map<number, () => void>();

  constructor(private readonly enabled: boolean) {}

  /** Answers held back, waiting for an earlier one. */
  get heldCount(): number {
    return this.held.size;
  }

  ticket(): number {
    return this.issued++;
  }

  /** Runs `answer` when every earlier ticket has been answered. */
  release(ticket: number, answer: () => void): void {
    if (!this.enabled) {
      answer();
      return;
    }
    this.held.set(ticket, answer);
    this.flush();
  }

  /** Runs `answer` now; later tickets no longer wait for this one. */
  releaseNow(ticket: number, answer: () => void): void {
    answer();
    if (!this.enabled) return;
    this.held.set(ticket, () => {});
    this.flush();
  }

  private flush(): void {
    for (let answer = this.held.get(this.next); answer !== undefined; answer = this.held.get(this.next)) {
      this.held.delete(this.next);
      this.next++;
      answer();
    }
  }
}
