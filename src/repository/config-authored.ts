/**
 * Which top-level fields of a config its author actually wrote. proto3 cannot tell
 * `max_batch_size: 0` from no `max_batch_size` at all, yet auto-completion must (the first means
 * "never batch", the second "batch if the model can"), so the parser records the written fields
 * per config object here. Copies made elsewhere (spread, JSON) do not carry the record.
 */
import type { ModelConfig } from './model-config.js';

const authored = new WeakMap<ModelConfig, ReadonlySet<string>>();

/** Top-level fields the config's author wrote; undefined for a config the parser did not make. */
export function authoredFields(config: ModelConfig): ReadonlySet<string> | undefined {
  return authored.get(config);
}

/** Records which top-level fields of `config` were written by its author (see `authoredFields`). */
export function markAuthored(config: ModelConfig, fields: Iterable<string>): void {
  authored.set(config, new Set(fields));
}
