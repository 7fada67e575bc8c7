/**
 * What a model file declares: its inputs and outputs with data types and shapes. Backends read it
 * from the file (`Backend.inspect`); the repository completes a model's config from it (Triton's
 * auto-complete), so the type lives here, below both.
 */
import type { DataType } from '../tensors/index.js';

/** One input or output as the model file declares it. `-1` marks a dimension of any size. */
export interface TensorSignature {
  readonly name: string;
  readonly datatype: DataType;
  readonly shape: readonly number[];
}

export interface ModelSignature {
  readonly inputs: readonly TensorSignature[];
  readonly outputs: readonly TensorSignature[];
}
