/**
 * The gateway as an InferenceService: the cluster answered as one server, so the shared REST and
 * gRPC adapters serve the gateway as they serve a worker. `GatewayService` composes the parts:
 * readiness, the model metadata cache, merged statistics, decoded infer and model control.
 */
export { GatewayService, type GatewayServiceOptions, type ModelControl } from './gateway-service.js';
export { adminModelControl } from './model-control.js';
