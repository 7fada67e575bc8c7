/**
 * TF.js model → ONNX conversion, used at load time by the TensorFlow.js backend
 * (`convert_to_onnx` parameter, see backends/tfjs/runtime-choice.ts).
 *
 * PLACEHOLDER: this build has no converter, so every model is `unsupported` and TF.js models run on
 * TensorFlow.js. The real converter (a pure module with this exact interface) replaces this file
 * when its branch is merged; nothing else changes.
 */

/** A TF.js model as read from `model.json` and its weight shards (tf.io.ModelArtifacts' fields). */
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
  void artifacts;
  return { kind: 'unsupported', reason: 'no TF.js to ONNX converter in this build' };
}
