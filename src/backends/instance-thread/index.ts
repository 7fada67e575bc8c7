/** One model instance in its own worker thread: the main thread's handle and the worker's side. */
export { InstanceThread, type InstanceThreadErrors } from './instance-thread.js';
export { serveInstance, sendBatchResult, sendResult, sendRunFailed, errorText, joinBatch, lowerComputePriority, type InstanceWorker } from './instance-worker.js';
export { transferableTensors, type InstanceProtocol, type RunMessage, type ResultMessage } from './messages.js';
