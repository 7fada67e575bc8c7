/**
 * A cluster worker's assignment as a model source: the worker serves exactly the models the
 * cluster assigns it, read from its repository folder. A model entering the assignment is read and
 * loaded, one leaving it is unloaded, an assigned model missing from the repository is reported
 * with its reason; with `poll` the assigned folders are also rescanned for changes.
 *
 * The assignment itself (`ModelSelection`, fed by the worker agent) changes only when the agent
 * reads a new one; while the coordination store is unreachable nothing changes here.
 */
import type { ModelRepository } from '../repository/index.js';
import type { AspiredModelsTarget, ModelFailureReport, ModelSource } from './model-source.js';
import { PolledModels } from './repository-source.js';

/**
 * Which of the repository's models a server serves, when something other than the repository
 * decides it (a cluster worker's assignment).
 */
export interface ModelSelection {
  has(model: string): boolean;
  /** Every selected model, so one missing from the repository is reported rather than ignored. */
  list?(): readonly string[];
  /** Subscribes to changes of the selection; returns an unsubscribe function. */
  onChange(listener: () => void): () => void;
}

export interface AssignmentSourceOptions {
  readonly repository: ModelRepository;
  readonly selection: ModelSelection;
  /** Rescan the assigned folders every `pollSeconds` too (`--model-control-mode poll`). */
  readonly poll: boolean;
  readonly pollSeconds: number;
  readonly onModelFailed: ModelFailureReport;
}

export class AssignmentSource implements ModelSource {
  private polled: PolledModels | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly options: AssignmentSourceOptions) {}

  async start(target: AspiredModelsTarget): Promise<void> {
    const { repository, selection, pollSeconds, onModelFailed } = this.options;
    // A selected model missing from the repository is read too: it shows up with its reason.
    const assigned = (names: string[]): string[] => [...names.filter((n) => selection.has(n)), ...(selection.list?.() ?? []).filter((n) => !names.includes(n))];
    const polled = new PolledModels(repository, pollSeconds, target, onModelFailed, assigned);
    this.polled = polled;
    this.unsubscribe = selection.onChange(() => void polled.poller.scan());
    await polled.start(this.options.poll);
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    await this.polled?.stop();
  }

  startupModels(): readonly string[] {
    return this.polled?.startupNames ?? [];
  }
}
