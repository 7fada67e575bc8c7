/**
 * `cranberries cluster up`: a whole cluster on loopback in one command — a private ZooKeeper
 * (Debian package), one controller, N workers and a gateway, each a child process of this one
 * with its output in a log file. Prints the addresses, waits until the gateway is ready, and on
 * Ctrl-C stops everything in reverse order (gateway, workers, controller, ZooKeeper).
 *
 * Ports: the gateway takes `--base-port` (HTTP), +1 (gRPC), +2 (metrics); worker i takes
 * base + 10·i, +1, +2. ZooKeeper takes a free port unless `--zookeeper-port` says otherwise.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError, Option } from 'commander';
import { LOG_LEVELS, type LogLevel } from '../core/logger.js';
import { PACKAGE_ROOT } from '../core/version.js';
import { startZooKeeperProcess, type ZooKeeperProcess } from '../cluster/zookeeper-process.js';
import { port, positiveNumber } from './options.js';

interface ClusterUpFlags {
  workers: number;
  modelRepository: string;
  basePort: number;
  zookeeperPort: number;
  defaultReplicas?: number;
  memoryLimit?: string;
  logLevel: LogLevel;
  logDir?: string;
  readyTimeoutSecs: number;
}

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));
const STOP_GRACE_MS = 10_000;

function count(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 50) throw new InvalidArgumentError(`"${value}" is not a worker count (1-50)`);
  return n;
}

export function clusterCommand(): Command {
  const cluster = new Command('cluster').description('Run a local Cranberries cluster for development and demos.');
  cluster
    .command('up')
    .description('Start ZooKeeper, a controller, N workers and a gateway on loopback; Ctrl-C stops them all.')
    .option('--workers <n>', 'number of workers', count, 3)
    .option('--model-repository <dir>', 'model repository the workers serve', resolve(PACKAGE_ROOT, 'models'))
    .option('--base-port <port>', "gateway HTTP port; the gateway's gRPC and metrics ports and the workers' ports follow it", port, 8000)
    .option('--zookeeper-port <port>', 'ZooKeeper client port; 0 picks a free one', port, 0)
    .option('--default-replicas <n>', 'replicas per model (controller default)', positiveNumber)
    .option('--memory-limit <size>', "each worker's memory capacity, e.g. 2GiB")
    .addOption(new Option('--log-level <level>', 'log level of every process').choices(LOG_LEVELS).default('info'))
    .option('--log-dir <dir>', 'folder for the processes\' logs (default: a new temp folder)')
    .option('--ready-timeout-secs <seconds>', 'how long to wait for the gateway to report ready', positiveNumber, 120)
    .action(async (flags: ClusterUpFlags) => {
      await clusterUp(flags);
    });
  return cluster;
}

/** A child process whose output goes to a log file. */
class Child {
  private readonly process: ChildProcess;
  private exited = false;
  readonly done: Promise<number | null>;

  constructor(
    readonly name: string,
    args: readonly string[],
    readonly logFile: string,
    onUnexpectedExit: (child: Child, code: number | null, signal: NodeJS.Signals | null) => void,
  ) {
    const log = createWriteStream(logFile, { flags: 'a' });
    // Own process group: a terminal's Ctrl-C reaches only `cluster up`, which stops the children in order.
    this.process = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, MALLOC_TRIM_THRESHOLD_: '0' } });
    this.process.stdout?.pipe(log);
    this.process.stderr?.pipe(log);
    this.done = new Promise((resolveDone) => {
      this.process.once('exit', (code, signal) => {
        const expected = this.exited;
        this.exited = true;
        if (!expected) onUnexpectedExit(this, code, signal);
        resolveDone(code);
      });
    });
  }

  get running(): boolean {
    return !this.exited;
  }

  /** Last resort when this process exits abruptly: the children live in their own process groups. */
  kill(): void {
    if (this.process.exitCode === null && this.process.signalCode === null) this.process.kill('SIGKILL');
  }

  /** SIGTERM, then SIGKILL after the grace period. */
  async stop(): Promise<void> {
    if (this.exited) return;
    this.exited = true;
    this.process.kill('SIGTERM');
    const timer = setTimeout(() => this.process.kill('SIGKILL'), STOP_GRACE_MS);
    await this.done;
    clearTimeout(timer);
  }
}

async function clusterUp(flags: ClusterUpFlags): Promise<void> {
  const repository = resolve(flags.modelRepository);
  const logDir = flags.logDir ? resolve(flags.logDir) : await mkdtemp(join(tmpdir(), 'cranberries-cluster-'));
  await mkdir(logDir, { recursive: true });
  const base = flags.basePort;
  const workerPorts = Array.from({ length: flags.workers }, (_, i) => ({ http: base + 10 * (i + 1), grpc: base + 10 * (i + 1) + 1, metrics: base + 10 * (i + 1) + 2 }));
  const lastPort = workerPorts.at(-1)?.metrics ?? base + 2;
  if (lastPort > 65535) throw new InvalidArgumentError(`--base-port ${base} leaves no room for ${flags.workers} workers (ports up to ${lastPort})`);

  const children: Child[] = [];
  let zookeeper: ZooKeeperProcess | undefined;
  let stopping: Promise<void> | undefined;
  const stopAll = (exitCode: number): Promise<void> => {
    stopping ??= (async () => {
      console.log('\nstopping the cluster ...');
      // Front door first, ZooKeeper last: nothing should lose its coordination store while running.
      const gateway = children.filter((c) => c.name === 'gateway');
      const workers = children.filter((c) => c.name.startsWith('worker'));
      const controller = children.filter((c) => c.name === 'controller');
      for (const group of [gateway, workers, controller]) await Promise.all(group.map((c) => c.stop()));
      await zookeeper?.close();
      console.log(`stopped. Logs are in ${logDir}`);
      process.exit(exitCode);
    })();
    return stopping;
  };
  const onUnexpectedExit = (child: Child, code: number | null, signal: NodeJS.Signals | null): void => {
    if (stopping) return;
    const how = signal ? `signal ${signal}` : `code ${code}`;
    if (child.name.startsWith('worker')) {
      console.error(`${child.name} exited (${how}); the cluster carries on without it. Log: ${child.logFile}`);
      return;
    }
    console.error(`${child.name} exited (${how}): stopping the cluster. Log: ${child.logFile}`);
    void stopAll(1);
  };
  process.on('exit', () => {
    for (const child of children) child.kill();
  });
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));

  try {
    zookeeper = await startZooKeeperProcess({ port: flags.zookeeperPort, tickTimeMs: 1000, detached: true });
    const zk = zookeeper.connectionString;
    const common = ['--zookeeper', zk, '--log-level', flags.logLevel];
    const start = (name: string, args: string[]): Child => {
      const child = new Child(name, args, join(logDir, `${name}.log`), onUnexpectedExit);
      children.push(child);
      return child;
    };
    start('controller', ['controller', ...common, '--model-repository', repository, ...(flags.defaultReplicas ? ['--default-replicas', String(flags.defaultReplicas)] : [])]);
    workerPorts.forEach((ports, i) =>
      start(`worker-${i + 1}`, [
        'worker',
        ...common,
        '--model-repository',
        repository,
        '--host',
        '127.0.0.1',
        '--http-port',
        String(ports.http),
        '--grpc-port',
        String(ports.grpc),
        '--metrics-port',
        String(ports.metrics),
        ...(flags.memoryLimit ? ['--memory-limit', flags.memoryLimit] : []),
      ]),
    );
    start('gateway', ['gateway', ...common, '--host', '127.0.0.1', '--http-port', String(base), '--grpc-port', String(base + 1), '--metrics-port', String(base + 2)]);

    printAddresses(zk, workerPorts, base, logDir, repository);
    const ready = await waitForReady(`http://127.0.0.1:${base}/v2/health/ready`, flags.readyTimeoutSecs * 1000, () => stopping !== undefined);
    if (stopping) return;
    console.log(
      ready
        ? `\ncluster ready. Try:\n  curl -s -X POST localhost:${base}/v2/repository/index\n  node ${MAIN} bench -u http://127.0.0.1:${base} -m <model>\nPress Ctrl-C to stop.`
        : `\nthe gateway is not ready after ${flags.readyTimeoutSecs} s (models still loading or not placed); see the logs. Press Ctrl-C to stop.`,
    );
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    await stopAll(1);
  }
}

function printAddresses(zk: string, workers: readonly { http: number; grpc: number; metrics: number }[], base: number, logDir: string, repository: string): void {
  const lines = [
    'Cranberries local cluster',
    `  model repository  ${repository}`,
    `  ZooKeeper         ${zk}`,
    '  controller        (no ports; leader-elected placement)',
    ...workers.map((p, i) => `  worker-${i + 1}`.padEnd(20) + `HTTP 127.0.0.1:${p.http}  gRPC 127.0.0.1:${p.grpc}  metrics 127.0.0.1:${p.metrics}`),
    `  gateway           HTTP http://127.0.0.1:${base}  gRPC 127.0.0.1:${base + 1}  metrics http://127.0.0.1:${base + 2}/metrics`,
    `  logs              ${logDir}`,
  ];
  console.log(lines.join('\n'));
}

/** Polls the URL until it answers 200; false after the timeout or when `abandoned()` turns true. */
async function waitForReady(url: string, timeoutMs: number, abandoned: () => boolean): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !abandoned()) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (response.status === 200) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return false;
}
