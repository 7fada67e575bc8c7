/**
 * The worker side of `convertInWorker`: converts the artifacts it is given and posts the result back,
 * the ONNX bytes transferred rather than copied.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { convertTfjsToOnnx, type TfjsArtifacts } from './convert.js';

const conversion = convertTfjsToOnnx(workerData as TfjsArtifacts);
parentPort!.postMessage(conversion, conversion.kind === 'converted' ? [conversion.onnx.buffer as ArrayBuffer] : []);
