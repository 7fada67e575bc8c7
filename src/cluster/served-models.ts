/**
 * What the cluster's worker agent needs to know about the models a server holds: the model
 * manager's state events and its current versions. `ModelManager` (serving/) satisfies it
 * structurally, so the cluster code does not depend on the serving internals.
 */
export type VersionState = 'LOADING' | 'READY' | 'UNLOADING' | 'UNAVAILABLE';

export interface VersionStateChange {
  readonly model: string;
  readonly version: number;
  readonly state: VersionState;
  readonly reason?: string | undefined;
}

export interface ServedModels {
  readonly stateChanged: { subscribe(listener: (event: VersionStateChange) => void): () => void };
  /** Every model the server knows (aspired, or with versions still around). */
  modelNames(): string[];
  versions(model: string): readonly { readonly version: number; readonly state: VersionState; readonly reason: string | undefined }[];
  /** Each finished reconciliation of a model (its state is final until the next change); absent: load events only. */
  readonly modelSettled?: { subscribe(listener: (event: { readonly model: string }) => void): () => void };
  /** True when the model is known and no change to it is in progress. */
  isSettled?(model: string): boolean;
}
