/**
 * Request tracing (Triton's trace extension and `--trace-config`): which requests are traced
 * (`trace_rate`, `trace_count`, a propagated OpenTelemetry context), the timestamps each traced
 * request collects on its way (protocol adapter → serving core → scheduler → backend), and where
 * finished traces go (Triton's JSON trace file, or OTLP/HTTP spans).
 *
 * The request path pays for tracing only when tracing is on: adapters call `start`, which answers
 * undefined after one property read while every setting is OFF, and everything else hangs off the
 * `RequestTrace` it returns.
 */
import type { Context } from '@opentelemetry/api';
import type { ExecutionTiming } from '../backends/index.js';
import type { Tensor } from '../tensors/index.js';
import { tensorTraceJson } from './tensor-json.js';
import { OpenTelemetryExport, type OpenTelemetryOptions, type TraceStamp } from './otel-export.js';
import { TraceFileWriter } from './trace-file.js';
import { settingResponse, TraceSettings, type TraceMode, type TraceSetting, type TraceUpdate, type TraceValues } from './trace-settings.js';

export interface TracerOptions {
  readonly mode: TraceMode;
  readonly values: TraceValues;
  /** OpenTelemetry mode's exporter settings. */
  readonly openTelemetry: OpenTelemetryOptions;
  /** Told when a trace file cannot be written or spans cannot be exported. */
  readonly onError?: ((error: unknown) => void) | undefined;
}

/** Reads a request header / metadata value by lower-case name. */
export type HeaderLookup = (name: string) => string | undefined;

export class Tracer {
  readonly settings: TraceSettings;
  private readonly file: TraceFileWriter | undefined;
  private readonly otel: OpenTelemetryExport | undefined;
  /** Mode-specific settings answered with the others (Triton's config map). */
  private readonly modeOptions: Readonly<Record<string, string>>;
  private nextId = 1;

  constructor(options: TracerOptions) {
    const onError = options.onError ?? (() => undefined);
    this.settings = new TraceSettings(options.values, options.mode);
    if (options.mode === 'triton') {
      const file = new TraceFileWriter(onError);
      this.file = file;
      this.settings.onReplaced((old) => file.retire(old));
      this.modeOptions = {};
    } else {
      const otel = options.openTelemetry;
      this.otel = new OpenTelemetryExport(otel, onError);
      this.modeOptions = {
        url: otel.url,
        bsp_max_queue_size: String(otel.bspMaxQueueSize),
        bsp_schedule_delay: String(otel.bspScheduleDelayMs),
        bsp_max_export_batch_size: String(otel.bspMaxExportBatchSize),
        ...Object.fromEntries(Object.entries(otel.resource).map(([k, v]) => ['resource', `${k}=${v}`])),
      };
    }
  }

  /**
   * Decides whether a request for `model` is traced; `headers` gives its headers (gRPC metadata)
   * for OpenTelemetry context propagation. Undefined: not traced.
   */
  start(model: string, headers?: HeaderLookup): RequestTrace | undefined {
    if (!this.settings.active) return undefined;
    const setting = this.settings.settingFor(model);
    const parent = setting.followsPropagation && headers ? this.otel?.extract(headers) : undefined;
    if (!setting.sample(parent !== undefined)) return undefined;
    this.file?.opened(setting);
    return new RequestTrace(this, setting, this.nextId++, model, parent);
  }

  /** The settings of `model` (or the global ones), as the trace extension answers them. */
  response(model?: string): Record<string, string | string[]> {
    return settingResponse(model === undefined ? this.settings.settingFor('') : this.settings.settingFor(model), this.modeOptions);
  }

  /** Applies an update (`model` undefined: the global settings); INVALID_ARGUMENT when the result would be invalid. */
  update(model: string | undefined, update: TraceUpdate): void {
    this.settings.update(model, update);
  }

  /** Writes what was collected, closes the trace file / flushes the exporter. */
  async close(): Promise<void> {
    await Promise.all([this.file?.close(), this.otel?.close()]);
  }

  /** @internal a RequestTrace finished. */
  finish(trace: RequestTrace, setting: TraceSetting, stamps: readonly TraceStamp[], parent: Context | undefined): void {
    if (this.file) this.file.finished(setting, tritonTraceJson(trace, stamps, trace.tensorRecords));
    else this.otel?.export({ id: trace.id, model: trace.model, modelVersion: trace.modelVersion, requestId: trace.requestId, stamps, parent });
  }
}

/**
 * The timestamps of one traced request. Protocol adapters stamp the protocol's points
 * (`HTTP_RECV_START`…`HTTP_SEND_END`, `GRPC_WAITREAD_END`…) and call `end` once the answer is
 * sent; the serving core stamps the request's own points and the execution's.
 */
export class RequestTrace {
  modelVersion = -1;
  requestId = '';
  private readonly stamps: TraceStamp[] = [];
  /** TENSORS level (Triton mode): one JSON object per traced tensor. */
  readonly tensorRecords: string[] = [];
  private ended = false;

  constructor(
    private readonly tracer: Tracer,
    private readonly setting: TraceSetting,
    readonly id: number,
    readonly model: string,
    private readonly parent: Context | undefined,
  ) {}

  /** Records timestamp `name` at `ns` (monotonic nanoseconds, `process.hrtime.bigint()`), default now. */
  stamp(name: string, ns: bigint = process.hrtime.bigint()): void {
    if (!this.ended && this.setting.timestamps) this.stamps.push({ name, ns });
  }

  /** Whether the trace records tensors (level TENSORS, Triton mode; OpenTelemetry mode has no tensor traces, as in Triton). */
  get wantsTensors(): boolean {
    return this.setting.tensors && this.setting.mode === 'triton';
  }

  /**
   * Records `tensors` as `activity` (`TENSOR_QUEUE_INPUT`, `TENSOR_BACKEND_OUTPUT`). Called before
   * the inputs' buffers move to the backend's thread, so the data is read while it is still here.
   */
  tensors(activity: string, tensors: readonly Tensor[]): void {
    if (this.ended || !this.wantsTensors) return;
    for (const tensor of tensors) this.tensorRecords.push(tensorTraceJson(this.id, activity, tensor));
  }

  /** The version that serves the request and the request's id. */
  identify(version: number, requestId: string | undefined): void {
    this.modelVersion = version;
    if (requestId !== undefined) this.requestId = requestId;
  }

  /**
   * The execution the request was part of, from `startNs` to `endNs`. With dynamic batching every
   * request of a batch gets the same compute timestamps (as in Triton).
   */
  compute(startNs: bigint, endNs: bigint, timing: ExecutionTiming): void {
    this.stamp('COMPUTE_START', startNs);
    this.stamp('COMPUTE_INPUT_END', startNs + BigInt(timing.computeInputNs));
    this.stamp('COMPUTE_OUTPUT_START', endNs - BigInt(timing.computeOutputNs));
    this.stamp('COMPUTE_END', endNs);
  }

  /** The request is answered: the trace goes to its output. Later calls do nothing. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.tracer.finish(this, this.setting, this.stamps, this.parent);
  }
}

/** A trace in Triton's file format: the header object, then one object per timestamp. */
function tritonTraceJson(trace: RequestTrace, stamps: readonly TraceStamp[], tensors: readonly string[]): string {
  const id = trace.id;
  let json = `{"id":${id},"model_name":${JSON.stringify(trace.model)},"model_version":${trace.modelVersion}`;
  if (trace.requestId !== '') json += `,"request_id":${JSON.stringify(trace.requestId)}`;
  json += '}';
  for (const stamp of stamps) json += `,{"id":${id},"timestamps":[{"name":"${stamp.name}","ns":${stamp.ns}}]}`;
  for (const tensor of tensors) json += `,${tensor}`;
  return json;
}
