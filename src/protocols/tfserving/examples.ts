/**
 * `tensorflow.Example`s — the input of Classify, Regress and MultiInference — in one neutral form,
 * read from the REST JSON (`examples` + optional `context`, TF Serving's REST Classify / Regress) or from the gRPC
 * `tensorflow.serving.Input` message. Context features are added to every example and must not
 * repeat one of its features.
 *
 * REST feature values: a scalar or a flat list. Integers and booleans make an int64 list (booleans
 * as 0/1), numbers with a fraction a float list (a list holding any such number is a float list
 * entirely: `JSON.parse` cannot tell `1.0` from `1`), strings and `{"b64": ...}` a bytes list.
 * Mixing strings with numbers, null, nested lists or objects are INVALID_ARGUMENT.
 */
import { invalidArgument } from '../../core/index.js';
import { decodeB64, isB64Object } from './json-tensor-decode.js';
import type { WireExample, WireFeature, WireInput } from './tfs-messages.js';

export type FeatureValues =
  { readonly kind: 'float'; readonly values: readonly number[] } | { readonly kind: 'int64'; readonly values: readonly bigint[] } | { readonly kind: 'bytes'; readonly values: readonly Uint8Array[] };

export type Example = ReadonlyMap<string, FeatureValues>;

type JsonObject = Record<string, unknown>;

const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The examples of a REST Classify/Regress body, context merged in. */
export function examplesFromJson(body: JsonObject): Example[] {
  const list = body['examples'];
  if (!Array.isArray(list) || list.length === 0) throw invalidArgument(`'examples' must be a non-empty array of objects`);
  const context = body['context'];
  if (context !== undefined && !isObject(context)) throw invalidArgument(`'context' must be an object of features`);
  const contextExample = context === undefined ? undefined : exampleFromJson(context, 'context');
  return list.map((item, i) => {
    if (!isObject(item)) throw invalidArgument(`examples[${i}] must be an object of features`);
    return withContext(exampleFromJson(item, `examples[${i}]`), contextExample, i);
  });
}

/** The examples of a gRPC `tensorflow.serving.Input`, context merged in. */
export function examplesFromProto(input: WireInput | null | undefined): Example[] {
  const withList = input?.example_list_with_context;
  const list = input?.example_list?.examples ?? withList?.examples ?? [];
  if (list.length === 0) throw invalidArgument('input holds no examples (set input.example_list or input.example_list_with_context)');
  const context = withList?.context ? exampleFromProto(withList.context, 'context') : undefined;
  return list.map((example, i) => withContext(exampleFromProto(example, `examples[${i}]`), context, i));
}

function withContext(example: Example, context: Example | undefined, index: number): Example {
  if (!context) return example;
  const merged = new Map(example);
  for (const [name, values] of context) {
    if (merged.has(name)) throw invalidArgument(`examples[${index}] repeats feature '${name}' of the context`);
    merged.set(name, values);
  }
  return merged;
}

function exampleFromJson(features: JsonObject, where: string): Example {
  const example = new Map<string, FeatureValues>();
  for (const [name, value] of Object.entries(features)) example.set(name, featureFromJson(value, `${where}: feature '${name}'`));
  return example;
}

function featureFromJson(value: unknown, where: string): FeatureValues {
  const items: readonly unknown[] = Array.isArray(value) ? value : [value];
  if (items.length === 0) return { kind: 'float', values: [] };
  const first = items[0];
  if (typeof first === 'string' || isB64Object(first)) {
    return {
      kind: 'bytes',
      values: items.map((item, i) => {
        if (typeof item === 'string') return Buffer.from(item, 'utf8');
        if (isB64Object(item)) return decodeB64(item, `${where}[${i}]`);
        throw invalidArgument(`${where}: value ${i} is ${kindOf(item)}; a feature's values must all be strings (or b64) or all numbers`);
      }),
    };
  }
  let integral = true;
  for (let i = 0; i < items.length; i++) {
    const item: unknown = items[i];
    if (typeof item === 'boolean') continue;
    if (typeof item !== 'number') throw invalidArgument(`${where}: value ${i} is ${kindOf(item)}; features hold numbers, booleans, strings or {"b64": ...}`);
    if (!Number.isInteger(item)) integral = false;
  }
  if (integral) {
    return {
      kind: 'int64',
      values: items.map((item, i) => {
        if (typeof item === 'boolean') return item ? 1n : 0n;
        if (!Number.isSafeInteger(item)) throw invalidArgument(`${where}: value ${i} (${String(item)}) is beyond what a JSON number carries exactly (±(2^53-1))`);
        return BigInt(item as number);
      }),
    };
  }
  if (items.some((item) => typeof item === 'boolean')) throw invalidArgument(`${where}: mixes booleans (int64) with fractional numbers (float)`);
  return { kind: 'float', values: items as number[] };
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a nested list';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function exampleFromProto(example: WireExample, where: string): Example {
  const out = new Map<string, FeatureValues>();
  for (const [name, feature] of Object.entries(example.features?.feature ?? {})) out.set(name, featureFromProto(feature, `${where}: feature '${name}'`));
  return out;
}

function featureFromProto(feature: WireFeature, where: string): FeatureValues {
  const kind = feature.kind ?? (feature.float_list ? 'float_list' : feature.int64_list ? 'int64_list' : feature.bytes_list ? 'bytes_list' : undefined);
  switch (kind) {
    case 'float_list':
      return { kind: 'float', values: feature.float_list?.value ?? [] };
    case 'int64_list':
      return { kind: 'int64', values: (feature.int64_list?.value ?? []).map((v) => BigInt(v)) };
    case 'bytes_list':
      return { kind: 'bytes', values: feature.bytes_list?.value ?? [] };
    default:
      throw invalidArgument(`${where} has no value list (set bytes_list, float_list or int64_list)`);
  }
}
