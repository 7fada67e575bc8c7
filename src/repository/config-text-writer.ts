/**
 * Writes a message in the protocol-buffer text format, pretty-printed with two-space indents: the
 * reverse of `parseTextFormat` (used to write `config.pbtxt` files). Takes the same plain object
 * shape (protobufjs JSON shape, proto field names) and prints fields in declaration order; empty
 * lists and maps are left out, everything else present is printed, so parsing the output gives
 * back an equal object.
 */
import protobuf from 'protobufjs';
import { invalidArgument } from '../core/index.js';

const INDENT = '  ';

function quote(bytes: Uint8Array | string): string {
  const raw = typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('latin1');
  let out = '"';
  for (const char of raw) {
    const code = char.codePointAt(0) ?? 0;
    if (char === '"') out += '\\"';
    else if (char === '\\') out += '\\\\';
    else if (char === '\n') out += '\\n';
    else if (char === '\r') out += '\\r';
    else if (char === '\t') out += '\\t';
    // Control bytes, and every non-ASCII byte of a bytes field, as 3-digit octal escapes.
    else if (code < 0x20 || code === 0x7f || (typeof bytes !== 'string' && code > 0x7e)) out += `\\${code.toString(8).padStart(3, '0')}`;
    else out += char;
  }
  return `${out}"`;
}

function formatScalar(field: protobuf.Field, resolved: protobuf.ReflectionObject | null, value: unknown, type = field.type): string {
  if (resolved instanceof protobuf.Enum) {
    if (typeof value === 'number') return resolved.valuesById[value] ?? String(value);
    return String(value);
  }
  switch (type) {
    case 'string':
      return quote(String(value));
    case 'bytes':
      return quote(typeof value === 'string' ? Buffer.from(value, 'base64') : (value as Uint8Array));
    case 'bool':
      return value === true || value === 'true' ? 'true' : 'false';
    case 'float':
    case 'double': {
      const number = Number(value);
      if (Number.isNaN(number)) return 'nan';
      if (!Number.isFinite(number)) return number > 0 ? 'inf' : '-inf';
      return String(number);
    }
    default:
      if (typeof value === 'number' || typeof value === 'bigint' || (typeof value === 'string' && /^-?[0-9]+$/.test(value))) return String(value);
      throw invalidArgument(`field "${field.name}" (${type}) cannot be written from ${JSON.stringify(value)}`);
  }
}

function writeMessage(message: Record<string, unknown>, type: protobuf.Type, depth: number, lines: string[]): void {
  const pad = INDENT.repeat(depth);
  for (const key of Object.keys(message)) {
    if (!Object.hasOwn(type.fields, key)) throw invalidArgument(`cannot write unknown field "${key}" of ${type.fullName.slice(1)}`);
  }
  for (const field of type.fieldsArray) {
    const value = message[field.name];
    if (value === undefined || value === null) continue;
    const resolved = field.resolve().resolvedType;
    const writeValue = (name: string, item: unknown): void => {
      if (resolved instanceof protobuf.Type) writeNested(name, item as Record<string, unknown>, resolved, depth, lines);
      else lines.push(`${pad}${name}: ${formatScalar(field, resolved, item)}`);
    };
    if (field instanceof protobuf.MapField) {
      for (const [mapKey, item] of Object.entries(value as Record<string, unknown>)) {
        lines.push(`${pad}${field.name} {`);
        lines.push(`${pad}${INDENT}key: ${formatScalar(field, null, field.keyType === 'bool' ? mapKey === 'true' : mapKey, field.keyType)}`);
        if (resolved instanceof protobuf.Type) writeNested('value', item as Record<string, unknown>, resolved, depth + 1, lines);
        else lines.push(`${pad}${INDENT}value: ${formatScalar(field, resolved, item)}`);
        lines.push(`${pad}}`);
      }
    } else if (field.repeated) {
      const items = value as unknown[];
      if (items.length === 0) continue;
      if (resolved instanceof protobuf.Type) for (const item of items) writeValue(field.name, item);
      else lines.push(`${pad}${field.name}: [ ${items.map((item) => formatScalar(field, resolved, item)).join(', ')} ]`);
    } else {
      writeValue(field.name, value);
    }
  }
}

function writeNested(name: string, message: Record<string, unknown>, type: protobuf.Type, depth: number, lines: string[]): void {
  const pad = INDENT.repeat(depth);
  const inner: string[] = [];
  writeMessage(message, type, depth + 1, inner);
  if (inner.length === 0) {
    lines.push(`${pad}${name} {}`);
    return;
  }
  lines.push(`${pad}${name} {`, ...inner, `${pad}}`);
}

/** Text-format rendering of `message` (a plain object of `type`), ending with a newline. */
export function formatTextFormat(message: Record<string, unknown>, type: protobuf.Type): string {
  const lines: string[] = [];
  writeMessage(message, type, 0, lines);
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
