/**
 * The gateway: the cluster's front door and load balancer. `GatewayServer` wires it (coordination
 * store → endpoint table → picker, health, retry budget → REST/gRPC relays and the cluster-wide
 * InferenceService); the other exports are its parts, for tests and for other compositions.
 */
export { GatewayServer, type GatewayServerOptions, type GatewayPorts } from './gateway-server.js';
export { GatewayService, type GatewayServiceOptions, type ModelControl } from './gateway-service.js';
export { EndpointTable, endpointOf, type Endpoint, type ReplicaState, type TableInput, type WorkerSnapshot } from './endpoint-table.js';
export { TableWatcher, type TableWatcherOptions } from './table-watcher.js';
export { Picker, readyVersionOrThrow, type EndpointHealthView, type Pick } from './picker.js';
export { EndpointHealth, type HealthProbe, type HealthChange } from './endpoint-health.js';
export { RetryBudget, type RetryBudgetOptions } from './retry-budget.js';
export { RequestRouter, type Attempt, type AttemptOutcome, type FailureKind, type RouteTarget } from './request-router.js';
export { Cancellation } from './cancellation.js';
