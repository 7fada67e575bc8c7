/**
 * Fail-fast startup of `cranberries serve` (Triton's `--exit-on-error`, default true):
 *
 * - before anything listens, the inputs are checked: the model repository (or model config file)
 *   must be a readable folder (file), and every `--load-model` name a model folder of it;
 * - an endpoint that cannot listen fails the start (`ModelServer.start`, `listenError`);
 * - once the startup has settled (every startup model READY or UNAVAILABLE with a reason), a model
 *   that did not load fails the start too, unless exit-on-error is off: then the server keeps
 *   serving what loaded, and says which models failed and why.
 *
 * Each failure is a `StartupError`: one sentence naming the flag and its value, for stderr.
 */
import { readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Logger } from '../core/index.js';
import type { ModelControlMode } from '../serving/index.js';
import type { ServerReadiness } from './readiness.js';
import { StartupError, closestName, listNames, requireFile, requireFolder } from './startup-errors.js';

export interface StartupInputs {
  /** Absolute path, and the value as given (for messages). */
  readonly modelRepository: string;
  readonly modelRepositoryGiven: string;
  readonly modelConfigFile?: string | undefined;
  readonly modelConfigFileGiven?: string | undefined;
  readonly controlMode: ModelControlMode;
  readonly loadModels: readonly string[];
}

/** Checks the inputs a server is started with; rejects with a `StartupError` on the first problem. */
export async function checkStartupInputs(inputs: StartupInputs): Promise<void> {
  if (inputs.modelConfigFile !== undefined) {
    await requireFile('--model-config-file', inputs.modelConfigFile, inputs.modelConfigFileGiven ?? inputs.modelConfigFile);
    return;
  }
  try {
    await requireFolder('--model-repository', inputs.modelRepository, inputs.modelRepositoryGiven);
  } catch (error) {
    // A typo of a folder next to it is the common case: name it.
    const parent = dirname(inputs.modelRepository);
    const siblings = await readdir(parent, { withFileTypes: true }).then(
      (entries) => entries.filter((e) => e.isDirectory()).map((e) => e.name),
      () => [],
    );
    const near = closestName(basename(inputs.modelRepository), siblings);
    if (error instanceof StartupError && near !== undefined) throw new StartupError(error.flag, `${error.message}; did you mean ${join(parent, near)}?`);
    throw error;
  }
  const names = inputs.loadModels.filter((n) => n !== '*');
  if (inputs.controlMode !== 'explicit' || names.length === 0) return;
  const entries = await readdir(inputs.modelRepository, { withFileTypes: true });
  const models = entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
  for (const name of names) {
    if (models.includes(name)) continue;
    const near = closestName(name, models);
    const shown = name.length > 100 ? `${name.slice(0, 100)}…` : name;
    throw new StartupError(
      '--load-model',
      `--load-model ${shown}: no model folder '${shown}' in the model repository ${inputs.modelRepository}${near ? ` (did you mean '${near}'?)` : ''}; models there: ${listNames(models)}`,
    );
  }
}

/** A started server, as far as finishing its startup is concerned. */
export interface StartingServer {
  readonly readiness: ServerReadiness;
  /** Once settled: the startup models that are not READY, with their reasons. */
  startupFailures(): { model: string; reason: string }[];
  stop(): Promise<void>;
}

/** Waits for the startup to settle; with exit-on-error a model that did not load stops the server and rejects. */
export async function finishStartup(server: StartingServer, options: { readonly exitOnError: boolean; readonly logger: Logger }): Promise<void> {
  await server.readiness.whenSettled(MAX_TIMER_MS);
  const failures = server.startupFailures();
  if (failures.length === 0) return;
  const list = failures
    .slice(0, 5)
    .map((f) => `'${f.model}' (${f.reason})`)
    .join(', ');
  const more = failures.length > 5 ? ` and ${failures.length - 5} more` : '';
  if (options.exitOnError) {
    await server.stop();
    const what = failures.length === 1 ? 'model' : 'models';
    throw new StartupError('--exit-on-error', `${what} ${list}${more} did not load; fix ${failures.length === 1 ? 'it' : 'them'}, or pass --exit-on-error false to serve the models that loaded`);
  }
  options.logger.warn(
    { models: failures },
    `serving without ${failures.length === 1 ? 'model' : 'models'} ${list}${more} (--exit-on-error false)${server.readiness.strict ? '; not ready while they are not READY (--strict-readiness)' : ''}`,
  );
}

/** setTimeout's largest delay. */
const MAX_TIMER_MS = 2 ** 31 - 1;
