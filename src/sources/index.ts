/** Model sources: what decides which models a server serves (see `model-source.ts`). */
export type { AspiredModelsTarget, ModelFailureReport, ModelSource } from './model-source.js';
export { RepositorySource, type RepositorySourceMode, type RepositorySourceOptions } from './repository-source.js';
export { AssignmentSource, type AssignmentSourceOptions, type ModelSelection } from './assignment-source.js';
export { ModelConfigListSource, type ModelConfigListSourceOptions } from './model-config-list-source.js';
