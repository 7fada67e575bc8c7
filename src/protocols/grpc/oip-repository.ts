/**
 * Model repository extension over gRPC (Triton's model repository extension): RepositoryModelLoad parameters
 * become the façade's LoadModelOptions. `config` is a string_param holding a JSON ModelConfig;
 * each `file:<version>/<file name>` is a bytes_param with a model file of an override directory,
 * which only makes sense together with `config`. Other parameters are ignored, like Triton does.
 */
import { invalidArgument } from '../../core/index.js';
import { checkFileOverrideKey } from '../../repository/index.js';
import type { LoadModelOptions, ModelIndexEntry } from '../../serving/index.js';
import type { WireModelIndex, WireRepositoryParameter } from './oip-messages.js';

const FILE_PREFIX = 'file:';

export function decodeLoadOptions(model: string, parameters: Record<string, WireRepositoryParameter> | undefined): LoadModelOptions {
  let config: string | undefined;
  const files = new Map<string, Uint8Array>();
  for (const [key, parameter] of Object.entries(parameters ?? {})) {
    if (key === 'config') {
      if (parameter.parameter_choice !== 'string_param') {
        throw invalidArgument(`load of model '${model}': parameter 'config' must be a string_param holding a JSON ModelConfig`);
      }
      config = parameter.string_param ?? '';
    } else if (key.startsWith(FILE_PREFIX)) {
      const path = key.slice(FILE_PREFIX.length);
      checkFileOverrideKey(key, path);
      if (parameter.parameter_choice !== 'bytes_param') {
        throw invalidArgument(`load of model '${model}': parameter '${key}' must be a bytes_param holding the file content`);
      }
      files.set(path, parameter.bytes_param ?? new Uint8Array(0));
    }
  }
  if (files.size > 0 && config === undefined) {
    throw invalidArgument(`load of model '${model}': 'file:' parameters need a 'config' parameter as well`);
  }
  if (config === undefined) return {};
  return files.size > 0 ? { config, files } : { config };
}

export function encodeModelIndex(entry: ModelIndexEntry): WireModelIndex {
  return { name: entry.name, version: entry.version ?? '', state: entry.state ?? '', reason: entry.reason ?? '' };
}
