/**
 * ModelStreamInfer: a bidirectional stream of ModelInferRequests, each answered by one
 * ModelStreamInferResponse (grpc_service.proto). Requests run concurrently and may complete out
 * of order; responses carry the request `id` so clients can match them. A failed request is
 * answered with `error_message` (plus model name, version and id) and the stream stays open. Once
 * the client half-closes and every response is written, the stream ends with OK.
 *
 * Backpressure: at most MAX_IN_FLIGHT requests are being inferred or written at once; beyond that
 * the stream stops reading, which lets HTTP/2 flow control slow the client down.
 */
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { InferenceRequest, InferenceService, RequestContext } from '../../serving/index.js';
import { callContext } from './call-context.js';
import type { WireModelInferRequest, WireModelStreamInferResponse } from './oip-messages.js';
import { decodeInferRequest, encodeInferResponse } from './oip-infer-codec.js';
import { startGrpcTrace, traceGrpcSend } from '../../tracing/index.js';
import { logFailure } from './status-mapping.js';
import { failedInference, streamRequestId } from './request-tracking.js';
import { sharedMemoryUse, type SharedMemoryAccess } from '../../shared-memory/index.js';

const MAX_IN_FLIGHT = 64;

/** Request parameter by which tritonclient asks for the final-response flag (Triton's decoupled protocol). */
const ENABLE_FINAL_FLAG = 'triton_enable_empty_final_response';
const FINAL_FLAG = 'triton_final_response';

type StreamCall = grpc.ServerDuplexStream<WireModelInferRequest, WireModelStreamInferResponse>;

export function createStreamInferHandler(
  service: InferenceService,
  logger?: Logger,
  sharedMemory?: SharedMemoryAccess,
): grpc.handleBidiStreamingCall<WireModelInferRequest, WireModelStreamInferResponse> {
  return (call: StreamCall) => {
    const context = callContext(call);
    let inFlight = 0;
    let paused = false;
    let clientDone = false;
    let closed = false;

    const close = (): void => {
      if (closed) return;
      closed = true;
      context.dispose();
    };
    const finishIfDone = (): void => {
      if (clientDone && inFlight === 0 && !closed) {
        close();
        call.end();
      }
    };
    const settle = (): void => {
      inFlight--;
      if (paused && inFlight < MAX_IN_FLIGHT) {
        paused = false;
        call.resume();
      }
      finishIfDone();
    };

    const answer = async (message: WireModelInferRequest): Promise<WireModelStreamInferResponse> => {
      const requestId = streamRequestId(call.metadata, message.id);
      const shm = sharedMemoryUse(sharedMemory, message.model_name);
      const trace = startGrpcTrace(service, message.model_name, call.metadata);
      try {
        const { request, wantsFinalFlag } = withoutStreamParameters(decodeInferRequest(message, shm));
        const traced: RequestContext = { signal: context.signal, requestId: requestId.id, trace };
        const response = await service.infer(request, traced);
        trace?.stamp('INFER_RESPONSE_COMPLETE');
        shm?.writeOutputs(response.outputs);
        const encoded = encodeInferResponse(response, message.id, shm);
        if (wantsFinalFlag) encoded.parameters = { ...encoded.parameters, [FINAL_FLAG]: { bool_param: true } };
        return { error_message: '', infer_response: encoded };
      } catch (error) {
        logFailure(logger, 'ModelStreamInfer', error);
        return {
          error_message: failedInference(service, message, error, requestId).message,
          infer_response: { model_name: message.model_name, model_version: message.model_version, id: message.id },
        };
      } finally {
        shm?.release();
        traceGrpcSend(trace);
      }
    };

    call.on('data', (message: WireModelInferRequest) => {
      inFlight++;
      if (inFlight >= MAX_IN_FLIGHT && !paused) {
        paused = true;
        call.pause();
      }
      void answer(message).then((response) => {
        if (closed || call.cancelled) {
          settle();
          return;
        }
        let settled = false;
        // The callback fires once the message is handed to HTTP/2 (or the stream failed): only
        // then does the slot free up, so a slow reader cannot make us buffer without bound.
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
    call.on('cancelled', close);
    call.on('error', (error: Error) => {
      logger?.debug({ err: error, rpc: 'ModelStreamInfer' }, 'stream error');
      close();
    });
  };
}

/** Strips the transport-level final-flag request parameter before the request reaches the model. */
function withoutStreamParameters(request: InferenceRequest): { request: InferenceRequest; wantsFinalFlag: boolean } {
  const parameters = request.parameters;
  if (parameters === undefined || !Object.hasOwn(parameters, ENABLE_FINAL_FLAG)) return { request, wantsFinalFlag: false };
  const { [ENABLE_FINAL_FLAG]: flag, ...rest } = parameters;
  return {
    request: { ...request, parameters: Object.keys(rest).length > 0 ? rest : undefined },
    wantsFinalFlag: flag === true,
  };
}
