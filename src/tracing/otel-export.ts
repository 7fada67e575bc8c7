/**
 * OpenTelemetry mode: finished request traces become spans exported over OTLP/HTTP (protobuf) by
 * the official SDK's batch span processor, shaped as Triton shapes them:
 *
 * - `InferRequest` (root): from the first protocol timestamp to the last, with the protocol's
 *   timestamps (`HTTP_RECV_START`, `GRPC_SEND_END`, `INFER_RESPONSE_COMPLETE`…) as events; its
 *   parent is the client's span when the request carried a W3C `traceparent`;
 * - `<model name>`: child of the root, `REQUEST_START` to `REQUEST_END`, events `REQUEST_START`,
 *   `QUEUE_START`, `REQUEST_END`, attributes `triton.model_name`, `triton.model_version`,
 *   `triton.trace_id`, `triton.trace_parent_id` and (when the request has an id) `triton.request_id`;
 * - `compute`: child of the model span, `COMPUTE_START` to `COMPUTE_END`, with the compute events.
 *
 * Spans are built when the request has finished, from timestamps taken on the monotonic clock and
 * moved onto the wall clock (as Triton does), so nothing of OpenTelemetry runs on the request path.
 * The provider is this server's own (not the process-global one), so servers in one process do not
 * share exporters.
 */
import { ROOT_CONTEXT, SpanKind, trace, type Context, type HrTime, type Span, type TextMapGetter, type Tracer } from '@opentelemetry/api';
import { ExportResultCode, W3CTraceContextPropagator, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AlwaysOnSampler, BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { VERSION } from '../core/index.js';

export interface OpenTelemetryOptions {
  /** OTLP/HTTP traces endpoint. */
  readonly url: string;
  /** Resource attributes (`service.name` defaults to `cranberries`). */
  readonly resource: Readonly<Record<string, string>>;
  readonly bspMaxQueueSize: number;
  readonly bspScheduleDelayMs: number;
  readonly bspMaxExportBatchSize: number;
}

export const OPENTELEMETRY_DEFAULTS: OpenTelemetryOptions = {
  url: 'http://localhost:4318/v1/traces',
  resource: {},
  bspMaxQueueSize: 2048,
  bspScheduleDelayMs: 5000,
  bspMaxExportBatchSize: 512,
};

/** One timestamp of a trace: its Triton name and the monotonic clock in nanoseconds. */
export interface TraceStamp {
  readonly name: string;
  readonly ns: bigint;
}

export interface FinishedTrace {
  readonly id: number;
  readonly model: string;
  readonly modelVersion: number;
  readonly requestId: string;
  readonly stamps: readonly TraceStamp[];
  readonly parent: Context | undefined;
}

/** Monotonic (process.hrtime) nanoseconds → wall-clock nanoseconds, fixed once per process. */
const WALL_OFFSET_NS = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6)) - process.hrtime.bigint();

function wallTime(ns: bigint): HrTime {
  const wall = ns + WALL_OFFSET_NS;
  return [Number(wall / 1_000_000_000n), Number(wall % 1_000_000_000n)];
}

const headerGetter: TextMapGetter<(name: string) => string | undefined> = {
  keys: () => ['traceparent', 'tracestate'],
  get: (carrier, key) => carrier(key),
};

const MODEL_EVENTS = new Set(['REQUEST_START', 'QUEUE_START', 'REQUEST_END']);
const COMPUTE_EVENTS = new Set(['COMPUTE_START', 'COMPUTE_INPUT_END', 'COMPUTE_OUTPUT_START', 'COMPUTE_END']);

export class OpenTelemetryExport {
  private readonly provider: BasicTracerProvider;
  private readonly tracer: Tracer;
  private readonly propagator = new W3CTraceContextPropagator();

  constructor(options: OpenTelemetryOptions, onError: (error: unknown) => void = () => undefined) {
    const exporter = new ReportingExporter(new OTLPTraceExporter({ url: options.url }), onError);
    const processor = new BatchSpanProcessor(exporter, {
      maxQueueSize: options.bspMaxQueueSize,
      maxExportBatchSize: options.bspMaxExportBatchSize,
      scheduledDelayMillis: options.bspScheduleDelayMs,
    });
    this.provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'cranberries', ...options.resource }),
      // Every sampled request is exported, a propagated context's sampled flag notwithstanding (as Triton).
      sampler: new AlwaysOnSampler(),
      spanProcessors: [processor],
    });
    this.tracer = this.provider.getTracer('cranberries', VERSION);
  }

  /** The client's span context from `traceparent`/`tracestate`, if the request carries a valid one. */
  extract(headers: (name: string) => string | undefined): Context | undefined {
    if (headers('traceparent') === undefined) return undefined;
    const context = this.propagator.extract(ROOT_CONTEXT, headers, headerGetter);
    const span = trace.getSpanContext(context);
    return span && trace.isSpanContextValid(span) ? context : undefined;
  }

  export(finished: FinishedTrace): void {
    const stamps = finished.stamps;
    if (stamps.length === 0) return;
    const first = stamps.reduce((a, b) => (b.ns < a.ns ? b : a));
    const last = stamps.reduce((a, b) => (b.ns > a.ns ? b : a));
    const root = this.tracer.startSpan('InferRequest', { kind: SpanKind.SERVER, startTime: wallTime(first.ns) }, finished.parent ?? ROOT_CONTEXT);
    const byName = new Map(stamps.map((s) => [s.name, s.ns]));
    const requestStart = byName.get('REQUEST_START');
    let model: Span | undefined;
    if (requestStart !== undefined) {
      model = this.tracer.startSpan(
        finished.model,
        {
          kind: SpanKind.SERVER,
          startTime: wallTime(requestStart),
          attributes: {
            'triton.model_name': finished.model,
            'triton.model_version': finished.modelVersion,
            'triton.trace_id': finished.id,
            'triton.trace_parent_id': 0,
            ...(finished.requestId !== '' ? { 'triton.request_id': finished.requestId } : {}),
          },
        },
        trace.setSpan(ROOT_CONTEXT, root),
      );
    }
    const computeStart = byName.get('COMPUTE_START');
    const compute =
      model && computeStart !== undefined ? this.tracer.startSpan('compute', { kind: SpanKind.SERVER, startTime: wallTime(computeStart) }, trace.setSpan(ROOT_CONTEXT, model)) : undefined;
    for (const stamp of stamps) {
      const span = COMPUTE_EVENTS.has(stamp.name) ? compute : MODEL_EVENTS.has(stamp.name) ? model : root;
      (span ?? root).addEvent(stamp.name, wallTime(stamp.ns));
    }
    const computeEnd = byName.get('COMPUTE_END');
    compute?.end(wallTime(computeEnd ?? computeStart!));
    model?.end(wallTime(byName.get('REQUEST_END') ?? last.ns));
    root.end(wallTime(last.ns));
  }

  /** Exports what is queued and stops the exporter; an unreachable collector is reported, not thrown. */
  async close(): Promise<void> {
    await this.provider.shutdown().catch(() => undefined);
  }
}

/**
 * The OTLP exporter, with failed exports told to `onError` (the SDK otherwise reports them only
 * to its global diagnostics, which are off): a collector that cannot be reached shows in the log.
 */
class ReportingExporter implements SpanExporter {
  constructor(
    private readonly inner: SpanExporter,
    private readonly onError: (error: unknown) => void,
  ) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      if (result.code !== ExportResultCode.SUCCESS) this.onError(result.error ?? new Error('the OTLP export failed'));
      done(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}
