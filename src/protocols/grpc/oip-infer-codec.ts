/**
 * ModelInferRequest → InferenceRequest and InferenceResponse → ModelInferResponse: everything of a
 * ModelInfer call except the tensor bytes (which `oip-tensors.ts` handles). Shared by the unary
 * and the streaming RPC.
 */
import { quoteInput, invalidArgument } from '../../core/index.js';
import type { InferenceRequest, InferenceResponse, RequestedOutput } from '../../serving/index.js';
import type { WireModelInferRequest, WireModelInferResponse, WireParameters, WireRequestedOutput } from './oip-messages.js';
import { decodeParameter, decodeParameters, encodeParameters } from './oip-parameters.js';
import { decodeInputTensors, encodeOutputTensors, rejectSharedMemory, sharedMemoryRefOfTensor } from './oip-tensors.js';
import type { SharedMemoryUse } from '../../shared-memory/index.js';

const DECIMAL = /^[0-9]+$/;

/** Wire version string → number; empty means "the server's choice" (undefined). */
export function decodeModelVersion(version: string, model: string): number | undefined {
  if (version === '') return undefined;
  const parsed = DECIMAL.test(version) ? Number(version) : Number.NaN;
  if (!Number.isSafeInteger(parsed)) {
    throw invalidArgument(`version ${quoteInput(version)} of model ${quoteInput(model)} is not a version number (a non-negative decimal integer)`);
  }
  return parsed;
}

export function requireModelName(name: string, field: string): string {
  if (name === '') throw invalidArgument(`${field} is empty: name the model`);
  return name;
}

/** With `sharedMemory`, tensors may name regions (the caller releases it once the request is over). */
export function decodeInferRequest(message: WireModelInferRequest, sharedMemory?: SharedMemoryUse): InferenceRequest {
  const model = requireModelName(message.model_name, 'model_name');
  return {
    model,
    version: decodeModelVersion(message.model_version, model),
    id: message.id === '' ? undefined : message.id,
    inputs: decodeInputTensors(message.inputs, message.raw_input_contents, sharedMemory),
    outputs: decodeRequestedOutputs(message.outputs, sharedMemory),
    parameters: decodeParameters(message.parameters, 'request'),
  };
}

function decodeRequestedOutputs(outputs: readonly WireRequestedOutput[] | undefined, sharedMemory: SharedMemoryUse | undefined): RequestedOutput[] | undefined {
  if (outputs === undefined || outputs.length === 0) return undefined;
  return outputs.map((output, index) => {
    if (!output.name) throw invalidArgument(`requested output ${index} has an empty name`);
    if (sharedMemory === undefined) rejectSharedMemory(output.parameters, `output ${quoteInput(output.name)}`);
    const classification = decodeClassification(output.parameters, output.name);
    const ref = sharedMemory && sharedMemoryRefOfTensor(output.name, output.parameters);
    if (ref !== undefined && sharedMemory !== undefined) {
      if (classification !== undefined) throw invalidArgument(`output ${quoteInput(output.name)}: can't set both 'shared_memory_region' and 'classification'`);
      sharedMemory.reserveOutput(ref, output.name);
    }
    return classification === undefined ? { name: output.name } : { name: output.name, classification };
  });
}

/** Classification extension: `int64_param` k ≥ 1 (Triton accepts no other kind; uint64 is tolerated). */
function decodeClassification(parameters: WireParameters | undefined, output: string): number | undefined {
  const parameter = parameters?.['classification'];
  if (parameter === undefined) return undefined;
  const where = `output ${quoteInput(output)} parameter 'classification'`;
  if (parameter.parameter_choice !== 'int64_param' && parameter.parameter_choice !== 'uint64_param') {
    throw invalidArgument(`${where} must be an int64_param (the number of top classes), got ${parameter.parameter_choice ?? 'no value'}`);
  }
  const k = decodeParameter(parameter, where);
  if (typeof k !== 'number' || k < 1) throw invalidArgument(`${where} must be at least 1, got ${String(k)}`);
  return k;
}

/**
 * The wire response. `requestId` is echoed when the façade's response carries no id, so stream
 * clients can always match responses to requests.
 */
export function encodeInferResponse(response: InferenceResponse, requestId: string, sharedMemory?: SharedMemoryUse): WireModelInferResponse {
  const { outputs, raw } = encodeOutputTensors(response.outputs, sharedMemory);
  return {
    model_name: response.model,
    model_version: String(response.version),
    id: response.id ?? requestId,
    parameters: encodeParameters(response.parameters),
    outputs,
    raw_output_contents: raw,
  };
}
