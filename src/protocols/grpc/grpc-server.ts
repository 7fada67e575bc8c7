/**
 * Builds the gRPC server of a Cranberries model server: the Open Inference Protocol service
 * (`inference.GRPCInferenceService`), the standard health service and the further services the
 * composition code passes in `services` (TF Serving's PredictionService / ModelService), registered
 * but not bound. The
 * composition code binds the address and port, so tests and the CLI choose where to listen.
 *
 * Message size limits apply both ways; `tritonclient` itself allows up to INT32_MAX, so the limit
 * is the server's choice. A request over the limit fails with RESOURCE_EXHAUSTED.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { InferenceService } from '../../serving/index.js';
import { createHealthImplementation, HEALTH_SERVICE_NAME } from './health-service.js';
import { createOipImplementation, OIP_SERVICE_NAME } from './oip-service.js';
import { oipPackageDefinition, serviceDefinition } from './proto-loader.js';
import { undecodableMessageInterceptor, withTolerantDeserializers } from './undecodable-messages.js';
import { DEFAULT_LISTENER_LIMITS, type GrpcListenerLimits } from '../common/index.js';
import { grpcAccessInterceptor, type AccessPolicy } from '../../access/index.js';
import { logSettingsOf, type LogSettings } from '../../core/index.js';
import type { SharedMemoryRegions } from '../../shared-memory/index.js';

/** A further service to serve next to the inference and health services. */
export interface GrpcServiceRegistration {
  /** Fully qualified name, e.g. `tensorflow.serving.PredictionService` (also answers health checks). */
  readonly name: string;
  readonly definition: grpc.ServiceDefinition;
  readonly implementation: grpc.UntypedServiceImplementation;
}

export interface GrpcServerOptions {
  readonly service: InferenceService;
  /** Largest message accepted or sent, in bytes. */
  readonly maxMessageBytes: number;
  readonly logger?: Logger | undefined;
  /** Further services (protocol families such as TF Serving's), served next to the inference and health services. */
  readonly services?: readonly GrpcServiceRegistration[] | undefined;
  /** Keepalive, idle and age limits, streams per connection. Default `DEFAULT_LISTENER_LIMITS.grpc`. */
  readonly limits?: GrpcListenerLimits | undefined;
  /** Who may call what (`access/`), checked by an interceptor ahead of every method; absent: open. */
  readonly access?: AccessPolicy | undefined;
  /** Serve the logging extension (`LogSettings`) over these settings. Default: the logger's, if it has run-time settings. */
  readonly logSettings?: LogSettings | undefined;
  /** System shared-memory regions (`shared-memory/`); absent: the extension's calls refuse registration. */
  readonly sharedMemory?: SharedMemoryRegions | undefined;
}

export function createGrpcServer(options: GrpcServerOptions): grpc.Server {
  const { service, maxMessageBytes, logger } = options;
  if (!Number.isInteger(maxMessageBytes) || maxMessageBytes <= 0) {
    throw new RangeError(`maxMessageBytes must be a positive integer, got ${maxMessageBytes}`);
  }
  const server = new grpc.Server({
    ...grpcServerLimitOptions(options.limits ?? DEFAULT_LISTENER_LIMITS.grpc),
    'grpc.max_receive_message_length': maxMessageBytes,
    'grpc.max_send_message_length': maxMessageBytes,
    // With the tolerant deserializers below: undecodable requests are INVALID_ARGUMENT, not INTERNAL;
    // then who may call what.
    interceptors: [undecodableMessageInterceptor, ...(options.access && !options.access.open ? [grpcAccessInterceptor(options.access)] : [])],
  });
  const extras = options.services ?? [];
  const served = new Set<string>([OIP_SERVICE_NAME, ...extras.map((extra) => extra.name)]);

  const definitions = oipPackageDefinition();
  server.addService(
    withTolerantDeserializers(serviceDefinition(definitions, OIP_SERVICE_NAME)),
    createOipImplementation(service, logger, options.logSettings ?? logSettingsOf(logger), options.sharedMemory && { regions: options.sharedMemory, maxInputBytes: maxMessageBytes }),
  );
  server.addService(withTolerantDeserializers(serviceDefinition(definitions, HEALTH_SERVICE_NAME)), createHealthImplementation(service, served));
  for (const extra of extras) server.addService(withTolerantDeserializers(extra.definition), extra.implementation);
  return server;
}

/**
 * The grpc-js server options that carry the listener limits grpc-js implements itself (keepalive,
 * idle and age limits, streams per connection). The public gRPC port is a raw HTTP/2 front
 * (`h2-unary-front.ts`) that applies the client-facing limits, connection count included.
 */
export function grpcServerLimitOptions(limits: GrpcListenerLimits): grpc.ServerOptions {
  const options: grpc.ServerOptions = {
    'grpc.max_concurrent_streams': limits.maxConcurrentStreams,
    'grpc.keepalive_timeout_ms': limits.keepaliveTimeoutMs,
  };
  if (limits.keepaliveTimeMs > 0) options['grpc.keepalive_time_ms'] = limits.keepaliveTimeMs;
  if (limits.idleTimeoutMs > 0) options['grpc.max_connection_idle_ms'] = limits.idleTimeoutMs;
  if (limits.maxConnectionAgeMs > 0) {
    options['grpc.max_connection_age_ms'] = limits.maxConnectionAgeMs;
    options['grpc.max_connection_age_grace_ms'] = limits.maxConnectionAgeGraceMs;
  }
  return options;
}
