/**
 * Cranberries as a library: embed a model server in your own process, or talk to one with the
 * client (`cranberries/client`).
 */
export { ModelServer, type ModelServerOptions, type BoundPorts, type ModelSelection } from './server/model-server.js';
export type { InferenceService, ModelMetadata, ModelStatistics, ModelIndexEntry, ServerMetadata, VersionState } from './serving/inference-service.js';
export type { InferenceRequest, InferenceResponse, RequestedOutput } from './serving/inference.js';
export type { Tensor, TensorData } from './tensors/tensor.js';
export type { DataType } from './tensors/data-type.js';
export type { ModelConfig } from './repository/model-config.js';
export { CranberriesError, type ErrorCode } from './core/errors.js';
export { createLogger } from './core/logger.js';
