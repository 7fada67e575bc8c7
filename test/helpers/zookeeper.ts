/**
 * A private ZooKeeper server for tests, from the Debian `zookeeper` package: standalone, on a free
 * loopback port, with its data folder under a temp folder. `stop()` and `restart()` keep the port
 * and the data (for outage tests); `close()` stops it and deletes the folder. The java process is
 * killed if the test process exits without closing it. The launcher is the product's own
 * (`src/cluster/zookeeper-process.ts`, which `cranberries cluster up` uses); this file adds what only
 * tests need: a link that can be cut.
 *
 * A small `tickTime` (default 500 ms) keeps session timeouts short: ZooKeeper negotiates session
 * timeouts into [2, 20] × tickTime, so clients can ask for 1 s … 10 s.
 */
import { connect, createServer, type Socket } from 'node:net';
import { startZooKeeperProcess, type ZooKeeperProcess } from '../../src/cluster/zookeeper-process.js';

export { ZOOKEEPER_JAR, assertZooKeeperInstalled, fourLetterWord, freePort } from '../../src/cluster/zookeeper-process.js';

export interface ZooKeeperOptions {
  /** ZooKeeper's tick in ms; session timeouts are negotiated into [2, 20] × tick. Default 500. */
  readonly tickTimeMs?: number;
  /** How long to wait for it to serve after starting. Default 20 s. */
  readonly startTimeoutMs?: number;
}

export type TestZooKeeper = ZooKeeperProcess;

export function startZooKeeper(options: ZooKeeperOptions = {}): Promise<TestZooKeeper> {
  return startZooKeeperProcess(options);
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
  /** Holds back the server's answers, connections up (a server that stopped answering); `speak()` lets them through. */
  silence(): void;
  speak(): void;
  /** Cuts the link, waits until the server must have expired a session of `sessionTimeoutMs`, restores it. */
  expireSessions(sessionTimeoutMs: number, tickTimeMs: number): Promise<void>;
  close(): Promise<void>;
}

export async function startZooKeeperLink(targetPort: number): Promise<ZooKeeperLink> {
  const sockets = new Set<Socket>();
  /** Each connection's server side and the client it answers. */
  const pipes = new Map<Socket, Socket>();
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
    pipes.set(upstream, client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => {
      pipes.delete(upstream);
      client.destroy();
    });
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
    silence: () => {
      for (const [upstream, client] of pipes) upstream.unpipe(client).pause();
    },
    speak: () => {
      for (const [upstream, client] of pipes) upstream.pipe(client);
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
