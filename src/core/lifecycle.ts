/** Long-lived parts start and stop explicitly; `stop()` drains before it resolves. */
export interface Lifecycle {
  start(): Promise<void>;
  stop(): Promise<void>;
}
