/**
 * Protocol-buffer text format (the language of Triton's `config.pbtxt` and TensorFlow Serving's
 * `model_config_list` files), read and written through protobufjs reflection, so it knows any
 * message type and nothing about Triton.
 *
 * `parseTextFormat` returns the protobufjs JSON shape of the fields the text sets, and only those:
 * proto field names as written in the .proto (load it with `keepCase: true`), enums as value
 * names, 64-bit integers as numbers (refused beyond ±2^53 rather than silently rounded), maps as
 * objects keyed by the key's decimal/string form, bytes as base64, floats as numbers (`inf`/`nan`
 * become Infinity/NaN). Absence is preserved, so callers can tell "not written" from "written as
 * the default". Every error is INVALID_ARGUMENT with `line L:C:` and the field involved.
 *
 * Accepted syntax: `#` comments; `name: value`; `name { ... }`, `name: { ... }`, `name < ... >`;
 * lists `name: [1, 2]` / `name [ {...}, {...} ]`; repeated fields written several times; map
 * entries `name { key: K value: V }`; enums by name or number; single- or double-quoted strings
 * with C escapes and adjacent-literal concatenation; decimal, hex and octal integers; floats with
 * exponents, a trailing `f`, `inf`/`infinity`/`nan`; bools `true/false/True/False/t/f/1/0`;
 * optional `,`/`;` after each field. Extensions and `Any` expansions (`[type/name]`) are refused.
 */
import protobuf from 'protobufjs';
import { TextLexer, type Token } from './config-text-lexer.js';

type PlainObject = Record<string, unknown>;

/** One field as the parser sees it: a real field, or the `key`/`value` of a map entry. */
interface FieldSpec {
  readonly name: string;
  /** protobufjs scalar type name (`int64`, `string`, ...) or the enum/message type name. */
  readonly type: string;
  readonly resolved: protobuf.Type | protobuf.Enum | null;
  readonly repeated: boolean;
  /** Set for map fields: the key's scalar type. */
  readonly mapKey: string | undefined;
  readonly oneof: string | undefined;
}

interface MessageSpec {
  readonly name: string;
  field(name: string): FieldSpec | undefined;
  fieldNames(): string[];
}

const INT_RANGES: Readonly<Record<string, readonly [bigint, bigint]>> = {
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  sint32: [-(2n ** 31n), 2n ** 31n - 1n],
  sfixed32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  fixed32: [0n, 2n ** 32n - 1n],
  // 64-bit fields are plain JS numbers in our objects, so only the exactly representable range.
  int64: [BigInt(Number.MIN_SAFE_INTEGER), BigInt(Number.MAX_SAFE_INTEGER)],
  sint64: [BigInt(Number.MIN_SAFE_INTEGER), BigInt(Number.MAX_SAFE_INTEGER)],
  sfixed64: [BigInt(Number.MIN_SAFE_INTEGER), BigInt(Number.MAX_SAFE_INTEGER)],
  uint64: [0n, BigInt(Number.MAX_SAFE_INTEGER)],
  fixed64: [0n, BigInt(Number.MAX_SAFE_INTEGER)],
};

/** The inclusive range a protobuf integer type can hold as a JS number, or undefined if not an integer type. */
export function integerRange(type: string): readonly [bigint, bigint] | undefined {
  return INT_RANGES[type];
}

const FLOAT_TYPES = new Set(['float', 'double']);

/** The type name as users know it (`inference.ModelConfig`). */
export function typeName(type: protobuf.ReflectionObject): string {
  return type.fullName.replace(/^\./, '');
}

function resolvedOf(field: protobuf.Field): protobuf.Type | protobuf.Enum | null {
  const resolved = field.resolve().resolvedType;
  return resolved instanceof protobuf.Type || resolved instanceof protobuf.Enum ? resolved : null;
}

function specOfField(field: protobuf.Field): FieldSpec {
  const map = field instanceof protobuf.MapField;
  return {
    name: field.name,
    type: field.type,
    resolved: resolvedOf(field),
    repeated: field.repeated || map,
    mapKey: map ? field.keyType : undefined,
    oneof: field.partOf?.name,
  };
}

function specOfType(type: protobuf.Type): MessageSpec {
  return {
    name: typeName(type),
    field: (name) => {
      const field = Object.hasOwn(type.fields, name) ? type.fields[name] : undefined;
      return field ? specOfField(field) : undefined;
    },
    fieldNames: () => type.fieldsArray.map((f) => f.name),
  };
}

/** A map entry `{ key: K value: V }` seen as a two-field message. */
function specOfMapEntry(map: FieldSpec): MessageSpec {
  const key: FieldSpec = { name: 'key', type: map.mapKey ?? 'string', resolved: null, repeated: false, mapKey: undefined, oneof: undefined };
  const value: FieldSpec = { name: 'value', type: map.type, resolved: map.resolved, repeated: false, mapKey: undefined, oneof: undefined };
  return {
    name: `entry of map field "${map.name}"`,
    field: (name) => (name === 'key' ? key : name === 'value' ? value : undefined),
    fieldNames: () => ['key', 'value'],
  };
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] ?? 0;
      row[j] = Math.min(above + 1, (row[j - 1] ?? 0) + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length] ?? 0;
}

/** ` (did you mean "x"?)` when a known name is a likely typo of `name`. */
export function suggestion(name: string, known: readonly string[]): string {
  const lower = name.toLowerCase();
  // A missing enum prefix (`FP32` for `TYPE_FP32`) is the most common slip, then typos.
  let best = known.find((candidate) => candidate.toLowerCase().endsWith(`_${lower}`));
  let bestDistance = best === undefined ? 3 : 0;
  for (const candidate of known) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best === undefined ? '' : ` (did you mean "${best}"?)`;
}

class TextParser {
  private readonly lexer: TextLexer;

  constructor(text: string) {
    this.lexer = new TextLexer(text);
  }

  parseRoot(type: protobuf.Type): PlainObject {
    return this.parseBody(specOfType(type), undefined);
  }

  private fail(token: Token, message: string): never {
    throw this.lexer.error(token.start, message);
  }

  /** Fields up to `close` (or the end of input for the root message). */
  private parseBody(spec: MessageSpec, close: { symbol: '}' | '>'; open: Token } | undefined): PlainObject {
    const out: PlainObject = {};
    const oneofSetBy = new Map<string, string>();
    for (;;) {
      const token = this.lexer.next();
      if (token.kind === 'eof') {
        if (close) this.fail(close.open, `"${close.open.text}" is never closed (expected "${close.symbol}" before the end of the text)`);
        return out;
      }
      if (close && token.kind === 'symbol' && token.text === close.symbol) return out;
      if (token.kind === 'symbol' && token.text === '[') this.fail(token, `extension and Any fields ("[...]") are not supported in ${spec.name}`);
      if (token.kind !== 'ident') this.fail(token, `expected a field name in ${spec.name}, got ${describe(token)}`);
      const field = spec.field(token.text);
      if (!field) this.fail(token, `unknown field "${token.text}" in ${spec.name}${suggestion(token.text, spec.fieldNames())}`);
      if (field.oneof !== undefined) {
        const other = oneofSetBy.get(field.oneof);
        if (other !== undefined && other !== field.name) {
          this.fail(token, `fields "${other}" and "${field.name}" are both set, but they are members of oneof "${field.oneof}" in ${spec.name}`);
        }
        oneofSetBy.set(field.oneof, field.name);
      }
      this.parseField(field, token, out);
      if (!this.lexer.skipSymbol(',')) this.lexer.skipSymbol(';');
    }
  }

  private parseField(field: FieldSpec, nameToken: Token, out: PlainObject): void {
    const isMessage = field.resolved instanceof protobuf.Type || field.mapKey !== undefined;
    const colon = this.lexer.skipSymbol(':');
    if (!isMessage && !colon) this.fail(this.lexer.peek(), `expected ":" after field "${field.name}"`);
    const listOpen = this.lexer.peek();
    if (listOpen.kind === 'symbol' && listOpen.text === '[') {
      if (!field.repeated) this.fail(listOpen, `field "${field.name}" is not repeated, so it cannot take a list`);
      this.lexer.next();
      if (this.lexer.skipSymbol(']')) {
        this.store(field, nameToken, out, undefined);
        return;
      }
      for (;;) {
        this.store(field, nameToken, out, isMessage ? this.parseMessageValue(field) : this.parseScalar(field));
        if (this.lexer.skipSymbol(']')) return;
        const comma = this.lexer.next();
        if (comma.kind !== 'symbol' || comma.text !== ',') this.fail(comma, `expected "," or "]" in the list of field "${field.name}", got ${describe(comma)}`);
      }
    }
    this.store(field, nameToken, out, isMessage ? this.parseMessageValue(field) : this.parseScalar(field));
  }

  /** Adds one value (undefined: an empty list) to the output, by the field's cardinality. */
  private store(field: FieldSpec, nameToken: Token, out: PlainObject, value: unknown): void {
    if (field.mapKey !== undefined) {
      const map = (out[field.name] ??= {}) as PlainObject;
      if (value === undefined) return;
      const entry = value as PlainObject;
      const key = (entry.key ?? (field.mapKey === 'string' ? '' : field.mapKey === 'bool' ? false : 0)) as string | number | boolean;
      map[String(key)] = entry.value ?? defaultOfSpec(specOfMapEntry(field).field('value'));
    } else if (field.repeated) {
      const list = (out[field.name] ??= []) as unknown[];
      if (value !== undefined) list.push(value);
    } else {
      if (Object.hasOwn(out, field.name)) this.fail(nameToken, `field "${field.name}" is set more than once (it is not repeated)`);
      out[field.name] = value;
    }
  }

  private parseMessageValue(field: FieldSpec): PlainObject {
    const open = this.lexer.next();
    if (open.kind !== 'symbol' || (open.text !== '{' && open.text !== '<')) {
      this.fail(open, `expected "{" to open message field "${field.name}", got ${describe(open)}`);
    }
    const spec = field.mapKey !== undefined ? specOfMapEntry(field) : specOfType(field.resolved as protobuf.Type);
    return this.parseBody(spec, { symbol: open.text === '{' ? '}' : '>', open });
  }

  private parseScalar(field: FieldSpec): unknown {
    const first = this.lexer.peek();
    if (field.resolved instanceof protobuf.Enum) return this.parseEnum(field, field.resolved);
    if (field.type === 'string' || field.type === 'bytes') {
      const bytes = this.parseStringBytes(field);
      if (field.type === 'bytes') return Buffer.from(bytes).toString('base64');
      try {
        return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      } catch {
        this.fail(first, `field "${field.name}" is not valid UTF-8 text (use a bytes field for binary data)`);
      }
    }
    if (field.type === 'bool') return this.parseBool(field);
    if (FLOAT_TYPES.has(field.type)) return this.parseFloat(field);
    const range = INT_RANGES[field.type];
    if (range) return this.parseInteger(field, range);
    this.fail(first, `field "${field.name}" has unsupported type ${field.type}`);
  }

  private parseStringBytes(field: FieldSpec): Uint8Array {
    const first = this.lexer.next();
    if (first.kind !== 'string') this.fail(first, `expected a quoted string for field "${field.name}", got ${describe(first)}`);
    const parts: Uint8Array[] = [first.bytes ?? new Uint8Array()];
    // Adjacent literals concatenate, as in C.
    while (this.lexer.peek().kind === 'string') parts.push(this.lexer.next().bytes ?? new Uint8Array());
    return parts.length === 1 ? (parts[0] ?? new Uint8Array()) : Buffer.concat(parts);
  }

  private parseBool(field: FieldSpec): boolean {
    const token = this.lexer.next();
    if (token.kind === 'ident') {
      if (token.text === 'true' || token.text === 'True' || token.text === 't') return true;
      if (token.text === 'false' || token.text === 'False' || token.text === 'f') return false;
    }
    if (token.kind === 'number' && (token.text === '1' || token.text === '0')) return token.text === '1';
    this.fail(token, `expected true or false for field "${field.name}", got ${describe(token)}`);
  }

  /** An optional `-` then a number token; returns the sign and the token. */
  private signedToken(): { negative: boolean; token: Token } {
    const negative = this.lexer.skipSymbol('-');
    return { negative, token: this.lexer.next() };
  }

  private parseFloat(field: FieldSpec): number {
    const { negative, token } = this.signedToken();
    let value: number | undefined;
    if (token.kind === 'number') {
      value = /^0[xX]/.test(token.text) || /^0[0-7]+$/.test(token.text) ? Number(parseBigInt(token.text)) : Number(token.text.replace(/[fF]$/, ''));
    } else if (token.kind === 'ident') {
      const word = token.text.toLowerCase();
      if (word === 'inf' || word === 'infinity') value = Infinity;
      else if (word === 'nan') value = NaN;
    }
    if (value === undefined || (token.kind === 'number' && Number.isNaN(value))) {
      this.fail(token, `expected a number for field "${field.name}", got ${describe(token)}`);
    }
    return negative ? -value : value;
  }

  private parseInteger(field: FieldSpec, range: readonly [bigint, bigint]): number {
    const { negative, token } = this.signedToken();
    if (token.kind !== 'number') this.fail(token, `expected a number for field "${field.name}", got ${describe(token)}`);
    const magnitude = parseBigInt(token.text);
    if (magnitude === undefined) this.fail(token, `expected an integer for field "${field.name}" (${field.type}), got ${token.text}`);
    const value = negative ? -magnitude : magnitude;
    if (value < range[0] || value > range[1]) {
      this.fail(token, `${negative ? '-' : ''}${token.text} is out of range for field "${field.name}" (${field.type}: ${range[0]} to ${range[1]})`);
    }
    return Number(value);
  }

  private parseEnum(field: FieldSpec, type: protobuf.Enum): string {
    const { negative, token } = this.signedToken();
    if (token.kind === 'ident' && !negative) {
      if (Object.hasOwn(type.values, token.text)) return token.text;
      this.fail(token, `unknown value "${token.text}" for enum ${typeName(type)} in field "${field.name}"${suggestion(token.text, Object.keys(type.values))}`);
    }
    if (token.kind === 'number') {
      const number = parseBigInt(token.text);
      const id = number === undefined ? undefined : Number(negative ? -number : number);
      const name = id === undefined ? undefined : type.valuesById[id];
      if (name !== undefined) return name;
      this.fail(token, `${negative ? '-' : ''}${token.text} is not a value of enum ${typeName(type)} in field "${field.name}"`);
    }
    this.fail(token, `expected a value of enum ${typeName(type)} for field "${field.name}", got ${describe(token)}`);
  }
}

/** Integer literal (decimal, 0x hex, 0-prefixed octal) to its value; undefined if not an integer. */
function parseBigInt(text: string): bigint | undefined {
  if (/^0[xX][0-9a-fA-F]+$/.test(text)) return BigInt(text);
  if (/^0[0-7]+$/.test(text)) return BigInt(`0o${text.slice(1)}`);
  if (/^[0-9]+$/.test(text)) return BigInt(text);
  return undefined;
}

function describe(token: Token): string {
  switch (token.kind) {
    case 'eof':
      return 'the end of the text';
    case 'string':
      return 'a string';
    default:
      return `"${token.text}"`;
  }
}

function defaultOfSpec(spec: FieldSpec | undefined): unknown {
  if (!spec) return undefined;
  if (spec.resolved instanceof protobuf.Type) return {};
  if (spec.resolved instanceof protobuf.Enum) return spec.resolved.valuesById[0] ?? Object.keys(spec.resolved.values)[0];
  if (spec.type === 'string' || spec.type === 'bytes') return '';
  if (spec.type === 'bool') return false;
  return 0;
}

/** Parses text-format `text` as a message of `type` (see the module comment for the shape). */
export function parseTextFormat(text: string, type: protobuf.Type): Record<string, unknown> {
  return new TextParser(text).parseRoot(type);
}

export { formatTextFormat } from './config-text-writer.js';
