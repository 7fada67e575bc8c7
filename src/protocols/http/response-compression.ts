/**
 * Response compression as Triton does it: when `Accept-Encoding` names gzip or deflate, bodies
 * are compressed and `Content-Encoding` says how. `Inference-Header-Content-Length` keeps the
 * length of the *uncompressed* JSON part (Triton's binary tensor data extension). Small bodies (health, metadata, most
 * errors) go out as they are: compressing them costs more than it saves.
 *
 * Compression runs on libuv's thread pool (async zlib), never on the event loop, at zlib's fastest
 * level: tensor data compresses little better at higher levels and latency matters more.
 */
import { promisify } from 'node:util';
import { constants, deflate, gzip, type ZlibOptions } from 'node:zlib';
import type { FastifyInstance } from 'fastify';

const gzipAsync = promisify<Buffer | string, ZlibOptions, Buffer>(gzip);
const deflateAsync = promisify<Buffer | string, ZlibOptions, Buffer>(deflate);
const ZLIB_OPTIONS: ZlibOptions = { level: constants.Z_BEST_SPEED };

/** Bodies at or below this many bytes are never compressed. */
export const COMPRESSION_THRESHOLD_BYTES = 1024;

export type ResponseEncoding = 'gzip' | 'deflate';

/**
 * The encoding to answer with for an `Accept-Encoding` header: the one of gzip/deflate with the
 * highest q-value (gzip on ties; `*` counts as gzip), or undefined when neither is acceptable.
 */
export function pickResponseEncoding(acceptEncoding: string | undefined): ResponseEncoding | undefined {
  if (!acceptEncoding) return undefined;
  let gzipQ = -1;
  let deflateQ = -1;
  let anyQ = -1;
  for (const part of acceptEncoding.split(',')) {
    const [token = '', ...params] = part.split(';');
    let q = 1;
    for (const param of params) {
      const [key, value] = param.split('=');
      if (key?.trim().toLowerCase() === 'q' && value !== undefined) q = Number(value.trim());
    }
    if (!(q > 0)) q = 0;
    const name = token.trim().toLowerCase();
    if (name === 'gzip' || name === 'x-gzip') gzipQ = q;
    else if (name === 'deflate') deflateQ = q;
    else if (name === '*') anyQ = q;
  }
  if (gzipQ < 0) gzipQ = anyQ;
  if (deflateQ < 0) deflateQ = anyQ;
  if (gzipQ <= 0 && deflateQ <= 0) return undefined;
  return gzipQ >= deflateQ ? 'gzip' : 'deflate';
}

export function installResponseCompression(app: FastifyInstance, thresholdBytes = COMPRESSION_THRESHOLD_BYTES): void {
  // Callback style, so the common case (nothing to compress) costs no promise.
  app.addHook('onSend', (request, reply, payload, done) => {
    const accept = request.headers['accept-encoding'];
    if (accept === undefined || (typeof payload !== 'string' && !Buffer.isBuffer(payload))) return done(null, payload);
    if (request.method === 'HEAD' || reply.hasHeader('content-encoding')) return done(null, payload);
    const compressing = compressForClient(payload, accept, thresholdBytes);
    if (compressing === undefined) return done(null, payload);
    compressing.then(
      ({ body, encoding }) => {
        reply.header('content-encoding', encoding);
        reply.header('vary', 'accept-encoding');
        done(null, body);
      },
      (error: Error) => done(error),
    );
  });
}

/**
 * The body compressed the way `acceptEncoding` asks, or undefined (synchronously, so the common
 * case costs no promise) when it is too small to be worth it or no encoding we have is accepted.
 */
export function compressForClient(
  payload: string | Buffer,
  acceptEncoding: string | undefined,
  thresholdBytes = COMPRESSION_THRESHOLD_BYTES,
): Promise<{ body: Buffer; encoding: ResponseEncoding }> | undefined {
  if (acceptEncoding === undefined) return undefined;
  const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength;
  if (size <= thresholdBytes) return undefined;
  const encoding = pickResponseEncoding(acceptEncoding);
  if (encoding === undefined) return undefined;
  return (encoding === 'gzip' ? gzipAsync : deflateAsync)(payload, ZLIB_OPTIONS).then((body) => ({ body, encoding }));
}
