/**
 * A tiny protobuf wire-format reader and writer for the gateway's raw gRPC forwarding: the gateway
 * never decodes a request's tensors, it only reads the few top-level fields that decide where the
 * request goes (`model_name` = 1, `model_version` = 2, `id` = 3 of `inference.ModelInferRequest`;
 * the `ModelSpec` at field 1 of TF Serving requests) and skips everything else by its length, so
 * the cost does not depend on the tensor bytes. The writer builds the few small frames the gateway
 * adds itself (stream responses, the final-response flag).
 *
 * Malformed input throws INVALID_ARGUMENT; an absent string field reads as '' (proto3 default).
 */
import { invalidArgument } from '../../core/index.js';

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_FIXED32 = 5;

/** One top-level field: its number, wire type and where its payload lies in the message. */
export interface WireField {
  readonly field: number;
  readonly wireType: number;
  /** Offset of the field's tag. */
  readonly tagStart: number;
  /** Payload: for length-delimited fields the bytes after the length; for varints the varint. */
  readonly start: number;
  readonly end: number;
}

/** Reads a varint at `offset` as a number (exact up to 2^53); returns value and next offset. */
function readVarint(bytes: Uint8Array, offset: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = offset; i < bytes.length && i < offset + 10; i++) {
    const byte = bytes[i] as number;
    value += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) return [value, i + 1];
    scale *= 128;
  }
  throw invalidArgument('malformed protobuf message: truncated or over-long varint');
}

/**
 * Calls `visit` for every top-level field of `message`, in wire order, until it returns false.
 * Payloads are skipped by their length, never copied.
 */
export function forEachField(message: Uint8Array, visit: (field: WireField) => boolean | void): void {
  let offset = 0;
  while (offset < message.length) {
    const tagStart = offset;
    const [tag, afterTag] = readVarint(message, offset);
    const field = Math.floor(tag / 8);
    const wireType = tag & 7;
    if (field === 0) throw invalidArgument('malformed protobuf message: field number 0');
    let start = afterTag;
    let end: number;
    switch (wireType) {
      case WIRE_VARINT:
        end = readVarint(message, afterTag)[1];
        break;
      case WIRE_FIXED64:
        end = afterTag + 8;
        break;
      case WIRE_LENGTH_DELIMITED: {
        const [length, afterLength] = readVarint(message, afterTag);
        start = afterLength;
        end = afterLength + length;
        break;
      }
      case WIRE_FIXED32:
        end = afterTag + 4;
        break;
      default:
        throw invalidArgument(`malformed protobuf message: unsupported wire type ${wireType} of field ${field}`);
    }
    if (end > message.length) throw invalidArgument(`malformed protobuf message: field ${field} runs past the end of the message`);
    if (visit({ field, wireType, tagStart, start, end }) === false) return;
    offset = end;
  }
}

const utf8 = new TextDecoder('utf-8');

function stringOf(message: Uint8Array, field: WireField): string {
  if (field.wireType !== WIRE_LENGTH_DELIMITED) throw invalidArgument(`malformed protobuf message: field ${field.field} is not a string`);
  return utf8.decode(message.subarray(field.start, field.end));
}

/** The routing fields of a `ModelInferRequest` (and of ModelMetadata/ModelConfig/ModelStatistics requests, whose name and version are fields 1 and 2 too). */
export interface InferRoute {
  readonly model: string;
  /** As sent: '' means "the server's choice". */
  readonly version: string;
  readonly id: string;
}

/** Reads fields 1–3 as strings; stops scanning once all three are seen (proto encoders write fields in order). */
export function readInferRoute(message: Uint8Array): InferRoute {
  let model = '';
  let version = '';
  let id = '';
  let seen = 0;
  forEachField(message, (field) => {
    if (field.field === 1) model = stringOf(message, field);
    else if (field.field === 2) version = stringOf(message, field);
    else if (field.field === 3) id = stringOf(message, field);
    else return;
    seen |= 1 << field.field;
    return seen !== 0b1110;
  });
  return { model, version, id };
}

/** The routing part of a TF Serving `ModelSpec`: name = 1, version (Int64Value) = 2, version_label = 4. */
export interface ModelSpecRoute {
  readonly model: string;
  readonly version?: number | undefined;
  readonly label?: string | undefined;
}

/** Reads a ModelSpec message. */
export function readModelSpec(spec: Uint8Array): ModelSpecRoute {
  let model = '';
  let version: number | undefined;
  let label: string | undefined;
  forEachField(spec, (field) => {
    if (field.field === 1) model = stringOf(spec, field);
    else if (field.field === 4) label = stringOf(spec, field);
    else if (field.field === 2 && field.wireType === WIRE_LENGTH_DELIMITED) {
      // google.protobuf.Int64Value { int64 value = 1 }; an empty wrapper means version 0.
      version = 0;
      const wrapper = spec.subarray(field.start, field.end);
      forEachField(wrapper, (inner) => {
        if (inner.field === 1 && inner.wireType === WIRE_VARINT) version = readVarint(wrapper, inner.start)[0];
      });
    }
  });
  return { model, version, label };
}

/**
 * The ModelSpec of a TF Serving request whose field 1 is the spec (PredictRequest,
 * ClassificationRequest, RegressionRequest, GetModelMetadataRequest, GetModelStatusRequest), or
 * — with `nested` — whose field 1 is a message whose field 1 is the spec (the first task of a
 * MultiInferenceRequest). An absent spec reads as model ''.
 */
export function readTfModelSpec(message: Uint8Array, nested = false): ModelSpecRoute {
  let spec: Uint8Array | undefined;
  forEachField(message, (field) => {
    if (field.field !== 1 || field.wireType !== WIRE_LENGTH_DELIMITED) return true;
    spec = message.subarray(field.start, field.end);
    return false;
  });
  if (spec === undefined) return { model: '' };
  return nested ? readTfModelSpec(spec, false) : readModelSpec(spec);
}

/**
 * Removes the top-level map entries of field `mapField` whose key (entry field 1) is `key`, e.g. a
 * request parameter meant for the gateway itself. Returns the message itself when there is none,
 * so the common case copies nothing.
 */
export function withoutMapEntry(message: Buffer, mapField: number, key: string): { message: Buffer; removed: Uint8Array | undefined } {
  const cut: WireField[] = [];
  let removed: Uint8Array | undefined;
  forEachField(message, (field) => {
    if (field.field !== mapField || field.wireType !== WIRE_LENGTH_DELIMITED) return;
    const entry = message.subarray(field.start, field.end);
    let entryKey: string | undefined;
    let value: Uint8Array | undefined;
    forEachField(entry, (inner) => {
      if (inner.field === 1) entryKey = stringOf(entry, inner);
      else if (inner.field === 2 && inner.wireType === WIRE_LENGTH_DELIMITED) value = entry.subarray(inner.start, inner.end);
    });
    if (entryKey === key) {
      cut.push(field);
      removed = value ?? new Uint8Array(0);
    }
  });
  if (cut.length === 0) return { message, removed: undefined };
  const parts: Buffer[] = [];
  let offset = 0;
  for (const field of cut) {
    parts.push(message.subarray(offset, field.tagStart));
    offset = field.end;
  }
  parts.push(message.subarray(offset));
  return { message: Buffer.concat(parts), removed };
}

/** True when an `InferParameter` message holds `bool_param` (field 1) = true. */
export function isTrueBoolParameter(parameter: Uint8Array): boolean {
  let value = false;
  forEachField(parameter, (field) => {
    if (field.field === 1 && field.wireType === WIRE_VARINT) value = readVarint(parameter, field.start)[0] !== 0;
  });
  return value;
}

function varintBytes(value: number): number[] {
  const out: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    out.push((rest % 128) | 0x80);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return out;
}

/** Tag and length prefix of a length-delimited field holding `length` bytes. */
export function lengthDelimitedHeader(field: number, length: number): Buffer {
  return Buffer.from([...varintBytes(field * 8 + WIRE_LENGTH_DELIMITED), ...varintBytes(length)]);
}

/** A whole length-delimited field: header then payload. */
export function lengthDelimited(field: number, payload: Uint8Array): Buffer {
  return Buffer.concat([lengthDelimitedHeader(field, payload.byteLength), payload]);
}

/** A string field (omitted when empty, as proto3 does). */
export function stringField(field: number, value: string): Buffer {
  return value === '' ? Buffer.alloc(0) : lengthDelimited(field, Buffer.from(value, 'utf8'));
}

/** A `map<string, InferParameter>` entry holding `bool_param: true`, as field `mapField`. */
export function trueBoolParameterEntry(mapField: number, key: string): Buffer {
  const parameter = Buffer.from([0x08, 0x01]); // InferParameter { bool_param (1) = true }
  return lengthDelimited(mapField, Buffer.concat([stringField(1, key), lengthDelimited(2, parameter)]));
}
