/**
 * What a session worker is started with and reports, in the shared instance-thread messages
 * (`../instance-thread`).
 */
import type { GraphOptimizationLevel } from './session-options.js';

export interface SessionWorkerData {
  readonly modelPath: string;
  /** The model itself, when it comes as bytes (a conversion) rather than from `modelPath`. */
  readonly modelBytes?: Uint8Array | undefined;
  readonly intraOpThreads: number;
  readonly graphOptimizationLevel: GraphOptimizationLevel;
  /** Run the model once on zeros after creating the session: the first run is the slowest. */
  readonly warmup: boolean;
}

/** What ONNX Runtime reports about one input or output; converted to a signature on the main thread. */
export interface RawValueMetadata {
  readonly name: string;
  readonly isTensor: boolean;
  readonly type?: string | undefined;
  readonly shape?: readonly (number | string)[] | undefined;
}

export interface SessionMetadata {
  readonly inputs: readonly RawValueMetadata[];
  readonly outputs: readonly RawValueMetadata[];
}

export interface SessionProtocol {
  readonly data: SessionWorkerData;
  readonly loaded: SessionMetadata;
  readonly released: undefined;
  /** ONNX Runtime's message. */
  readonly runError: string;
}
