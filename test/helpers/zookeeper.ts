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
import { connect, createServer, type Socket } from 'node:net';
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
 * A TCP link to ZooKeeper that a test can cut: clients connect to `connectionString` and the
 * proxy forwards to the server. `cut()` drops every connection and refuses new ones (the client
 * sees a dead server while the server sees a silent client), `restore()` lets them through again.
 * Cutting for longer than the session timeout makes the server expire the client's session, which
 * the client learns of only when it reconnects — exactly as on a real network partition.
 */
export interface ZooKeeperLink {
  readonly port: number;
  /** `127.0.0.1:<proxy port>` */
  readonly connectionString: string;
  cut(): void;
  restore(): void;
  /** Cuts the link, waits until the server must have expired a session of `sessionTimeoutMs`, restores it. */
  expireSessions(sessionTimeoutMs: number, tickTimeMs: number): Promise<void>;
  close(): Promise<void>;
}

export async function startZooKeeperLink(targetPort: number): Promise<ZooKeeperLink> {
  const sockets = new Set<Socket>();
  let blocked = false;
  const server = createServer((client) => {
    if (blocked) {
      client.destroy();
      return;
    }
    const upstream = connect({ host: '127.0.0.1', port: targetPort });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const cut = (): void => {
    blocked = true;
    for (const socket of sockets) socket.destroy();
  };
  return {
    port,
    connectionString: `127.0.0.1:${port}`,
    cut,
    restore: () => {
      blocked = false;
    },
    expireSessions: async (sessionTimeoutMs, tickTimeMs) => {
      cut();
      // The server checks expiry once per tick; two ticks of margin cover its rounding.
      await new Promise((r) => setTimeout(r, sessionTimeoutMs + 2 * tickTimeMs + 300));
      blocked = false;
    },
    close: () => {
      cut();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
