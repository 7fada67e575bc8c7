/**
 * A small ONNX graph builder over `onnx-proto`'s protobufjs classes: unique value names, float32
 * and int64 initializers stored as raw little-endian bytes, and the final ModelProto encoding
 * (IR version 8, default-domain opset 17, which onnxruntime-node loads from bytes).
 */
import onnxProto from 'onnx-proto';
import type { onnx as proto } from 'onnx-proto';

const { onnx } = onnxProto;

export const IR_VERSION = 8;
export const OPSET_VERSION = 17;

export type AttributeValue = number | number[] | string | { float: number };

export class OnnxGraphBuilder {
  private readonly nodes: proto.INodeProto[] = [];
  /** Initializer headers (name, type, dims) and their raw little-endian bytes, encoded by hand in `encode`. */
  private readonly initializers: { header: proto.ITensorProto; raw: Uint8Array }[] = [];
  private readonly inputs: proto.IValueInfoProto[] = [];
  private readonly outputs: proto.IValueInfoProto[] = [];
  private readonly used = new Set<string>();

  /** A fresh value name derived from `hint` (model names may repeat after sanitising). */
  fresh(hint: string): string {
    let name = hint;
    for (let i = 1; this.used.has(name); i++) name = `${hint}__${i}`;
    this.used.add(name);
    return name;
  }

  /** Reserves an exact name (graph inputs and outputs keep the model's own names). */
  reserve(name: string): void {
    if (this.used.has(name)) throw new Error(`duplicate ONNX value name ${name}`);
    this.used.add(name);
  }

  addInput(name: string, dims: readonly (number | null)[]): void {
    this.inputs.push(floatValueInfo(name, dims));
  }

  /** An output with unknown dims when `dims` is undefined (ORT infers them). */
  addOutput(name: string, dims?: readonly (number | null)[]): void {
    this.outputs.push(floatValueInfo(name, dims));
  }

  floatConst(hint: string, dims: readonly number[], data: Float32Array): string {
    const name = this.fresh(hint);
    this.initializers.push({ header: { name, dataType: onnx.TensorProto.DataType.FLOAT, dims: [...dims] }, raw: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    return name;
  }

  int64Const(hint: string, values: readonly number[], dims: readonly number[] = [values.length]): string {
    const name = this.fresh(hint);
    const data = BigInt64Array.from(values, (v) => BigInt(v));
    this.initializers.push({ header: { name, dataType: onnx.TensorProto.DataType.INT64, dims: [...dims] }, raw: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    return name;
  }

  /** Adds a node with one output, named fresh from `hint` unless `output` is given. Returns the output name. */
  op(opType: string, inputs: readonly string[], attributes: Readonly<Record<string, AttributeValue>> = {}, hint = opType, output?: string): string {
    const out = output ?? this.fresh(hint);
    this.nodes.push({
      opType,
      input: [...inputs],
      output: [out],
      name: out,
      domain: '',
      attribute: Object.entries(attributes).map(([name, value]) => attribute(name, value)),
    });
    return out;
  }

  /**
   * The ModelProto bytes. Nodes and value infos go through protobufjs; the initializers (≈ 90 MB for
   * Inception v3) are written straight into the one output buffer, appended inside the graph field
   * (field order inside a message is free in protobuf): protobufjs's own path copied every weight
   * several times and took seconds.
   */
  encode(graphName: string): Uint8Array {
    const modelHead = onnx.ModelProto.encode(
      onnx.ModelProto.create({ irVersion: IR_VERSION, producerName: 'cranberries-tfjs-to-onnx', opsetImport: [{ domain: '', version: OPSET_VERSION }] }),
    ).finish();
    const graphHead = onnx.GraphProto.encode(onnx.GraphProto.create({ name: graphName, input: this.inputs, output: this.outputs, node: this.nodes })).finish();
    const tensors = this.initializers.map(({ header, raw }) => {
      const head = onnx.TensorProto.encode(header).finish();
      return { head, raw, tensorLength: head.length + fieldLength(RAW_DATA_FIELD, raw.length) };
    });
    const graphLength = graphHead.length + tensors.reduce((n, t) => n + fieldLength(INITIALIZER_FIELD, t.tensorLength), 0);
    const out = new Uint8Array(modelHead.length + fieldLength(GRAPH_FIELD, graphLength));
    out.set(modelHead, 0);
    let at = writeTag(out, modelHead.length, GRAPH_FIELD, graphLength);
    out.set(graphHead, at);
    at += graphHead.length;
    for (const { head, raw, tensorLength } of tensors) {
      at = writeTag(out, at, INITIALIZER_FIELD, tensorLength);
      out.set(head, at);
      at = writeTag(out, at + head.length, RAW_DATA_FIELD, raw.length);
      out.set(raw, at);
      at += raw.length;
    }
    if (at !== out.length) throw new Error(`ONNX encoding wrote ${at} of ${out.length} bytes`);
    return out;
  }
}

/** Field numbers in onnx.proto: ModelProto.graph, GraphProto.initializer, TensorProto.raw_data. */
const GRAPH_FIELD = 7;
const INITIALIZER_FIELD = 5;
const RAW_DATA_FIELD = 9;

function varintLength(value: number): number {
  let n = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    n++;
  }
  return n;
}

/** Bytes of a length-delimited field: tag, length varint, payload. */
function fieldLength(field: number, payload: number): number {
  return varintLength(field << 3) + varintLength(payload) + payload;
}

/** Writes a length-delimited field's tag and length at `at`; returns where the payload starts. */
function writeTag(out: Uint8Array, at: number, field: number, payload: number): number {
  for (let value of [(field << 3) | 2, payload]) {
    while (value >= 0x80) {
      out[at++] = (value % 128) | 0x80;
      value = Math.floor(value / 128);
    }
    out[at++] = value;
  }
  return at;
}

function floatValueInfo(name: string, dims?: readonly (number | null)[]): proto.IValueInfoProto {
  const tensorType: proto.TypeProto.ITensor = { elemType: onnx.TensorProto.DataType.FLOAT };
  if (dims !== undefined) {
    tensorType.shape = { dim: dims.map((d, i) => (d === null || d < 0 ? { dimParam: i === 0 ? 'batch' : `${name}_dim${i}` } : { dimValue: d })) };
  }
  return { name, type: { tensorType } };
}

function attribute(name: string, value: AttributeValue): proto.IAttributeProto {
  const { AttributeType } = onnx.AttributeProto;
  if (typeof value === 'number') return { name, type: AttributeType.INT, i: value };
  if (typeof value === 'string') return { name, type: AttributeType.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: AttributeType.INTS, ints: value };
  return { name, type: AttributeType.FLOAT, f: value.float };
}
