/**
 * Counting requests that fail before the serving core runs them. A request whose body cannot be
 * decoded (malformed tensor data, a wrong byte size) never reaches `InferenceService.infer`, yet it
 * was addressed to a model and must show in that model's failure counter. Protocol adapters call
 * `recordRejected` in their error path; the service decides whether the model is one it knows
 * (unknown names are not counted, so arbitrary names cannot create metric series) and ignores an
 * error it already counted itself, so adapters may report every failure without double counting.
 */
import type { InferenceService } from '../serving/inference-service.js';

export interface RejectionRecorder {
  recordRejected(model: string, version: number | undefined, error: unknown, requestId?: string): void;
}

function isRejectionRecorder(service: object): service is RejectionRecorder {
  return typeof (service as Partial<RejectionRecorder>).recordRejected === 'function';
}

/** Reports a failed request to `service` if it counts rejections (the serving core does; a gateway may not). */
export function recordRejected(service: InferenceService, model: string, version: number | undefined, error: unknown, requestId?: string): void {
  if (isRejectionRecorder(service)) service.recordRejected(model, version, error, requestId);
}

/** A path or wire version string as a number, or undefined when absent or not a version. */
export function versionOrUndefined(text: string | undefined): number | undefined {
  if (text === undefined || !/^[0-9]{1,15}$/.test(text)) return undefined;
  return Number(text);
}
