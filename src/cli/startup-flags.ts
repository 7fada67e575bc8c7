/**
 * The flags that decide what "started" and "ready" mean, shared by `serve` and `worker`:
 * `--strict-readiness`, `--exit-on-error` (serve only) and `--model-load-thread-count`, spelled as
 * Triton spells them (`--strict-readiness false` or `--strict-readiness=false`).
 */
import { availableParallelism } from 'node:os';
import { InvalidArgumentError, type Command } from 'commander';

export interface StartupFlags {
  strictReadiness: boolean;
  modelLoadThreadCount: number;
}

export interface ServeStartupFlags extends StartupFlags {
  exitOnError: boolean;
}

export function addStartupFlags(command: Command, options: { readonly exitOnError: boolean }): Command {
  command
    .option('--strict-readiness [bool]', 'true: ready only when every model is READY; false: ready once the startup loads settled, whatever their outcome', booleanValue, true)
    .option('--model-load-thread-count <n>', 'model versions loaded at once', wholePositive, availableParallelism());
  if (options.exitOnError) {
    command.option('--exit-on-error [bool]', 'true: exit when a listen fails or a startup model does not load; false: keep serving what loaded', booleanValue, true);
  }
  return command;
}

/** `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`); the flag alone means true. */
export function booleanValue(value: string | boolean): boolean {
  if (typeof value === 'boolean') return value;
  const v = value.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  throw new InvalidArgumentError(`"${value.slice(0, 40)}" is not true or false`);
}

function wholePositive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1024) throw new InvalidArgumentError(`"${value.slice(0, 40)}" is not a whole number from 1 to 1024`);
  return n;
}
