/**
 * The answers a listener gives outside any route, in the documented `{"error": "..."}` shape:
 *
 * - `clientErrorAnswer`: Node's `clientError` event (malformed HTTP, headers or a request that did
 *   not arrive within the listener's timeouts, over-long headers). Replaces fastify's default, whose
 *   body is `{"error":"Bad Request","message":...,"statusCode":400}`. The answer is a fixed, short
 *   text (nothing of the client's input is echoed), written only when nothing of a response has
 *   been sent on the connection, and the connection is always closed.
 * - `installClosingAnswer`: while the app closes, requests still arriving on open keep-alive
 *   connections get 503 `{"error":"the server is shutting down"}` with `Connection: close`
 *   (fastify's own `return503OnClosing` body has extra fields).
 */
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { sendError } from './error-mapping.js';

/** Status and message for a `clientError`, by Node's error code. */
export function clientErrorStatus(code: string | undefined): { status: number; message: string } {
  switch (code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, message: "the request did not arrive within the server's time limit" };
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, message: 'the request headers are too large' };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { status: 413, message: 'the chunk extensions are too large' };
    default:
      return { status: 400, message: 'malformed HTTP request' };
  }
}

/** A `clientError` listener for a `node:http` server: a bounded JSON answer, then the connection is closed. */
export function clientErrorAnswer(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  // A response already started on this connection cannot be followed by another one.
  const current = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (socket.writable && (current === undefined || current === null || !current.headersSent)) {
    const { status, message } = clientErrorStatus(error.code);
    const body = JSON.stringify({ error: message });
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    // A client that does not read must not keep the socket: end() waits for the write to drain.
    setTimeout(() => socket.destroy(), 1000).unref();
    return;
  }
  socket.destroy();
}

/** 503 in the documented shape for requests arriving while the app closes (call before `ready`). */
export function installClosingAnswer(app: FastifyInstance): void {
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onRequest', (_request, reply, done) => {
    if (!closing) {
      done();
      return;
    }
    void sendError(reply.header('connection', 'close'), 503, 'the server is shutting down');
  });
}
