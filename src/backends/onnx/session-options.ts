/**
 * The ONNX Runtime session options every Cranberries session is created with (and the benchmark's
 * raw ONNX Runtime reference, so both run the same engine the same way).
 *
 * Thread-pool spinning is off: by default ORT's intra-op threads busy-wait for the next parallel
 * section, which on a machine whose cores are shared with the event loop, other sessions and
 * clients steals the CPU those need. Measured on 2 shared cores: with spinning off the MLP ran 2×
 * and ResNet-18 1.3× as many inferences per second.
 */
import type { InferenceSession } from 'onnxruntime-node';

export type GraphOptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';

export function sessionOptions(intraOpThreads: number, graphOptimizationLevel: GraphOptimizationLevel): InferenceSession.SessionOptions {
  return {
    executionProviders: ['cpu'],
    intraOpNumThreads: intraOpThreads,
    interOpNumThreads: 1,
    graphOptimizationLevel,
    executionMode: 'sequential',
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  };
}
