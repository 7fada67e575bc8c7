/** What other folders use of serving/ (kept by scripts/index-imports.mjs). */
export type {
  InferenceService,
  ModelMetadata,
  ModelStatistics,
  ModelIndexEntry,
  ServerMetadata,
  VersionState,
  RequestContext,
  LoadModelOptions,
  StatisticDuration,
  TfServingExtensions,
  VersionStatus,
} from './inference-service.js';
export type { InferenceRequest, InferenceResponse, RequestedOutput, ParameterValue, Parameters } from './inference.js';
export { ModelManager } from './model-manager.js';
export type { ExecutionEvent, VersionStateEvent, ModelSettledEvent } from './model-manager.js';
export { ResponseCache } from './response-cache.js';
export type { ServedVersion } from './served-version.js';
export { ServingCore } from './serving-core.js';
export type { ModelControlMode, RequestEvent } from './serving-core.js';
export { VersionLabels } from './version-labels.js';
export type { VersionStatistics } from './version-statistics.js';
export { EnsembleBackend } from './ensemble/ensemble-backend.js';
export type { EnsembleHost } from './ensemble/ensemble-backend.js';
