/**
 * A tiny typed event emitter. The core publishes what happens (state changes, completed requests);
 * metrics and logs subscribe. Publishers never know who listens, and a throwing listener never
 * breaks the publisher.
 */
export type Listener<T> = (event: T) => void;

export class EventChannel<T> {
  private listeners: Listener<T>[] = [];

  subscribe(listener: Listener<T>): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  publish(event: T): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // Observers must not be able to fail the operation they observe.
      }
    }
  }
}
