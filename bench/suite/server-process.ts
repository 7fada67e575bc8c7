/**
 * The server under test, as a child process (`node dist/src/cli/main.js serve ...`) so that the
 * load generator never shares its event loop. Ports are chosen by the server (port 0) and read
 * from its startup log. An event-loop probe is preloaded (`--import`) and answers over IPC; RSS is
 * read from /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EventLoopReading, ProbeRequest } from './event-loop-probe.js';

/** The repository root (this file runs from `dist/bench/suite/`). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MAIN = join(ROOT, 'dist/src/cli/main.js');
const PROBE = new URL('./event-loop-probe.js', import.meta.url).href;

export interface ServerProcessOptions {
  readonly repository: string;
  /** Extra `serve` flags, e.g. `['--model-control-mode', 'poll']`. */
  readonly flags?: readonly string[];
  /** `MALLOC_TRIM_THRESHOLD_=0` in the server's environment (the documented deployment). Default true. */
  readonly mallocTrim?: boolean;
  /** Extra node flags, e.g. `['--cpu-prof', '--cpu-prof-dir=...']`. */
  readonly nodeFlags?: readonly string[];
  readonly startTimeoutMs?: number;
}

export class ServerProcess {
  private stopping = false;

  private constructor(
    private readonly child: ChildProcess,
    readonly httpUrl: string,
    readonly grpcAddress: string,
    private readonly log: string[],
  ) {}

  static async start(options: ServerProcessOptions): Promise<ServerProcess> {
    const env: NodeJS.ProcessEnv = { ...process.env };
    if (options.mallocTrim ?? true) env['MALLOC_TRIM_THRESHOLD_'] = '0';
    else delete env['MALLOC_TRIM_THRESHOLD_'];
    // BENCH_SERVER_NODE_FLAGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles every server of a run.
    const fromEnv = (process.env['BENCH_SERVER_NODE_FLAGS'] ?? '').split(' ').filter((f) => f !== '');
    const args = [
      ...fromEnv,
      ...(options.nodeFlags ?? []),
      '--import',
      PROBE,
      MAIN,
      'serve',
      '--model-repository',
      options.repository,
      '--host',
      '127.0.0.1',
      '--http-port',
      '0',
      '--grpc-port',
      '0',
      '--metrics-port',
      '0',
      '--log-level',
      'info',
      ...(options.flags ?? []),
    ];
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    const log: string[] = [];
    const ports = await new Promise<{ http: number; grpc: number }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the server did not report its ports within ${options.startTimeoutMs ?? 60_000} ms:\n${log.join('\n')}`)), options.startTimeoutMs ?? 60_000);
      const onLine = (line: string): void => {
        if (log.length < 2000) log.push(line);
        const match = /"http":(\d+),"grpc":(\d+)/.exec(line) ?? /HTTP [^:]+:(\d+), gRPC [^:]+:(\d+)/.exec(line);
        if (match) {
          clearTimeout(timer);
          resolve({ http: Number(match[1]), grpc: Number(match[2]) });
        }
      };
      lines(child.stdout!, onLine);
      lines(child.stderr!, onLine);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the server exited with code ${code} before listening:\n${log.join('\n')}`));
      });
    });
    const server = new ServerProcess(child, `http://127.0.0.1:${ports.http}`, `127.0.0.1:${ports.grpc}`, log);
    child.once('exit', (code, signal) => {
      if (!server.stopping) process.stderr.write(`\nserver process ${child.pid} exited unexpectedly (code ${code}, signal ${signal}); its last log lines:\n${server.recentLog(40)}\n`);
    });
    await server.waitReady(options.startTimeoutMs ?? 120_000, (options.flags ?? []).includes('explicit'));
    return server;
  }

  get pid(): number {
    return this.child.pid!;
  }

  /**
   * Waits until every model of the repository index has a READY version (readiness alone is true
   * before the first scan has named any model) — or, in explicit mode, until the server is ready.
   */
  async waitReady(timeoutMs: number, explicit = false): Promise<void> {
    const ready = async (): Promise<boolean> => {
      if ((await fetch(`${this.httpUrl}/v2/health/ready`).catch(() => undefined))?.status !== 200) return false;
      if (explicit) return true;
      const index = (await (await fetch(`${this.httpUrl}/v2/repository/index`, { method: 'POST' })).json()) as { name: string; state?: string }[];
      const names = new Set(index.map((e) => e.name));
      return names.size > 0 && [...names].every((name) => index.some((e) => e.name === name && e.state === 'READY'));
    };
    await pollUntil(ready, timeoutMs, 'every model to be READY', () => this.log.slice(-20).join('\n'));
  }

  /**
   * RSS of the server and every process under it (a Python model's stub processes hold its memory
   * outside the server's own RSS).
   */
  async rssBytes(): Promise<number> {
    let total = 0;
    const pending = [this.pid];
    for (let pid = pending.pop(); pid !== undefined; pid = pending.pop()) {
      const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
      total += Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
      const tasks = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
      for (const task of tasks) {
        const children = await readFile(`/proc/${pid}/task/${task}/children`, 'utf8').catch(() => '');
        pending.push(...children.split(' ').filter(Boolean).map(Number));
      }
    }
    return total;
  }

  /** Restarts the event-loop delay histogram inside the server. */
  async resetEventLoop(): Promise<void> {
    await this.ask({ kind: 'reset' });
  }

  /** The server main thread's event-loop delay since the last reset. */
  async readEventLoop(): Promise<EventLoopReading> {
    return this.ask({ kind: 'read' });
  }

  recentLog(lines = 30): string {
    return this.log.slice(-lines).join('\n');
  }

  /** SIGTERM (graceful: drain and unload), SIGKILL after `graceMs`. */
  async stop(graceMs = 20_000): Promise<void> {
    this.stopping = true;
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  private ask(request: ProbeRequest): Promise<EventLoopReading> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the event-loop probe did not answer')), 10_000);
      this.child.once('message', (message: EventLoopReading) => {
        clearTimeout(timer);
        resolve(message);
      });
      this.child.send(request);
    });
  }
}

function lines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop() ?? '';
    for (const part of parts) onLine(part);
  });
}

/** Calls `check` every 20 ms until it returns true; throws after `timeoutMs`. */
export async function pollUntil(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string, context?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${context ? `\n${context()}` : ''}`);
}
