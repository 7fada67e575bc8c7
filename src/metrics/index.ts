/** What other folders use of metrics/ (kept by scripts/index-imports.mjs). */
export { CounterFamily } from './fast-series.js';
export type { CounterSeries } from './fast-series.js';
export { GatewayUpstreamMetrics } from './gateway-upstream-metrics.js';
export { GraphiteReporter, DEFAULT_GRAPHITE_INTERVAL_SECONDS, DEFAULT_GRAPHITE_PREFIX, parseGraphiteAddress } from './graphite-reporter.js';
export type { GraphiteOptions } from './graphite-reporter.js';
export { MetricsServer } from './metrics-server.js';
export { logSampledRequests } from './request-log.js';
export { createServerMetrics } from './server-metrics.js';
export type { ServerMetrics } from './server-metrics.js';
