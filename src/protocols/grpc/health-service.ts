/**
 * `grpc.health.v1.Health/Check`, as Triton serves it next to the inference service: SERVING while
 * the server is live and ready, NOT_SERVING otherwise. The empty service name asks about the whole
 * server; a name the server does not serve fails with NOT_FOUND, as the health protocol specifies.
 */
import * as grpc from '@grpc/grpc-js';
import type { InferenceService } from '../../serving/index.js';

export const HEALTH_SERVICE_NAME = 'grpc.health.v1.Health';

type ServingStatus = 'SERVING' | 'NOT_SERVING';

export function createHealthImplementation(service: InferenceService, servedServices: ReadonlySet<string>): grpc.UntypedServiceImplementation {
  const Check: grpc.handleUnaryCall<{ service: string }, { status: ServingStatus }> = (call, callback) => {
    const name = call.request.service;
    if (name !== '' && !servedServices.has(name)) {
      callback({ code: grpc.status.NOT_FOUND, details: `health check: '${name}' is not a service of this server` });
      return;
    }
    try {
      callback(null, { status: service.live() && service.ready() ? 'SERVING' : 'NOT_SERVING' });
    } catch {
      callback(null, { status: 'NOT_SERVING' });
    }
  };
  return { Check };
}
