/**
 * Which backend runs a model, chosen from its config's `backend` or `platform` field.
 */
import type { ModelConfig } from '../repository/index.js';
import type { Backend } from './backend.js';

export class BackendRegistry {
  constructor(private readonly backends: readonly Backend[]) {}

  find(config: Pick<ModelConfig, 'backend' | 'platform'>): Backend | undefined {
    return this.backends.find((b) => (config.backend !== '' && config.backend === b.name) || (config.platform !== '' && config.platform === b.platform));
  }

  /** The file to look for in a version folder. */
  modelFilename(config: Pick<ModelConfig, 'backend' | 'platform' | 'default_model_filename'>): string | undefined {
    if (config.default_model_filename) return config.default_model_filename;
    return this.find(config)?.defaultModelFilename;
  }
}
