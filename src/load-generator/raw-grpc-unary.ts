/**
 * A lean unary gRPC caller for the load generator's hot path: the request message is serialized
 * once, and each call is one HTTP/2 stream on a shared `node:http2` session (h2c): the 5-byte gRPC
 * frame and the message written in one go, the answer read to its end, `grpc-status` checked from
 * the trailers (or from the headers of a trailers-only answer). grpc-js spends several times the
 * CPU per call on the client side (interceptors, call objects, per-call (de)serialization), which
 * made `cranberries bench` understate every gRPC figure.
 *
 * What it does not do: TLS (the transport keeps grpc-js for TLS targets), compression, deadlines,
 * retries, and decoding the answer (a benchmark needs it read, not parsed).
 */
import { connect, constants, type ClientHttp2Session, type IncomingHttpHeaders, type IncomingHttpStatusHeader } from 'node:http2';
import { STATUS_NAMES } from '../client/index.js';

/** Longest `grpc-message` quoted in an error. */
const MAX_MESSAGE_CHARS = 200;

export class RawGrpcUnary {
  private session: ClientHttp2Session | undefined;

  /** `authority` is `host:port` of an insecure (h2c) gRPC server. */
  constructor(private readonly authority: string) {}

  /** A call of `path` (`/package.Service/Method`) with `message` (already serialized), sent as is on every call. */
  prepare(path: string, message: Uint8Array): () => Promise<void> {
    const framed = Buffer.allocUnsafe(5 + message.byteLength);
    framed.writeUInt8(0, 0); // not compressed
    framed.writeUInt32BE(message.byteLength, 1);
    framed.set(message, 5);
    const headers = {
      [constants.HTTP2_HEADER_METHOD]: 'POST',
      [constants.HTTP2_HEADER_PATH]: path,
      [constants.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
      te: 'trailers',
    };
    return () =>
      new Promise<void>((resolve, reject) => {
        const stream = this.connection().request(headers, { endStream: false });
        let status: string | undefined;
        let message: string | undefined;
        const read = (h: IncomingHttpHeaders & IncomingHttpStatusHeader): void => {
          if (h['grpc-status'] !== undefined) {
            status = String(h['grpc-status']);
            message = h['grpc-message'] === undefined ? undefined : String(h['grpc-message']);
          }
        };
        stream.on('response', (h) => {
          const httpStatus = h[constants.HTTP2_HEADER_STATUS];
          if (Number(httpStatus) !== 200) {
            stream.close();
            reject(new Error(`gRPC call answered HTTP ${String(httpStatus)}`));
            return;
          }
          read(h);
        });
        stream.on('trailers', read);
        stream.on('data', () => {}); // read every byte, as a real client must
        stream.on('error', (error: Error) => reject(error));
        stream.on('close', () => {
          if (status === '0') resolve();
          else if (status === undefined) reject(new Error(`gRPC call ended without a status (stream code ${stream.rstCode ?? '?'})`));
          else reject(new Error(`gRPC ${STATUS_NAMES[Number(status)] ?? status}: ${decodeURIComponent(message ?? '').slice(0, MAX_MESSAGE_CHARS)}`));
        });
        stream.end(framed);
      });
  }

  close(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    if (!session || session.closed) return Promise.resolve();
    return new Promise((resolve) => session.close(() => resolve()));
  }

  /** The shared session, (re)opened when missing or gone away. */
  private connection(): ClientHttp2Session {
    if (!this.session || this.session.closed || this.session.destroyed) {
      const session = connect(`http://${this.authority}`);
      session.on('error', () => {}); // failures surface on the streams
      session.on('close', () => {
        if (this.session === session) this.session = undefined;
      });
      this.session = session;
    }
    return this.session;
  }
}
