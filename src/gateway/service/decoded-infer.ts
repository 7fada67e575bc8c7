/**
 * An already-decoded InferenceRequest as a `ModelInferRequest` for a worker, and the worker's
 * `ModelInferResponse` back as an InferenceResponse: the gateway's `infer` for protocol paths that
 * decode before the gateway sees the request (anything not relayed as raw bytes). Inputs travel as
 * `raw_input_contents`, like tritonclient sends them, using the gRPC adapter's own tensor codec
 * (an input tensor's metadata has the same fields as an output tensor's, so one codec serves both
 * directions).
 */
import type * as grpc from '@grpc/grpc-js';
import { oipPackageDefinition, serviceDefinition, OIP_SERVICE_NAME } from '../../protocols/grpc/index.js';
import { encodeParameter, encodeParameters, decodeParameters } from '../../protocols/grpc/oip-parameters.js';
import { decodeInputTensors, encodeOutputTensors } from '../../protocols/grpc/oip-tensors.js';
import type { WireModelInferRequest, WireModelInferResponse } from '../../protocols/grpc/oip-messages.js';
import type { InferenceRequest, InferenceResponse } from '../../serving/inference.js';

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
