/**
 * The model repository folder as a model source, in the three modes of `--model-control-mode`:
 *
 * - `none`: every model folder is read once at startup; later changes on disk are not followed.
 * - `poll`: the same first scan, then a rescan every `--repository-poll-secs` that reports each
 *   model whose folder changed or disappeared (`RepositoryPoller`).
 * - `explicit`: only the models named by `--load-model` (`*`: all) are read at startup; after that
 *   the load API decides (it drives the manager directly).
 */
import type { ModelRepository } from '../repository/index.js';
import { RepositoryPoller } from '../repository/index.js';
import type { AspiredModelsTarget, ModelFailureReport, ModelSource } from './model-source.js';

export type RepositorySourceMode = 'none' | 'poll' | 'explicit';

export interface RepositorySourceOptions {
  readonly repository: ModelRepository;
  readonly mode: RepositorySourceMode;
  /** Seconds between rescans in mode `poll`. */
  readonly pollSeconds: number;
  /** Models to read at startup in mode `explicit` (`*` = all). */
  readonly loadModels: readonly string[];
  readonly onModelFailed: ModelFailureReport;
}

export class RepositorySource implements ModelSource {
  private poller: PolledModels | undefined;
  private startupNames: readonly string[] = [];

  constructor(private readonly options: RepositorySourceOptions) {}

  async start(target: AspiredModelsTarget): Promise<void> {
    const { repository, mode, onModelFailed } = this.options;
    if (mode === 'explicit') {
      const names = this.options.loadModels.includes('*') ? await repository.list() : this.options.loadModels;
      this.startupNames = names;
      await Promise.all(names.map(async (name) => target.setAspired(name, await repository.read(name)).catch((error: Error) => onModelFailed(name, error))));
      return;
    }
    this.poller = new PolledModels(repository, this.options.pollSeconds, target, onModelFailed);
    await this.poller.start(mode === 'poll');
  }

  async stop(): Promise<void> {
    await this.poller?.stop();
  }

  startupModels(): readonly string[] {
    return this.poller?.startupNames ?? this.startupNames;
  }
}

/**
 * A repository poller connected to a target: the first scan's loads are awaited (startup), later
 * changes apply in the background. Shared by the repository source and the cluster assignment.
 */
export class PolledModels {
  readonly poller: RepositoryPoller;
  startupNames: readonly string[] = [];
  private startup: Promise<void>[] | undefined = [];

  constructor(repository: ModelRepository, pollSeconds: number, target: AspiredModelsTarget, onModelFailed: ModelFailureReport, selected?: (names: string[]) => string[]) {
    this.poller = new RepositoryPoller(
      repository,
      pollSeconds * 1000,
      (model, aspired) => {
        const done = target.setAspired(model, aspired).catch((error: Error) => onModelFailed(model, error));
        if (this.startup) {
          this.startup.push(done);
          if (aspired) this.startupNames = [...this.startupNames, model];
        }
      },
      selected,
    );
  }

  /** The first scan (and, with `poll`, the polling); resolves once the first scan's models settled. */
  async start(poll: boolean): Promise<void> {
    if (poll) await this.poller.start();
    else await this.poller.scan();
    await Promise.all(this.startup ?? []);
    this.startup = undefined;
  }

  stop(): Promise<void> {
    return this.poller.stop();
  }
}
