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
export { applyHttp2SessionLimits, http2SettingsWithLimits } from './http2-session-limits.js';
export { decodeModelVersion, requireModelName } from './oip-infer-codec.js';
export type { WireModelRef, WireModelInferRequest, WireModelInferResponse } from './oip-messages.js';
export { encodeParameter, encodeParameters, decodeParameters } from './oip-parameters.js';
export { decodeInputTensors, encodeOutputTensors } from './oip-tensors.js';
export { echoRequestId, streamRequestId, unaryRequestId } from './request-tracking.js';
export { H2UnaryFront, H2_SETTINGS, H2_SESSION_WINDOW, forgetListeners, messageLength, parseTimeout, relayedHeaders, safely, writeError, writeStatus, GRPC_CONTENT_TYPE } from './h2-unary-front.js';
export type { FrontCall, FrontHandler, H2UnaryFrontOptions } from './h2-unary-front.js';
export { fastUnaryHandler, type FastCall, type FastUnaryMethod, type FastUnaryOptions } from './fast-unary.js';
export { oipFastPaths, type OipFastPathOptions } from './oip-fast-path.js';
export { pumpStream, type StreamPumpOptions } from './stream-pump.js';
