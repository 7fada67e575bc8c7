/**
 * A grpc-js unary handler around a sync or async function: failures become gRPC statuses through
 * the shared status mapping (TF Serving's codes are the canonical gRPC codes) and are logged, and
 * the call's cancellation and deadline reach the façade as an AbortSignal.
 */
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { RequestContext } from '../../serving/index.js';
import { callContext, logFailure, toServiceError } from '../grpc/index.js';

export function unary<Req, Res>(
  rpc: string,
  logger: Logger | undefined,
  handler: (request: Req, context: RequestContext, metadata: grpc.Metadata) => Res | Promise<Res>,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const context = callContext(call);
    const fail = (error: unknown): void => {
      context.dispose();
      logFailure(logger, rpc, error);
      callback(toServiceError(error));
    };
    const succeed = (value: Res): void => {
      context.dispose();
      callback(null, value);
    };
    let result: Res | Promise<Res>;
    try {
      result = handler(call.request, { signal: context.signal }, call.metadata);
    } catch (error) {
      fail(error);
      return;
    }
    if (result instanceof Promise) result.then(succeed, fail);
    else succeed(result);
  };
}
