/**
 * TF.js graph models (`format: 'graph-model'`, a TF GraphDef as JSON with Const values in the
 * weights) → ONNX, for a subset of ops: the ones TF.js's converter emits for frozen image
 * classifiers (convolutions, possibly fused with BiasAdd / FusedBatchNorm and an activation; MatMul;
 * pooling; elementwise arithmetic; ConcatV2, Reshape, Squeeze, Mean, Pad). Any other op is reported
 * unsupported, naming the op and the node.
 *
 * Names: with a `signature` (what `tensorflowjs_converter` writes for SavedModels), the ONNX inputs
 * and outputs are the signature's keys, which is what TF.js's `GraphModel.inputNodes` /
 * `outputNodes` report then; without one, the Placeholder node names, and as outputs every node no
 * other node consumes (TF.js's own rule).
 */
import { applyActivation, clip } from './activations.js';
import { TO_NCHW, Value, onnxAxis, permute } from './layout.js';
import type { ConvertedGraph } from './layers-model.js';
import type { OnnxGraphBuilder } from './onnx-builder.js';
import { asArray, asRecord, asString, quoted, unsupported } from './unsupported.js';
import type { Weight } from './weights.js';

interface GraphNode {
  name: string;
  op: string;
  inputs: string[];
  attr: Record<string, unknown>;
}

/** A TF tensor during conversion: a constant (folded into initializers where used) or a graph value. */
type Tensor = { kind: 'const'; weight: Weight } | { kind: 'value'; value: Value };

export function convertGraphModel(graph: OnnxGraphBuilder, topology: Record<string, unknown>, weights: ReadonlyMap<string, Weight>, signature: unknown): ConvertedGraph {
  const nodes = asArray(topology['node'], 'node list').map((raw, i): GraphNode => {
    const node = asRecord(raw, `node ${i}`);
    const name = asString(node['name'], `name of node ${i}`);
    const inputs = asArray(node['input'] ?? [], `inputs of ${quoted(name)}`)
      .map((input) => asString(input, `inputs of ${quoted(name)}`))
      .filter((input) => !input.startsWith('^'));
    return { name, op: asString(node['op'], `op of ${quoted(name)}`), inputs, attr: asRecord(node['attr'] ?? {}, `attr of ${quoted(name)}`) };
  });
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const { inputs, outputs } = endpoints(nodes, signature);
  for (const { key } of [...inputs, ...outputs]) graph.reserve(key);

  const converter = new NodeConverter(graph, weights);
  const tensors = new Map<string, Tensor>();
  const inProgress = new Set<string>();
  const inputKeyOf = new Map(inputs.map(({ key, node }) => [node, key]));
  const tensorOf = (ref: string): Tensor => {
    const [nodeName, index = '0'] = ref.split(':') as [string, string?];
    if (index !== '0') unsupported(`node output ${quoted(ref)} is used; only first outputs convert`);
    const known = tensors.get(nodeName);
    if (known !== undefined) return known;
    const node = byName.get(nodeName) ?? unsupported(`malformed model: no node named ${quoted(nodeName)}`);
    if (inProgress.has(nodeName)) unsupported(`malformed model: node ${quoted(nodeName)} feeds itself`);
    inProgress.add(nodeName);
    let tensor: Tensor;
    if (node.op === 'Placeholder') {
      const key = inputKeyOf.get(nodeName) ?? unsupported(`Placeholder ${quoted(nodeName)} is not a model input`);
      tensor = { kind: 'value', value: converter.placeholder(node, key) };
    } else {
      tensor = converter.node(node, node.inputs.map(tensorOf));
    }
    tensors.set(nodeName, tensor);
    return tensor;
  };
  for (const { node } of inputs) tensorOf(node);
  for (const { key, node } of outputs) {
    const tensor = tensorOf(node);
    const source = tensor.kind === 'value' ? tensor.value.tf(graph) : converter.constant(tensor.weight, null, 'output');
    graph.op('Identity', [source], {}, key, key);
    graph.addOutput(key);
  }
  return { inputNames: inputs.map((i) => i.key), outputNames: outputs.map((o) => o.key) };
}

/** `{key, node}` pairs of the model's inputs and outputs (see the file comment). */
function endpoints(nodes: readonly GraphNode[], signature: unknown): { inputs: { key: string; node: string }[]; outputs: { key: string; node: string }[] } {
  const fromSignature = (part: unknown): { key: string; node: string }[] =>
    Object.entries(asRecord(part, 'signature part')).map(([key, info]) => {
      const ref = asString(asRecord(info, `signature entry ${quoted(key)}`)['name'], `signature entry ${quoted(key)}`);
      const [node, index = '0'] = ref.split(':') as [string, string?];
      if (index !== '0') unsupported(`signature entry ${quoted(key)} names output ${index} of ${quoted(node)}; only first outputs convert`);
      return { key, node };
    });
  const sig = typeof signature === 'object' && signature !== null ? (signature as Record<string, unknown>) : undefined;
  if (sig?.['inputs'] !== undefined && sig['outputs'] !== undefined) return { inputs: fromSignature(sig['inputs']), outputs: fromSignature(sig['outputs']) };
  const consumed = new Set(nodes.flatMap((n) => n.inputs.map((ref) => ref.split(':')[0])));
  return {
    inputs: nodes.filter((n) => n.op === 'Placeholder').map((n) => ({ key: n.name, node: n.name })),
    outputs: nodes.filter((n) => !consumed.has(n.name) && n.op !== 'Const' && n.op !== 'NoOp' && n.op !== 'Placeholder').map((n) => ({ key: n.name, node: n.name })),
  };
}

/** Attribute helpers over the GraphDef JSON encoding (`{list: {i: ['1', ...]}}`, `{s: base64}`, ...). */
function attrInts(node: GraphNode, name: string): number[] | undefined {
  const attr = node.attr[name] as { list?: { i?: unknown[] } } | undefined;
  return attr?.list?.i?.map((v) => Number(v));
}
function attrString(node: GraphNode, name: string): string | undefined {
  const attr = node.attr[name] as { s?: unknown } | undefined;
  return typeof attr?.s === 'string' ? Buffer.from(attr.s, 'base64').toString('utf8') : undefined;
}
function attrStrings(node: GraphNode, name: string): string[] {
  const attr = node.attr[name] as { list?: { s?: unknown[] } } | undefined;
  return (attr?.list?.s ?? []).map((s) => Buffer.from(String(s), 'base64').toString('utf8'));
}
function attrFloat(node: GraphNode, name: string, fallback: number): number {
  const attr = node.attr[name] as { f?: unknown } | undefined;
  return attr?.f === undefined ? fallback : Number(attr.f);
}
function attrBool(node: GraphNode, name: string): boolean {
  return (node.attr[name] as { b?: unknown } | undefined)?.b === true;
}

const ACTIVATIONS: Readonly<Record<string, string>> = { Relu: 'relu', Relu6: 'relu6', Sigmoid: 'sigmoid', Tanh: 'tanh', Elu: 'elu', Selu: 'selu', Softplus: 'softplus' };

class NodeConverter {
  constructor(
    private readonly graph: OnnxGraphBuilder,
    private readonly weights: ReadonlyMap<string, Weight>,
  ) {}

  placeholder(node: GraphNode, key: string): Value {
    const dtype = (node.attr['dtype'] as { type?: unknown } | undefined)?.type;
    if (dtype !== undefined && dtype !== 'DT_FLOAT') unsupported(`input ${quoted(node.name)} has dtype ${quoted(dtype)}; only float32 inputs convert`);
    const shape = (node.attr['shape'] as { shape?: { dim?: { size?: unknown }[]; unknownRank?: unknown } } | undefined)?.shape;
    if (shape?.dim === undefined || shape.unknownRank === true) unsupported(`input ${quoted(node.name)} has no known rank`);
    const dims = shape.dim.map((d) => {
      const size = Number(d.size ?? -1);
      return size < 0 ? null : size;
    });
    this.graph.addInput(key, dims);
    return new Value(dims.length, false, key);
  }

  /** A constant as an initializer; with `like` a rank-4 NCHW value, broadcast-aligned to NCHW. */
  constant(weight: Weight, like: Value | null, hint: string): string {
    if (weight.dtype !== 'float32') unsupported(`int32 constant ${quoted(hint)} used as data`);
    if (like !== null && like.isNchw && weight.shape.length <= 4 && weight.shape.length > 0) {
      const shape4 = [...new Array<number>(4 - weight.shape.length).fill(1), ...weight.shape];
      return this.graph.floatConst(
        hint,
        TO_NCHW.map((p) => shape4[p] as number),
        permute(weight.values, shape4, TO_NCHW),
      );
    }
    return this.graph.floatConst(hint, weight.shape, weight.values);
  }

  node(node: GraphNode, inputs: Tensor[]): Tensor {
    const value = (i: number): Value => {
      const t = inputs[i] ?? unsupported(`malformed model: node ${quoted(node.name)} (${node.op}) lacks input ${i}`);
      if (t.kind !== 'value') unsupported(`node ${quoted(node.name)} (${node.op}) has a constant where a tensor is expected`);
      return t.value;
    };
    const constant = (i: number): Weight => {
      const t = inputs[i] ?? unsupported(`malformed model: node ${quoted(node.name)} (${node.op}) lacks input ${i}`);
      if (t.kind !== 'const') unsupported(`node ${quoted(node.name)} (${node.op}) input ${i} must be a constant`);
      return t.weight;
    };
    const ints = (i: number): number[] => Array.from(constant(i).ints ?? constant(i).values);
    const out = (v: Value): Tensor => ({ kind: 'value', value: v });
    switch (node.op) {
      case 'Const': {
        const weight = this.weights.get(node.name) ?? unsupported(`Const ${quoted(node.name)} has no value in the weights`);
        return { kind: 'const', weight };
      }
      case 'Identity':
      case 'StopGradient':
        return inputs[0] ?? unsupported(`malformed model: ${quoted(node.name)} has no input`);
      case 'Conv2D':
      case '_FusedConv2D':
      case 'DepthwiseConv2dNative':
      case 'FusedDepthwiseConv2dNative':
        return out(
          this.conv(
            node,
            value(0),
            constant(1),
            inputs.slice(2).map((_, i) => constant(i + 2)),
          ),
        );
      case 'MatMul':
      case '_FusedMatMul':
        return out(
          this.matMul(
            node,
            value(0),
            constant(1),
            inputs.slice(2).map((_, i) => constant(i + 2)),
          ),
        );
      case 'BiasAdd':
      case 'Add':
      case 'AddV2':
      case 'Sub':
      case 'Mul':
      case 'RealDiv':
      case 'Maximum':
      case 'Minimum':
        return out(this.binary(node, inputs));
      case 'Relu':
      case 'Relu6':
      case 'Sigmoid':
      case 'Tanh':
      case 'Elu':
      case 'Selu':
      case 'Softplus': {
        const x = value(0);
        return out(new Value(x.rank, x.isNchw, applyActivation(this.graph, ACTIVATIONS[node.op], x.any(), -1, `node ${quoted(node.name)}`)));
      }
      case 'Softmax': {
        const x = value(0);
        return out(new Value(x.rank, x.isNchw, this.graph.op('Softmax', [x.any()], { axis: onnxAxis(-1, x.rank ?? 2, x.isNchw) }, node.name)));
      }
      case 'MaxPool':
      case 'AvgPool': {
        const x = value(0);
        this.nhwc(node);
        const kernel = this.spatial(attrInts(node, 'ksize'), node, 'ksize');
        const strides = this.spatial(attrInts(node, 'strides'), node, 'strides');
        const attributes = { kernel_shape: kernel, strides, ...this.padding(node, kernel, strides, [1, 1]) };
        return out(
          new Value(
            4,
            true,
            this.graph.op(node.op === 'MaxPool' ? 'MaxPool' : 'AveragePool', [x.nchw(this.graph)], node.op === 'AvgPool' ? { ...attributes, count_include_pad: 0 } : attributes, node.name),
          ),
        );
      }
      case 'ConcatV2': {
        const axis = ints(inputs.length - 1)[0] ?? unsupported(`ConcatV2 ${quoted(node.name)} has no axis`);
        const parts = inputs.slice(0, -1).map((_, i) => value(i));
        const rank = parts[0]?.rank;
        const nchw = rank === 4 && parts.every((p) => p.rank === 4) && parts.some((p) => p.isNchw);
        const names = parts.map((p) => (nchw ? p.nchw(this.graph) : p.tf(this.graph)));
        if (rank === undefined && axis < 0) unsupported(`ConcatV2 ${quoted(node.name)} with a negative axis over inputs of unknown rank`);
        return out(new Value(rank, nchw, this.graph.op('Concat', names, { axis: onnxAxis(axis, rank ?? 0, nchw) }, node.name)));
      }
      case 'Reshape': {
        const shape = ints(1);
        return out(new Value(shape.length, false, this.graph.op('Reshape', [value(0).tf(this.graph), this.graph.int64Const(`${node.name}_shape`, shape)], {}, node.name)));
      }
      case 'Squeeze': {
        const x = value(0);
        const axes = attrInts(node, 'squeeze_dims') ?? [];
        const attrs = axes.length > 0 ? [this.graph.int64Const(`${node.name}_axes`, axes)] : [];
        return out(new Value(x.rank === undefined || axes.length === 0 ? undefined : x.rank - axes.length, false, this.graph.op('Squeeze', [x.tf(this.graph), ...attrs], {}, node.name)));
      }
      case 'Mean': {
        const x = value(0);
        const rank = x.rank ?? unsupported(`Mean ${quoted(node.name)} over an input of unknown rank`);
        const axes = ints(1).map((a) => (a < 0 ? a + rank : a));
        const keepdims = attrBool(node, 'keep_dims');
        // NCHW and the spatial axes: reduce H, W in place; the result is [N, C] (or [N, C, 1, 1] kept).
        const spatial = x.isNchw && axes.length === 2 && axes.includes(1) && axes.includes(2);
        const input = spatial ? x.nchw(this.graph) : x.tf(this.graph);
        const reduced = this.graph.op('ReduceMean', [input], { axes: spatial ? [2, 3] : axes, keepdims: keepdims ? 1 : 0 }, node.name);
        return out(new Value(keepdims ? rank : rank - axes.length, spatial && keepdims, reduced));
      }
      case 'Pad': {
        const x = value(0);
        const paddings = ints(1);
        const rank = paddings.length / 2;
        const before = Array.from({ length: rank }, (_, i) => paddings[2 * i] as number);
        const after = Array.from({ length: rank }, (_, i) => paddings[2 * i + 1] as number);
        const nchw = x.isNchw && rank === 4;
        const order = (list: number[]): number[] => (nchw ? TO_NCHW.map((p) => list[p] as number) : list);
        const pads = this.graph.int64Const(`${node.name}_pads`, [...order(before), ...order(after)]);
        return out(new Value(x.rank, nchw, this.graph.op('Pad', [nchw ? x.nchw(this.graph) : x.tf(this.graph), pads], {}, node.name)));
      }
      case 'FusedBatchNorm':
      case 'FusedBatchNormV3': {
        const x = value(0);
        this.nhwc(node);
        const [scale, offset, mean, variance] = [1, 2, 3, 4].map((i) => this.graph.floatConst(`${node.name}_${i}`, constant(i).shape, constant(i).values));
        const y = this.graph.op(
          'BatchNormalization',
          [x.nchw(this.graph), scale as string, offset as string, mean as string, variance as string],
          { epsilon: { float: attrFloat(node, 'epsilon', 1e-3) } },
          node.name,
        );
        return out(new Value(4, true, y));
      }
      default:
        return unsupported(`node ${quoted(node.name)} has op ${quoted(node.op)}, which has no ONNX conversion`);
    }
  }

  private nhwc(node: GraphNode): void {
    const format = attrString(node, 'data_format') ?? 'NHWC';
    if (format !== 'NHWC') unsupported(`node ${quoted(node.name)} (${node.op}) uses data_format ${quoted(format)}; only NHWC converts`);
  }

  /** `[1, h, w, 1]` (NHWC attribute lists) → `[h, w]`. */
  private spatial(list: number[] | undefined, node: GraphNode, what: string): number[] {
    if (list === undefined) return [1, 1];
    if (list.length !== 4 || list[0] !== 1 || list[3] !== 1) unsupported(`node ${quoted(node.name)} (${node.op}) has ${what} [${list.join(', ')}]; only spatial ones convert`);
    return [list[1] as number, list[2] as number];
  }

  private padding(node: GraphNode, kernel: number[], strides: number[], dilations: number[]): Record<string, string | number[]> {
    const mode = attrString(node, 'padding');
    if (mode === 'VALID') return { auto_pad: 'VALID' };
    if (mode !== 'SAME') return unsupported(`node ${quoted(node.name)} (${node.op}) has padding ${quoted(mode ?? 'none')}; only SAME and VALID convert`);
    // As for layers: explicit pads at stride 1 (ONNX Runtime refuses SAME_UPPER with dilation).
    if (strides.some((s) => s !== 1)) return { auto_pad: 'SAME_UPPER' };
    const totals = kernel.map((k, i) => (k - 1) * (dilations[i] as number));
    const begins = totals.map((t) => Math.floor(t / 2));
    return { pads: [...begins, ...totals.map((t, i) => t - (begins[i] as number))] };
  }

  /** Applies `fused_ops` after the core op: BiasAdd / FusedBatchNorm over `args`, then an activation. */
  private fused(node: GraphNode, y: string, nchw: boolean, args: Weight[], channels: number): string {
    const ops = attrStrings(node, 'fused_ops');
    let result = y;
    const shapeOf = (w: Weight): number[] => (nchw ? [w.values.length, 1, 1] : [w.values.length]);
    for (const op of ops) {
      if (op === 'BiasAdd' || op === 'Add') {
        const bias = args[0] ?? unsupported(`node ${quoted(node.name)} fuses BiasAdd without a bias`);
        result = this.graph.op('Add', [result, this.graph.floatConst(`${node.name}_bias`, shapeOf(bias), bias.values)], {}, node.name);
      } else if (op === 'FusedBatchNorm') {
        const [scale, offset, mean, variance] = args;
        if (!nchw || scale === undefined || offset === undefined || mean === undefined || variance === undefined) unsupported(`node ${quoted(node.name)} fuses FusedBatchNorm in an unsupported form`);
        const consts = [scale, offset, mean, variance].map((w, i) => this.graph.floatConst(`${node.name}_bn${i}`, [channels], w.values));
        result = this.graph.op('BatchNormalization', [result, ...consts], { epsilon: { float: attrFloat(node, 'epsilon', 1e-3) } }, node.name);
      } else if (op === 'LeakyRelu') {
        result = this.graph.op('LeakyRelu', [result], { alpha: { float: attrFloat(node, 'leakyrelu_alpha', 0.2) } }, node.name);
      } else if (op === 'Relu6') {
        result = clip(this.graph, result, 0, 6);
      } else if (ACTIVATIONS[op] !== undefined) {
        result = applyActivation(this.graph, ACTIVATIONS[op], result, 1, `node ${quoted(node.name)}`);
      } else {
        unsupported(`node ${quoted(node.name)} (${node.op}) fuses ${quoted(op)}, which has no ONNX conversion`);
      }
    }
    return result;
  }

  private conv(node: GraphNode, x: Value, filter: Weight, args: Weight[]): Value {
    this.nhwc(node);
    if (filter.shape.length !== 4) unsupported(`malformed model: filter of ${quoted(node.name)} is not 4-D`);
    const [kh, kw, inC, outC] = filter.shape as [number, number, number, number];
    const strides = this.spatial(attrInts(node, 'strides'), node, 'strides');
    const dilations = this.spatial(attrInts(node, 'dilations'), node, 'dilations');
    const attributes = { kernel_shape: [kh, kw], strides, dilations, ...this.padding(node, [kh, kw], strides, dilations) };
    const depthwise = node.op.includes('Depthwise');
    const weight = depthwise
      ? this.graph.floatConst(`${node.name}_W`, [inC * outC, 1, kh, kw], permute(filter.values, filter.shape, [2, 3, 0, 1]))
      : this.graph.floatConst(`${node.name}_W`, [outC, inC, kh, kw], permute(filter.values, filter.shape, [3, 2, 0, 1]));
    const y = this.graph.op('Conv', [x.nchw(this.graph), weight], depthwise ? { ...attributes, group: inC } : attributes, node.name);
    return new Value(4, true, this.fused(node, y, true, args, depthwise ? inC * outC : outC));
  }

  private matMul(node: GraphNode, x: Value, b: Weight, args: Weight[]): Value {
    if (attrBool(node, 'transpose_a')) unsupported(`node ${quoted(node.name)} (${node.op}) with transpose_a`);
    if (b.shape.length !== 2) unsupported(`malformed model: MatMul weight of ${quoted(node.name)} is not 2-D`);
    let [k, n] = b.shape as [number, number];
    let values = b.values;
    if (attrBool(node, 'transpose_b')) {
      values = permute(b.values, [1, 1, k, n], [0, 1, 3, 2]);
      [k, n] = [n, k];
    }
    const y = this.graph.op('MatMul', [x.tf(this.graph), this.graph.floatConst(`${node.name}_W`, [k, n], values)], {}, node.name);
    return new Value(x.rank, false, this.fused(node, y, false, args, n));
  }

  private binary(node: GraphNode, inputs: Tensor[]): Value {
    const [a, b] = inputs;
    if (a === undefined || b === undefined || inputs.length !== 2) return unsupported(`malformed model: node ${quoted(node.name)} (${node.op}) needs 2 inputs`);
    const op = { BiasAdd: 'Add', Add: 'Add', AddV2: 'Add', Sub: 'Sub', Mul: 'Mul', RealDiv: 'Div', Maximum: 'Max', Minimum: 'Min' }[node.op] as string;
    if (a.kind === 'const' && b.kind === 'const') unsupported(`node ${quoted(node.name)} (${node.op}) of two constants`);
    if (a.kind === 'value' && b.kind === 'value') {
      const nchw = a.value.rank === 4 && b.value.rank === 4 && (a.value.isNchw || b.value.isNchw);
      const names = [a.value, b.value].map((v) => (nchw ? v.nchw(this.graph) : v.tf(this.graph)));
      const rank = Math.max(a.value.rank ?? 0, b.value.rank ?? 0) || undefined;
      return new Value(rank, nchw, this.graph.op(op, names, {}, node.name));
    }
    const v = a.kind === 'value' ? a.value : (b as { value: Value }).value;
    const w = a.kind === 'const' ? a.weight : (b as { weight: Weight }).weight;
    const c = this.constant(w, v, `${node.name}_const`);
    const x = v.any();
    const names = a.kind === 'value' ? [x, c] : [c, x];
    const rank = v.rank === undefined ? undefined : Math.max(v.rank, w.shape.length);
    return new Value(rank, v.isNchw && rank === 4, this.graph.op(op, names, {}, node.name));
  }
}
