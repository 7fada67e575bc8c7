/**
 * `cranberries serve` as a child process, as users run it: its JSON log lines collected (with the
 * time each was written), its stderr, its exit. Ports default to 0 on 127.0.0.1; the chosen ones
 * come from the "listening" log line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface LogEntry {
  readonly level: number;
  readonly time: number;
  readonly msg: string;
  readonly [field: string]: unknown;
}

export interface CliProcess {
  readonly child: ChildProcess;
  /** Every log line so far, parsed. */
  readonly logs: LogEntry[];
  stderr(): string;
  /** Exit code (or signal name) once exited. */
  readonly exited: Promise<number | string>;
  /** Resolves with the HTTP base URL once the endpoints listen; rejects if the process exits first. */
  url(timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

export function startCli(args: readonly string[], options: { readonly cwd?: string } = {}): CliProcess {
  const hasFlag = (flag: string): boolean => args.some((a) => a === flag || a.startsWith(`${flag}=`));
  const defaults = [
    ...(hasFlag('--host') ? [] : ['--host', '127.0.0.1']),
    ...(hasFlag('--http-port') ? [] : ['--http-port', '0']),
    ...(hasFlag('--grpc-port') ? [] : ['--grpc-port', '0']),
    ...(hasFlag('--metrics-port') ? [] : ['--metrics-port', '0']),
  ];
  const child = spawn(process.execPath, [`${PACKAGE_ROOT}dist/src/cli/main.js`, 'serve', ...defaults, ...args], {
    cwd: options.cwd ?? PACKAGE_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogEntry[] = [];
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const listeners = new Set<() => void>();
  createInterface({ input: child.stdout }).on('line', (line) => {
    try {
      logs.push(JSON.parse(line) as LogEntry);
    } catch {
      logs.push({ level: 30, time: Date.now(), msg: line });
    }
    for (const l of [...listeners]) l();
  });
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  let exitCode: number | string | undefined;
  void exited.then((code) => {
    exitCode = code;
    for (const l of [...listeners]) l();
  });
  return {
    child,
    logs,
    stderr: () => stderr,
    exited,
    url: (timeoutMs = 60_000) =>
      new Promise<string>((resolve, reject) => {
        const check = (): void => {
          const listening = logs.find((e) => typeof e['http'] === 'number' && typeof e['grpc'] === 'number');
          if (listening) done(() => resolve(`http://127.0.0.1:${String(listening['http'])}`));
          else if (exitCode !== undefined) done(() => reject(new Error(`serve exited (${exitCode}) before listening: ${stderr.slice(0, 500)}`)));
        };
        const done = (finish: () => void): void => {
          clearTimeout(timer);
          listeners.delete(check);
          finish();
        };
        const timer = setTimeout(() => done(() => reject(new Error(`serve did not listen within ${timeoutMs} ms`))), timeoutMs);
        listeners.add(check);
        check();
      }),
    stop: async () => {
      if (exitCode === undefined) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Resolves with the exit code, or rejects when the process is still running after `timeoutMs`. */
export async function exitWithin(cli: CliProcess, timeoutMs: number): Promise<number | string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>(
    (_, reject) =>
      (timer = setTimeout(
        () =>
          reject(
            new Error(
              `still running after ${timeoutMs} ms; logs: ${cli.logs
                .map((l) => l.msg)
                .join(' | ')
                .slice(-800)}`,
            ),
          ),
        timeoutMs,
      )),
  );
  try {
    return await Promise.race([cli.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
