/**
 * The gateway: the cluster's front door and load balancer, and this folder's only public door.
 * `composition/gateway-server.ts` wires these parts into a gateway process (`GatewayServer`). The rooms:
 *
 * - `routing/`: endpoint table and its watcher, worker health, picker, request router, retry budget,
 *   sequence affinity, routing metrics. Protocol-free.
 * - `rest/`: the REST lane (fast lane, forwarding hooks, forwarded headers, worker connection pools).
 * - `grpc/`: the gRPC lane (raw HTTP/2 front, grpc-js relays, wire fields, worker connections).
 * - `service/`: the cluster as an InferenceService (readiness, metadata cache, statistics, decoded
 *   infer, model control), served by the shared protocol adapters.
 *
 * Dependencies point one way: routing ← rest, grpc ← service.
 */
export { adminModelControl, GatewayService, type GatewayServiceOptions, type ModelControl } from './service/index.js';
export {
  EndpointHealth,
  type EndpointTable,
  GatewayMetrics,
  type GatewayMetricsSources,
  Picker,
  RequestRouter,
  RetryBudget,
  type RetryBudgetOptions,
  type RouterObserver,
  TableWatcher,
} from './routing/index.js';
export { GrpcFront, GrpcUpstreams, H2Upstreams, installGrpcForwarding } from './grpc/index.js';
export { HttpUpstreams, installRestFastLane, installRestForwarding } from './rest/index.js';
