/**
 * Turns a gRPC call's cancellation and deadline into the AbortSignal the façade understands, so
 * queued or running work for a caller that has gone away can be dropped. The abort reason is a
 * CranberriesError (CANCELLED / DEADLINE_EXCEEDED) that the façade may rethrow as is.
 */
import { setMaxListeners } from 'node:events';
import type * as grpc from '@grpc/grpc-js';
import { CranberriesError } from '../../core/index.js';

const MAX_TIMER_MS = 2 ** 31 - 1;
/** Timers and clocks are millisecond-coarse: a cancel this close to the deadline is the deadline. */
const DEADLINE_SLACK_MS = 5;

/** What unary and streaming calls have in common and this module needs. */
interface SurfaceCall {
  getDeadline(): grpc.Deadline;
  on(event: 'cancelled', listener: () => void): unknown;
  off(event: 'cancelled', listener: () => void): unknown;
}

export interface CallContext {
  readonly signal: AbortSignal;
  /** Stops watching the call; call it once the work is done. */
  dispose(): void;
}

export function callContext(call: SurfaceCall): CallContext {
  const controller = new AbortController();
  // A stream's requests share its signal: each one in flight listens (and stops listening when it
  // ends), so many at once is normal, not a leak.
  setMaxListeners(0, controller.signal);
  const deadline = call.getDeadline();
  const deadlineMs = deadline instanceof Date ? deadline.getTime() : deadline;
  const deadlineExceeded = (): void => controller.abort(new CranberriesError('DEADLINE_EXCEEDED', 'the call deadline passed before the work finished'));
  // grpc-js itself ends calls whose deadline passes and reports that as 'cancelled' too.
  const onCancelled = (): void => {
    if (Date.now() >= deadlineMs - DEADLINE_SLACK_MS) deadlineExceeded();
    else controller.abort(new CranberriesError('CANCELLED', 'the client cancelled the call'));
  };
  call.on('cancelled', onCancelled);
  const remainingMs = deadlineMs - Date.now();
  // Node timers cannot wait longer than 2^31-1 ms; a deadline that far away is no deadline. The
  // slack lets grpc-js's own deadline timer, set when the call arrived, always fire first: it
  // answers "Deadline exceeded" and reports 'cancelled' (which aborts the work above); were this
  // timer first, the client would read this module's message instead, depending on timing.
  const timer = remainingMs < MAX_TIMER_MS ? setTimeout(deadlineExceeded, Math.max(0, remainingMs) + DEADLINE_SLACK_MS) : undefined;
  return {
    signal: controller.signal,
    dispose(): void {
      if (timer !== undefined) clearTimeout(timer);
      call.off('cancelled', onCancelled);
    },
  };
}
