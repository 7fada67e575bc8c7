/**
 * Protocol-neutral inference requests and responses. Protocol adapters decode their wire format
 * into these and encode the answers back; the serving core never sees JSON, protobuf or HTTP.
 */
import type { Tensor } from '../tensors/index.js';

import type { Parameters } from '../core/index.js';

export type { ParameterValue, Parameters } from '../core/index.js';

export interface RequestedOutput {
  readonly name: string;
  /** Classification extension: replace the output by its top-k entries as BYTES. */
  readonly classification?: number | undefined;
}

export interface InferenceRequest {
  readonly model: string;
  /** Undefined lets the server pick the highest READY version. */
  readonly version?: number | undefined;
  readonly id?: string | undefined;
  readonly inputs: readonly Tensor[];
  /** Undefined returns every output of the model. */
  readonly outputs?: readonly RequestedOutput[] | undefined;
  readonly parameters?: Parameters | undefined;
}

export interface InferenceResponse {
  readonly model: string;
  readonly version: number;
  readonly id?: string | undefined;
  readonly outputs: readonly Tensor[];
  readonly parameters?: Parameters | undefined;
}
