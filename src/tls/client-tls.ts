/**
 * TLS of the connections a process opens (the gateway to its workers, the client library, the
 * CLI): whom to trust (a CA bundle; without one, the system's roots) and, for mutual TLS, the
 * certificate and key to present. One material, three transports' option shapes.
 */
import type { ConnectionOptions } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import type { TlsMaterial } from './tls-files.js';

/** In-memory TLS settings of a client: PEM strings or buffers. */
export interface ClientTlsOptions {
  /** CA bundle the server's certificate must chain to (default: the system's roots). */
  readonly ca?: string | Buffer | undefined;
  /** Client certificate chain, for servers that require mutual TLS. */
  readonly cert?: string | Buffer | undefined;
  /** Private key of `cert`. */
  readonly key?: string | Buffer | undefined;
}

export function clientTlsOf(material: TlsMaterial): ClientTlsOptions {
  return { ca: material.ca, cert: material.cert, key: material.key };
}

/** For `tls.connect`, undici's `connect` option and `http2.connect`. */
export function clientConnectionOptions(tls: ClientTlsOptions): ConnectionOptions {
  const out: ConnectionOptions = {};
  if (tls.ca !== undefined) out.ca = tls.ca;
  if (tls.cert !== undefined) out.cert = tls.cert;
  if (tls.key !== undefined) out.key = tls.key;
  return out;
}

/** grpc-js channel credentials over TLS. */
export function grpcChannelCredentials(tls: ClientTlsOptions): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(bufferOf(tls.ca), bufferOf(tls.key), bufferOf(tls.cert));
}

function bufferOf(value: string | Buffer | undefined): Buffer | null {
  if (value === undefined) return null;
  return typeof value === 'string' ? Buffer.from(value) : value;
}
