/**
 * A model version's state in TF Serving's terms (TF Serving's model status JSON, tensorflow/core/framework/types.proto): the façade's states
 * mapped onto `ModelVersionStatus.State`, and a `StatusProto` that is OK unless the version failed.
 *
 *   LOADING → LOADING, READY → AVAILABLE, UNLOADING → UNLOADING,
 *   UNAVAILABLE → END (status OK after a clean unload, UNKNOWN with the reason after a failed load)
 */
import type { VersionState, VersionStatus } from '../../serving/index.js';

export type TfsVersionState = 'UNKNOWN' | 'START' | 'LOADING' | 'AVAILABLE' | 'UNLOADING' | 'END';

const STATE: Readonly<Record<VersionState, TfsVersionState>> = {
  LOADING: 'LOADING',
  READY: 'AVAILABLE',
  UNLOADING: 'UNLOADING',
  UNAVAILABLE: 'END',
};

export function tfsStateOf(state: VersionState): TfsVersionState {
  return STATE[state] ?? 'UNKNOWN';
}

/** `tensorflow.serving.StatusProto` of a version: error code name and message. */
export function tfsStatusOf(status: VersionStatus): { error_code: string; error_message: string } {
  const failed = status.state === 'UNAVAILABLE' && status.reason !== undefined && status.reason !== 'unloaded';
  return failed ? { error_code: 'UNKNOWN', error_message: status.reason ?? '' } : { error_code: 'OK', error_message: '' };
}
