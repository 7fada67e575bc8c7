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
  private readonly initializers: proto.ITensorProto[] = [];
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
    this.initializers.push({
      name,
      dataType: onnx.TensorProto.DataType.FLOAT,
      dims: [...dims],
      rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    });
    return name;
  }

  int64Const(hint: string, values: readonly number[], dims: readonly number[] = [values.length]): string {
    const name = this.fresh(hint);
    const data = BigInt64Array.from(values, (v) => BigInt(v));
    this.initializers.push({
      name,
      dataType: onnx.TensorProto.DataType.INT64,
      dims: [...dims],
      rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    });
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

  encode(graphName: string): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: IR_VERSION,
      producerName: 'cranberries-tfjs-to-onnx',
      opsetImport: [{ domain: '', version: OPSET_VERSION }],
      graph: { name: graphName, input: this.inputs, output: this.outputs, node: this.nodes, initializer: this.initializers },
    });
    // A plain Uint8Array owning its whole buffer (protobufjs may hand back a slice of a pool).
    return new Uint8Array(onnx.ModelProto.encode(model).finish());
  }
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
