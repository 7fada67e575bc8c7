/**
 * `cranberries cluster up`: a whole cluster on loopback in one command — a private ZooKeeper
 * (Debian package), one controller, N workers and a gateway, each a child process of this one
 * with its output in a log file. Prints the addresses, waits until the gateway is ready, and on
 * Ctrl-C stops everything in reverse order (gateway, workers, controller, ZooKeeper).
 *
 * Ports: the gateway takes `--base-port` (HTTP), +1 (gRPC), +2 (metrics); worker i takes
 * base + 10·i, +1, +2; the controller's metrics take +3; the administration UI (`cranberries
 * admin`) takes +4. ZooKeeper takes a free port unless `--zookeeper-port` says otherwise.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError, Option } from 'commander';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel, PACKAGE_ROOT } from '../core/index.js';
import { startZooKeeperProcess, type ZooKeeperProcess } from '../cluster/index.js';
import { port, positiveNumber } from './options.js';

interface ClusterUpFlags {
  workers: number;
  modelRepository: string;
  basePort: number;
  zookeeperPort: number;
  defaultReplicas?: number;
  memoryLimit?: string;
  logLevel: LogLevel;
  logFormat: LogFormat;
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
    .addOption(new Option('--log-format <format>', "format of every process's log file: json (one JSON object a line) or text").choices(LOG_FORMATS).default('json'))
    .option('--log-dir <dir>', "folder for the processes' logs (default: a new temp folder)")
    .option('--ready-timeout-secs <seconds>', 'how long to wait for the gateway to report ready', positiveNumber, 120)
    .action(async (flags: ClusterUpFlags) => {
      await clusterUp(flags);
    });
  return cluster;
}

/**
 * Node flags for one kind of child, from the environment (profiling a cluster, e.g.
 * `CRANBERRIES_GATEWAY_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/gwprof"`; also
 * `CRANBERRIES_WORKER_NODE_FLAGS` and `CRANBERRIES_CONTROLLER_NODE_FLAGS`).
 */
function nodeFlagsFor(name: string): string[] {
  const kind = name.startsWith('worker') ? 'WORKER' : name.toUpperCase();
  return (process.env[`CRANBERRIES_${kind}_NODE_FLAGS`] ?? '').split(' ').filter((flag) => flag !== '');
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
    this.process = spawn(process.execPath, [...nodeFlagsFor(name), MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, MALLOC_TRIM_THRESHOLD_: '0' } });
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

export interface LocalClusterOptions {
  readonly workers: number;
  readonly modelRepository: string;
  /** Gateway HTTP port; gRPC +1, metrics +2; worker i: base + 10·i (+1, +2). */
  readonly basePort: number;
  /** 0 picks a free port. */
  readonly zookeeperPort?: number;
  readonly defaultReplicas?: number | undefined;
  readonly memoryLimit?: string | undefined;
  readonly logLevel?: LogLevel;
  /** Format of the children's log files. Default json. */
  readonly logFormat?: LogFormat | undefined;
  /** Default: a new temp folder. */
  readonly logDir?: string | undefined;
  /** Called when a process exits while the cluster is not stopping (a crashed worker, say). */
  readonly onUnexpectedExit?: (name: string, how: string, logFile: string) => void;
}

export interface ServiceAddresses {
  /** `host:port` */
  readonly http: string;
  readonly grpc: string;
  readonly metrics: string;
}

/** A running local cluster: every address, and one call to stop it all. */
export interface LocalCluster {
  readonly zookeeper: string;
  readonly gateway: ServiceAddresses;
  /** The administration UI's page, `http://host:port/ui/`. */
  readonly adminUrl: string;
  readonly workers: readonly ServiceAddresses[];
  readonly logDir: string;
  /** Resolves true once the gateway answers ready (every deployed model has a READY replica) and the admin UI answers. */
  waitUntilReady(timeoutMs: number): Promise<boolean>;
  /** Stops the gateway, then the workers, then the controller, then ZooKeeper. */
  stop(): Promise<void>;
}

/**
 * Starts a local cluster of child processes (the benchmark suite uses it too: with one worker,
 * the gateway and that worker are the two ends of the gateway-cost comparison).
 */
export async function startLocalCluster(options: LocalClusterOptions): Promise<LocalCluster> {
  const repository = resolve(options.modelRepository);
  const logDir = options.logDir ? resolve(options.logDir) : await mkdtemp(join(tmpdir(), 'cranberries-cluster-'));
  await mkdir(logDir, { recursive: true });
  const base = options.basePort;
  const address = (port: number): ServiceAddresses => ({ http: `127.0.0.1:${port}`, grpc: `127.0.0.1:${port + 1}`, metrics: `127.0.0.1:${port + 2}` });
  const workerBases = Array.from({ length: options.workers }, (_, i) => base + 10 * (i + 1));
  const lastPort = (workerBases.at(-1) ?? base) + 2;
  if (lastPort > 65535) throw new InvalidArgumentError(`base port ${base} leaves no room for ${options.workers} workers (ports up to ${lastPort})`);

  const children: Child[] = [];
  let zookeeper: ZooKeeperProcess | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      // Front door first, ZooKeeper last: nothing should lose its coordination store while running.
      const gateway = children.filter((c) => c.name === 'gateway' || c.name === 'admin');
      const workers = children.filter((c) => c.name.startsWith('worker'));
      const controller = children.filter((c) => c.name === 'controller');
      for (const group of [gateway, workers, controller]) await Promise.all(group.map((c) => c.stop()));
      await zookeeper?.close();
      process.off('exit', killAll);
    })();
    return stopping;
  };
  const killAll = (): void => {
    for (const child of children) child.kill();
  };
  process.on('exit', killAll);
  const onExit = (child: Child, code: number | null, signal: NodeJS.Signals | null): void => {
    if (!stopping) options.onUnexpectedExit?.(child.name, signal ? `signal ${signal}` : `code ${code}`, child.logFile);
  };

  try {
    zookeeper = await startZooKeeperProcess({ port: options.zookeeperPort ?? 0, tickTimeMs: 1000, detached: true });
    const common = ['--zookeeper', zookeeper.connectionString, '--log-level', options.logLevel ?? 'info', '--log-format', options.logFormat ?? 'json'];
    const start = (name: string, args: string[]): void => {
      children.push(new Child(name, args, join(logDir, `${name}.log`), onExit));
    };
    const ports = (port: number): string[] => ['--host', '127.0.0.1', '--http-port', String(port), '--grpc-port', String(port + 1), '--metrics-port', String(port + 2)];
    const replicas = options.defaultReplicas ? ['--default-replicas', String(options.defaultReplicas)] : [];
    start('controller', ['controller', ...common, '--host', '127.0.0.1', '--metrics-port', String(base + 3), '--model-repository', repository, ...replicas]);
    workerBases.forEach((port, i) =>
      start(`worker-${i + 1}`, [
        'worker',
        ...common,
        '--model-repository',
        repository,
        '--node-id',
        `worker-${i + 1}`,
        ...ports(port),
        ...(options.memoryLimit ? ['--memory-limit', options.memoryLimit] : []),
      ]),
    );
    start('gateway', ['gateway', ...common, ...ports(base), ...replicas]);
    start('admin', [
      'admin',
      ...common,
      '--host',
      '127.0.0.1',
      '--http-port',
      String(base + 4),
      '--gateway',
      `http://127.0.0.1:${base}`,
      '--gateway-metrics',
      `http://127.0.0.1:${base + 2}/metrics`,
      '--model-repository',
      repository,
      ...replicas,
    ]);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    zookeeper: zookeeper.connectionString,
    gateway: address(base),
    adminUrl: `http://127.0.0.1:${base + 4}/ui/`,
    workers: workerBases.map(address),
    logDir,
    // Ready = the gateway is ready and the administration UI answers (so the printed URL opens).
    waitUntilReady: async (timeoutMs) => {
      const deadline = Date.now() + timeoutMs;
      const abandoned = (): boolean => stopping !== undefined;
      return (
        (await waitForReady(`http://127.0.0.1:${base}/v2/health/ready`, timeoutMs, abandoned)) &&
        waitForReady(`http://127.0.0.1:${base + 4}/v2/health/live`, Math.max(0, deadline - Date.now()), abandoned)
      );
    },
    stop,
  };
}

async function clusterUp(flags: ClusterUpFlags): Promise<void> {
  let cluster: LocalCluster | undefined;
  let exiting = false;
  const exit = (code: number): void => {
    if (exiting) return;
    exiting = true;
    console.log('\nstopping the cluster ...');
    void (cluster?.stop() ?? Promise.resolve()).then(() => {
      if (cluster) console.log(`stopped. Logs are in ${cluster.logDir}`);
      process.exit(code);
    });
  };
  process.on('SIGINT', () => exit(0));
  process.on('SIGTERM', () => exit(0));
  try {
    cluster = await startLocalCluster({
      ...flags,
      onUnexpectedExit: (name, how, logFile) => {
        if (name.startsWith('worker')) {
          console.error(`${name} exited (${how}); the cluster carries on without it. Log: ${logFile}`);
          return;
        }
        console.error(`${name} exited (${how}): stopping the cluster. Log: ${logFile}`);
        exit(1);
      },
    });
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
    return;
  }
  if (exiting) return;
  printAddresses(cluster, resolve(flags.modelRepository));
  const ready = await cluster.waitUntilReady(flags.readyTimeoutSecs * 1000);
  if (exiting) return;
  const base = flags.basePort;
  console.log(
    ready
      ? `\ncluster ready. Open the administration UI: ${cluster.adminUrl}\nOr try:\n  curl -s -X POST localhost:${base}/v2/repository/index\n  node ${MAIN} bench -u http://127.0.0.1:${base} -m <model>\nPress Ctrl-C to stop.`
      : `\nthe gateway is not ready after ${flags.readyTimeoutSecs} s (models still loading or not placed); see the logs. Press Ctrl-C to stop.`,
  );
}

function printAddresses(cluster: LocalCluster, repository: string): void {
  const lines = [
    'Cranberries local cluster',
    `  model repository  ${repository}`,
    `  ZooKeeper         ${cluster.zookeeper}`,
    '  controller        (no ports; leader-elected placement)',
    ...cluster.workers.map((w, i) => `  worker-${i + 1}`.padEnd(20) + `HTTP ${w.http}  gRPC ${w.grpc}  metrics ${w.metrics}`),
    `  gateway           HTTP http://${cluster.gateway.http}  gRPC ${cluster.gateway.grpc}  metrics http://${cluster.gateway.metrics}/metrics`,
    `  admin UI          ${cluster.adminUrl}  (open it in a browser)`,
    `  logs              ${cluster.logDir}`,
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
