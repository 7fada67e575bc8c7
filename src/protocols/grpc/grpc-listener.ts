/**
 * How a grpc-js server listens with the process's listener limits (`listener-limits.ts`).
 *
 * grpc-js (1.14) honours keepalive, `max_connection_idle_ms`, `max_connection_age_ms` (+ grace)
 * and `max_concurrent_streams` as server options (`grpcServerLimitOptions`), but has no limit on
 * the number of connections and does not expose the `node:http2` server `bindAsync` creates. So
 * the port is bound here by a plain `net.Server` whose `maxConnections` closes sockets beyond the
 * limit as soon as they are accepted, and every accepted socket is handed to grpc-js through its
 * public connection injector (`Server.createConnectionInjector`), which serves it exactly as a
 * bound port would (same session handling, same timers, same shutdown through `tryShutdown`).
 *
 * Connections that only sent the HTTP/2 preface (or nothing) have no active call, so grpc-js's
 * idle timeout closes them (`--grpc-idle-timeout-secs`).
 */
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { GrpcListenerLimits } from '../common/index.js';

/** The grpc-js server options that carry the limits grpc-js implements itself. */
export function grpcServerLimitOptions(limits: GrpcListenerLimits): grpc.ServerOptions {
  const options: grpc.ServerOptions = {
    'grpc.max_concurrent_streams': limits.maxConcurrentStreams,
    'grpc.keepalive_timeout_ms': limits.keepaliveTimeoutMs,
  };
  if (limits.keepaliveTimeMs > 0) options['grpc.keepalive_time_ms'] = limits.keepaliveTimeMs;
  if (limits.idleTimeoutMs > 0) options['grpc.max_connection_idle_ms'] = limits.idleTimeoutMs;
  if (limits.maxConnectionAgeMs > 0) {
    options['grpc.max_connection_age_ms'] = limits.maxConnectionAgeMs;
    options['grpc.max_connection_age_grace_ms'] = limits.maxConnectionAgeGraceMs;
  }
  return options;
}

export interface GrpcListener {
  readonly port: number;
  /** Connections open now (for tests and metrics). */
  connectionCount(): Promise<number>;
  /** Stops accepting connections; the server's `tryShutdown`/`forceShutdown` ends the open ones. */
  close(): Promise<void>;
}

/**
 * Binds `host:port` (0 picks a free port) for `server` with the connection limit; plaintext unless
 * `credentials` are secure (grpc-js then wraps each injected socket in TLS itself).
 */
export async function listenGrpc(
  server: grpc.Server,
  host: string,
  port: number,
  limits: GrpcListenerLimits,
  credentials: grpc.ServerCredentials = grpc.ServerCredentials.createInsecure(),
): Promise<GrpcListener> {
  const injector = server.createConnectionInjector(credentials);
  const listener: NetServer = createServer((socket: Socket) => injector.injectConnection(socket));
  if (limits.maxConnections > 0) listener.maxConnections = limits.maxConnections;
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(port, host, () => {
      listener.off('error', reject);
      resolve();
    });
  });
  return {
    port: (listener.address() as AddressInfo).port,
    connectionCount: () => new Promise((resolve, reject) => listener.getConnections((error, count) => (error ? reject(error) : resolve(count)))),
    close: () =>
      new Promise((resolve) => {
        if (!listener.listening) {
          resolve();
          return;
        }
        listener.close(() => resolve());
      }),
  };
}
