import type { OnnxGraphBuilder } from './onnx-builder.js';
import type { ConvertedGraph } from './layers-model.js';
import type { Weight } from './weights.js';
import { unsupported } from './unsupported.js';

export function convertGraphModel(_graph: OnnxGraphBuilder, _topology: Record<string, unknown>, _weights: ReadonlyMap<string, Weight>, _signature: unknown): ConvertedGraph {
  return unsupported('graph models are not converted yet');
}
