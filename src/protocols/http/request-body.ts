/**
 * Request bodies as the inference APIs need them: every body, whatever its Content-Type, is read
 * as one raw Buffer (the OIP binary extension mixes JSON and raw tensor bytes, and Triton never
 * checks Content-Type), after undoing `Content-Encoding: gzip | deflate` (deflate = zlib stream).
 *
 * The size limit applies to the decompressed body as well as to the bytes on the wire, so a small
 * compressed body cannot expand past it. Other encodings are answered 501 with
 * `Accept-Encoding: gzip, deflate`, as Triton does.
 */
import { createGunzip, createInflate } from 'node:zlib';
import { Transform, type TransformCallback } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { markExclusive } from '../../tensors/index.js';
import { sendError } from './error-mapping.js';
import { InflateBudget } from './inflate-budget.js';

/** What fastify's body reader looks at to compare the wire size with Content-Length. */
type CountingStream = Transform & { receivedEncodedLength: number };

/**
 * `budget`: bytes being decompressed at once over every request of the process
 * (`inflate-budget.ts`); absent: no budget.
 */
export function installBodyParsing(app: FastifyInstance, budget?: InflateBudget): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => {
    done(null, unpooled(body as Buffer));
  });

  app.addHook('preParsing', (request, reply, payload, done) => {
    const encoding = request.headers['content-encoding']?.trim().toLowerCase();
    if (encoding === undefined || encoding === '' || encoding === 'identity') {
      done(null, payload);
      return;
    }
    if (encoding !== 'gzip' && encoding !== 'deflate') {
      void sendError(reply.header('accept-encoding', 'gzip, deflate'), 501, 'Unsupported compression type');
      return;
    }
    const decoder = encoding === 'gzip' ? createGunzip() : createInflate();
    const output = (budget === undefined ? decoder : decoder.pipe(new BudgetMeter(budget))) as unknown as CountingStream;
    if (output !== (decoder as unknown)) {
      decoder.on('error', (error) => output.destroy(error));
      // A body refused by the budget stops being inflated at once.
      output.once('error', () => decoder.destroy());
    }
    output.receivedEncodedLength = 0;
    payload.on('data', (chunk: Buffer) => {
      output.receivedEncodedLength += chunk.length;
    });
    payload.on('error', (error) => decoder.destroy(error));
    payload.pipe(decoder);
    done(null, output);
  });
}

/**
 * Passes decompressed chunks through, reserving each in the budget first; fails the body (503)
 * when the budget is spent. Everything it reserved is given back once the stream is closed
 * (ended, failed or abandoned by a client that went away).
 */
class BudgetMeter extends Transform {
  private reserved = 0;

  constructor(private readonly budget: InflateBudget) {
    super();
    this.once('close', () => {
      budget.release(this.reserved);
      this.reserved = 0;
    });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (!this.budget.tryReserve(chunk.length)) {
      callback(InflateBudget.exceeded());
      return;
    }
    this.reserved += chunk.length;
    callback(null, chunk);
  }
}

/** The body as a Buffer; an empty one for requests without a body. */
export function bodyOf(request: FastifyRequest): Buffer {
  return Buffer.isBuffer(request.body) ? request.body : EMPTY;
}

const EMPTY = Buffer.alloc(0);

/**
 * Small Buffers from `Buffer.concat` are slices of Node's shared allocation pool. Tensor data
 * decoded from the body are views into it, and the serving core may transfer a tensor's
 * ArrayBuffer to a worker thread, which must never be the pool. Copying a body under 4 KiB costs
 * less than a microsecond; larger bodies already own their ArrayBuffer. The body's buffer is then
 * marked exclusive: no one but the request's tensors reads it once decoded.
 */
export function unpooled(body: Buffer): Buffer {
  let owned = body;
  if (body.byteOffset !== 0 || body.buffer.byteLength !== body.byteLength) {
    owned = Buffer.allocUnsafeSlow(body.byteLength);
    body.copy(owned);
  }
  markExclusive(owned.buffer);
  return owned;
}
