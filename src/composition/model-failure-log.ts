/**
 * Logs, at warn, every model that becomes unservable as a whole (a broken config.pbtxt found at
 * startup or by the poller, a folder with no version to load, a folder missing from the
 * repository), once per distinct reason. Version failures are logged by their state change; this
 * covers the failures that have no version to carry them.
 */
import type { Logger } from '../core/index.js';
import type { ModelSettledEvent } from '../serving/index.js';

export function logModelFailures(settled: { subscribe(listener: (event: ModelSettledEvent) => void): () => void }, logger: Logger): () => void {
  const logged = new Map<string, string>();
  return settled.subscribe(({ model, failure, servingVersions }) => {
    if (failure === undefined || failure === 'unloaded') {
      logged.delete(model);
      return;
    }
    if (logged.get(model) === failure) return;
    logged.set(model, failure);
    if (servingVersions.length > 0) {
      // Saying UNAVAILABLE here would be a lie: the loaded copy keeps answering.
      const versions = servingVersions.join(', ');
      logger.warn({ model, state: 'READY', servingVersions, reason: failure }, `model '${model}' keeps serving version ${versions}; its new configuration is refused: ${failure}`);
      return;
    }
    logger.warn({ model, state: 'UNAVAILABLE', reason: failure }, `model '${model}' is UNAVAILABLE: ${failure}`);
  });
}
