/**
 * Routing: where a request goes. The endpoint table (which worker serves which model version,
 * rebuilt from the coordination store by the table watcher), worker health (marked down on a
 * refused connection, probed back up), the picker (least outstanding among usable replicas, a
 * sequence's replica for sequence requests), the request router (one retry on another replica,
 * within a retry budget) and the metrics they expose. Knows no protocol: the lanes hand it an
 * attempt that talks to one worker.
 */
export { Cancellation } from './cancellation.js';
export { EndpointTable, endpointOf, type Endpoint, type ReplicaState, type TableInput, type VersionReplicas, type WorkerSnapshot } from './endpoint-table.js';
export { TableWatcher, type TableWatcherOptions } from './table-watcher.js';
export { EndpointHealth, type HealthChange, type HealthProbe } from './endpoint-health.js';
export { Picker, readyVersionOrThrow, resolveReadyVersion, type EndpointHealthView, type PickResult, type VersionResolution } from './picker.js';
export { RetryBudget, type RetryBudgetOptions } from './retry-budget.js';
export { RequestRouter, type Attempt, type AttemptOutcome, type FailureKind, type RouterObserver, type RouteTarget } from './request-router.js';
export { sequenceKeyOf, SequenceOrder } from './sequence-affinity.js';
export { GatewayMetrics, type GatewayMetricsSources } from './gateway-metrics.js';
