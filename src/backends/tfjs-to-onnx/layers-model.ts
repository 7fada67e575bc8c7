/**
 * Keras / TF.js layers models (`format: 'layers-model'`) → ONNX.
 *
 * The topology is Keras JSON: `{class_name: 'Model' | 'Functional' | 'Sequential', config}`,
 * possibly wrapped in `{model_config}` (files converted from Keras h5). Functional models wire layers
 * through `inbound_nodes` (the Keras 2 list form `[[layer, nodeIndex, tensorIndex, kwargs], ...]` or
 * the Keras 3 `{args: [{config: {keras_history}}]}` form); Sequential models chain their layers.
 * Layers called more than once (shared layers) and nested models are reported unsupported.
 *
 * ONNX graph inputs and outputs are named as TF.js names them: functional inputs and outputs by
 * their layer names (`input_layers`, `output_layers`); a Sequential model's input by its InputLayer,
 * or `<first layer name>_input` when it has none; its output by its last layer.
 */
import { applyActivation, clip } from './activations.js';
import type { OnnxGraphBuilder } from './onnx-builder.js';
import { Value, onnxAxis, permute } from './layout.js';
import type { Weight } from './weights.js';
import { asArray, asInt, asRecord, asString, intTuple, quoted, unsupported } from './unsupported.js';

interface LayerSpec {
  name: string;
  className: string;
  config: Record<string, unknown>;
  /** Names of the layers feeding this one (output 0 of node 0 each). */
  inbound: string[];
}

export interface ConvertedGraph {
  inputNames: string[];
  outputNames: string[];
}

export function convertLayersModel(graph: OnnxGraphBuilder, topology: unknown, weights: ReadonlyMap<string, Weight>): ConvertedGraph {
  const top = asRecord(topology, 'modelTopology');
  const model = asRecord(top['model_config'] ?? top, 'model config');
  const className = asString(model['class_name'], 'model class_name');
  const { layers, inputs, outputs } =
    className === 'Sequential'
      ? sequentialLayers(model['config'])
      : className === 'Model' || className === 'Functional'
        ? functionalLayers(model['config'])
        : unsupported(`model class ${quoted(className)} is not Sequential or Functional`);

  const byName = new Map<string, LayerSpec>();
  for (const layer of layers) {
    if (byName.has(layer.name)) unsupported(`malformed model: two layers are named ${quoted(layer.name)}`);
    byName.set(layer.name, layer);
  }
  for (const name of [...inputs, ...outputs]) graph.reserve(name);

  const converter = new LayerConverter(graph, weights);
  const values = new Map<string, Value>();
  const inProgress = new Set<string>();
  const valueOf = (name: string): Value => {
    const known = values.get(name);
    if (known !== undefined) return known;
    const layer = byName.get(name) ?? unsupported(`malformed model: no layer named ${quoted(name)}`);
    if (inProgress.has(name)) unsupported(`malformed model: layer ${quoted(name)} feeds itself`);
    inProgress.add(name);
    let value: Value;
    if (layer.className === 'InputLayer') {
      if (!inputs.includes(name)) unsupported(`InputLayer ${quoted(name)} is not a model input`);
      value = converter.input(layer);
    } else {
      value = converter.layer(
        layer,
        layer.inbound.map((source) => valueOf(source)),
      );
    }
    values.set(name, value);
    return value;
  };
  for (const input of inputs) {
    const layer = byName.get(input);
    if (layer?.className !== 'InputLayer') unsupported(`malformed model: input ${quoted(input)} is not an InputLayer`);
  }
  for (const output of outputs) {
    const value = valueOf(output);
    graph.op('Identity', [value.tf(graph)], {}, output, output);
    graph.addOutput(output);
  }
  return { inputNames: inputs, outputNames: outputs };
}

function layerSpec(raw: unknown, index: number): Omit<LayerSpec, 'inbound'> & { rawInbound: unknown } {
  const layer = asRecord(raw, `layer ${index}`);
  const config = asRecord(layer['config'] ?? {}, `config of layer ${index}`);
  const name = asString(layer['name'] ?? config['name'], `name of layer ${index}`);
  return { name, className: asString(layer['class_name'], `class_name of layer ${quoted(name)}`), config, rawInbound: layer['inbound_nodes'] };
}

function sequentialLayers(rawConfig: unknown): { layers: LayerSpec[]; inputs: string[]; outputs: string[] } {
  const rawLayers = Array.isArray(rawConfig) ? rawConfig : asArray(asRecord(rawConfig, 'Sequential config')['layers'], 'Sequential layers');
  const parsed = rawLayers.map(layerSpec);
  const first = parsed[0] ?? unsupported('malformed model: a Sequential model without layers');
  const layers: LayerSpec[] = [];
  let previous: string;
  if (first.className === 'InputLayer') {
    previous = first.name;
    layers.push({ ...first, inbound: [] });
    parsed.shift();
  } else {
    // TF.js names the implicit input `<first layer>_input` and takes its shape from the first layer.
    previous = `${first.name}_input`;
    const shape = first.config['batch_input_shape'] ?? first.config['batch_shape'];
    if (shape === undefined) unsupported(`malformed model: first layer ${quoted(first.name)} has no batch_input_shape`);
    layers.push({ name: previous, className: 'InputLayer', config: { batch_input_shape: shape }, inbound: [] });
  }
  for (const layer of parsed) {
    layers.push({ ...layer, inbound: [previous] });
    previous = layer.name;
  }
  return { layers, inputs: [layers[0]?.name as string], outputs: [previous] };
}

function functionalLayers(rawConfig: unknown): { layers: LayerSpec[]; inputs: string[]; outputs: string[] } {
  const config = asRecord(rawConfig, 'model config');
  const layers = asArray(config['layers'], 'layers').map((raw, i): LayerSpec => {
    const { rawInbound, ...layer } = layerSpec(raw, i);
    return { ...layer, inbound: inboundLayers(rawInbound, layer.name) };
  });
  return { layers, inputs: endpointNames(config['input_layers'], 'input_layers'), outputs: endpointNames(config['output_layers'], 'output_layers') };
}

/** `[[name, 0, 0], ...]` (or a single `[name, 0, 0]`) → names; only node 0, tensor 0 endpoints. */
function endpointNames(raw: unknown, what: string): string[] {
  const list = asArray(raw, what);
  const entries = typeof list[0] === 'string' ? [list] : list;
  return entries.map((entry) => {
    const [name, node, tensor] = asArray(entry, what);
    if (node !== 0 || tensor !== 0) unsupported(`${what} entry ${quoted(name)} uses node ${String(node)} tensor ${String(tensor)}; only single-use layers convert`);
    return asString(name, what);
  });
}

function inboundLayers(raw: unknown, layer: string): string[] {
  const nodes = asArray(raw ?? [], `inbound_nodes of ${quoted(layer)}`);
  if (nodes.length === 0) return [];
  if (nodes.length > 1) unsupported(`layer ${quoted(layer)} is called ${nodes.length} times; shared layers do not convert`);
  const node = nodes[0];
  const endpoints: unknown[] = [];
  if (Array.isArray(node)) {
    endpoints.push(...(node as unknown[]));
  } else {
    // Keras 3: {args: [keras tensor | [keras tensors]], kwargs}; a keras tensor is {config: {keras_history: [name, node, tensor]}}.
    const args = asArray(asRecord(node, `inbound node of ${quoted(layer)}`)['args'], `inbound args of ${quoted(layer)}`);
    for (const arg of args.flatMap((a): unknown[] => (Array.isArray(a) ? (a as unknown[]) : [a]))) {
      endpoints.push(asRecord(asRecord(arg, `inbound arg of ${quoted(layer)}`)['config'], `inbound arg of ${quoted(layer)}`)['keras_history']);
    }
  }
  return endpoints.map((endpoint) => {
    const [name, node, tensor] = asArray(endpoint, `inbound of ${quoted(layer)}`);
    if (node !== 0 || tensor !== 0) unsupported(`layer ${quoted(layer)} takes output ${String(tensor)} of node ${String(node)} of ${quoted(name)}; only single-use, single-output layers convert`);
    return asString(name, `inbound of ${quoted(layer)}`);
  });
}

class LayerConverter {
  constructor(
    private readonly graph: OnnxGraphBuilder,
    private readonly weights: ReadonlyMap<string, Weight>,
  ) {}

  input(layer: LayerSpec): Value {
    const shape = asArray(layer.config['batch_input_shape'] ?? layer.config['batch_shape'], `batch_input_shape of ${quoted(layer.name)}`);
    const dims = shape.map((d) => (d === null ? null : asInt(d, `batch_input_shape of ${quoted(layer.name)}`)));
    const dtype = layer.config['dtype'] ?? 'float32';
    if (dtype !== 'float32') unsupported(`input ${quoted(layer.name)} has dtype ${quoted(dtype)}; only float32 inputs convert`);
    if (dims.length < 1 || dims[0] !== null) unsupported(`input ${quoted(layer.name)} has no batch dimension`);
    this.graph.addInput(layer.name, dims);
    return new Value(dims.length, false, layer.name);
  }

  layer(layer: LayerSpec, inputs: Value[]): Value {
    const { className, config, name } = layer;
    if (config['data_format'] !== undefined && config['data_format'] !== 'channels_last') {
      unsupported(`layer ${quoted(name)} (${className}) uses data_format ${quoted(config['data_format'])}; only channels_last converts`);
    }
    const single = (): Value => {
      if (inputs.length !== 1) unsupported(`layer ${quoted(name)} (${className}) has ${inputs.length} inputs, expected 1`);
      return inputs[0] as Value;
    };
    switch (className) {
      case 'Conv2D':
      case 'DepthwiseConv2D':
      case 'SeparableConv2D':
        return this.conv(layer, single());
      case 'BatchNormalization':
        return this.batchNorm(layer, single());
      case 'Dense':
        return this.dense(layer, single());
      case 'Activation': {
        const x = single();
        return this.activated(x.rank, x.isNchw, x.any(), config['activation'], name);
      }
      case 'ReLU':
        return this.relu(layer, single());
      case 'LeakyReLU': {
        const x = single();
        const alpha = typeof config['alpha'] === 'number' ? config['alpha'] : typeof config['negative_slope'] === 'number' ? config['negative_slope'] : 0.3;
        return new Value(x.rank, x.isNchw, this.graph.op('LeakyRelu', [x.any()], { alpha: { float: alpha } }, name));
      }
      case 'Softmax': {
        const x = single();
        const axis = config['axis'] ?? -1;
        return this.activated(x.rank, x.isNchw, x.any(), 'softmax', name, asInt(axis, `axis of ${quoted(name)}`));
      }
      case 'MaxPooling2D':
      case 'AveragePooling2D':
        return this.pool(layer, single());
      case 'GlobalAveragePooling2D':
      case 'GlobalMaxPooling2D': {
        const x = single();
        if (x.rank !== 4) unsupported(`layer ${quoted(name)} (${className}) needs a rank-4 input`);
        const pooled = this.graph.op(className === 'GlobalAveragePooling2D' ? 'GlobalAveragePool' : 'GlobalMaxPool', [x.nchw(this.graph)], {}, name);
        if (config['keepdims'] === true) return new Value(4, true, pooled);
        return new Value(2, false, this.graph.op('Flatten', [pooled], { axis: 1 }, name));
      }
      case 'Concatenate':
        return this.concat(layer, inputs);
      case 'Add':
      case 'Multiply':
      case 'Average':
      case 'Maximum':
      case 'Minimum':
        return this.merge(layer, inputs);
      case 'ZeroPadding2D':
        return this.zeroPadding(layer, single());
      case 'Flatten': {
        const x = single();
        return new Value(2, false, this.graph.op('Flatten', [x.tf(this.graph)], { axis: 1 }, name));
      }
      case 'Reshape': {
        const x = single();
        const target = asArray(config['target_shape'], `target_shape of ${quoted(name)}`).map((d) => asInt(d, `target_shape of ${quoted(name)}`));
        // 0 copies the batch dimension (allowzero = 0); a -1 in target_shape is inferred.
        const shape = this.graph.int64Const(`${name}_shape`, [0, ...target]);
        return new Value(target.length + 1, false, this.graph.op('Reshape', [x.tf(this.graph), shape], {}, name));
      }
      case 'Dropout':
      case 'SpatialDropout2D':
      case 'GaussianNoise':
      case 'GaussianDropout':
      case 'AlphaDropout':
        // Inference: identity.
        return single();
      default:
        return unsupported(`layer ${quoted(name)} of class ${quoted(className)} has no ONNX conversion`);
    }
  }

  /** `name/weightName`, or `name/<cell>/weightName` (TF ≥ 2.2 adds cell names). */
  private weight(layer: string, weightName: string, shape?: readonly number[]): Weight {
    let found = this.weights.get(`${layer}/${weightName}`);
    if (found === undefined) {
      for (const [key, value] of this.weights) {
        if (key.startsWith(`${layer}/`) && key.endsWith(`/${weightName}`) && key.split('/').length === 3) found = value;
      }
    }
    if (found === undefined) return unsupported(`malformed model: weight ${quoted(`${layer}/${weightName}`)} is missing`);
    if (found.dtype !== 'float32') unsupported(`weight ${quoted(`${layer}/${weightName}`)} has dtype ${quoted(found.dtype)}; layers take float32 weights`);
    if (shape !== undefined && (found.shape.length !== shape.length || found.shape.some((d, i) => d !== shape[i]))) {
      unsupported(`malformed model: weight ${quoted(`${layer}/${weightName}`)} has shape [${found.shape.join(', ')}], expected [${shape.join(', ')}]`);
    }
    return found;
  }

  private activated(rank: number | undefined, nchw: boolean, input: string, activation: unknown, layer: string, axis = -1): Value {
    const softmaxAxis = onnxAxis(axis, rank ?? 2, nchw);
    return new Value(rank, nchw, applyActivation(this.graph, activation, input, softmaxAxis, `layer ${quoted(layer)}`));
  }

  private conv(layer: LayerSpec, x: Value): Value {
    const { className, config, name } = layer;
    if (x.rank !== 4) unsupported(`layer ${quoted(name)} (${className}) needs a rank-4 input`);
    const kernel = intTuple(config['kernel_size'], 2, `kernel_size of ${quoted(name)}`);
    const strides = intTuple(config['strides'] ?? 1, 2, `strides of ${quoted(name)}`);
    const dilations = intTuple(config['dilation_rate'] ?? 1, 2, `dilation_rate of ${quoted(name)}`);
    const groups = config['groups'] ?? 1;
    if (groups !== 1) unsupported(`layer ${quoted(name)} uses groups=${JSON.stringify(groups)}`);
    const attributes = { kernel_shape: kernel, strides, dilations, ...convPadding(config['padding'], kernel, strides, dilations, name) };
    const useBias = config['use_bias'] !== false;
    let y: string;
    if (className === 'Conv2D') {
      const w = this.weight(name, 'kernel');
      const [kh, kw, inC, outC] = w.shape as [number, number, number, number];
      if (w.shape.length !== 4 || kh !== kernel[0] || kw !== kernel[1]) unsupported(`malformed model: kernel of ${quoted(name)} does not match kernel_size`);
      const weight = this.graph.floatConst(`${name}_W`, [outC, inC, kh, kw], permute(w.values, w.shape, [3, 2, 0, 1]));
      const inputs = [x.nchw(this.graph), weight];
      if (useBias) inputs.push(this.graph.floatConst(`${name}_B`, [outC], this.weight(name, 'bias', [outC]).values));
      y = this.graph.op('Conv', inputs, attributes, name);
    } else {
      // Depthwise: filter [kh, kw, in, multiplier] → ONNX [in·multiplier, 1, kh, kw] with group = in;
      // TF's output channel c·multiplier + m is ONNX group c's m-th output, the same order.
      const w = this.weight(name, 'depthwise_kernel');
      const [kh, kw, inC, multiplier] = w.shape as [number, number, number, number];
      if (w.shape.length !== 4 || kh !== kernel[0] || kw !== kernel[1]) unsupported(`malformed model: depthwise_kernel of ${quoted(name)} does not match kernel_size`);
      const weight = this.graph.floatConst(`${name}_DW`, [inC * multiplier, 1, kh, kw], permute(w.values, w.shape, [2, 3, 0, 1]));
      const inputs = [x.nchw(this.graph), weight];
      if (className === 'DepthwiseConv2D') {
        if (useBias) inputs.push(this.graph.floatConst(`${name}_B`, [inC * multiplier], this.weight(name, 'bias', [inC * multiplier]).values));
        y = this.graph.op('Conv', inputs, { ...attributes, group: inC }, name);
      } else {
        const depthwise = this.graph.op('Conv', inputs, { ...attributes, group: inC }, `${name}_depthwise`);
        const p = this.weight(name, 'pointwise_kernel');
        const outC = p.shape[3] as number;
        if (p.shape.length !== 4 || p.shape[0] !== 1 || p.shape[1] !== 1 || p.shape[2] !== inC * multiplier) unsupported(`malformed model: pointwise_kernel of ${quoted(name)} has a bad shape`);
        const pointwise = [depthwise, this.graph.floatConst(`${name}_PW`, [outC, inC * multiplier, 1, 1], permute(p.values, p.shape, [3, 2, 0, 1]))];
        if (useBias) pointwise.push(this.graph.floatConst(`${name}_B`, [outC], this.weight(name, 'bias', [outC]).values));
        y = this.graph.op('Conv', pointwise, { kernel_shape: [1, 1] }, name);
      }
    }
    return this.activated(4, true, y, config['activation'], name);
  }

  private batchNorm(layer: LayerSpec, x: Value): Value {
    const { config, name } = layer;
    const axisConfig: unknown = config['axis'] ?? -1;
    const rawAxis: unknown = Array.isArray(axisConfig) && axisConfig.length === 1 ? (axisConfig[0] as unknown) : axisConfig;
    const axis = asInt(rawAxis, `axis of ${quoted(name)}`);
    const rank = x.rank ?? unsupported(`layer ${quoted(name)} (BatchNormalization) input of unknown rank`);
    if (axis !== -1 && axis !== rank - 1) unsupported(`layer ${quoted(name)} (BatchNormalization) normalises axis ${axis}; only the last (channel) axis converts`);
    const mean = this.weight(name, 'moving_mean');
    const channels = mean.values.length;
    const variance = this.weight(name, 'moving_variance', [channels]);
    const gamma = config['scale'] === false ? new Float32Array(channels).fill(1) : this.weight(name, 'gamma', [channels]).values;
    const beta = config['center'] === false ? new Float32Array(channels) : this.weight(name, 'beta', [channels]).values;
    const epsilon = typeof config['epsilon'] === 'number' ? config['epsilon'] : 1e-3;
    if (rank === 4 || rank === 2) {
      const input = rank === 4 ? x.nchw(this.graph) : x.tf(this.graph);
      const consts = [gamma, beta, mean.values, variance.values].map((values, i) => this.graph.floatConst(`${name}_${['scale', 'bias', 'mean', 'var'][i]}`, [channels], values));
      return new Value(rank, rank === 4, this.graph.op('BatchNormalization', [input, ...consts], { epsilon: { float: epsilon } }, name));
    }
    // Other ranks: y = x·a + b on the last axis, a = γ/√(σ²+ε), b = β − μ·a.
    const a = new Float32Array(channels);
    const b = new Float32Array(channels);
    for (let c = 0; c < channels; c++) {
      a[c] = (gamma[c] as number) / Math.sqrt((variance.values[c] as number) + epsilon);
      b[c] = (beta[c] as number) - (mean.values[c] as number) * (a[c] as number);
    }
    const scaled = this.graph.op('Mul', [x.tf(this.graph), this.graph.floatConst(`${name}_a`, [channels], a)], {}, name);
    return new Value(rank, false, this.graph.op('Add', [scaled, this.graph.floatConst(`${name}_b`, [channels], b)], {}, name));
  }

  private dense(layer: LayerSpec, x: Value): Value {
    const { config, name } = layer;
    const w = this.weight(name, 'kernel');
    if (w.shape.length !== 2) unsupported(`malformed model: kernel of ${quoted(name)} is not 2-D`);
    const [inUnits, units] = w.shape as [number, number];
    let y = this.graph.op('MatMul', [x.tf(this.graph), this.graph.floatConst(`${name}_W`, [inUnits, units], w.values)], {}, name);
    if (config['use_bias'] !== false) y = this.graph.op('Add', [y, this.graph.floatConst(`${name}_B`, [units], this.weight(name, 'bias', [units]).values)], {}, name);
    return this.activated(x.rank, false, y, config['activation'], name);
  }

  private relu(layer: LayerSpec, x: Value): Value {
    const { config, name } = layer;
    const maxValue = config['max_value'] ?? null;
    const slope = config['negative_slope'] ?? 0;
    const threshold = config['threshold'] ?? 0;
    if (slope !== 0 || threshold !== 0) unsupported(`layer ${quoted(name)} (ReLU) with negative_slope or threshold has no ONNX conversion`);
    if (maxValue === null) return new Value(x.rank, x.isNchw, this.graph.op('Relu', [x.any()], {}, name));
    if (typeof maxValue !== 'number') return unsupported(`malformed model: max_value of ${quoted(name)} is not a number`);
    return new Value(x.rank, x.isNchw, clip(this.graph, x.any(), 0, maxValue));
  }

  private pool(layer: LayerSpec, x: Value): Value {
    const { className, config, name } = layer;
    if (x.rank !== 4) unsupported(`layer ${quoted(name)} (${className}) needs a rank-4 input`);
    const kernel = intTuple(config['pool_size'] ?? 2, 2, `pool_size of ${quoted(name)}`);
    const strides = intTuple(config['strides'] ?? kernel, 2, `strides of ${quoted(name)}`);
    const attributes: Record<string, number | number[] | string> = { kernel_shape: kernel, strides, ...padding(config['padding'], name) };
    // TF averages over the window's valid cells only: ONNX count_include_pad = 0 (the default).
    if (className === 'AveragePooling2D') attributes['count_include_pad'] = 0;
    return new Value(4, true, this.graph.op(className === 'MaxPooling2D' ? 'MaxPool' : 'AveragePool', [x.nchw(this.graph)], attributes, name));
  }

  /** Inputs in one layout: NCHW if any input already is (all rank 4), else the TF layout. */
  private aligned(inputs: Value[], layer: LayerSpec): { names: string[]; nchw: boolean; rank: number | undefined } {
    if (inputs.length < 1) unsupported(`layer ${quoted(layer.name)} (${layer.className}) has no inputs`);
    const rank = inputs[0]?.rank;
    if (inputs.some((v) => v.rank !== rank)) unsupported(`layer ${quoted(layer.name)} (${layer.className}) merges inputs of different ranks`);
    const nchw = rank === 4 && inputs.some((v) => v.isNchw);
    return { names: inputs.map((v) => (nchw ? v.nchw(this.graph) : v.tf(this.graph))), nchw, rank };
  }

  private concat(layer: LayerSpec, inputs: Value[]): Value {
    const { names, nchw, rank } = this.aligned(inputs, layer);
    const axis = asInt(layer.config['axis'] ?? -1, `axis of ${quoted(layer.name)}`);
    const onnx = onnxAxis(axis, rank ?? unsupported(`layer ${quoted(layer.name)} input of unknown rank`), nchw);
    return new Value(rank, nchw, this.graph.op('Concat', names, { axis: onnx }, layer.name));
  }

  private merge(layer: LayerSpec, inputs: Value[]): Value {
    const { names, nchw, rank } = this.aligned(inputs, layer);
    const op = { Add: 'Sum', Multiply: 'Mul', Average: 'Mean', Maximum: 'Max', Minimum: 'Min' }[layer.className] as string;
    if (op === 'Mul' && names.length > 2) {
      let product = names[0] as string;
      for (const next of names.slice(1)) product = this.graph.op('Mul', [product, next], {}, layer.name);
      return new Value(rank, nchw, product);
    }
    return new Value(rank, nchw, this.graph.op(op, names, {}, layer.name));
  }

  private zeroPadding(layer: LayerSpec, x: Value): Value {
    const { config, name } = layer;
    if (x.rank !== 4) unsupported(`layer ${quoted(name)} (ZeroPadding2D) needs a rank-4 input`);
    const raw = config['padding'] ?? 1;
    let top: number, bottom: number, left: number, right: number;
    if (typeof raw === 'number') {
      top = bottom = left = right = asInt(raw, `padding of ${quoted(name)}`);
    } else {
      const [h, w] = asArray(raw, `padding of ${quoted(name)}`);
      [top, bottom] = intTuple(h, 2, `padding of ${quoted(name)}`) as [number, number];
      [left, right] = intTuple(w, 2, `padding of ${quoted(name)}`) as [number, number];
    }
    const pads = this.graph.int64Const(`${name}_pads`, [0, 0, top, left, 0, 0, bottom, right]);
    return new Value(4, true, this.graph.op('Pad', [x.nchw(this.graph), pads], {}, name));
  }
}

/**
 * TF 'valid' → no padding; 'same' → ONNX SAME_UPPER, which pads
 * max((⌈in/stride⌉−1)·stride + (k−1)·dilation + 1 − in, 0) in total with the odd cell at the end,
 * as TF does, and is computed by ONNX Runtime from the actual input size (so any image size works).
 */
export function padding(value: unknown, layer: string): Record<string, string> {
  if (value === 'valid' || value === undefined) return { auto_pad: 'VALID' };
  if (value === 'same') return { auto_pad: 'SAME_UPPER' };
  return unsupported(`layer ${quoted(layer)} uses padding ${quoted(value)}; only 'same' and 'valid' convert`);
}

/**
 * Convolution padding. ONNX Runtime refuses SAME_UPPER with dilation > 1, and TF allows dilation > 1
 * only with stride 1, where 'same' pads (k−1)·dilation in total whatever the input size: explicit
 * pads then (the odd cell at the end, as TF). Strided 'same' stays SAME_UPPER.
 */
function convPadding(value: unknown, kernel: readonly number[], strides: readonly number[], dilations: readonly number[], layer: string): Record<string, string | number[]> {
  if (value !== 'same' || strides.some((s) => s !== 1)) return padding(value, layer);
  const totals = kernel.map((k, i) => (k - 1) * (dilations[i] as number));
  const begins = totals.map((t) => Math.floor(t / 2));
  return { pads: [...begins, ...totals.map((t, i) => t - (begins[i] as number))] };
}
