/**
 * `InferParameter` maps ⇄ plain parameter values. All five kinds are decoded because
 * `tritonclient` uses all of them (OIP parameters): bool → boolean, string → string,
 * double → number, int64/uint64 → number when it fits in a double exactly, bigint otherwise.
 * Encoding picks the kind from the JS type: safe integers go out as int64, other numbers as double.
 */
import { quoteInput, invalidArgument } from '../../core/index.js';
import type { ParameterValue, Parameters } from '../../serving/index.js';
import type { WireInferParameter, WireInt64, WireParameters } from './oip-messages.js';

const INT64_MAX = (1n << 63n) - 1n;

/** A decoded 64-bit integer as a number when exact, else a bigint. */
export function int64Value(value: WireInt64): number | bigint {
  if (typeof value === 'number') return value;
  const asNumber = Number(value);
  return Number.isSafeInteger(asNumber) ? asNumber : BigInt(value);
}

/** One parameter's value; `where` names it in errors (e.g. `request parameter 'priority'`). */
export function decodeParameter(parameter: WireInferParameter, where: string): ParameterValue {
  switch (parameter.parameter_choice) {
    case 'bool_param':
      return parameter.bool_param ?? false;
    case 'int64_param':
      return int64Value(parameter.int64_param ?? 0);
    case 'uint64_param':
      return int64Value(parameter.uint64_param ?? 0);
    case 'string_param':
      return parameter.string_param ?? '';
    case 'double_param':
      return parameter.double_param ?? 0;
    default:
      throw invalidArgument(`${where} has no value (none of bool_param, int64_param, string_param, double_param, uint64_param is set)`);
  }
}

/** Decodes a whole map; undefined when it is empty so requests without parameters stay lean. */
export function decodeParameters(parameters: WireParameters | undefined, level: string): Parameters | undefined {
  if (parameters === undefined) return undefined;
  const keys = Object.keys(parameters);
  if (keys.length === 0) return undefined;
  const decoded: Record<string, ParameterValue> = {};
  for (const key of keys) {
    decoded[key] = decodeParameter(parameters[key] as WireInferParameter, `${level} parameter ${quoteInput(key)}`);
  }
  return decoded;
}

export function encodeParameter(value: ParameterValue): WireInferParameter {
  switch (typeof value) {
    case 'boolean':
      return { bool_param: value };
    case 'string':
      return { string_param: value };
    case 'bigint':
      // uint64 only when int64 cannot hold it; protobufjs takes 64-bit values as decimal strings.
      return value > INT64_MAX ? { uint64_param: value.toString() } : { int64_param: value.toString() };
    default:
      return Number.isSafeInteger(value) ? { int64_param: value } : { double_param: value };
  }
}

export function encodeParameters(parameters: Parameters | undefined): WireParameters | undefined {
  if (parameters === undefined) return undefined;
  const encoded: WireParameters = {};
  for (const [key, value] of Object.entries(parameters)) encoded[key] = encodeParameter(value);
  return encoded;
}
