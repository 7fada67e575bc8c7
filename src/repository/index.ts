/** What other folders use of repository/ (kept by scripts/index-imports.mjs). */
export type { AspiredModel, AspiredVersion } from './aspired-model.js';
export { parameterNumber, completeModelConfig, validateAgainstSignature } from './config-parser.js';
export { modelConfigType } from './config-proto.js';
export { resolveInsideSync, resolveInside, realBoundary } from './contained-path.js';
export { fileErrorReason } from './file-errors.js';
export { modelConfigListFromMessage, parseModelConfigList } from './model-config-list.js';
export type { ModelConfigListEntry } from './model-config-list.js';
export type { ModelConfig, ModelInput, ModelOutput, ModelWarmup, ModelWarmupInput } from './model-config.js';
export { checkModelName, checkFileOverrideKey, shownName } from './model-names.js';
export { ModelRepository, readModelFolder } from './model-repository.js';
export type { VersionFolderNames } from './model-repository.js';
export type { ModelSignature, TensorSignature } from './model-signature.js';
export { RepositoryPoller } from './repository-poller.js';
export { defaultResourceCaps, resourceCapViolation } from './resource-caps.js';
export type { ResourceCaps } from './resource-caps.js';
export { sequenceBatchingOf } from './sequence-batching-config.js';
export type { ModelSequenceBatching, SequenceControlKind } from './sequence-batching-config.js';
export { parseTextFormat } from './text-format.js';
