/**
 * Limits every listener of a Cranberries process applies, so that slow, idle or abusive clients
 * cannot hold its file descriptors, memory or event loop: one options object, built once from the
 * command line (`addListenerLimitFlags` / `listenerLimitsFromFlags`) and handed to each HTTP and
 * gRPC listener (model server, gateway, metrics endpoint, cluster admin API).
 *
 * Defaults follow nginx and Triton where they have one: a request's headers must arrive within
 * 30 s and the whole request within 120 s; an idle keep-alive connection is closed after 75 s; an
 * HTTP/2 connection without a call for 300 s gets a GOAWAY (grpc-js's `max_connection_idle_ms`, which
 * also closes connections that sent only the preface); keepalive pings every 2 h (Triton's
 * `grpc.keepalive_time_ms`) with a 20 s answer deadline.
 */
import type { Server as HttpServer } from 'node:http';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';

export interface HttpListenerLimits {
  /** A request's headers must be complete within this time (slow headers: 408, connection closed). */
  readonly headerTimeoutMs: number;
  /** The whole request, headers and body, must arrive within this time (slow bodies: 408, closed). */
  readonly requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this time. */
  readonly idleTimeoutMs: number;
  /** Connections beyond this many are closed as soon as they are accepted; 0 = no limit. */
  readonly maxConnections: number;
  /** Requests served on one connection before it is closed (`Connection: close`); 0 = no limit. */
  readonly maxRequestsPerSocket: number;
  /** Bytes being decompressed (`Content-Encoding: gzip | deflate`) at once, over all requests; 0 = no limit. */
  readonly maxInflatingBytes: number;
}

export interface GrpcListenerLimits {
  /** Ping a client after this long without activity; 0 = never. */
  readonly keepaliveTimeMs: number;
  /** Close the connection when a ping is not answered within this time. */
  readonly keepaliveTimeoutMs: number;
  /** GOAWAY a connection without calls for this long (also one that never sent a call); 0 = never. */
  readonly idleTimeoutMs: number;
  /** GOAWAY a connection this old (±10 %), letting its calls finish; 0 = never. */
  readonly maxConnectionAgeMs: number;
  /** After a max-age GOAWAY, calls still running are cancelled after this time. */
  readonly maxConnectionAgeGraceMs: number;
  /** Calls at once on one connection (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS). */
  readonly maxConcurrentStreams: number;
  /** Connections beyond this many are closed as soon as they are accepted; 0 = no limit. */
  readonly maxConnections: number;
}

export interface ListenerLimits {
  readonly http: HttpListenerLimits;
  readonly grpc: GrpcListenerLimits;
}

export const DEFAULT_LISTENER_LIMITS: ListenerLimits = {
  http: {
    headerTimeoutMs: 30_000,
    requestTimeoutMs: 120_000,
    idleTimeoutMs: 75_000,
    maxConnections: 0,
    maxRequestsPerSocket: 0,
    maxInflatingBytes: 256 * 1024 * 1024,
  },
  grpc: {
    keepaliveTimeMs: 7_200_000,
    keepaliveTimeoutMs: 20_000,
    idleTimeoutMs: 300_000,
    maxConnectionAgeMs: 0,
    maxConnectionAgeGraceMs: 30_000,
    maxConcurrentStreams: 1000,
    maxConnections: 0,
  },
};

/** What `addListenerLimitFlags` adds to a command's parsed flags. */
export interface ListenerLimitFlags {
  httpHeaderTimeoutSecs: number;
  httpRequestTimeoutSecs: number;
  httpIdleTimeoutSecs: number;
  httpMaxConnections: number;
  httpMaxRequestsPerSocket: number;
  httpMaxInflatingMb: number;
  grpcKeepaliveSecs: number;
  grpcKeepaliveTimeoutSecs: number;
  grpcIdleTimeoutSecs: number;
  grpcMaxConnectionAgeSecs: number;
  grpcMaxConnectionAgeGraceSecs: number;
  grpcMaxConcurrentStreams: number;
  grpcMaxConnections: number;
}

/** Adds the listener flags (with `DEFAULT_LISTENER_LIMITS` as defaults); `grpc: false` for a command without a gRPC port. */
export function addListenerLimitFlags(command: Command, options: { grpc: boolean } = { grpc: true }): Command {
  const { http, grpc } = DEFAULT_LISTENER_LIMITS;
  command
    .option('--http-header-timeout-secs <s>', "a request's headers must arrive within this time, else 408 and the connection is closed", positiveSeconds, http.headerTimeoutMs / 1000)
    .option('--http-request-timeout-secs <s>', 'a whole request (headers and body) must arrive within this time, else 408 and the connection is closed', positiveSeconds, http.requestTimeoutMs / 1000)
    .option('--http-idle-timeout-secs <s>', 'close an idle keep-alive connection after this time', positiveSeconds, http.idleTimeoutMs / 1000)
    .option('--http-max-connections <n>', 'HTTP connections at once per listener; more are closed when accepted (0 = no limit)', wholeNumber, http.maxConnections)
    .option('--http-max-requests-per-socket <n>', 'requests on one HTTP connection before it is closed (0 = no limit)', wholeNumber, http.maxRequestsPerSocket)
    .option('--http-max-inflating-mb <mb>', 'MiB of request bodies being decompressed at once, over all requests; beyond it 503 (0 = no limit)', nonNegative, http.maxInflatingBytes / (1024 * 1024));
  if (!options.grpc) return command;
  return command
    .option('--grpc-keepalive-secs <s>', 'ping a gRPC client after this long without activity (0 = never)', nonNegative, grpc.keepaliveTimeMs / 1000)
    .option('--grpc-keepalive-timeout-secs <s>', 'close a gRPC connection whose ping is not answered within this time', positiveSeconds, grpc.keepaliveTimeoutMs / 1000)
    .option('--grpc-idle-timeout-secs <s>', 'GOAWAY a gRPC connection without calls (or that never sent one) after this time (0 = never)', nonNegative, grpc.idleTimeoutMs / 1000)
    .option('--grpc-max-connection-age-secs <s>', 'GOAWAY a gRPC connection this old, letting its calls finish (0 = never)', nonNegative, grpc.maxConnectionAgeMs / 1000)
    .option('--grpc-max-connection-age-grace-secs <s>', 'cancel the calls still running this long after a max-age GOAWAY', nonNegative, grpc.maxConnectionAgeGraceMs / 1000)
    .option('--grpc-max-concurrent-streams <n>', 'gRPC calls at once on one connection', positiveWholeNumber, grpc.maxConcurrentStreams)
    .option('--grpc-max-connections <n>', 'gRPC connections at once; more are closed when accepted (0 = no limit)', wholeNumber, grpc.maxConnections);
}

/** The limits from flags added by `addListenerLimitFlags` (gRPC defaults when the command has no gRPC flags). */
export function listenerLimitsFromFlags(flags: Partial<ListenerLimitFlags>): ListenerLimits {
  const { http, grpc } = DEFAULT_LISTENER_LIMITS;
  const ms = (seconds: number | undefined, fallback: number): number => (seconds === undefined ? fallback : Math.round(seconds * 1000));
  return {
    http: {
      headerTimeoutMs: ms(flags.httpHeaderTimeoutSecs, http.headerTimeoutMs),
      requestTimeoutMs: ms(flags.httpRequestTimeoutSecs, http.requestTimeoutMs),
      idleTimeoutMs: ms(flags.httpIdleTimeoutSecs, http.idleTimeoutMs),
      maxConnections: flags.httpMaxConnections ?? http.maxConnections,
      maxRequestsPerSocket: flags.httpMaxRequestsPerSocket ?? http.maxRequestsPerSocket,
      maxInflatingBytes: flags.httpMaxInflatingMb === undefined ? http.maxInflatingBytes : Math.round(flags.httpMaxInflatingMb * 1024 * 1024),
    },
    grpc: {
      keepaliveTimeMs: ms(flags.grpcKeepaliveSecs, grpc.keepaliveTimeMs),
      keepaliveTimeoutMs: ms(flags.grpcKeepaliveTimeoutSecs, grpc.keepaliveTimeoutMs),
      idleTimeoutMs: ms(flags.grpcIdleTimeoutSecs, grpc.idleTimeoutMs),
      maxConnectionAgeMs: ms(flags.grpcMaxConnectionAgeSecs, grpc.maxConnectionAgeMs),
      maxConnectionAgeGraceMs: ms(flags.grpcMaxConnectionAgeGraceSecs, grpc.maxConnectionAgeGraceMs),
      maxConcurrentStreams: flags.grpcMaxConcurrentStreams ?? grpc.maxConcurrentStreams,
      maxConnections: flags.grpcMaxConnections ?? grpc.maxConnections,
    },
  };
}

/** Node checks header and request timeouts on a timer (default every 30 s); this keeps the overshoot small. */
function checkingIntervalMs(limits: HttpListenerLimits): number {
  return Math.max(100, Math.min(1000, Math.floor(Math.min(limits.headerTimeoutMs, limits.requestTimeoutMs) / 4)));
}

/**
 * The `node:http` server options of a listener (for `http.createServer` or fastify's `http`
 * option): `connectionsCheckingInterval` can only be given at construction.
 */
export function httpServerOptions(limits: HttpListenerLimits): { connectionsCheckingInterval: number; headersTimeout: number; requestTimeout: number; keepAliveTimeout: number } {
  return {
    connectionsCheckingInterval: checkingIntervalMs(limits),
    headersTimeout: Math.min(limits.headerTimeoutMs, limits.requestTimeoutMs),
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.idleTimeoutMs,
  };
}

/**
 * Applies the limits to a `node:http` server (fastify's, or a plain one), before it listens.
 * fastify sets `requestTimeout` to 0 (never) and keeps sockets without an inactivity timeout by
 * default; both are set here. The header timeout must not exceed the request timeout (Node
 * refuses to start otherwise).
 */
export function applyHttpLimits(server: HttpServer, limits: HttpListenerLimits): void {
  server.requestTimeout = limits.requestTimeoutMs;
  server.headersTimeout = Math.min(limits.headerTimeoutMs, limits.requestTimeoutMs);
  server.keepAliveTimeout = limits.idleTimeoutMs;
  if (limits.maxConnections > 0) server.maxConnections = limits.maxConnections;
  if (limits.maxRequestsPerSocket > 0) server.maxRequestsPerSocket = limits.maxRequestsPerSocket;
}

function positiveSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`"${value}" is not a positive number of seconds`);
  return n;
}

function nonNegative(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`"${value}" is not a number ≥ 0`);
  return n;
}

function wholeNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`"${value}" is not a whole number ≥ 0`);
  return n;
}

function positiveWholeNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`"${value}" is not a whole number > 0`);
  return n;
}
