/**
 * What ensembles (`serving/ensemble`) need of the model server they run in: its serving core for
 * the step calls, its manager for the step models' state, its repository for their configs.
 */
import type { Logger } from '../core/index.js';
import type { ModelRepository } from '../repository/index.js';
import type { EnsembleHost, ModelControlMode, ModelManager, ServingCore } from '../serving/index.js';

export function ensembleHostOf(parts: { core: ServingCore; manager: ModelManager; repository: ModelRepository; controlMode: ModelControlMode; logger: Logger }): EnsembleHost {
  const { core, manager, repository } = parts;
  return {
    infer: (request) => core.infer(request),
    stepReady: (model, version) => core.modelReady(model, version),
    stepConfig: async (model) => {
      if (core.modelReady(model)) return core.modelConfig(model);
      if (!(await repository.exists(model).catch(() => false))) return undefined;
      const aspired = await repository.read(model).catch(() => undefined);
      return aspired?.ok ? aspired.config : undefined;
    },
    loadStep: (model) => {
      // Under explicit model control nothing loads unless asked: loading an ensemble asks for its steps.
      if (parts.controlMode !== 'explicit' || manager.isAspired(model)) return;
      core.loadModel(model).catch((error: unknown) => parts.logger.warn({ model, err: (error as Error).message }, 'ensemble step model failed to load'));
    },
  };
}
