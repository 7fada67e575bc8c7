/**
 * A real OTLP/HTTP trace receiver for tests: an HTTP server on 127.0.0.1 (port 0) that accepts
 * `POST /v1/traces` with a protobuf `ExportTraceServiceRequest` (what the official OTLP/HTTP proto
 * exporter sends), decodes it with protobufjs and keeps the spans.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import protobuf from 'protobufjs';

// The part of OpenTelemetry's OTLP trace protocol (opentelemetry/proto/collector/trace/v1 and
// trace/v1, common/v1, resource/v1) needed to decode an export request; field numbers as in the
// official protos. Fields not listed are skipped by the decoder.
const OTLP_PROTO = `
syntax = "proto3";

package otlptest;

message ExportTraceServiceRequest {
  repeated ResourceSpans resource_spans = 1;
}

message ResourceSpans {
  Resource resource = 1;
  repeated ScopeSpans scope_spans = 2;
}

message Resource {
  repeated KeyValue attributes = 1;
}

message ScopeSpans {
  InstrumentationScope scope = 1;
  repeated Span spans = 2;
}

message InstrumentationScope {
  string name = 1;
  string version = 2;
}

message Span {
  bytes trace_id = 1;
  bytes span_id = 2;
  string trace_state = 3;
  bytes parent_span_id = 4;
  string name = 5;
  int32 kind = 6;
  fixed64 start_time_unix_nano = 7;
  fixed64 end_time_unix_nano = 8;
  repeated KeyValue attributes = 9;
  repeated Event events = 11;
}

message Event {
  fixed64 time_unix_nano = 1;
  string name = 2;
}

message KeyValue {
  string key = 1;
  AnyValue value = 2;
}

message AnyValue {
  oneof value {
    string string_value = 1;
    bool bool_value = 2;
    int64 int_value = 3;
    double double_value = 4;
    bytes bytes_value = 7;
  }
}
`;

const root = protobuf.parse(OTLP_PROTO, { keepCase: true }).root;
const ExportTraceServiceRequest = root.lookupType('otlptest.ExportTraceServiceRequest');

export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  /** Empty for a root span. */
  readonly parentSpanId: string;
  readonly name: string;
  /** OTLP's SpanKind: 2 = SERVER. */
  readonly kind: number;
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
  readonly events: readonly { name: string; ns: bigint }[];
  readonly resource: Readonly<Record<string, string | number | boolean>>;
}

interface WireAnyValue {
  string_value?: string;
  bool_value?: boolean;
  int_value?: string;
  double_value?: number;
}
interface WireKeyValue {
  key: string;
  value?: WireAnyValue;
}
interface WireSpan {
  trace_id: Buffer;
  span_id: Buffer;
  parent_span_id: Buffer;
  name: string;
  kind: number;
  start_time_unix_nano: string;
  end_time_unix_nano: string;
  attributes?: WireKeyValue[];
  events?: { time_unix_nano: string; name: string }[];
}
interface WireRequest {
  resource_spans?: { resource?: { attributes?: WireKeyValue[] }; scope_spans?: { spans?: WireSpan[] }[] }[];
}

function attributesOf(list: readonly WireKeyValue[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of list ?? []) {
    if (value?.string_value !== undefined) out[key] = value.string_value;
    else if (value?.bool_value !== undefined) out[key] = value.bool_value;
    else if (value?.int_value !== undefined) out[key] = Number(value.int_value);
    else if (value?.double_value !== undefined) out[key] = value.double_value;
  }
  return out;
}

export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  /** Content types of the export requests received. */
  readonly contentTypes: string[] = [];
  private readonly server: Server;

  private constructor() {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        if (request.method !== 'POST' || request.url !== '/v1/traces') {
          response.writeHead(404).end();
          return;
        }
        this.contentTypes.push(request.headers['content-type'] ?? '');
        const decoded = ExportTraceServiceRequest.toObject(ExportTraceServiceRequest.decode(Buffer.concat(chunks)), { longs: String, bytes: Buffer }) as WireRequest;
        for (const resourceSpans of decoded.resource_spans ?? []) {
          const resource = attributesOf(resourceSpans.resource?.attributes);
          for (const scope of resourceSpans.scope_spans ?? []) {
            for (const span of scope.spans ?? []) {
              this.spans.push({
                traceId: Buffer.from(span.trace_id ?? []).toString('hex'),
                spanId: Buffer.from(span.span_id ?? []).toString('hex'),
                parentSpanId: Buffer.from(span.parent_span_id ?? []).toString('hex'),
                name: span.name,
                kind: span.kind ?? 0,
                startNs: BigInt(span.start_time_unix_nano ?? '0'),
                endNs: BigInt(span.end_time_unix_nano ?? '0'),
                attributes: attributesOf(span.attributes),
                events: (span.events ?? []).map((e) => ({ name: e.name, ns: BigInt(e.time_unix_nano ?? '0') })),
                resource,
              });
            }
          }
        }
        response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      });
    });
  }

  static async start(): Promise<OtlpReceiver> {
    const receiver = new OtlpReceiver();
    await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1/traces`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
