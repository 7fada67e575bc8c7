/** What other folders use of backends/ (kept by scripts/index-imports.mjs). */
export { BackendRegistry } from './backend-registry.js';
export type { TensorSignature, ModelInstance, ExecutionTiming, ModelSignature, LoadedModel, Backend } from './backend.js';
export { OnnxBackend } from './onnx/onnx-backend.js';
export type { InstanceEvents } from './onnx/timed-instance.js';
export { PythonBackend } from './python/python-backend.js';
export { TfjsBackend } from './tfjs/tfjs-backend.js';
export { JavaScriptBackend } from './javascript/javascript-backend.js';
