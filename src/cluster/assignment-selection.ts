/**
 * The models a cluster worker must serve — its assignment — as a `ModelSelection` for
 * `ModelServer` (which then loads exactly those models of its repository and unloads the rest).
 *
 * It only changes when the worker agent reads a new assignment. While the coordination store is
 * unreachable nothing is read, so the selection — and everything loaded — stays as it was.
 */
export class AssignmentSelection {
  private models: ReadonlySet<string> = new Set();
  private readonly listeners = new Set<() => void>();

  has(model: string): boolean {
    return this.models.has(model);
  }

  /** The selected models, sorted. */
  list(): string[] {
    return [...this.models].sort();
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Replaces the selection; listeners run only when it actually changed. Returns what changed. */
  update(models: Iterable<string>): { added: string[]; removed: string[] } {
    const next = new Set(models);
    const added = [...next].filter((m) => !this.models.has(m)).sort();
    const removed = [...this.models].filter((m) => !next.has(m)).sort();
    if (added.length === 0 && removed.length === 0) return { added, removed };
    this.models = next;
    for (const listener of [...this.listeners]) {
      try {
        listener();
      } catch {
        // A listener's failure must not stop the others.
      }
    }
    return { added, removed };
  }
}
