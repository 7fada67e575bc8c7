/**
 * The JSON form of any protobuf message, checked through protobufjs reflection (generic, like
 * `text-format.ts`): `checkJsonMessage` refuses unknown fields and values of the wrong kind and
 * returns the same canonical shape `parseTextFormat` does (proto field names, enums by name,
 * 64-bit integers as numbers, maps as objects, only the fields present); `withDefaults` then fills
 * every absent scalar, list and map with its proto3 default, recursively, as Triton prints configs.
 *
 * Accepts what protobuf's JSON mapping allows: lowerCamelCase names as well as proto names,
 * integers as numbers or decimal strings, enums by name or number, `"NaN"`/`"Infinity"` floats,
 * base64 bytes, and `null` for "not set".
 */
import protobuf from 'protobufjs';
import { invalidArgument } from '../core/index.js';
import { integerRange, suggestion, typeName } from './text-format.js';

type PlainObject = Record<string, unknown>;

function isPlainObject(value: unknown): value is PlainObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !ArrayBuffer.isView(value);
}

const camel = (name: string): string => name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

function fieldByJsonName(type: protobuf.Type, key: string): protobuf.Field | undefined {
  if (Object.hasOwn(type.fields, key)) return type.fields[key];
  return type.fieldsArray.find((field) => camel(field.name) === key);
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'a list';
  if (isPlainObject(value)) return 'an object';
  return String(value);
}

class JsonChecker {
  constructor(private readonly context: string) {}

  fail(path: string, message: string): never {
    throw invalidArgument(`${this.context}${path ? `${path}: ` : ''}${message}`);
  }

  message(json: unknown, type: protobuf.Type, path: string): PlainObject {
    if (!isPlainObject(json)) this.fail(path, `expected an object (${typeName(type)}), got ${show(json)}`);
    const out: PlainObject = {};
    const oneofSetBy = new Map<string, string>();
    for (const [key, value] of Object.entries(json)) {
      const field = fieldByJsonName(type, key);
      const at = path ? `${path}.${key}` : key;
      if (!field)
        this.fail(
          path,
          `unknown field "${key}" in ${typeName(type)}${suggestion(
            key,
            type.fieldsArray.map((f) => f.name),
          )}`,
        );
      if (value === null || value === undefined) continue;
      if (Object.hasOwn(out, field.name)) this.fail(at, `field "${field.name}" is given twice`);
      const oneof = field.partOf?.name;
      if (oneof !== undefined) {
        const other = oneofSetBy.get(oneof);
        if (other !== undefined) this.fail(at, `fields "${other}" and "${field.name}" are both set, but they are members of oneof "${oneof}"`);
        oneofSetBy.set(oneof, field.name);
      }
      out[field.name] = this.field(value, field, at);
    }
    return out;
  }

  private field(value: unknown, field: protobuf.Field, path: string): unknown {
    const resolved = field.resolve().resolvedType;
    if (field instanceof protobuf.MapField) {
      if (!isPlainObject(value)) this.fail(path, `expected an object (map<${field.keyType}, ${field.type}>), got ${show(value)}`);
      const out: PlainObject = {};
      for (const [key, item] of Object.entries(value)) {
        const canonicalKey = this.mapKey(key, field.keyType, `${path}[${JSON.stringify(key)}]`);
        out[canonicalKey] = this.single(item, field, resolved, `${path}[${JSON.stringify(key)}]`);
      }
      return out;
    }
    if (field.repeated) {
      if (!Array.isArray(value)) this.fail(path, `expected a list for repeated field "${field.name}", got ${show(value)}`);
      return value.map((item, i) => this.single(item, field, resolved, `${path}[${i}]`));
    }
    return this.single(value, field, resolved, path);
  }

  private mapKey(key: string, keyType: string, path: string): string {
    if (keyType === 'string') return key;
    if (keyType === 'bool') {
      if (key !== 'true' && key !== 'false') this.fail(path, `expected a bool map key, got ${JSON.stringify(key)}`);
      return key;
    }
    return String(this.integer(key, keyType, path));
  }

  private single(value: unknown, field: protobuf.Field, resolved: protobuf.ReflectionObject | null, path: string): unknown {
    if (value === null || value === undefined) this.fail(path, 'expected a value, got null');
    if (resolved instanceof protobuf.Type) return this.message(value, resolved, path);
    if (resolved instanceof protobuf.Enum) {
      if (typeof value === 'string' && Object.hasOwn(resolved.values, value)) return value;
      if (typeof value === 'number' && resolved.valuesById[value] !== undefined) return resolved.valuesById[value];
      this.fail(path, `${show(value)} is not a value of enum ${typeName(resolved)}${typeof value === 'string' ? suggestion(value, Object.keys(resolved.values)) : ''}`);
    }
    switch (field.type) {
      case 'string':
        if (typeof value !== 'string') this.fail(path, `expected a string, got ${show(value)}`);
        return value;
      case 'bytes':
        if (typeof value !== 'string' || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(value)) this.fail(path, `expected base64 text, got ${show(value)}`);
        return Buffer.from(value, 'base64').toString('base64');
      case 'bool':
        if (typeof value !== 'boolean') this.fail(path, `expected true or false, got ${show(value)}`);
        return value;
      case 'float':
      case 'double':
        return this.float(value, path);
      default:
        return this.integer(value, field.type, path);
    }
  }

  private float(value: unknown, path: string): number {
    if (typeof value === 'number') return value;
    if (value === 'NaN') return NaN;
    if (value === 'Infinity') return Infinity;
    if (value === '-Infinity') return -Infinity;
    if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
    this.fail(path, `expected a number, got ${show(value)}`);
  }

  private integer(value: unknown, type: string, path: string): number {
    const range = integerRange(type);
    if (!range) this.fail(path, `unsupported field type ${type}`);
    let big: bigint | undefined;
    if (typeof value === 'number' && Number.isInteger(value)) big = BigInt(value);
    else if (typeof value === 'string' && /^-?[0-9]+$/.test(value)) big = BigInt(value);
    if (big === undefined) this.fail(path, `expected an integer (${type}), got ${show(value)}`);
    if (big < range[0] || big > range[1]) this.fail(path, `${big} is out of range for ${type} (${range[0]} to ${range[1]})`);
    return Number(big);
  }
}

/**
 * Checks `json` as the JSON form of `type` and returns its canonical shape. Errors are
 * INVALID_ARGUMENT, prefixed with `context` and the path of the offending field (`input[0].dims`).
 */
export function checkJsonMessage(json: unknown, type: protobuf.Type, context = ''): Record<string, unknown> {
  return new JsonChecker(context).message(json, type, '');
}

function scalarDefault(field: protobuf.Field, resolved: protobuf.ReflectionObject | null): unknown {
  if (resolved instanceof protobuf.Enum) return resolved.valuesById[0] ?? Object.keys(resolved.values)[0];
  switch (field.type) {
    case 'string':
    case 'bytes':
      return '';
    case 'bool':
      return false;
    default:
      return 0;
  }
}

/**
 * A deep copy of canonical `message` with every absent field of `type` at its default: scalars
 * and enums at zero, lists `[]`, maps `{}`. Absent sub-messages and oneof members stay absent
 * (proto3 has no value for them); present sub-messages are filled in turn.
 */
export function withDefaults(message: Record<string, unknown>, type: protobuf.Type): Record<string, unknown> {
  const out: PlainObject = {};
  for (const field of type.fieldsArray) {
    const resolved = field.resolve().resolvedType;
    const value = message[field.name];
    const fill = (item: unknown): unknown => (resolved instanceof protobuf.Type ? withDefaults(item as PlainObject, resolved) : item);
    if (field instanceof protobuf.MapField) {
      out[field.name] = Object.fromEntries(Object.entries((value as PlainObject | undefined) ?? {}).map(([k, v]) => [k, fill(v)]));
    } else if (field.repeated) {
      out[field.name] = ((value as unknown[] | undefined) ?? []).map(fill);
    } else if (value !== undefined) {
      out[field.name] = fill(value);
    } else if (!(resolved instanceof protobuf.Type) && field.partOf === null) {
      out[field.name] = scalarDefault(field, resolved);
    }
  }
  return out;
}
