/**
 * The seam between what decides which models to serve and the model manager that serves them
 * (TF Serving's Source → Manager). A source reads its own world — the repository folder, a TF
 * Serving model list, a cluster worker's assignment — and tells its target, model by model, the
 * complete set of versions it aspires to (`AspiredModel`, or undefined: serve nothing). The target
 * (the model manager) makes it so, availability first (`serving/transition-plan.ts`).
 *
 * A server has one source deciding its models (picked in `server/model-server.ts`); the load API
 * and run-time model lists act on the same manager directly.
 */
import type { AspiredModel } from '../repository/index.js';

/** What a source drives: the model manager, seen through a narrow port. */
export interface AspiredModelsTarget {
  /** Sets what to serve for `model` (undefined: nothing); resolves once converged, rejects when a version failed. */
  setAspired(model: string, aspired: AspiredModel | undefined): Promise<void>;
  /** Names of the models currently aspired, whichever source asked for them. */
  servedModels(): readonly string[];
}

export interface ModelSource {
  /**
   * Connects the source to `target` and reports everything it aspires to now (the first full
   * scan); resolves once those models have settled, loaded or failed (a model that fails is
   * reported to the source's own error log, it does not reject this). Later changes are reported
   * in the background until `stop`.
   */
  start(target: AspiredModelsTarget): Promise<void>;
  /** Stops following changes; resolves once a scan or application under way has ended. */
  stop(): Promise<void>;
  /** The models the first scan asked for (the startup banner's list). */
  startupModels(): readonly string[];
}

/** Told about a model that did not load when no caller waits for it (startup and background scans). */
export type ModelFailureReport = (model: string, error: Error) => void;
