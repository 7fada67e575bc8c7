/**
 * Handlers of `inference.GRPCInferenceService` (Open Inference Protocol + Triton extensions) on top
 * of the InferenceService façade. Each handler decodes its message, calls the façade and encodes the
 * answer; failures become gRPC statuses in `status-mapping.ts`. System shared memory is served by
 * `shared-memory/` (CUDA shared memory as Triton without GPUs answers it); `LogSettings` is answered
 * UNIMPLEMENTED when the server has no run-time log settings (`core/log-settings.ts`).
 */
import type { IncomingHttpHeaders } from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { CranberriesError } from '../../core/index.js';
import type { InferenceService, ModelStatistics, RequestContext, StatisticDuration } from '../../serving/index.js';
import type { ModelConfig } from '../../repository/index.js';
import { callContext } from './call-context.js';
import { decodeInferRequest, decodeModelVersion, encodeInferResponse, requireModelName } from './oip-infer-codec.js';
import type {
  WireModelInferRequest,
  WireModelInferResponse,
  WireModelMetadataResponse,
  WireModelRef,
  WireModelIndex,
  WireRepositoryIndexRequest,
  WireRepositoryModelRequest,
  WireStatisticDuration,
} from './oip-messages.js';
import { decodeLoadOptions, encodeModelIndex } from './oip-repository.js';
import { createStreamInferHandler } from './oip-stream.js';
import { logFailure, toServiceError } from './status-mapping.js';
import { echoRequestId, failedInference } from './request-tracking.js';
import { REQUEST_ID_HEADER, resolveRequestId } from '../common/index.js';
import type { LogSettings } from '../../core/index.js';
import { handleLogSettings, type WireLogSettings } from './oip-logging.js';
import {
  cudaShmRegister,
  cudaShmStatus,
  cudaShmUnregister,
  refusingSharedMemory,
  sharedMemoryUse,
  systemShmRegister,
  systemShmStatus,
  systemShmUnregister,
  type SharedMemoryAccess,
  type WireSystemShmRegisterRequest,
  type WireSystemShmStatusRequest,
} from '../../shared-memory/index.js';
import { startGrpcTrace, traceGrpcSend, traceSettingCall, type RawSettingValue } from '../../tracing/index.js';

interface WireTraceSettingRequest {
  settings?: Record<string, { value?: string[] }>;
  model_name: string;
}

export const OIP_SERVICE_NAME = 'inference.GRPCInferenceService';

type Empty = Record<string, never>;

/** Wraps a sync or async handler into a grpc-js unary handler that maps every failure to a status. */
function unary<Req, Res>(rpc: string, logger: Logger | undefined, handler: (request: Req, call: grpc.ServerUnaryCall<Req, Res>) => Res | Promise<Res>): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const fail = (error: unknown): void => {
      logFailure(logger, rpc, error);
      callback(toServiceError(error));
    };
    let result: Res | Promise<Res>;
    try {
      result = handler(call.request, call);
    } catch (error) {
      fail(error);
      return;
    }
    if (result instanceof Promise) result.then((value) => callback(null, value), fail);
    else callback(null, result);
  };
}

function unimplemented(rpc: string, extension: string): grpc.handleUnaryCall<unknown, unknown> {
  return (_call, callback) => {
    callback({ code: grpc.status.UNIMPLEMENTED, details: `${rpc}: the ${extension} extension is not supported by this server` });
  };
}

/** ModelReady never fails: unknown models, bad versions and unready models are all "not ready". */
function isModelReady(service: InferenceService, request: WireModelRef): boolean {
  if (request.name === '') return false;
  try {
    return service.modelReady(request.name, decodeModelVersion(request.version, request.name));
  } catch (error) {
    if (error instanceof CranberriesError && error.code !== 'INTERNAL') return false;
    throw error;
  }
}

function modelRef(request: WireModelRef): [string, number | undefined] {
  const name = requireModelName(request.name, 'name');
  return [name, decodeModelVersion(request.version, name)];
}

function duration(value: StatisticDuration): WireStatisticDuration {
  return { count: value.count, ns: value.ns };
}

function encodeStatistics(stats: ModelStatistics): object {
  const inference = stats.inference_stats;
  return {
    name: stats.name,
    version: stats.version,
    last_inference: stats.last_inference,
    inference_count: stats.inference_count,
    execution_count: stats.execution_count,
    inference_stats: {
      success: duration(inference.success),
      fail: duration(inference.fail),
      queue: duration(inference.queue),
      compute_input: duration(inference.compute_input),
      compute_infer: duration(inference.compute_infer),
      compute_output: duration(inference.compute_output),
      cache_hit: duration(inference.cache_hit),
      cache_miss: duration(inference.cache_miss),
    },
    batch_stats: stats.batch_stats.map((batch) => ({
      batch_size: batch.batch_size,
      compute_input: duration(batch.compute_input),
      compute_infer: duration(batch.compute_infer),
      compute_output: duration(batch.compute_output),
    })),
  };
}

/** How a ModelInfer call is reached, by grpc-js or by the raw HTTP/2 front (`oip-fast-path.ts`). */
export interface ModelInferCall {
  readonly signal: AbortSignal;
  /** The call's metadata (trace context is read from it). */
  readonly metadata: grpc.Metadata | IncomingHttpHeaders;
  /** The `x-request-id` the client sent, if any. */
  readonly requestIdHeader: unknown;
  /** Sends the request id back as response metadata (before the answer or the error status). */
  sendRequestId(id: string): void;
}

/** One unary ModelInfer: the request id resolved and echoed, the inference run, the answer encoded. */
export async function modelInfer(service: InferenceService, sharedMemory: SharedMemoryAccess | undefined, message: WireModelInferRequest, call: ModelInferCall): Promise<WireModelInferResponse> {
  const requestId = resolveRequestId(call.requestIdHeader, message.id);
  call.sendRequestId(requestId.id);
  const shm = sharedMemoryUse(sharedMemory, message.model_name);
  const trace = startGrpcTrace(service, message.model_name, call.metadata);
  try {
    const traced: RequestContext = { signal: call.signal, requestId: requestId.id, trace };
    const response = await service.infer(decodeInferRequest(message, shm), traced);
    trace?.stamp('INFER_RESPONSE_COMPLETE');
    shm?.writeOutputs(response.outputs);
    return encodeInferResponse(response, message.id, shm);
  } catch (error) {
    throw failedInference(service, message, error, requestId);
  } finally {
    shm?.release();
    traceGrpcSend(trace);
  }
}

/**
 * `sharedMemory`: the system shared-memory regions and how many bytes one request's inputs may read
 * from them; absent, registration is refused and tensors naming a region are refused.
 */
export function createOipImplementation(service: InferenceService, logger?: Logger, logSettings?: LogSettings, sharedMemory?: SharedMemoryAccess): grpc.UntypedServiceImplementation {
  const regions = sharedMemory?.regions ?? refusingSharedMemory('system shared memory is not offered by this server');
  return {
    ServerLive: unary<Empty, { live: boolean }>('ServerLive', logger, () => ({ live: service.live() })),
    ServerReady: unary<Empty, { ready: boolean }>('ServerReady', logger, () => ({ ready: service.ready() })),
    ModelReady: unary<WireModelRef, { ready: boolean }>('ModelReady', logger, (request) => ({ ready: isModelReady(service, request) })),

    ServerMetadata: unary<Empty, object>('ServerMetadata', logger, () => {
      const metadata = service.serverMetadata();
      return { name: metadata.name, version: metadata.version, extensions: metadata.extensions };
    }),
    ModelMetadata: unary<WireModelRef, WireModelMetadataResponse>('ModelMetadata', logger, (request) => {
      const metadata = service.modelMetadata(...modelRef(request));
      return {
        name: metadata.name,
        versions: metadata.versions,
        platform: metadata.platform,
        inputs: metadata.inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape })),
        outputs: metadata.outputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape })),
      };
    }),

    ModelInfer: unary<WireModelInferRequest, WireModelInferResponse>('ModelInfer', logger, (message, call) => {
      const context = callContext(call);
      return modelInfer(service, sharedMemory, message, {
        signal: context.signal,
        metadata: call.metadata,
        requestIdHeader: call.metadata.get(REQUEST_ID_HEADER)[0],
        sendRequestId: (id) => echoRequestId(call, id),
      }).finally(() => context.dispose());
    }),
    ModelStreamInfer: createStreamInferHandler(service, logger, sharedMemory),

    // The façade's ModelConfig already has the protobuf JSON shape (snake_case, enum names).
    ModelConfig: unary<WireModelRef, { config: ModelConfig }>('ModelConfig', logger, (request) => ({
      config: service.modelConfig(...modelRef(request)),
    })),
    ModelStatistics: unary<WireModelRef, { model_stats: object[] }>('ModelStatistics', logger, (request) => {
      // Empty name: every model; a version without a name makes no sense and is refused.
      const [name, version] = request.name === '' && request.version === '' ? [undefined, undefined] : modelRef(request);
      return { model_stats: service.modelStatistics(name, version).map(encodeStatistics) };
    }),

    RepositoryIndex: unary<WireRepositoryIndexRequest, { models: WireModelIndex[] }>('RepositoryIndex', logger, async (request) => ({
      models: (await service.repositoryIndex(request.ready)).map(encodeModelIndex),
    })),
    RepositoryModelLoad: unary<WireRepositoryModelRequest, Empty>('RepositoryModelLoad', logger, async (request) => {
      const model = requireModelName(request.model_name, 'model_name');
      await service.loadModel(model, decodeLoadOptions(model, request.parameters));
      return {};
    }),
    RepositoryModelUnload: unary<WireRepositoryModelRequest, Empty>('RepositoryModelUnload', logger, async (request) => {
      // `unload_dependents` is accepted and ignored: unloading an ensemble leaves its step models loaded.
      await service.unloadModel(requireModelName(request.model_name, 'model_name'));
      return {};
    }),

    SystemSharedMemoryStatus: unary<WireSystemShmStatusRequest, object>('SystemSharedMemoryStatus', logger, (request) => systemShmStatus(regions, request)),
    SystemSharedMemoryRegister: unary<WireSystemShmRegisterRequest, Empty>('SystemSharedMemoryRegister', logger, (request) => systemShmRegister(regions, request)),
    SystemSharedMemoryUnregister: unary<WireSystemShmStatusRequest, Empty>('SystemSharedMemoryUnregister', logger, (request) => systemShmUnregister(regions, request)),
    CudaSharedMemoryStatus: unary<WireSystemShmStatusRequest, object>('CudaSharedMemoryStatus', logger, (request) => cudaShmStatus(request)),
    CudaSharedMemoryRegister: unary<WireSystemShmStatusRequest, Empty>('CudaSharedMemoryRegister', logger, (request) => cudaShmRegister(regions, request)),
    CudaSharedMemoryUnregister: unary<WireSystemShmStatusRequest, Empty>('CudaSharedMemoryUnregister', logger, () => cudaShmUnregister(regions)),
    TraceSetting: unary<WireTraceSettingRequest, { settings: Record<string, { value: string[] }> }>('TraceSetting', logger, (request) => {
      // An empty value list clears a setting (the model's follows the global one again).
      const entries = Object.entries(request.settings ?? {}).map(([name, setting]): [string, RawSettingValue] => [name, setting.value?.length ? setting.value : null]);
      const answer = traceSettingCall(service, request.model_name === '' ? undefined : request.model_name, entries.length > 0 ? new Map(entries) : undefined);
      return { settings: Object.fromEntries(Object.entries(answer).map(([name, value]) => [name, { value: typeof value === 'string' ? [value] : value }])) };
    }),
    LogSettings: logSettings ? unary<WireLogSettings, WireLogSettings>('LogSettings', logger, (request) => handleLogSettings(logSettings, request)) : unimplemented('LogSettings', 'logging'),
  };
}
