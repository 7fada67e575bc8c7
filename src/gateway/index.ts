/**
 * The gateway: the cluster's front door and load balancer, and this folder's only public door.
 * `GatewayServer` wires it (gateway-server.ts); the rooms behind it:
 *
 * - `routing/`: endpoint table and its watcher, worker health, picker, request router, retry budget,
 *   sequence affinity, routing metrics. Protocol-free.
 * - `rest/`: the REST lane (fast lane, forwarding hooks, forwarded headers, worker connection pools).
 * - `grpc/`: the gRPC lane (raw HTTP/2 front, grpc-js relays, wire fields, worker connections).
 * - `service/`: the cluster as an InferenceService (readiness, metadata cache, statistics, decoded
 *   infer, model control), served by the shared protocol adapters.
 *
 * Dependencies point one way: routing ← rest, grpc ← service ← gateway-server.
 */
export { GatewayServer, type GatewayServerOptions, type GatewayPorts } from './gateway-server.js';
export { GatewayService, type GatewayServiceOptions, type ModelControl } from './service/index.js';
export { GatewayMetrics, type GatewayMetricsSources } from './routing/index.js';
