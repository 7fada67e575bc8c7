/**
 * An already-decoded InferenceRequest as a `ModelInferRequest` for a worker, and the worker's
 * `ModelInferResponse` back as an InferenceResponse: the gateway's `infer` for protocol paths that
 * decode before the gateway sees the request (anything not relayed as raw bytes). Inputs travel as
 * `raw_input_contents`, like tritonclient sends them, using the gRPC adapter's own tensor codec
 * (an input tensor's metadata has the same fields as an output tensor's, so one codec serves both
 * directions). The call goes through the request router like any relayed one (retries, health,
 * sequence affinity); the worker's error status comes back as the same error.
 */
import * as grpc from '@grpc/grpc-js';
import { CranberriesError, type ErrorCode } from '../../core/index.js';
import { REQUEST_ID_HEADER, resolveRequestId } from '../../protocols/common/index.js';
import type { RequestContext, InferenceRequest, InferenceResponse } from '../../serving/index.js';
import { Cancellation, sequenceKeyOf, type AttemptOutcome, type Endpoint, type RequestRouter } from '../routing/index.js';
import type { GrpcAnswer } from '../grpc/index.js';
import { oipPackageDefinition, serviceDefinition, OIP_SERVICE_NAME, encodeParameter, encodeParameters, decodeParameters, decodeInputTensors, encodeOutputTensors } from '../../protocols/grpc/index.js';
import type { WireModelInferRequest, WireModelInferResponse } from '../../protocols/grpc/index.js';

export const MODEL_INFER_PATH = `/${OIP_SERVICE_NAME}/ModelInfer`;

let method: grpc.MethodDefinition<WireModelInferRequest, WireModelInferResponse> | undefined;

function modelInferMethod(): grpc.MethodDefinition<WireModelInferRequest, WireModelInferResponse> {
  method ??= serviceDefinition(oipPackageDefinition(), OIP_SERVICE_NAME)['ModelInfer'] as grpc.MethodDefinition<WireModelInferRequest, WireModelInferResponse>;
  return method;
}

export function encodeInferRequestMessage(request: InferenceRequest): Buffer {
  const { outputs: inputs, raw } = encodeOutputTensors(request.inputs);
  const message: WireModelInferRequest = {
    model_name: request.model,
    model_version: request.version === undefined ? '' : String(request.version),
    id: request.id ?? '',
    parameters: encodeParameters(request.parameters),
    inputs: inputs.map((tensor) => ({ name: tensor.name, datatype: tensor.datatype, shape: [...tensor.shape] })),
    outputs: request.outputs?.map((output) =>
      output.classification === undefined ? { name: output.name } : { name: output.name, parameters: { classification: encodeParameter(output.classification) } },
    ),
    raw_input_contents: raw,
  };
  return modelInferMethod().requestSerialize(message);
}

export function decodeInferResponseMessage(bytes: Buffer): InferenceResponse {
  const message = modelInferMethod().responseDeserialize(bytes);
  const outputs = (message.outputs ?? []).map((tensor) => ({ name: tensor.name, datatype: tensor.datatype, shape: [...tensor.shape] }));
  return {
    model: message.model_name,
    version: Number(message.model_version),
    id: message.id === '' ? undefined : message.id,
    outputs: decodeInputTensors(outputs, message.raw_output_contents),
    parameters: decodeParameters(message.parameters, 'response'),
  };
}

/** What decoded infer asks of a worker's gRPC port: one unary call (the gRPC lane's `GrpcUpstreams`). */
export interface WorkerUnaryCalls {
  unary(
    endpoint: Endpoint,
    path: string,
    message: Buffer,
    metadata: grpc.Metadata,
    options: { readonly deadline?: grpc.Deadline | undefined },
    cancel?: Cancellation,
  ): Promise<AttemptOutcome<GrpcAnswer>>;
}

export interface DecodedInferOptions {
  readonly router: RequestRouter;
  readonly grpc: WorkerUnaryCalls;
}

/** The service's `infer`: a decoded request sent to a replica over gRPC, its answer decoded. */
export class DecodedInfer {
  constructor(private readonly options: DecodedInferOptions) {}

  async infer(request: InferenceRequest, context?: RequestContext): Promise<InferenceResponse> {
    const requestId = context?.requestId ?? resolveRequestId(undefined, request.id).id;
    const message = encodeInferRequestMessage(request);
    const metadata = new grpc.Metadata();
    metadata.set(REQUEST_ID_HEADER, requestId);
    const cancel = Cancellation.fromSignal(context?.signal);
    const affinity = sequenceKeyOf(request.parameters?.['sequence_id']);
    const answer = await this.options.router.route({ model: request.model, version: request.version, requestId, cancel, affinity }, (endpoint) =>
      this.options.grpc.unary(endpoint, MODEL_INFER_PATH, message, metadata, {}, cancel),
    );
    if (answer.error) throw errorFromStatus(answer.error);
    return decodeInferResponseMessage(answer.response);
  }
}

const CODE_OF_STATUS: ReadonlyMap<number, ErrorCode> = new Map(
  (['INVALID_ARGUMENT', 'NOT_FOUND', 'UNAVAILABLE', 'RESOURCE_EXHAUSTED', 'DEADLINE_EXCEEDED', 'CANCELLED', 'UNIMPLEMENTED', 'ALREADY_EXISTS', 'FAILED_PRECONDITION', 'INTERNAL'] as const).map(
    (code) => [grpc.status[code], code],
  ),
);

/** A worker's gRPC status as the error the façade throws (same code, same message). */
export function errorFromStatus(error: grpc.ServiceError): CranberriesError {
  return new CranberriesError(CODE_OF_STATUS.get(error.code) ?? 'INTERNAL', error.details);
}
