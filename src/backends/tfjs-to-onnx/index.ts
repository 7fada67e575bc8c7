/**
 * TF.js model → ONNX, at load time, so a TensorFlow.js model can run on ONNX Runtime: `convertTfjsToOnnx`
 * (pure, never throws) and `convertInWorker` (the same off the calling thread).
 */
export { convertTfjsToOnnx } from './convert.js';
export type { OnnxConversion, TfjsArtifacts } from './convert.js';
export { convertInWorker } from './convert-in-worker.js';
