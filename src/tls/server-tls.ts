/**
 * TLS for every listener of a process, from one `TlsWatcher`: node `https`/`http2` servers get
 * their options at creation and a new secure context (`setSecureContext`) whenever the files
 * change (the gRPC ports are raw `node:http2` servers too, with grpc-js behind them in memory). A CA file makes it mutual TLS: clients must present a certificate
 * signed by it, or the handshake fails. Connections already open keep the context they started
 * with; new connections get the new one.
 */
import type { Server as NetServer } from 'node:net';
import { Server as TlsServerClass, type Server as TlsServer, type SecureContextOptions, type TlsOptions } from 'node:tls';
import type { Logger } from 'pino';
import type { TlsFiles, TlsMaterial } from './tls-files.js';
import { TlsWatcher } from './tls-watcher.js';

/** TLS of a server process: its certificate and key, and (mutual TLS) the CA its clients' certificates must chain to. */
export interface ServerTlsFiles extends TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

/** TLS 1.2 is the oldest version accepted (gRPC requires it; 1.0/1.1 are deprecated by RFC 8996). */
const MIN_VERSION = 'TLSv1.2';

/** The parts of a server's TLS options that can change at run time. */
export function serverSecureContext(material: TlsMaterial): SecureContextOptions {
  return { cert: material.cert, key: material.key, ...(material.ca ? { ca: material.ca } : {}) };
}

/** Options for `https.createServer` / `http2.createSecureServer` (and fastify's `https`). */
export function serverTlsOptions(material: TlsMaterial): TlsOptions {
  const mutual = material.ca !== undefined;
  return { ...serverSecureContext(material), minVersion: MIN_VERSION, requestCert: mutual, rejectUnauthorized: mutual };
}

/** Gives `server` each new material as a new secure context; returns the unsubscribe function. */
export function followTlsChanges(server: TlsServer, watcher: TlsWatcher, logger?: Logger): () => void {
  return watcher.changed.subscribe((material) => {
    try {
      server.setSecureContext(serverSecureContext(material));
    } catch (error) {
      // The watcher checked the material; a failure here keeps the previous context.
      logger?.warn({ err: error instanceof Error ? error.message : String(error) }, 'TLS certificate not applied: keeping the current one');
    }
  });
}

/** TLS of a server process, as configured (`--tls-*` flags). */
export interface ServerTlsConfig extends ServerTlsFiles {
  /** Re-read the files this often even without a change event; 0: only on events. Default 30 s. */
  readonly reloadPollMs?: number | undefined;
}

/**
 * The TLS of every listener of one process: one watcher over the files, the options each listener
 * is created with, and the reload wired to each of them.
 */
export class ServerTls {
  readonly watcher: TlsWatcher;
  private readonly detachers: (() => void)[] = [];

  /** Reads and checks the files now: throws a TlsConfigError when they are not usable. */
  constructor(
    config: ServerTlsConfig,
    private readonly logger?: Logger,
  ) {
    this.watcher = new TlsWatcher(config, { logger, pollMs: config.reloadPollMs });
  }

  get mutual(): boolean {
    return this.watcher.current.ca !== undefined;
  }

  /** Options to create a node TLS server with (`https`, `http2.createSecureServer`, fastify's `https`). */
  serverOptions(): TlsOptions {
    return serverTlsOptions(this.watcher.current);
  }

  /** Makes a listening node TLS server (https, http2 secure) take new certificates as they come. */
  follow(server: TlsServer): void {
    this.detachers.push(followTlsChanges(server, this.watcher, this.logger));
  }

  /** `follow` for node servers typed as plain HTTP servers (fastify's, the metrics server): each must have been created with `serverOptions()`. */
  followAll(servers: readonly NetServer[]): void {
    for (const server of servers) {
      if (!(server instanceof TlsServerClass)) throw new TypeError('a listener of a TLS server was created without TLS');
      this.follow(server);
    }
  }

  close(): void {
    for (const detach of this.detachers.splice(0)) detach();
    this.watcher.close();
  }
}
