/**
 * The TF Serving view of a model's signature (TF Serving's metadata JSON, tensorflow_serving/apis): the `SignatureDefMap` a
 * model presents, which signature name a request may use, and which models fit Classify/Regress.
 *
 * Every model has `serving_default` (method `tensorflow/serving/predict`) whose inputs and outputs
 * are the model's tensors. A model that fits Classify also presents `tensorflow/serving/classify`,
 * one that fits Regress `tensorflow/serving/regress`, so clients can discover what it answers.
 *
 * Fitting rules (Cranberries' own; ONNX models carry no TF method signature):
 * - both: every input's first dimension is the batch (`-1`), so one example becomes one row;
 * - Classify: exactly one FP32/FP64 output of shape `[batch, classes]` with `classes` ≠ 1 — its
 *   values are the class scores, class i named by line i of the output's label file (if any);
 * - Regress: exactly one FP32/FP64 output of shape `[batch]` or `[batch, 1]`.
 * Classify and Regress accept the signature names `""`, `serving_default` and their method name.
 */
import { invalidArgument } from '../../core/index.js';
import type { TensorSignature } from '../../backends/index.js';
import type { ModelMetadata } from '../../serving/index.js';
import { tfDataTypeOf } from './tf-data-types.js';

export const DEFAULT_SIGNATURE = 'serving_default';
export const PREDICT_METHOD = 'tensorflow/serving/predict';
export const CLASSIFY_METHOD = 'tensorflow/serving/classify';
export const REGRESS_METHOD = 'tensorflow/serving/regress';

export type Method = 'predict' | 'classify' | 'regress';

const METHOD_NAME: Readonly<Record<Method, string>> = { predict: PREDICT_METHOD, classify: CLASSIFY_METHOD, regress: REGRESS_METHOD };

export interface TensorInfoJson {
  name: string;
  dtype: string;
  tensor_shape: { dim: { size: string; name: string }[]; unknown_rank: boolean };
}

export interface SignatureDefJson {
  inputs: Record<string, TensorInfoJson>;
  outputs: Record<string, TensorInfoJson>;
  method_name: string;
  defaults: Record<string, never>;
}

/** The output a model answers Classify or Regress with, or why it cannot. */
export type Fit = { readonly ok: true; readonly output: TensorSignature } | { readonly ok: false; readonly reason: string };

const isFloat = (t: TensorSignature): boolean => t.datatype === 'FP32' || t.datatype === 'FP64';

function batchedInputsReason(metadata: ModelMetadata): string | undefined {
  const unbatched = metadata.inputs.filter((t) => t.shape[0] !== -1);
  if (unbatched.length === 0) return undefined;
  return `input${unbatched.length > 1 ? 's' : ''} ${unbatched.map((t) => `'${t.name}' [${t.shape.join(',')}]`).join(', ')} lack a batch (first, -1) dimension`;
}

export function classifyFit(metadata: ModelMetadata): Fit {
  const rule = 'Classify needs inputs whose first dimension is the batch and exactly one FP32/FP64 output of shape [batch, classes] (classes ≠ 1)';
  const inputs = batchedInputsReason(metadata);
  if (inputs) return { ok: false, reason: `model '${metadata.name}' does not fit Classify: ${inputs}. ${rule}` };
  const candidates = metadata.outputs.filter((t) => isFloat(t) && t.shape.length === 2 && t.shape[0] === -1 && t.shape[1] !== 1 && t.shape[1] !== 0);
  if (candidates.length === 1) return { ok: true, output: candidates[0]! };
  return { ok: false, reason: `model '${metadata.name}' does not fit Classify: ${outputsText(metadata, candidates)}. ${rule}` };
}

export function regressFit(metadata: ModelMetadata): Fit {
  const rule = 'Regress needs inputs whose first dimension is the batch and exactly one FP32/FP64 output of shape [batch] or [batch, 1]';
  const inputs = batchedInputsReason(metadata);
  if (inputs) return { ok: false, reason: `model '${metadata.name}' does not fit Regress: ${inputs}. ${rule}` };
  const candidates = metadata.outputs.filter((t) => isFloat(t) && t.shape[0] === -1 && (t.shape.length === 1 || (t.shape.length === 2 && t.shape[1] === 1)));
  if (candidates.length === 1) return { ok: true, output: candidates[0]! };
  return { ok: false, reason: `model '${metadata.name}' does not fit Regress: ${outputsText(metadata, candidates)}. ${rule}` };
}

function outputsText(metadata: ModelMetadata, candidates: readonly TensorSignature[]): string {
  const all = metadata.outputs.map((t) => `'${t.name}' ${t.datatype} [${t.shape.join(',')}]`).join(', ');
  return candidates.length === 0 ? `no output qualifies (outputs: ${all})` : `${candidates.length} outputs qualify, which is ambiguous (outputs: ${all})`;
}

/**
 * Checks that `signatureName` exists for `method` on this model; INVALID_ARGUMENT otherwise (with
 * TF Serving's message for unknown names). Returns the signature name to report back.
 */
export function checkSignature(signatureName: string, method: Method, metadata: ModelMetadata): string {
  const name = signatureName === '' ? DEFAULT_SIGNATURE : signatureName;
  const fit = method === 'classify' ? classifyFit(metadata) : method === 'regress' ? regressFit(metadata) : undefined;
  if (name === DEFAULT_SIGNATURE || name === METHOD_NAME[method]) {
    if (fit && !fit.ok) throw invalidArgument(fit.reason);
    if (method === 'predict' && name !== DEFAULT_SIGNATURE) {
      throw invalidArgument(`Serving signature name: "${signatureName}" not found in signature def`);
    }
    return name;
  }
  const known = signatureDefMap(metadata);
  if (Object.hasOwn(known, name)) {
    throw invalidArgument(
      `signature "${name}" has method_name ${known[name]!.method_name}; it cannot serve a ${method} request (use ${method === 'predict' ? DEFAULT_SIGNATURE : METHOD_NAME[method]})`,
    );
  }
  throw invalidArgument(`Serving signature name: "${signatureName}" not found in signature def`);
}

/** The signature map of a model, keyed by signature name (the `SignatureDefMap` of §4.2). */
export function signatureDefMap(metadata: ModelMetadata): Record<string, SignatureDefJson> {
  const map: Record<string, SignatureDefJson> = {
    [DEFAULT_SIGNATURE]: {
      inputs: infos(metadata.inputs),
      outputs: infos(metadata.outputs),
      method_name: PREDICT_METHOD,
      defaults: {},
    },
  };
  const examples = tensorInfo('examples', 'DT_STRING', [-1]);
  const classify = classifyFit(metadata);
  if (classify.ok) {
    const classes = classify.output.shape[1] ?? -1;
    map[CLASSIFY_METHOD] = {
      inputs: { inputs: examples },
      outputs: { classes: tensorInfo('classes', 'DT_STRING', [-1, classes]), scores: tensorInfo(classify.output.name, 'DT_FLOAT', [-1, classes]) },
      method_name: CLASSIFY_METHOD,
      defaults: {},
    };
  }
  const regress = regressFit(metadata);
  if (regress.ok) {
    map[REGRESS_METHOD] = {
      inputs: { inputs: examples },
      outputs: { outputs: tensorInfo(regress.output.name, 'DT_FLOAT', [-1, 1]) },
      method_name: REGRESS_METHOD,
      defaults: {},
    };
  }
  return map;
}

function infos(tensors: readonly TensorSignature[]): Record<string, TensorInfoJson> {
  const out: Record<string, TensorInfoJson> = {};
  for (const t of tensors) out[t.name] = tensorInfo(t.name, tfDataTypeOf(t.datatype), t.shape);
  return out;
}

/** A TensorInfo; ONNX tensors have no `op:index` graph name, so `name` is the tensor's own name. */
function tensorInfo(name: string, dtype: string, shape: readonly number[]): TensorInfoJson {
  return { name, dtype, tensor_shape: { dim: shape.map((size) => ({ size: String(size), name: '' })), unknown_rank: false } };
}
