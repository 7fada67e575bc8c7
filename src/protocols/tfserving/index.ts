/**
 * The TensorFlow Serving APIs: the REST plugin (`/v1/...` plus the version-label endpoints of the
 * repository API) and the gRPC services, both on the InferenceService façade.
 */
export { tfServingRoutes } from './tfs-rest-routes.js';
export { tfServingGrpcServices, MODEL_SERVICE_NAME, PREDICTION_SERVICE_NAME } from './tfs-grpc-service.js';
export { TfServingOperations, tfServingExtensionsOf, type ModelRef } from './tfs-operations.js';
export { TENSOR_SERIALIZATION_HEADER } from './tensor-serialization.js';
export { tfServingFastPaths, type TfServingFastPathOptions } from './tfs-fast-path.js';
