/** Request tracing: Triton's trace extension, `--trace-config`, trace files and OTLP export. */
export { Tracer, RequestTrace, type HeaderLookup, type TracerOptions } from './tracer.js';
export { addTraceFlags, tracerOptionsFromFlags, parseTraceConfigEntry, type TraceFlags } from './trace-flags.js';
export { parseTraceUpdate, type RawSettingValue, type TraceMode, type TraceValues } from './trace-settings.js';
export { traceSettingCall, restSettingValues } from './setting-calls.js';
export { startHttpTrace, traceHttpSend, startGrpcTrace, traceGrpcSend } from './protocol-traces.js';
