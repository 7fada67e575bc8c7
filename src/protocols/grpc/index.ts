/**
 * The gRPC protocol surface: the server factory and the proto loading other gRPC adapters
 * (TensorFlow Serving) and clients build on.
 */
export { createGrpcServer, type GrpcServerOptions, type GrpcServiceRegistration } from './grpc-server.js';
export { oipPackageDefinition, tfServingPackageDefinition, serviceDefinition, PROTO_ROOT, PROTO_LOAD_OPTIONS } from './proto-loader.js';
export { grpcStatusOf, toServiceError, logFailure } from './status-mapping.js';
export { callContext, type CallContext } from './call-context.js';
export { OIP_SERVICE_NAME } from './oip-service.js';
export { HEALTH_SERVICE_NAME } from './health-service.js';
