/**
 * ModelInfer on the raw HTTP/2 front (`h2-unary-front.ts`): the same `modelInfer` the grpc-js
 * handler runs (`oip-service.ts`), reached without grpc-js's call machinery.
 */
import type * as grpc from '@grpc/grpc-js';
import type { InferenceService } from '../../serving/index.js';
import type { SharedMemoryAccess } from '../../shared-memory/index.js';
import { REQUEST_ID_HEADER } from '../common/index.js';
import { fastUnaryHandler, type FastUnaryOptions } from './fast-unary.js';
import type { FrontHandler } from './h2-unary-front.js';
import type { WireModelInferRequest, WireModelInferResponse } from './oip-messages.js';
import { modelInfer, OIP_SERVICE_NAME } from './oip-service.js';
import { oipPackageDefinition, serviceDefinition } from './proto-loader.js';

export interface OipFastPathOptions extends FastUnaryOptions {
  /** System shared-memory regions and the bytes one request may read from them; absent: refused, as by the grpc-js handler. */
  readonly sharedMemory?: SharedMemoryAccess | undefined;
}

/** The OIP methods answered on the front, by path: unary ModelInfer. */
export function oipFastPaths(service: InferenceService, options: OipFastPathOptions): Map<string, FrontHandler> {
  const definition = serviceDefinition(oipPackageDefinition(), OIP_SERVICE_NAME)['ModelInfer'] as grpc.MethodDefinition<WireModelInferRequest, WireModelInferResponse>;
  const handler = fastUnaryHandler<WireModelInferRequest, WireModelInferResponse>(
    {
      rpc: 'ModelInfer',
      definition,
      run: (message, call) =>
        modelInfer(service, options.sharedMemory, message, {
          signal: call.signal,
          metadata: call.headers,
          requestIdHeader: call.headers[REQUEST_ID_HEADER],
          sendRequestId: (id) => call.sendMetadata({ [REQUEST_ID_HEADER]: id }),
        }),
    },
    options,
  );
  return new Map([[definition.path, handler]]);
}
