/**
 * Cranberries as a library: embed a model server in your own process, or talk to one with the
 * client (`cranberries/client`).
 */
export { ModelServer, type ModelServerOptions, type BoundPorts, type ModelSelection } from './composition/index.js';
export type { InferenceService, ModelMetadata, ModelStatistics, ModelIndexEntry, ServerMetadata, VersionState } from './serving/index.js';
export type { InferenceRequest, InferenceResponse, RequestedOutput } from './serving/index.js';
export type { Tensor, TensorData } from './tensors/index.js';
export type { DataType } from './tensors/index.js';
export type { ModelConfig } from './repository/index.js';
export { CranberriesError, type ErrorCode } from './core/index.js';
export { createLogger } from './core/index.js';
