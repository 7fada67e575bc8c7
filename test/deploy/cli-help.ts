/**
 * What our CLI accepts, learned the two ways a deployment file meets it: the `--help` text a person
 * reads (commands, flags, value placeholders, choices and defaults), from the built `dist/src/cli/main.js`
 * run as a process; and the real option parsers, by parsing an argument list with the command's own
 * commander definition (action replaced, errors thrown instead of exiting).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Command } from 'commander';
import { serveCommand } from '../../src/cli/serve.js';
import { workerCommand } from '../../src/cli/worker.js';
import { controllerCommand } from '../../src/cli/controller.js';
import { gatewayCommand } from '../../src/cli/gateway.js';
import { inferCommand } from '../../src/cli/infer.js';
import { benchCommand } from '../../src/cli/bench.js';

const run = promisify(execFile);

export interface HelpOption {
  /** Long flag, e.g. `--http-port`. */
  readonly flag: string;
  /** Short flag, e.g. `-m`, if any. */
  readonly short: string | undefined;
  /** True when the flag takes a value (`<x>` or `[x]`). */
  readonly takesValue: boolean;
  readonly choices: readonly string[] | undefined;
  /** The `(default: ...)` text, unquoted, if shown. */
  readonly defaultText: string | undefined;
}

/** `node <main> [command] --help`, run from `cwd`. */
export async function helpText(main: string, cwd: string, command?: string): Promise<string> {
  const { stdout } = await run(process.execPath, [main, ...(command ? [command] : []), '--help'], { cwd, timeout: 30_000 });
  return stdout;
}

/** Lines of a help section (`Options:` / `Commands:`), an entry's wrapped lines joined to it. */
function section(help: string, title: string): string[] {
  const lines = help.split('\n');
  const start = lines.findIndex((line) => line.trim() === title);
  if (start < 0) return [];
  const entries: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.trim() === '' || !line.startsWith(' ')) break;
    // Entries start at two spaces; wrapped descriptions are indented further.
    if (/^ {2}\S/.test(line)) entries.push(line.trim());
    else if (entries.length > 0) entries[entries.length - 1] += ` ${line.trim()}`;
  }
  return entries;
}

/** Command names listed by the top-level help (without `help`). */
export function commandsOf(help: string): string[] {
  return section(help, 'Commands:')
    .map((entry) => /^([\w-]+)/.exec(entry)?.[1])
    .filter((name): name is string => name !== undefined && name !== 'help');
}

/** Options of a command's help, by long flag. */
export function optionsOf(help: string): Map<string, HelpOption> {
  const options = new Map<string, HelpOption>();
  for (const entry of section(help, 'Options:')) {
    const match = /^(?:(-\w),\s+)?(--[\w-]+)(\s+[<[][^>\]]+[>\]])?\s*(.*)$/.exec(entry);
    if (!match) continue;
    const description = match[4]!;
    const choices = /choices: ((?:"[^"]*"(?:, )?)+)/.exec(description)?.[1];
    const defaultText = /default: ("[^"]*"|[^,)]+)/.exec(description)?.[1];
    options.set(match[2]!, {
      flag: match[2]!,
      short: match[1],
      takesValue: match[3] !== undefined,
      choices: choices ? [...choices.matchAll(/"([^"]*)"/g)].map((m) => m[1]!) : undefined,
      defaultText: defaultText?.replace(/^"|"$/g, ''),
    });
  }
  return options;
}

/**
 * Checks an argument list against a command's help: every flag is listed, a value follows each flag
 * that takes one and is one of its choices. Returns the problems found (empty when all is well).
 */
export function checkAgainstHelp(args: readonly string[], options: ReadonlyMap<string, HelpOption>): string[] {
  const problems: string[] = [];
  const byShort = new Map([...options.values()].filter((o) => o.short).map((o) => [o.short!, o]));
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('-')) {
      problems.push(`unexpected argument '${arg}' (no option before it takes a value)`);
      continue;
    }
    const [name, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const option = options.get(name) ?? byShort.get(name);
    if (!option) {
      problems.push(`unknown flag ${name}`);
      continue;
    }
    if (!option.takesValue) continue;
    const value = inline ?? args[++i];
    if (value === undefined || (inline === undefined && value.startsWith('--'))) {
      problems.push(`${name} needs a value`);
      if (value !== undefined) i--;
      continue;
    }
    if (option.choices && !option.choices.includes(value)) problems.push(`${name} ${value}: not one of ${option.choices.join(', ')}`);
  }
  return problems;
}

const FACTORIES: Record<string, () => Command> = {
  serve: serveCommand,
  worker: workerCommand,
  controller: controllerCommand,
  gateway: gatewayCommand,
  infer: inferCommand,
  bench: benchCommand,
};

/**
 * Parses `args` exactly as `cranberries <command>` would (same option definitions and value parsers,
 * required options enforced) without running the command; throws the CLI's own error message.
 */
export function parseCommandLine(command: string, args: readonly string[]): Record<string, unknown> {
  const factory = FACTORIES[command];
  if (!factory) throw new Error(`no such command: ${command}`);
  const definition = factory()
    .exitOverride()
    .configureOutput({ writeOut: () => {}, writeErr: () => {} })
    .action(() => {});
  definition.parse([...args], { from: 'user' });
  return definition.opts();
}
