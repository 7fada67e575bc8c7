/** One model instance in its own worker thread: the main thread's handle and the worker's side. */
export { InstanceThread, type InstanceThreadErrors } from './instance-thread.js';
export { serveInstance, sendResult, sendRunFailed, errorText, joinBatch, recyclableInputs, lowerComputePriority, type InstanceWorker } from './instance-worker.js';
export { transferableTensors, type InstanceProtocol, type RunMessage, type ResultMessage } from './messages.js';
