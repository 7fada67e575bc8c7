/**
 * What a model source (the repository poller, the explicit load API, or a cluster assignment) asks
 * the model manager to serve for one model: the complete list of versions. A version missing from
 * the list is to be unloaded (TF Serving's aspired-versions contract).
 */
import type { ModelConfig } from './model-config.js';

export interface AspiredVersion {
  readonly version: number;
  readonly modelPath: string;
  /** Identity of the model file (size and mtime): a different stamp means "reload". */
  readonly stamp: string;
  /** Why this version cannot be served (its files lead outside the repository): it shows UNAVAILABLE with this reason. */
  readonly refused?: string | undefined;
}

export type AspiredModel =
  | {
      readonly ok: true;
      readonly config: ModelConfig;
      /** Identity of the configuration (its text, or its JSON): a different stamp reloads every version. */
      readonly configStamp: string;
      readonly versions: readonly AspiredVersion[];
      /** Why `versions` is empty, in words a user can act on (e.g. "no version folder: ..."). */
      readonly noVersionReason?: string | undefined;
      /** Where the model's other files (`warmup/<file>` of `model_warmup`) are read: its real folder, and the boundary they must stay inside. */
      readonly files?: { readonly directory: string; readonly boundary: string } | undefined;
    }
  /** The model exists but cannot be served (e.g. a broken config.pbtxt); the reason is shown to users. */
  | { readonly ok: false; readonly reason: string };
