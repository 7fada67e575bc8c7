/**
 * The soak's load: a fixed number of closed loops (each sends a request, waits for the answer,
 * sends the next) cycling through every (model, protocol) request against the gateway. Every
 * outcome is counted per model and protocol, failures by cause (`http 503`, `grpc UNAVAILABLE`,
 * `connection ECONNRESET`, `timeout`), and latencies go to one histogram per interval so that p50 /
 * p99 can be followed over time. Nothing is decoded: a request succeeded when it got 200 / OK.
 */
import * as grpc from '@grpc/grpc-js';
import { Pool } from 'undici';
import { LatencyHistogram } from '../../src/load-generator/latency-histogram.js';
import type { SoakModel, SoakProtocol, SoakRequest } from './soak-requests.js';

export interface SoakLoadOptions {
  /** `http://127.0.0.1:<port>` of the gateway. */
  readonly httpUrl: string;
  /** `127.0.0.1:<port>` of the gateway's gRPC endpoint. */
  readonly grpcAddress: string;
  readonly requests: readonly SoakRequest[];
  /** Closed loops sending at once. */
  readonly concurrency: number;
  /** Length of one reporting interval. */
  readonly intervalMs: number;
  /** Per-request deadline; an answer later than this counts as a `timeout` failure. */
  readonly requestTimeoutMs: number;
  /** Hard stop even if `stop()` is never called. */
  readonly maxMs: number;
  /** Called at the end of each interval. */
  readonly onInterval?: (interval: IntervalStats) => void;
}

export interface Counts {
  sent: number;
  ok: number;
  failed: number;
  /** cause → count */
  causes: Record<string, number>;
}

export interface IntervalStats {
  /** ms since the load started */
  readonly startMs: number;
  readonly endMs: number;
  readonly sent: number;
  readonly ok: number;
  readonly failed: number;
  readonly causes: Record<string, number>;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export interface FailureSample {
  /** ms since the load started */
  readonly atMs: number;
  readonly model: SoakModel;
  readonly protocol: SoakProtocol;
  readonly cause: string;
  readonly detail: string;
}

export interface SoakLoadResult {
  readonly durationMs: number;
  readonly total: Counts;
  readonly byModel: Record<string, Counts>;
  /** `<model> <protocol>` → counts */
  readonly byModelProtocol: Record<string, Counts>;
  readonly latencyByModel: Record<string, { p50Ms: number; p99Ms: number; maxMs: number }>;
  readonly intervals: readonly IntervalStats[];
  /** The first failures, with their details (bounded). */
  readonly failureSamples: readonly FailureSample[];
}

const MAX_FAILURE_SAMPLES = 200;
const DETAIL_CHARS = 300;
const identity = (b: Buffer): Buffer => b;

type Outcome = { ok: true } | { ok: false; cause: string; detail: string };

const emptyCounts = (): Counts => ({ sent: 0, ok: 0, failed: 0, causes: {} });

function count(counts: Counts, outcome: Outcome): void {
  counts.sent++;
  if (outcome.ok) counts.ok++;
  else {
    counts.failed++;
    counts.causes[outcome.cause] = (counts.causes[outcome.cause] ?? 0) + 1;
  }
}

const ms = (us: number): number => Math.round(us / 10) / 100;

export class SoakLoad {
  private readonly startedAt = performance.now();
  private readonly pool: Pool;
  private readonly client: grpc.Client;
  private stopped = false;
  private readonly loops: Promise<void>[];
  private readonly timer: NodeJS.Timeout;
  private readonly total = emptyCounts();
  private readonly byModel: Record<string, Counts> = {};
  private readonly byModelProtocol: Record<string, Counts> = {};
  private readonly modelLatency = new Map<string, LatencyHistogram>();
  private readonly intervals: IntervalStats[] = [];
  private readonly failureSamples: FailureSample[] = [];
  private interval = { start: 0, counts: emptyCounts(), latency: new LatencyHistogram() };
  private result: Promise<SoakLoadResult> | undefined;

  constructor(private readonly options: SoakLoadOptions) {
    this.pool = new Pool(options.httpUrl, { connections: options.concurrency, pipelining: 1 });
    this.client = new grpc.Client(options.grpcAddress, grpc.credentials.createInsecure());
    const deadline = Date.now() + options.maxMs;
    const running = (): boolean => !this.stopped && Date.now() < deadline;
    this.timer = setInterval(() => this.closeInterval(), options.intervalMs);
    this.loops = Array.from({ length: options.concurrency }, async (_, loop) => {
      // Loop i starts at request i, so every (model, protocol) pair is in flight at all times.
      for (let n = loop; running(); n++) {
        const request = options.requests[n % options.requests.length]!;
        const started = performance.now();
        const outcome = await this.send(request);
        this.record(request, outcome, (performance.now() - started) * 1000);
        if (!outcome.ok) await new Promise((r) => setTimeout(r, 20));
      }
    });
  }

  /** Requests answered so far, successfully or not. */
  get completed(): number {
    return this.total.sent;
  }

  /** The counts so far (live object: read, do not keep). */
  get counts(): Counts {
    return this.total;
  }

  /** Stops sending, waits for requests in flight, closes the clients (idempotent). */
  stop(): Promise<SoakLoadResult> {
    this.result ??= (async () => {
      this.stopped = true;
      await Promise.all(this.loops);
      clearInterval(this.timer);
      this.closeInterval();
      await this.pool.close();
      this.client.close();
      const latencyByModel: SoakLoadResult['latencyByModel'] = {};
      for (const [model, histogram] of this.modelLatency) {
        latencyByModel[model] = { p50Ms: ms(histogram.percentileUs(0.5)), p99Ms: ms(histogram.percentileUs(0.99)), maxMs: ms(histogram.summary().maxMs * 1000) };
      }
      return {
        durationMs: Math.round(performance.now() - this.startedAt),
        total: this.total,
        byModel: this.byModel,
        byModelProtocol: this.byModelProtocol,
        latencyByModel,
        intervals: this.intervals,
        failureSamples: this.failureSamples,
      };
    })();
    return this.result;
  }

  private now(): number {
    return Math.round(performance.now() - this.startedAt);
  }

  private record(request: SoakRequest, outcome: Outcome, latencyUs: number): void {
    count(this.total, outcome);
    count((this.byModel[request.model] ??= emptyCounts()), outcome);
    count((this.byModelProtocol[`${request.model} ${request.protocol}`] ??= emptyCounts()), outcome);
    count(this.interval.counts, outcome);
    if (outcome.ok) {
      this.interval.latency.record(latencyUs);
      let histogram = this.modelLatency.get(request.model);
      if (!histogram) this.modelLatency.set(request.model, (histogram = new LatencyHistogram()));
      histogram.record(latencyUs);
    } else if (this.failureSamples.length < MAX_FAILURE_SAMPLES) {
      this.failureSamples.push({ atMs: this.now(), model: request.model, protocol: request.protocol, cause: outcome.cause, detail: outcome.detail.slice(0, DETAIL_CHARS) });
    }
  }

  private closeInterval(): void {
    const { start, counts, latency } = this.interval;
    const end = this.now();
    if (end <= start) return;
    const stats: IntervalStats = {
      startMs: start,
      endMs: end,
      sent: counts.sent,
      ok: counts.ok,
      failed: counts.failed,
      causes: counts.causes,
      p50Ms: ms(latency.percentileUs(0.5)),
      p99Ms: ms(latency.percentileUs(0.99)),
      maxMs: ms(latency.summary().maxMs * 1000),
    };
    this.intervals.push(stats);
    this.interval = { start: end, counts: emptyCounts(), latency: new LatencyHistogram() };
    this.options.onInterval?.(stats);
  }

  private send(request: SoakRequest): Promise<Outcome> {
    return request.call.kind === 'http' ? this.sendHttp(request.call) : this.sendGrpc(request.call.method, request.call.message);
  }

  private async sendHttp(call: { path: string; headers: Record<string, string>; body: Buffer }): Promise<Outcome> {
    const timeout = this.options.requestTimeoutMs;
    try {
      const answer = await this.pool.request({ method: 'POST', path: call.path, headers: call.headers, body: call.body, headersTimeout: timeout, bodyTimeout: timeout });
      if (answer.statusCode === 200) {
        for await (const chunk of answer.body) void chunk;
        return { ok: true };
      }
      const text = await answer.body.text();
      return { ok: false, cause: `http ${answer.statusCode}`, detail: text };
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      const timedOut = code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT';
      return { ok: false, cause: timedOut ? 'timeout' : `connection ${typeof code === 'string' ? code : 'error'}`, detail: String(error) };
    }
  }

  private sendGrpc(method: string, message: Buffer): Promise<Outcome> {
    return new Promise((resolve) => {
      const deadline = Date.now() + this.options.requestTimeoutMs;
      this.client.makeUnaryRequest(method, identity, identity, message, new grpc.Metadata(), { deadline }, (error) => {
        if (!error) resolve({ ok: true });
        else resolve({ ok: false, cause: error.code === grpc.status.DEADLINE_EXCEEDED ? 'timeout' : `grpc ${grpc.status[error.code] ?? error.code}`, detail: error.details });
      });
    });
  }
}
