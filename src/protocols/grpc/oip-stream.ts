/**
 * ModelStreamInfer: a bidirectional stream of ModelInferRequests, each answered by one
 * ModelStreamInferResponse (grpc_service.proto). Requests run concurrently and may complete out
 * of order; responses carry the request `id` so clients can match them. A failed request is
 * answered with `error_message` (plus model name, version and id) and the stream stays open. Once
 * the client half-closes and every response is written, the stream ends with OK. The loop and its
 * backpressure are `pumpStream`'s (at most MAX_IN_FLIGHT requests inferred or written at once).
 */
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { InferenceRequest, InferenceService, RequestContext } from '../../serving/index.js';
import { callContext } from './call-context.js';
import { pumpStream } from './stream-pump.js';
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

    pumpStream(call, answer, { maxInFlight: MAX_IN_FLIGHT, logger, onClosed: () => context.dispose() });
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
