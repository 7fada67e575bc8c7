/**
 * TF Serving's Predict on the raw HTTP/2 front (`protocols/grpc`'s `H2UnaryFront`): the same
 * `predict` the grpc-js handler runs (`tfs-grpc-service.ts`), reached without grpc-js's call
 * machinery. The other TF Serving methods stay on grpc-js.
 */
import type * as grpc from '@grpc/grpc-js';
import { fastUnaryHandler, serviceDefinition, tfServingPackageDefinition, type FastUnaryOptions, type FrontHandler } from '../grpc/index.js';
import type { InferenceService } from '../../serving/index.js';
import type { TensorSerialization } from './tensor-proto-codec.js';
import { TENSOR_SERIALIZATION_HEADER } from './tensor-serialization.js';
import { PREDICTION_SERVICE_NAME, predict } from './tfs-grpc-service.js';
import type { WirePredictRequest, WirePredictResponse } from './tfs-messages.js';
import { TfServingOperations } from './tfs-operations.js';

export interface TfServingFastPathOptions extends FastUnaryOptions {
  /** Bytes one request's tensors may take once `*_val` lists are expanded (as `tfServingGrpcServices`). */
  readonly maxDecodedBytes: number;
  /** How answers carry numbers unless the call asks (as `tfServingGrpcServices`). */
  readonly serialization: TensorSerialization;
}

/** The TF Serving methods answered on the front, by path: Predict. */
export function tfServingFastPaths(service: InferenceService, options: TfServingFastPathOptions): Map<string, FrontHandler> {
  const operations = new TfServingOperations(service);
  const definition = serviceDefinition(tfServingPackageDefinition(), PREDICTION_SERVICE_NAME)['Predict'] as grpc.MethodDefinition<WirePredictRequest, WirePredictResponse>;
  const handler = fastUnaryHandler<WirePredictRequest, WirePredictResponse>(
    {
      rpc: 'Predict',
      definition,
      run: (request, call) => predict(operations, request, { signal: call.signal }, headerValues(call.headers[TENSOR_SERIALIZATION_HEADER]), options.serialization, options.maxDecodedBytes),
    },
    options,
  );
  return new Map([[definition.path, handler]]);
}

/** A header's values as grpc-js's `Metadata.get` lists them. */
function headerValues(value: string | string[] | undefined): readonly string[] {
  if (value === undefined) return [];
  return typeof value === 'string' ? [value] : value;
}
