/**
 * TF.js model → ONNX, at load time, so a TensorFlow.js model can run on ONNX Runtime.
 *
 * A pure function over the model's artifacts (what tfjs's `io.ModelArtifacts` holds). It never
 * throws: anything it cannot convert, including a malformed topology, comes back as
 * `{ kind: 'unsupported', reason }` for the caller to log before falling back to TF.js.
 *
 * Layout: the ONNX model keeps TF.js's interface (NHWC images, the same input and output names and
 * a dynamic batch dimension); inside, images are NCHW (see layout.ts).
 */
import { convertGraphModel } from './graph-model.js';
import { convertLayersModel } from './layers-model.js';
import { OnnxGraphBuilder } from './onnx-builder.js';
import { UnsupportedModel, asRecord } from './unsupported.js';
import { decodeWeights } from './weights.js';
import { clip } from '../../core/index.js';

export interface TfjsArtifacts {
  modelTopology: unknown;
  format?: string;
  weightSpecs: readonly { name: string; shape: number[]; dtype: string; quantization?: unknown }[];
  weightData: ArrayBuffer;
  signature?: unknown;
  userDefinedMetadata?: unknown;
}

export type OnnxConversion = { kind: 'converted'; onnx: Uint8Array; inputNames: string[]; outputNames: string[] } | { kind: 'unsupported'; reason: string };

export function convertTfjsToOnnx(artifacts: TfjsArtifacts): OnnxConversion {
  try {
    const weights = decodeWeights(artifacts.weightSpecs ?? [], artifacts.weightData);
    const graph = new OnnxGraphBuilder();
    const topology = asRecord(artifacts.modelTopology, 'modelTopology');
    const isGraph = artifacts.format === 'graph-model' || (artifacts.format === undefined && Array.isArray(topology['node']));
    const { inputNames, outputNames } = isGraph ? convertGraphModel(graph, topology, weights, artifacts.signature) : convertLayersModel(graph, topology, weights);
    return { kind: 'converted', onnx: graph.encode(isGraph ? 'tfjs_graph_model' : 'tfjs_layers_model'), inputNames: [...inputNames], outputNames: [...outputNames] };
  } catch (error) {
    if (error instanceof UnsupportedModel) return { kind: 'unsupported', reason: error.message };
    // A topology shaped unlike anything expected (e.g. a string where a list belongs) fails deep
    // inside; it is still only a model we cannot convert.
    return { kind: 'unsupported', reason: `malformed model: ${clip(error instanceof Error ? error.message : String(error), 200)}` };
  }
}
