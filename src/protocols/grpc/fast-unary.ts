/**
 * A unary method answered on the raw HTTP/2 front (`h2-unary-front.ts`) instead of grpc-js, with
 * grpc-js's own answer on the wire: the same (de)serializers (the service definition's), the same
 * response headers and trailers, the same statuses for a deadline, an over-sized answer or a
 * failure (`status-mapping.ts`). A message that does not decode goes to grpc-js, whose tolerant
 * deserializer answers it (`undecodable-messages.ts`).
 *
 * Cancellation and deadline reach the method as an AbortSignal, as `call-context.ts` does for
 * grpc-js calls: the client resetting the stream aborts it with CANCELLED; `grpc-timeout` passing
 * aborts it with DEADLINE_EXCEEDED and answers "Deadline exceeded" at once, as grpc-js does.
 */
import type * as http2 from 'node:http2';
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { CranberriesError } from '../../core/index.js';
import { GRPC_CONTENT_TYPE, safely, type FrontCall, type FrontHandler } from './h2-unary-front.js';
import { logFailure, toServiceError } from './status-mapping.js';

/** What a fast method sees of its call. */
export interface FastCall {
  readonly signal: AbortSignal;
  readonly headers: http2.IncomingHttpHeaders;
  /** Response metadata sent with the answer or the error status (grpc-js's `call.sendMetadata`). */
  sendMetadata(metadata: Readonly<Record<string, string>>): void;
}

export interface FastUnaryMethod<Req, Res> {
  /** The method's name in logs (`ModelInfer`). */
  readonly rpc: string;
  /** The method of the service definition grpc-js serves, whose serializers this uses too. */
  readonly definition: grpc.MethodDefinition<Req, Res>;
  readonly run: (request: Req, call: FastCall) => Promise<Res>;
}

export interface FastUnaryOptions {
  /** Largest answer message sent; a larger one fails with RESOURCE_EXHAUSTED (grpc-js's send limit). */
  readonly maxMessageBytes: number;
  readonly logger?: Logger | undefined;
}

/** grpc-js's response headers (it announces the encodings it accepts and that it sends identity). */
const RESPONSE_HEADERS: Readonly<http2.OutgoingHttpHeaders> = {
  ':status': 200,
  'content-type': GRPC_CONTENT_TYPE,
  'grpc-accept-encoding': 'identity,deflate,gzip',
  'grpc-encoding': 'identity',
};
const OK = 0;
const DEADLINE_EXCEEDED = 4;
const RESOURCE_EXHAUSTED = 8;
const INTERNAL = 13;
/** Below this an answer is copied behind its prefix and written once; above, written as two chunks to spare the copy. */
const COPY_LIMIT = 16 * 1024;

export function fastUnaryHandler<Req, Res>(method: FastUnaryMethod<Req, Res>, options: FastUnaryOptions): FrontHandler {
  const { definition, rpc } = method;
  const max = options.maxMessageBytes;
  return (front: FrontCall): void => {
    let request: Req;
    try {
      request = definition.requestDeserialize(front.body.subarray(5));
    } catch {
      front.fallBack();
      return;
    }
    const { stream } = front;
    const controller = new AbortController();
    let metadata: http2.OutgoingHttpHeaders | undefined;
    let answered = false;
    let timer: NodeJS.Timeout | undefined;
    const answer = (payload: Buffer | undefined, code: number, details: string): void => {
      answered = true;
      clearTimeout(timer);
      writeAnswer(stream, metadata, payload, code, details);
    };
    stream.once('close', () => {
      if (!answered) controller.abort(new CranberriesError('CANCELLED', 'the client cancelled the call'));
    });
    if (front.timeoutMs !== undefined) {
      timer = setTimeout(() => {
        if (answered) return;
        controller.abort(new CranberriesError('DEADLINE_EXCEEDED', 'the call deadline passed before the work finished'));
        answer(undefined, DEADLINE_EXCEEDED, 'Deadline exceeded');
      }, front.timeoutMs);
    }
    const call: FastCall = {
      signal: controller.signal,
      headers: front.headers,
      sendMetadata: (values) => {
        metadata = { ...RESPONSE_HEADERS, ...values };
      },
    };
    const fail = (error: unknown): void => {
      if (answered) return;
      logFailure(options.logger, rpc, error);
      const status = toServiceError(error);
      answer(undefined, status.code ?? INTERNAL, status.details ?? status.message);
    };
    const succeed = (value: Res): void => {
      if (answered) return;
      let payload: Buffer;
      try {
        payload = definition.responseSerialize(value);
      } catch {
        answer(undefined, INTERNAL, 'Error serializing response');
        return;
      }
      if (payload.length > max) answer(undefined, RESOURCE_EXHAUSTED, `Sent message larger than max (${payload.length + 5} vs. ${max})`);
      else answer(payload, OK, 'OK');
    };
    let result: Promise<Res>;
    try {
      result = method.run(request, call);
    } catch (error) {
      fail(error);
      return;
    }
    result.then(succeed, fail);
  };
}

/**
 * Writes an answer as grpc-js does: headers (with the metadata sent), the message, then the status
 * as trailers; or, with neither metadata nor message, a trailers-only answer.
 */
function writeAnswer(stream: http2.ServerHttp2Stream, metadata: http2.OutgoingHttpHeaders | undefined, payload: Buffer | undefined, code: number, details: string): void {
  if (stream.closed || stream.destroyed || stream.headersSent) return;
  const status = { 'grpc-status': String(code), 'grpc-message': encodeURI(details) };
  safely(stream, () => {
    if (metadata === undefined && payload === undefined) {
      stream.respond({ ...status, ':status': 200, 'content-type': GRPC_CONTENT_TYPE }, { endStream: true });
      return;
    }
    // A fresh object: node adds its `date` header to the one it is given.
    stream.respond(metadata ?? { ...RESPONSE_HEADERS }, { waitForTrailers: true });
    stream.once('wantTrailers', () => safely(stream, () => stream.sendTrailers(status)));
    if (payload === undefined) {
      stream.end();
      return;
    }
    if (payload.length < COPY_LIMIT) {
      const framed = Buffer.allocUnsafe(payload.length + 5);
      framed[0] = 0;
      framed.writeUInt32BE(payload.length, 1);
      payload.copy(framed, 5);
      stream.end(framed);
      return;
    }
    const prefix = Buffer.allocUnsafe(5);
    prefix[0] = 0;
    prefix.writeUInt32BE(payload.length, 1);
    stream.cork();
    stream.write(prefix);
    stream.end(payload);
  });
}
