import type { OnnxGraphBuilder } from './onnx-builder.js';
import { quoted, unsupported } from './unsupported.js';

/**
 * Applies a Keras / TF.js activation by name to `input`. `softmaxAxis` is the ONNX axis of the
 * TF last axis in the value's layout. Returns the output name (`input` itself for linear).
 */
export function applyActivation(graph: OnnxGraphBuilder, activation: unknown, input: string, softmaxAxis: number, where: string): string {
  // Keras files say 'hard_sigmoid', TF.js saves 'hardSigmoid': compare without case and underscores.
  const name = activation === null || activation === undefined ? 'linear' : typeof activation === 'string' ? activation.replaceAll('_', '').toLowerCase() : activation;
  switch (name) {
    case 'linear':
      return input;
    case 'relu':
      return graph.op('Relu', [input]);
    case 'relu6':
      return clip(graph, input, 0, 6);
    case 'sigmoid':
      return graph.op('Sigmoid', [input]);
    case 'tanh':
      return graph.op('Tanh', [input]);
    case 'softmax':
      return graph.op('Softmax', [input], { axis: softmaxAxis });
    case 'elu':
      return graph.op('Elu', [input], { alpha: { float: 1 } });
    case 'selu':
      return graph.op('Selu', [input], { alpha: { float: 1.6732632423543772 }, gamma: { float: 1.0507009873554805 } });
    case 'softplus':
      return graph.op('Softplus', [input]);
    case 'softsign':
      return graph.op('Softsign', [input]);
    case 'hardsigmoid':
      // TF.js: clip(0.2 * x + 0.5, 0, 1)
      return graph.op('HardSigmoid', [input], { alpha: { float: 0.2 }, beta: { float: 0.5 } });
    case 'swish':
      return graph.op('Mul', [input, graph.op('Sigmoid', [input])], {}, 'Swish');
    case 'mish':
      return graph.op('Mul', [input, graph.op('Tanh', [graph.op('Softplus', [input])])], {}, 'Mish');
    case 'gelu': {
      // TF.js: 0.5 · x · (1 + erf(x / √2))
      const erf = graph.op('Erf', [graph.op('Mul', [input, graph.floatConst('inv_sqrt2', [], Float32Array.of(Math.SQRT1_2))])]);
      const half = graph.op('Mul', [input, graph.floatConst('half', [], Float32Array.of(0.5))]);
      return graph.op('Mul', [half, graph.op('Add', [erf, graph.floatConst('one', [], Float32Array.of(1))])], {}, 'Gelu');
    }
    default:
      return unsupported(`activation ${quoted(activation)} of ${where} has no ONNX conversion`);
  }
}

export function clip(graph: OnnxGraphBuilder, input: string, min: number, max: number): string {
  return graph.op('Clip', [input, graph.floatConst('clip_min', [], Float32Array.of(min)), graph.floatConst('clip_max', [], Float32Array.of(max))]);
}
