/**
 * Which workers the gateway may send requests to. A worker is up until a connection to it fails
 * (refused, unreachable, connect timeout); it is then marked down — the picker skips it — and
 * probed back: `probe` is called after a short delay, then with exponential backoff up to a cap,
 * and the first probe that answers marks it up again. Workers that leave the table are forgotten
 * (their probes stop), so a worker that comes back as a new endpoint starts up.
 *
 * Timers are unref'd: health probing never keeps a process alive.
 */
import { EventChannel } from '../../core/index.js';
import type { Endpoint } from './endpoint-table.js';
import type { EndpointHealthView } from './picker.js';

/** Resolves true when the worker answers its liveness check; never rejects. */
export type HealthProbe = (endpoint: Endpoint) => Promise<boolean>;

export interface HealthChange {
  readonly endpoint: Endpoint;
  readonly up: boolean;
  /** Why it went down (the connection error), or that a probe answered. */
  readonly reason: string;
}

export interface EndpointHealthOptions {
  readonly probe: HealthProbe;
  /** First probe after this many ms. Default 100. */
  readonly initialProbeDelayMs?: number;
  /** Backoff cap. Default 5000. */
  readonly maxProbeDelayMs?: number;
}

interface DownState {
  readonly endpoint: Endpoint;
  delayMs: number;
  timer: NodeJS.Timeout | undefined;
  probing: boolean;
}

export class EndpointHealth implements EndpointHealthView {
  readonly changed = new EventChannel<HealthChange>();
  private readonly down = new Map<string, DownState>();
  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;
  private stopped = false;

  constructor(private readonly options: EndpointHealthOptions) {
    this.initialDelayMs = options.initialProbeDelayMs ?? 100;
    this.maxDelayMs = options.maxProbeDelayMs ?? 5000;
  }

  isUp(key: string): boolean {
    return !this.down.has(key);
  }

  /** Keys of the workers currently down. */
  downKeys(): readonly string[] {
    return [...this.down.keys()];
  }

  /** Marks a worker down and starts probing it; a no-op if it is already down. */
  markDown(endpoint: Endpoint, reason: string): void {
    if (this.stopped || this.down.has(endpoint.key)) return;
    const state: DownState = { endpoint, delayMs: this.initialDelayMs, timer: undefined, probing: false };
    this.down.set(endpoint.key, state);
    this.changed.publish({ endpoint, up: false, reason });
    this.schedule(state);
  }

  /** Forgets every worker not in `endpoints` (they left the table). */
  retainOnly(endpoints: readonly Endpoint[]): void {
    const keep = new Set(endpoints.map((e) => e.key));
    for (const [key, state] of this.down) {
      if (keep.has(key)) continue;
      clearTimeout(state.timer);
      this.down.delete(key);
    }
  }

  stop(): void {
    this.stopped = true;
    for (const state of this.down.values()) clearTimeout(state.timer);
    this.down.clear();
  }

  private schedule(state: DownState): void {
    state.timer = setTimeout(() => void this.probeOnce(state), state.delayMs);
    state.timer.unref();
  }

  private async probeOnce(state: DownState): Promise<void> {
    if (this.down.get(state.endpoint.key) !== state || state.probing) return;
    state.probing = true;
    const alive = await this.options.probe(state.endpoint).catch(() => false);
    state.probing = false;
    // Forgotten or stopped while the probe ran.
    if (this.down.get(state.endpoint.key) !== state) return;
    if (alive) {
      this.down.delete(state.endpoint.key);
      this.changed.publish({ endpoint: state.endpoint, up: true, reason: 'liveness probe answered' });
      return;
    }
    state.delayMs = Math.min(state.delayMs * 2, this.maxDelayMs);
    this.schedule(state);
  }
}
