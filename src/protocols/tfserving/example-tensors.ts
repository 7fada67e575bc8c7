/**
 * Examples → the model's input tensors, and the model's output → Classify / Regress results.
 *
 * Mapping rule (documented in docs/tfserving.md): each model input takes the example feature of
 * the same name; example i becomes row i of every input (shape `[examples, ...row]`, the input's
 * first dimension being the batch). A feature must hold exactly the row's element count; one
 * variable (`-1`) dimension in the row is sized from the count, equally for every example.
 * Feature kinds convert to the input's datatype: float and int64 lists to FP32/FP64, int64 lists
 * to the integer types (range-checked) and to BOOL (non-zero = true), bytes lists to BYTES.
 */
import { CranberriesError, invalidArgument } from '../../core/index.js';
import type { TensorSignature } from '../../backends/index.js';
import { arrayTypeOf, type DataType } from '../../tensors/index.js';
import type { Tensor, TensorData } from '../../tensors/index.js';
import type { Example, FeatureValues } from './examples.js';
import { tfDataTypeOf } from './tf-data-types.js';

const INT_RANGES: Partial<Record<DataType, readonly [bigint, bigint]>> = {
  INT8: [-128n, 127n],
  UINT8: [0n, 255n],
  INT16: [-32768n, 32767n],
  UINT16: [0n, 65535n],
  INT32: [-(2n ** 31n), 2n ** 31n - 1n],
  UINT32: [0n, 2n ** 32n - 1n],
  INT64: [-(2n ** 63n), 2n ** 63n - 1n],
  UINT64: [0n, 2n ** 64n - 1n],
};

/** One `[class label, score]` pair. */
export type ClassScore = readonly [label: string, score: number];

export function examplesToInputs(examples: readonly Example[], inputs: readonly TensorSignature[], model: string): Tensor[] {
  const names = inputs.map((i) => i.name).join(', ');
  return inputs.map((input) => inputFromExamples(examples, input, `model '${model}' (inputs: ${names})`));
}

function inputFromExamples(examples: readonly Example[], input: TensorSignature, model: string): Tensor {
  const rowShape = input.shape.slice(1);
  const features = examples.map((example, i) => {
    const feature = example.get(input.name);
    if (!feature) {
      throw invalidArgument(
        `examples[${i}] has no feature '${input.name}': ${model} takes each input from the example feature of the same name (features of the example: ${[...example.keys()].join(', ') || 'none'})`,
      );
    }
    return feature;
  });
  const count = features[0]!.values.length;
  const shape = resolveRowShape(rowShape, count, input.name);
  const rowCount = shape.reduce((a, b) => a * b, 1);
  features.forEach((feature, i) => {
    if (feature.values.length !== rowCount) {
      throw invalidArgument(`examples[${i}]: feature '${input.name}' holds ${feature.values.length} values; input '${input.name}' takes ${rowCount} per example (row shape [${shape.join(',')}])`);
    }
  });
  return { name: input.name, datatype: input.datatype, shape: [examples.length, ...shape], data: convertFeatures(features, input, rowCount) };
}

function resolveRowShape(rowShape: readonly number[], count: number, name: string): number[] {
  const variable = rowShape.filter((d) => d === -1).length;
  const known = rowShape.reduce((a, d) => (d === -1 ? a : a * d), 1);
  if (variable === 0) return [...rowShape];
  if (variable > 1) throw invalidArgument(`input '${name}' [-1,${rowShape.join(',')}] has more than one variable dimension per example; it cannot be filled from a feature list`);
  if (known === 0 || count % known !== 0) throw invalidArgument(`input '${name}': a feature of ${count} values does not fill rows of shape [${rowShape.join(',')}]`);
  return rowShape.map((d) => (d === -1 ? count / known : d));
}

function convertFeatures(features: readonly FeatureValues[], input: TensorSignature, rowCount: number): TensorData {
  const { datatype, name } = input;
  const tf = tfDataTypeOf(datatype);
  const mismatch = (kind: string): never => {
    throw invalidArgument(`feature '${name}' holds ${kind} values, which input '${name}' (${tf}) cannot take`);
  };
  if (datatype === 'BYTES') {
    const out: Uint8Array[] = [];
    for (const feature of features) {
      if (feature.kind !== 'bytes') mismatch(feature.kind);
      out.push(...(feature.values as readonly Uint8Array[]));
    }
    return out;
  }
  if (datatype === 'FP16' || datatype === 'BF16') throw new CranberriesError('UNIMPLEMENTED', `input '${name}': ${tf} inputs cannot be filled from examples`);
  const out = new (arrayTypeOf(datatype))(features.length * rowCount);
  let offset = 0;
  for (const feature of features) {
    if (feature.kind === 'bytes') mismatch('bytes');
    if (datatype === 'FP32' || datatype === 'FP64') {
      for (const value of feature.values as readonly (number | bigint)[]) (out as Float32Array)[offset++] = Number(value);
      continue;
    }
    if (feature.kind === 'float') mismatch('float');
    for (const value of feature.values as readonly bigint[]) {
      if (datatype === 'BOOL') {
        (out as Uint8Array)[offset++] = value !== 0n ? 1 : 0;
        continue;
      }
      const [min, max] = INT_RANGES[datatype]!;
      if (value < min || value > max) throw invalidArgument(`feature '${name}': value ${value} is out of range for input '${name}' (${tf})`);
      if (datatype === 'INT64' || datatype === 'UINT64') (out as BigInt64Array)[offset++] = value;
      else (out as Int32Array)[offset++] = Number(value);
    }
  }
  return out;
}

/** Per example, every class with its score (model order); class i is named by `labels[i]`, else `"i"`. */
export function classificationsOf(scores: Tensor, examples: number, labels: readonly string[] | undefined): ClassScore[][] {
  const values = floatValues(scores, examples);
  const classes = examples === 0 ? 0 : values.length / examples;
  const results: ClassScore[][] = [];
  for (let e = 0; e < examples; e++) {
    const row: ClassScore[] = [];
    for (let c = 0; c < classes; c++) row.push([labels?.[c] ?? String(c), values[e * classes + c]!]);
    results.push(row);
  }
  return results;
}

/** One value per example. */
export function regressionsOf(output: Tensor, examples: number): number[] {
  const values = floatValues(output, examples);
  if (values.length !== examples) throw new CranberriesError('INTERNAL', `output '${output.name}' holds ${values.length} values for ${examples} examples`);
  return Array.from(values);
}

function floatValues(tensor: Tensor, examples: number): Float32Array | Float64Array {
  if (tensor.shape[0] !== examples || !(tensor.data instanceof Float32Array || tensor.data instanceof Float64Array)) {
    throw new CranberriesError('INTERNAL', `output '${tensor.name}' ${tensor.datatype} [${tensor.shape.join(',')}] does not hold float scores for ${examples} examples`);
  }
  return tensor.data;
}
