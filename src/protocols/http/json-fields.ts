/**
 * Small checks for hand-validated JSON bodies. Hand-written rather than schema-driven so the hot
 * path compiles nothing per request and every message names the exact field a client got wrong.
 */
import { clip, quoteInput, invalidArgument } from '../../core/index.js';

export type JsonObject = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses the JSON text of a body; malformed JSON is INVALID_ARGUMENT. Empty text gives undefined. */
export function parseJsonText(text: string): unknown {
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw invalidArgument(`malformed JSON in the request body: ${clip((error as Error).message, 200)}`);
  }
}

/** An optional `parameters` object whose values are all strings, numbers or booleans. */
export function parametersOf(value: unknown, where: string): JsonObject | undefined {
  if (value === undefined) return undefined;
  if (!isJsonObject(value)) throw invalidArgument(`${where}"parameters" must be a JSON object`);
  for (const key in value) {
    const parameter = value[key];
    if (typeof parameter !== 'string' && typeof parameter !== 'number' && typeof parameter !== 'boolean') {
      throw invalidArgument(`${where}parameter ${quoteInput(key)} must be a string, number or boolean`);
    }
  }
  return value;
}

export function optionalBoolean(parameters: JsonObject | undefined, key: string, where: string): boolean | undefined {
  const value = parameters?.[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw invalidArgument(`${where}parameter '${key}' must be a boolean`);
  return value;
}

export function optionalNonNegativeInteger(parameters: JsonObject | undefined, key: string, where: string): number | undefined {
  const value = parameters?.[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalidArgument(`${where}parameter '${key}' must be a non-negative integer`);
  }
  return value;
}
