/** What other folders use of scheduling/ (kept by scripts/index-imports.mjs). */
export { BatchingScheduler, NO_BATCHING } from './batching-scheduler.js';
export type { BatchingOptions } from './batching-scheduler.js';
export type { ExecutionRecord, Scheduler } from './scheduler.js';
export { sequenceFlags } from './sequence-parameters.js';
export type { SequenceFlags } from './sequence-parameters.js';
export { createSequenceScheduler } from './sequence-setup.js';
