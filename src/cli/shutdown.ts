/**
 * What every long-running command does on SIGINT/SIGTERM: log, stop gracefully (drain requests,
 * unload models, leave the cluster), exit 0. `--drain-timeout-secs` bounds the graceful part: a
 * model run that never ends, a client that never reads its answer or a store that never answers
 * cannot keep the process alive.
 *
 * When the time is up the process logs what it gave up on and ends itself with the signal it
 * received, at its default action (exit status 128 + signal: 143 for SIGTERM, 130 for SIGINT), as
 * any program without a handler would. Not `process.exit`: Node's exit joins every worker thread
 * and the libuv thread pool first, and a thread inside an ONNX Runtime run cannot be interrupted,
 * so `process.exit` waits for the run (measured: still alive 30 s later behind a one-minute run).
 * The kernel ends every thread at once; open connections are reset. A second signal while
 * draining does the same at once.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { Logger } from '../core/index.js';

export const DEFAULT_DRAIN_TIMEOUT_SECS = 30;

export interface DrainTimeoutFlags {
  drainTimeoutSecs: number;
}

export function addDrainTimeoutFlag(command: Command): Command {
  return command.option(
    '--drain-timeout-secs <s>',
    'on SIGTERM/SIGINT, exit after this time even if requests, model runs or the cluster store have not finished',
    positiveSeconds,
    DEFAULT_DRAIN_TIMEOUT_SECS,
  );
}

export interface ShutdownOptions {
  readonly logger: Logger;
  /** The graceful stop. */
  readonly stop: () => Promise<void>;
  readonly drainTimeoutMs: number;
  /** Logged when the signal arrives, e.g. "stopping: draining requests and unloading models". */
  readonly message: string;
  /** Default `process.exit`; a test double only in unit tests. */
  readonly exit?: (code: number) => void;
  /** Default `endWithSignal`; a test double only in unit tests. */
  readonly endWithSignal?: (signal: NodeJS.Signals) => void;
}

/** Ends the process with `signal` at its default action (no handler runs, no thread is waited for). */
export function endWithSignal(signal: NodeJS.Signals): void {
  // With no listener left, Node gives the signal back its default action.
  process.removeAllListeners(signal);
  process.kill(process.pid, signal);
  // Should anything still catch it: SIGKILL cannot be caught.
  setTimeout(() => process.kill(process.pid, 'SIGKILL'), 2000).unref();
}

/** Installs the SIGINT/SIGTERM handlers. */
export function stopOnSignals(options: ShutdownOptions): void {
  const { logger } = options;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const end = options.endWithSignal ?? endWithSignal;
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal while draining: ending now');
      end(signal);
      return;
    }
    stopping = true;
    logger.info({ signal, drainTimeoutSecs: options.drainTimeoutMs / 1000 }, options.message);
    const timer = setTimeout(() => {
      logger.warn({ signal, drainTimeoutSecs: options.drainTimeoutMs / 1000 }, 'drain timeout: ending the process with requests, model runs or store calls still open');
      end(signal);
    }, options.drainTimeoutMs);
    options.stop().then(
      () => {
        clearTimeout(timer);
        exit(0);
      },
      (error: unknown) => {
        clearTimeout(timer);
        logger.error({ err: error instanceof Error ? error.message : String(error) }, 'stopping failed');
        exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

function positiveSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`"${value}" is not a positive number of seconds`);
  return n;
}
