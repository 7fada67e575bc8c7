/**
 * gRPC channels from the gateway to the workers: one `grpc.Client` per worker, created on first use,
 * closed when the worker leaves the table and recreated when it comes back up (so a channel sitting
 * in reconnect backoff never delays a worker that is live again). Calls go out with identity
 * serializers: the gateway relays a request's bytes as it received them and the answer's bytes as
 * the worker sent them, never decoding a tensor.
 */
import * as grpc from '@grpc/grpc-js';
import { grpcChannelCredentials, type ClientTlsOptions } from '../../tls/index.js';
import type { AttemptOutcome, Cancellation, Endpoint, FailureKind } from '../routing/index.js';

export interface GrpcUpstreamsOptions {
  readonly maxMessageBytes: number;
  /** Connect to the workers over TLS with these settings; absent: plaintext. */
  readonly tls?: ClientTlsOptions | undefined;
}

/** The answer of a relayed unary call: the worker's bytes, or its error status (final, not retried). */
export type GrpcAnswer = { readonly response: Buffer; readonly error?: undefined } | { readonly response?: undefined; readonly error: grpc.ServiceError };

/** UNAVAILABLE statuses grpc-js makes up itself when it has no usable connection. */
const CONNECT_FAILURE = /^No connection established|ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|Stream refused by server/;
/** ... and when a connection broke under a call. */
const BROKEN_CONNECTION = /^Connection dropped|ECONNRESET|EPIPE|ETIMEDOUT|^Write (error|failed)|GOAWAY|Channel closed before call started/;

/** Transport failure → retry classification; undefined for a final status the worker itself sent. */
export function classifyGrpcError(error: grpc.ServiceError): FailureKind | undefined {
  // NOT_FOUND from a worker the table lists as serving the version: the table is behind.
  if (error.code === grpc.status.NOT_FOUND) return 'unavailable';
  if (error.code !== grpc.status.UNAVAILABLE) return undefined;
  if (CONNECT_FAILURE.test(error.details)) return 'refused';
  if (BROKEN_CONNECTION.test(error.details)) return 'reset';
  return 'unavailable';
}

export class GrpcUpstreams {
  private readonly clients = new Map<string, grpc.Client>();
  private tls: ClientTlsOptions | undefined;

  constructor(private readonly options: GrpcUpstreamsOptions) {
    this.tls = options.tls;
  }

  /** New TLS settings (reloaded files): channels are replaced; calls in flight on the old ones finish. */
  setTls(tls: ClientTlsOptions): void {
    this.tls = tls;
    this.retainOnly([]);
  }

  client(endpoint: Endpoint): grpc.Client {
    let client = this.clients.get(endpoint.grpcAddress);
    if (!client) {
      const credentials = this.tls ? grpcChannelCredentials(this.tls) : grpc.credentials.createInsecure();
      client = new grpc.Client(endpoint.grpcAddress, credentials, {
        'grpc.max_receive_message_length': this.options.maxMessageBytes,
        'grpc.max_send_message_length': this.options.maxMessageBytes,
        // A worker that restarts is back within a second or two; do not wait out a long backoff.
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': 1000,
        'grpc.keepalive_time_ms': 30_000,
        'grpc.keepalive_timeout_ms': 10_000,
        // Each worker gets its own channel; never share subchannels across them.
        'grpc.use_local_subchannel_pool': 1,
      });
      this.clients.set(endpoint.grpcAddress, client);
    }
    return client;
  }

  /** Drops the channel of a worker (it comes back with a fresh one on next use). */
  reset(endpoint: Endpoint): void {
    const client = this.clients.get(endpoint.grpcAddress);
    if (!client) return;
    this.clients.delete(endpoint.grpcAddress);
    client.close();
  }

  /** Closes the channels of workers no longer in `endpoints`. */
  retainOnly(endpoints: readonly Endpoint[]): void {
    const keep = new Set(endpoints.map((e) => e.grpcAddress));
    for (const [address, client] of this.clients) {
      if (keep.has(address)) continue;
      this.clients.delete(address);
      client.close();
    }
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }

  /**
   * One relayed unary call. Transport failures are classified for the retry policy; a status the
   * worker sent is a final answer, except UNAVAILABLE and NOT_FOUND, which are retryable and carried along.
   * The call is cancelled when `cancel` fires (the client went away) while it is in flight.
   *
   * The call is made on the channel directly rather than with `Client.makeUnaryRequest`, which
   * captures a stack trace (`new Error()`) and builds an interceptor chain for every call: a third
   * of the gateway's own cost per relayed call. Messages pass as bytes either way.
   */
  unary(
    endpoint: Endpoint,
    method: string,
    request: Buffer,
    metadata: grpc.Metadata,
    options: { readonly deadline?: grpc.Deadline | undefined },
    cancel?: Cancellation,
  ): Promise<AttemptOutcome<GrpcAnswer>> {
    return new Promise((resolve, reject) => {
      if (cancel?.reason) {
        reject(cancel.reason);
        return;
      }
      const call = this.client(endpoint)
        .getChannel()
        .createCall(method, options.deadline ?? Infinity, null, null, null);
      const unsubscribe = cancel?.onAbort(() => call.cancelWithStatus(grpc.status.CANCELLED, 'Cancelled on client'));
      let response: Buffer | undefined;
      call.start(metadata, {
        onReceiveMetadata: () => undefined,
        onReceiveMessage: (message: Buffer) => {
          response = message;
        },
        onReceiveStatus: (status: grpc.StatusObject) => {
          unsubscribe?.();
          if (status.code === grpc.status.OK) {
            resolve({ ok: true, value: { response: response ?? Buffer.alloc(0) } });
            return;
          }
          const error: grpc.ServiceError = Object.assign(new Error(`${status.code} ${grpc.status[status.code]}: ${status.details}`), status);
          const kind = classifyGrpcError(error);
          if (kind === undefined) resolve({ ok: true, value: { error } });
          else resolve({ ok: false, kind, detail: error.details, answer: kind === 'unavailable' ? { error } : undefined });
        },
      });
      call.startRead();
      call.sendMessageWithContext({}, request);
      call.halfClose();
    });
  }
}
