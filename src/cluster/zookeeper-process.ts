/**
 * A private ZooKeeper server as a child process, from the Debian `zookeeper` package: standalone,
 * on loopback, with its data under a folder of its own. Used by `cranberries cluster up` (and fit
 * for tests: `stop()`/`restart()` keep the port and the data, for outage scenarios).
 *
 * Readiness is ZooKeeper's own: `srvr` reporting a mode (`ruok` answers `imok` a moment before the
 * server actually serves, e.g. while it reloads its data after a restart). The java process is
 * killed if this process exits without stopping it. A small `tickTimeMs` keeps session timeouts
 * short: ZooKeeper negotiates them into [2, 20] × tickTime.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ZOOKEEPER_JAR = '/usr/share/java/zookeeper.jar';
const CLASSPATH = ['/etc/zookeeper/conf', ZOOKEEPER_JAR, '/usr/share/java/slf4j-log4j12.jar', '/usr/share/java/log4j-1.2.jar'].join(':');

export interface ZooKeeperProcessOptions {
  /** Client port; 0 (default) picks a free one. */
  readonly port?: number;
  /** ZooKeeper's tick in ms. Default 500. */
  readonly tickTimeMs?: number;
  /** Folder for config, data and log; default a new temp folder (deleted by `close()`). */
  readonly dir?: string;
  /** How long to wait for it to serve. Default 20 s. */
  readonly startTimeoutMs?: number;
  /** Java heap cap. Default 256 MiB. */
  readonly heapMb?: number;
  /**
   * Run in its own process group, so a terminal's Ctrl-C reaches only the parent, which then
   * stops ZooKeeper last (after everything that uses it). Default false.
   */
  readonly detached?: boolean;
}

export interface ZooKeeperProcess {
  readonly port: number;
  /** `127.0.0.1:<port>` */
  readonly connectionString: string;
  readonly tickTimeMs: number;
  readonly dir: string;
  /** `<dir>/zookeeper.log`: the server's output. */
  readonly logFile: string;
  readonly running: boolean;
  /** Stops the server (SIGTERM, SIGKILL after 5 s); data and port are kept. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same data; resolves once it serves. */
  restart(): Promise<void>;
  /** Stops it and, if the folder was a temp folder, deletes it. */
  close(): Promise<void>;
}

/** Throws a clear error when the Debian package is missing. */
export function assertZooKeeperInstalled(): void {
  if (!existsSync(ZOOKEEPER_JAR)) {
    throw new Error(`ZooKeeper is not installed (${ZOOKEEPER_JAR} is missing). Install the Debian package: ` + 'apt-get install -y --no-install-recommends zookeeper');
  }
}

export async function startZooKeeperProcess(options: ZooKeeperProcessOptions = {}): Promise<ZooKeeperProcess> {
  assertZooKeeperInstalled();
  const tickTimeMs = options.tickTimeMs ?? 500;
  const startTimeoutMs = options.startTimeoutMs ?? 20_000;
  const ownsDir = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'cranberries-zk-')));
  await mkdir(join(dir, 'data'), { recursive: true });
  const port = options.port || (await freePort());
  const config = join(dir, 'zoo.cfg');
  const logFile = join(dir, 'zookeeper.log');
  await writeFile(
    config,
    [`tickTime=${tickTimeMs}`, `dataDir=${join(dir, 'data')}`, `clientPort=${port}`, 'clientPortAddress=127.0.0.1', 'admin.enableServer=false', '4lw.commands.whitelist=ruok,srvr,stat,mntr', ''].join(
      '\n',
    ),
  );

  let child: ChildProcess | undefined;
  const killOnExit = (): void => {
    child?.kill('SIGKILL');
  };
  process.on('exit', killOnExit);

  const launch = async (): Promise<void> => {
    const log = openSync(logFile, 'a');
    const proc = spawn(
      'java',
      [
        `-Xmx${options.heapMb ?? 256}m`,
        '-Dzookeeper.admin.enableServer=false',
        '-Dzookeeper.root.logger=WARN,CONSOLE',
        `-Dzookeeper.log.dir=${dir}`,
        '-cp',
        CLASSPATH,
        'org.apache.zookeeper.server.quorum.QuorumPeerMain',
        config,
      ],
      { stdio: ['ignore', log, log], detached: options.detached ?? false },
    );
    closeSync(log);
    child = proc;
    let exited = false;
    proc.once('exit', () => (exited = true));
    const deadline = Date.now() + startTimeoutMs;
    while (Date.now() < deadline && !exited) {
      if ((await fourLetterWord(port, 'srvr').catch(() => '')).includes('Mode:')) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const tail = (await readFile(logFile, 'utf8').catch(() => '')).split('\n').slice(-15).join('\n');
    proc.kill('SIGKILL');
    child = undefined;
    throw new Error(`ZooKeeper did not start serving on 127.0.0.1:${port} within ${startTimeoutMs} ms${exited ? ' (it exited)' : ''}. Log tail:\n${tail}`);
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };

  try {
    await launch();
  } catch (error) {
    process.off('exit', killOnExit);
    if (ownsDir) await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    port,
    connectionString: `127.0.0.1:${port}`,
    tickTimeMs,
    dir,
    logFile,
    get running() {
      return child !== undefined;
    },
    stop,
    restart: async () => {
      await stop();
      await launch();
    },
    close: async () => {
      await stop();
      process.off('exit', killOnExit);
      if (ownsDir) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Sends a four-letter command (`ruok`, `srvr`, `mntr`, ...) and returns the answer. */
export function fourLetterWord(port: number, word: string, timeoutMs = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let answer = '';
    const timer = setTimeout(() => socket.destroy(new Error(`no answer to '${word}' within ${timeoutMs} ms`)), timeoutMs);
    socket.on('connect', () => socket.write(word));
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('utf8')));
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(answer);
    });
  });
}

/** A TCP port free on loopback right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
