/**
 * A private ZooKeeper server for tests, from the Debian `zookeeper` package: standalone, on a free
 * loopback port, with its data folder under a temp folder. `stop()` and `restart()` keep the port
 * and the data (for outage tests); `close()` stops it and deletes the folder. The java process is
 * killed if the test process exits without closing it.
 *
 * A small `tickTime` (default 500 ms) keeps session timeouts short: ZooKeeper negotiates session
 * timeouts into [2, 20] × tickTime, so clients can ask for 1 s … 10 s.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, closeSync } from 'node:fs';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ZOOKEEPER_JAR = '/usr/share/java/zookeeper.jar';
const CLASSPATH = ['/etc/zookeeper/conf', ZOOKEEPER_JAR, '/usr/share/java/slf4j-log4j12.jar', '/usr/share/java/log4j-1.2.jar'].join(':');

export interface ZooKeeperOptions {
  /** ZooKeeper's tick in ms; session timeouts are negotiated into [2, 20] × tick. Default 500. */
  readonly tickTimeMs?: number;
  /** How long to wait for `imok` after starting. Default 20 s. */
  readonly startTimeoutMs?: number;
}

export interface TestZooKeeper {
  readonly port: number;
  /** `127.0.0.1:<port>` */
  readonly connectionString: string;
  readonly tickTimeMs: number;
  readonly dir: string;
  readonly running: boolean;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s); data and port are kept. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same data; resolves once it answers `imok`. */
  restart(): Promise<void>;
  /** Stops it and deletes its folder. */
  close(): Promise<void>;
}

/** Throws a clear error when the Debian package is missing. */
export function assertZooKeeperInstalled(): void {
  if (!existsSync(ZOOKEEPER_JAR)) {
    throw new Error(
      `ZooKeeper is not installed (${ZOOKEEPER_JAR} is missing). Install the Debian package: ` +
        `apt-get install -y --no-install-recommends zookeeper (npm test does this as root).`,
    );
  }
}

export async function startZooKeeper(options: ZooKeeperOptions = {}): Promise<TestZooKeeper> {
  assertZooKeeperInstalled();
  const tickTimeMs = options.tickTimeMs ?? 500;
  const startTimeoutMs = options.startTimeoutMs ?? 20_000;
  const dir = await mkdtemp(join(tmpdir(), 'cranberries-zk-'));
  await mkdir(join(dir, 'data'));
  const port = await freePort();
  const config = join(dir, 'zoo.cfg');
  await writeFile(
    config,
    [
      `tickTime=${tickTimeMs}`,
      `dataDir=${join(dir, 'data')}`,
      `clientPort=${port}`,
      'clientPortAddress=127.0.0.1',
      'admin.enableServer=false',
      '4lw.commands.whitelist=ruok,srvr,stat,mntr',
      '',
    ].join('\n'),
  );

  let child: ChildProcess | undefined;
  const killOnExit = (): void => {
    child?.kill('SIGKILL');
  };
  process.on('exit', killOnExit);

  const launch = async (): Promise<void> => {
    const log = openSync(join(dir, 'zookeeper.log'), 'a');
    const proc = spawn(
      'java',
      ['-Xmx256m', '-Dzookeeper.admin.enableServer=false', '-Dzookeeper.root.logger=WARN,CONSOLE', `-Dzookeeper.log.dir=${dir}`, '-cp', CLASSPATH, 'org.apache.zookeeper.server.quorum.QuorumPeerMain', config],
      { stdio: ['ignore', log, log] },
    );
    closeSync(log);
    child = proc;
    let exited = false;
    proc.once('exit', () => (exited = true));
    const deadline = Date.now() + startTimeoutMs;
    while (Date.now() < deadline && !exited) {
      if ((await fourLetterWord(port, 'ruok').catch(() => '')) === 'imok') return;
      await new Promise((r) => setTimeout(r, 100));
    }
    const tail = (await readFile(join(dir, 'zookeeper.log'), 'utf8').catch(() => '')).split('\n').slice(-15).join('\n');
    proc.kill('SIGKILL');
    throw new Error(`ZooKeeper did not answer 'imok' on 127.0.0.1:${port} within ${startTimeoutMs} ms${exited ? ' (it exited)' : ''}. Log tail:\n${tail}`);
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

  await launch();
  return {
    port,
    connectionString: `127.0.0.1:${port}`,
    tickTimeMs,
    dir,
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
      await rm(dir, { recursive: true, force: true });
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

function freePort(): Promise<number> {
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

/**
 * Ends a client's ZooKeeper session from the outside, as the server does when the session times
 * out (Curator's `KillSession` trick): a second client joins the session with its id and password
 * and closes it. The first client is cut off, and on reconnecting learns that its session expired.
 */
export async function killZooKeeperSession(connectionString: string, session: { id: Buffer; password: Buffer }, timeoutMs = 10_000): Promise<void> {
  const { createClient, State } = await import('node-zookeeper-client');
  // The library accepts a session to resume in its options, though its types do not say so.
  const options = { sessionTimeout: 4000, sessionId: session.id, sessionPassword: session.password } as Parameters<typeof createClient>[1];
  const client = createClient(connectionString, options);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      client.close();
      reject(new Error(`could not join the session to kill it within ${timeoutMs} ms`));
    }, timeoutMs);
    client.on('state', (state) => {
      if (state === State.SYNC_CONNECTED) {
        clearTimeout(timer);
        client.close();
        // The close-session request is sent at once; give the server a moment to process it.
        setTimeout(resolve, 200);
      } else if (state === State.EXPIRED) {
        clearTimeout(timer);
        resolve();
      }
    });
    client.connect();
  });
}
