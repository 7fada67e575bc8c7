/**
 * The message loop of a bidirectional stream whose every request gets one answer (ModelStreamInfer,
 * served by a model server or relayed by the gateway): requests are answered concurrently and the
 * answers written as they complete, in any order.
 *
 * Backpressure: at most `maxInFlight` requests are being answered or written at once; beyond that
 * the stream stops reading, which lets HTTP/2 flow control slow the client down. A slot frees up
 * once its answer is handed to HTTP/2 (or the stream failed), so a slow reader cannot make us
 * buffer without bound. Once the client half-closes and every answer is written, the stream ends
 * with OK.
 */
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';

export interface StreamPumpOptions {
  /** Requests being answered or written at once, at most. */
  readonly maxInFlight: number;
  /**
   * Called once, when the stream is over: `ended` (answered in full), `cancelled` by the client, or
   * failed with an error. Answers still being computed are written nowhere afterwards.
   */
  readonly onClosed: (how: 'ended' | 'cancelled' | Error) => void;
  readonly logger?: Logger | undefined;
}

export function pumpStream<Request, Answer>(call: grpc.ServerDuplexStream<Request, Answer>, answer: (request: Request) => Promise<Answer>, options: StreamPumpOptions): void {
  let inFlight = 0;
  let paused = false;
  let clientDone = false;
  let closed = false;

  const close = (how: 'ended' | 'cancelled' | Error): void => {
    if (closed) return;
    closed = true;
    options.onClosed(how);
  };
  const finishIfDone = (): void => {
    if (clientDone && inFlight === 0 && !closed) {
      close('ended');
      call.end();
    }
  };
  const settle = (): void => {
    inFlight--;
    if (paused && inFlight < options.maxInFlight) {
      paused = false;
      call.resume();
    }
    finishIfDone();
  };

  call.on('data', (request: Request) => {
    inFlight++;
    if (inFlight >= options.maxInFlight && !paused) {
      paused = true;
      call.pause();
    }
    void answer(request).then((response) => {
      if (closed || call.cancelled) {
        settle();
        return;
      }
      let settled = false;
      call.write(response, () => {
        if (settled) return;
        settled = true;
        settle();
      });
    });
  });
  call.on('end', () => {
    clientDone = true;
    finishIfDone();
  });
  call.on('cancelled', () => close('cancelled'));
  call.on('error', (error: Error) => {
    options.logger?.debug({ err: error, rpc: 'ModelStreamInfer' }, 'stream error');
    close(error);
  });
}
