/**
 * Pushes the registry's figures to Graphite every interval (`--graphite HOST:PORT
 * --graphite-prefix PREFIX --graphite-interval-secs N`): the same counters, gauges and histogram
 * sums/counts that `/metrics` serves, named as `graphite-names.ts` describes, over the carbon
 * plaintext protocol (`carbon-sender.ts`).
 *
 * Ticks are aligned to wall-clock multiples of the interval and each point carries its tick's
 * time, so consecutive ticks land in consecutive Graphite slots even when a timer fires late.
 * Collection runs on the event loop between requests; all socket I/O is asynchronous and nothing
 * on a request path ever waits for it.
 */
import { hostname } from 'node:os';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import { CarbonSender } from './carbon-sender.js';
import { graphitePoints, graphitePrefix, graphiteSegment } from './graphite-names.js';

export interface GraphiteOptions {
  readonly host: string;
  readonly port: number;
  /** First path segment(s); dots in it are kept as levels. */
  readonly prefix: string;
  /** Whole seconds between pushes (Graphite stores at most one point per second per path). */
  readonly intervalSeconds: number;
  /** This process's segment in the path; defaults to the host name. Cluster workers pass their node id. */
  readonly node?: string | undefined;
  /** Points kept while carbon is unreachable (default 100 000). */
  readonly maxBufferedPoints?: number | undefined;
  readonly maxBackoffMs?: number | undefined;
}

export const DEFAULT_GRAPHITE_PREFIX = 'cranberries';
export const DEFAULT_GRAPHITE_INTERVAL_SECONDS = 10;
const DEFAULT_MAX_BUFFERED_POINTS = 100_000;

/** `HOST:PORT` (or `[v6]:PORT`) → parts; throws a clear error otherwise. */
export function parseGraphiteAddress(text: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text.trim());
  const port = match ? Number(match[3]) : Number.NaN;
  if (!match || port < 1 || port > 65535) throw new Error(`--graphite must be HOST:PORT (e.g. graphite.example:2003), got '${text}'`);
  return { host: (match[1] ?? match[2])!, port };
}

export class GraphiteReporter {
  private readonly sender: CarbonSender;
  private readonly base: string;
  private readonly intervalMs: number;
  private timer: NodeJS.Timeout | undefined;
  /** Wall-clock time of the last scheduled tick: each tick gets a later slot, even if a timer fires early. */
  private lastTickMs = 0;
  private collecting = false;
  private stopped = false;

  constructor(
    private readonly registry: Registry,
    private readonly options: GraphiteOptions,
    private readonly logger?: Logger,
  ) {
    if (!Number.isInteger(options.intervalSeconds) || options.intervalSeconds < 1) {
      throw new RangeError(`the Graphite interval must be a whole number of seconds ≥ 1, got ${options.intervalSeconds}`);
    }
    this.intervalMs = options.intervalSeconds * 1000;
    this.base = `${graphitePrefix(options.prefix)}.${graphiteSegment(options.node ?? hostname())}`;
    this.sender = new CarbonSender({
      host: options.host,
      port: options.port,
      maxBufferedLines: options.maxBufferedPoints ?? DEFAULT_MAX_BUFFERED_POINTS,
      maxBackoffMs: options.maxBackoffMs,
      // The tick written just before carbon went away may be unread: two intervals cover it.
      replayWindowMs: 2 * this.intervalMs,
      logger,
    });
    this.registerOwnMetrics();
  }

  /** `<prefix>.<node>`: the path every point of this process starts with. */
  get pathBase(): string {
    return this.base;
  }

  start(): void {
    this.sender.start();
    this.schedule();
    this.logger?.info({ graphite: `${this.options.host}:${this.options.port}`, base: this.base, intervalSeconds: this.options.intervalSeconds }, 'graphite: reporting');
  }

  /** Collects and buffers one tick's points stamped `timestampSeconds` (exposed for tests). */
  async report(timestampSeconds: number): Promise<number> {
    const metrics = await this.registry.getMetricsAsJSON();
    const lines: string[] = [];
    for (const metric of metrics) {
      for (const point of graphitePoints(this.base, metric)) lines.push(`${point.path} ${point.value} ${timestampSeconds}\n`);
    }
    this.sender.enqueue(lines);
    return lines.length;
  }

  /** Stops the ticks; buffered points get a short grace period to reach carbon. */
  async close(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.sender.close();
  }

  private schedule(): void {
    if (this.stopped) return;
    const now = Date.now();
    const next = Math.max(Math.floor(now / this.intervalMs) * this.intervalMs + this.intervalMs, this.lastTickMs + this.intervalMs);
    this.lastTickMs = next;
    this.timer = setTimeout(
      () => {
        this.schedule();
        // A tick whose predecessor is still collecting is skipped rather than piled up.
        if (this.collecting) return;
        this.collecting = true;
        this.report(Math.round(next / 1000))
          .catch((error: Error) => this.logger?.warn({ err: error.message }, 'graphite: collecting metrics failed'))
          .finally(() => (this.collecting = false));
      },
      Math.max(0, next - now),
    );
    this.timer.unref();
  }

  private registerOwnMetrics(): void {
    const sender = this.sender;
    const registers = [this.registry];
    const synced = (name: string, help: string, read: () => number): void => {
      let last = 0;
      const counter: Counter = new Counter({
        name,
        help,
        registers,
        collect: () => {
          const now = read();
          counter.inc(now - last);
          last = now;
        },
      });
    };
    synced('cranberries_graphite_sent_points_total', 'Points handed to the carbon connection.', () => sender.sent);
    synced('cranberries_graphite_dropped_points_total', 'Points dropped because the buffer overflowed while carbon was unreachable.', () => sender.dropped);
    const buffered: Gauge = new Gauge({
      name: 'cranberries_graphite_buffered_points',
      help: 'Points waiting for the carbon connection.',
      registers,
      collect: () => buffered.set(sender.buffered),
    });
    const connected: Gauge = new Gauge({
      name: 'cranberries_graphite_connected',
      help: '1 while connected to carbon, else 0.',
      registers,
      collect: () => connected.set(sender.isConnected ? 1 : 0),
    });
  }
}
