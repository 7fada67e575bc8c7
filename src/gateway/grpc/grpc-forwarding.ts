/**
 * The gateway's gRPC behaviour on top of the shared gRPC server (`createGrpcServer` over the
 * GatewayService): inference methods are re-registered with pass-through (de)serializers, so a
 * request's bytes reach the worker as the client sent them and the answer's bytes come back as the
 * worker sent them. Only the routing fields are read (wire-fields.ts). Relayed methods:
 *
 * - `inference.GRPCInferenceService/ModelInfer` (model_name = 1, model_version = 2, id = 3).
 * - `inference.GRPCInferenceService/ModelStreamInfer`: each request on the client's stream becomes
 *   one relayed ModelInfer (so consecutive requests may go to different replicas), and each answer
 *   is wrapped as a `ModelStreamInferResponse` (infer_response = 2, error_message = 1) without
 *   decoding it. The request parameter `triton_enable_empty_final_response` is handled here, as
 *   the worker's own stream handler would.
 * - `tensorflow.serving.PredictionService/{Predict,Classify,Regress,GetModelMetadata,MultiInference}`
 *   and `tensorflow.serving.ModelService/GetModelStatus`, routed by their ModelSpec.
 *
 * ModelMetadata, ModelConfig and ModelStatistics are re-registered too, to answer from a READY
 * replica and from all workers asynchronously. Everything else stays as the shared adapter serves it.
 *
 * In the gateway this grpc-js server sits behind the raw HTTP/2 front (grpc-front.ts), which relays
 * the unary methods of `RELAYED_UNARY_METHODS` itself; they reach the relays here only when the
 * front leaves a call to grpc-js (a compressed or over-sized message), and ModelStreamInfer always.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { asCranberriesError, CranberriesError, invalidArgument } from '../../core/index.js';
import {
  oipPackageDefinition,
  serviceDefinition,
  OIP_SERVICE_NAME,
  toServiceError,
  logFailure,
  decodeModelVersion,
  requireModelName,
  echoRequestId,
  streamRequestId,
  unaryRequestId,
} from '../../protocols/grpc/index.js';
import { pumpStream, type WireModelRef } from '../../protocols/grpc/index.js';
import type { ModelConfig } from '../../repository/index.js';
import type { ModelMetadata, ModelStatistics } from '../../serving/index.js';
import { Cancellation, type RequestRouter, type RouteTarget, SequenceOrder } from '../routing/index.js';
import type { GrpcAnswer, GrpcUpstreams } from './grpc-upstreams.js';
import { REQUEST_ID_HEADER } from '../../protocols/common/index.js';
import { TENSOR_SERIALIZATION_HEADER } from '../../protocols/tfserving/index.js';
import { isTrueBoolParameter, lengthDelimited, readInferRoute, readTfModelSpec, stringField, trueBoolParameterEntry, withoutMapEntry } from './wire-fields.js';
import { grpcSequenceKey } from './grpc-sequence-key.js';

/** What the relay asks of the gateway's service (`GatewayService` answers it): the async model queries. */
export interface GrpcRelayService {
  /** A READY replica's metadata, waiting for the worker if it is not cached yet. */
  fetchModelMetadata(model: string, version?: number): Promise<ModelMetadata>;
  fetchModelConfig(model: string, version?: number): Promise<ModelConfig>;
  /** Statistics of every worker, merged. */
  fetchModelStatistics(model?: string, version?: number): Promise<readonly ModelStatistics[]>;
}

export interface GrpcForwardingOptions {
  readonly service: GrpcRelayService;
  readonly router: RequestRouter;
  readonly upstreams: GrpcUpstreams;
  readonly logger?: Logger | undefined;
  /** Ask the workers for TF Serving Predict answers in `tensor_content` (`--enable-serialization-as-tensor-content`). */
  readonly tfsTensorContent?: boolean | undefined;
}

const OIP = `/${OIP_SERVICE_NAME}`;
const PREDICTION_SERVICE = '/tensorflow.serving.PredictionService';
const MODEL_SERVICE = '/tensorflow.serving.ModelService';
const MODEL_INFER = `${OIP}/ModelInfer`;
/** TF Serving Predict, whose answer form the gateway may ask the worker for. */
export const TFS_PREDICT = `${PREDICTION_SERVICE}/Predict`;
/** Parameters map field of ModelInferRequest / ModelInferResponse. */
const PARAMETERS_FIELD = 4;
const ENABLE_FINAL_FLAG = 'triton_enable_empty_final_response';
const FINAL_FLAG = 'triton_final_response';
/** Requests of one stream in flight at once; beyond that the stream stops reading (HTTP/2 flow control). */
const MAX_STREAM_IN_FLIGHT = 64;

const passThrough = (buffer: Buffer): Buffer => buffer;

/** Where a message goes, read from its bytes (throws INVALID_ARGUMENT for a message that names no model). */
export type MessageRouter = (message: Buffer) => { model: string; version: number | undefined; id: string; affinity?: string | undefined };

const oipRoute: MessageRouter = (message) => {
  const route = readInferRoute(message);
  const model = requireModelName(route.model, 'model_name');
  return { model, version: decodeModelVersion(route.version, model), id: route.id, affinity: grpcSequenceKey(message) };
};
const tfRoute =
  (nested: boolean): MessageRouter =>
  (message) => {
    const spec = readTfModelSpec(message, nested);
    if (spec.model === '') throw invalidArgument('model_spec.name is empty: name the model');
    // A version label is resolved by the worker; any replica of the model knows the same labels.
    return { model: spec.model, version: spec.label === undefined ? spec.version : undefined, id: '' };
  };

/** The unary methods relayed to a replica of their model, by path, with how each finds the model in its message. */
export const RELAYED_UNARY_METHODS: ReadonlyMap<string, MessageRouter> = new Map<string, MessageRouter>([
  [MODEL_INFER, oipRoute],
  ...['Predict', 'Classify', 'Regress', 'GetModelMetadata'].map((method): [string, MessageRouter] => [`${PREDICTION_SERVICE}/${method}`, tfRoute(false)]),
  [`${PREDICTION_SERVICE}/MultiInference`, tfRoute(true)],
  [`${MODEL_SERVICE}/GetModelStatus`, tfRoute(false)],
]);

export function installGrpcForwarding(server: grpc.Server, options: GrpcForwardingOptions): void {
  const replace = <Req, Res>(
    path: string,
    handler: grpc.handleUnaryCall<Req, Res> | grpc.handleBidiStreamingCall<Req, Res>,
    serialize: grpc.serialize<Res>,
    deserialize: grpc.deserialize<Req>,
    type: string,
  ): void => {
    server.unregister(path);
    server.register(path, handler, serialize, deserialize, type);
  };

  for (const [path, route] of RELAYED_UNARY_METHODS) replace(path, relayUnary(options, path, route), passThrough, passThrough, 'unary');
  replace(`${OIP}/ModelStreamInfer`, relayStream(options), passThrough, passThrough, 'bidi');
  replace(
    `${MODEL_SERVICE}/HandleReloadConfigRequest`,
    (_call, callback) => {
      callback({ code: grpc.status.UNIMPLEMENTED, details: 'HandleReloadConfigRequest: change the deployed models through the cluster admin API of the gateway' });
    },
    passThrough,
    passThrough,
    'unary',
  );

  const definition = serviceDefinition(oipPackageDefinition(), OIP_SERVICE_NAME);
  const answerAsync = (rpc: string, produce: (request: WireModelRef) => Promise<unknown>): void => {
    const method = definition[rpc];
    if (!method) throw new Error(`${OIP_SERVICE_NAME}/${rpc} is not in the loaded protos`);
    const handler: grpc.handleUnaryCall<WireModelRef, unknown> = (call, callback) => {
      produce(call.request).then(
        (value) => callback(null, value),
        (error: unknown) => {
          logFailure(options.logger, rpc, error);
          callback(toServiceError(error));
        },
      );
    };
    replace(`${OIP}/${rpc}`, handler, method.responseSerialize as grpc.serialize<unknown>, method.requestDeserialize as grpc.deserialize<WireModelRef>, 'unary');
  };
  const modelRef = (request: WireModelRef): [string, number | undefined] => {
    const name = requireModelName(request.name, 'name');
    return [name, decodeModelVersion(request.version, name)];
  };
  answerAsync('ModelMetadata', async (request) => {
    const metadata = await options.service.fetchModelMetadata(...modelRef(request));
    const tensor = (t: { name: string; datatype: string; shape: readonly number[] }): object => ({ name: t.name, datatype: t.datatype, shape: t.shape });
    return { name: metadata.name, versions: metadata.versions, platform: metadata.platform, inputs: metadata.inputs.map(tensor), outputs: metadata.outputs.map(tensor) };
  });
  answerAsync('ModelConfig', async (request) => ({ config: await options.service.fetchModelConfig(...modelRef(request)) }));
  answerAsync('ModelStatistics', async (request) => {
    const [name, version] = request.name === '' && request.version === '' ? [undefined, undefined] : modelRef(request);
    return { model_stats: await options.service.fetchModelStatistics(name, version) };
  });
}

/** The client's metadata for the worker, minus what grpc-js sets itself, plus the request id. */
function forwardedMetadata(incoming: grpc.Metadata, requestId: string): grpc.Metadata {
  const metadata = incoming.clone();
  metadata.remove('user-agent');
  metadata.set(REQUEST_ID_HEADER, requestId);
  return metadata;
}

function callOptions(call: { getDeadline(): grpc.Deadline }): grpc.CallOptions {
  const deadline = call.getDeadline();
  const ms = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(ms) ? { deadline: ms } : {};
}

/** Sends one message to a replica of its model (retrying per the router's policy). */
function send(options: GrpcForwardingOptions, path: string, message: Buffer, target: RouteTarget, metadata: grpc.Metadata, callOpts: grpc.CallOptions): Promise<GrpcAnswer> {
  return options.router.route(target, (endpoint) => options.upstreams.unary(endpoint, path, message, metadata, callOpts, target.cancel));
}

/** The worker's status, relayed as it came (code, details and trailing metadata). */
function relayedStatus(error: grpc.ServiceError): Partial<grpc.StatusObject> {
  return { code: error.code, details: error.details, metadata: error.metadata };
}

function relayUnary(options: GrpcForwardingOptions, path: string, route: MessageRouter): grpc.handleUnaryCall<Buffer, Buffer> {
  return (call, callback) => {
    let target: ReturnType<MessageRouter>;
    try {
      target = route(call.request);
    } catch (error) {
      callback(toServiceError(error));
      return;
    }
    const cancel = new Cancellation();
    const onCancelled = (): void => cancel.abort(new CranberriesError('CANCELLED', 'the client cancelled the call'));
    call.once('cancelled', onCancelled);
    const requestId = unaryRequestId(call.metadata, target.id).id;
    echoRequestId(call, requestId);
    const metadata = forwardedMetadata(call.metadata, requestId);
    if (options.tfsTensorContent && path === TFS_PREDICT && metadata.get(TENSOR_SERIALIZATION_HEADER).length === 0) metadata.set(TENSOR_SERIALIZATION_HEADER, 'tensor_content');
    send(options, path, call.request, { ...target, requestId, cancel }, metadata, callOptions(call)).then(
      (answer) => {
        call.off('cancelled', onCancelled);
        if (answer.error) callback(relayedStatus(answer.error));
        else callback(null, answer.response);
      },
      (error: unknown) => {
        call.off('cancelled', onCancelled);
        logFailure(options.logger, path, error);
        callback(toServiceError(error));
      },
    );
  };
}

function relayStream(options: GrpcForwardingOptions): grpc.handleBidiStreamingCall<Buffer, Buffer> {
  return (call) => {
    const cancel = new Cancellation();
    const callOpts = callOptions(call);
    const sequenceOrder = new SequenceOrder();

    const answer = async (raw: Buffer): Promise<Buffer> => {
      let route = { model: '', version: '', id: '' };
      try {
        const { message, removed } = withoutMapEntry(raw, PARAMETERS_FIELD, ENABLE_FINAL_FLAG);
        route = readInferRoute(message);
        const model = requireModelName(route.model, 'model_name');
        const requestId = streamRequestId(call.metadata, route.id).id;
        const affinity = grpcSequenceKey(message);
        const target = { model, version: decodeModelVersion(route.version, model), requestId, cancel, affinity };
        // Requests of one sequence reach the worker in stream order: each waits for the previous one.
        const result = await sequenceOrder.run(affinity === undefined ? undefined : `${model}\n${affinity}`, () =>
          send(options, MODEL_INFER, message, target, forwardedMetadata(call.metadata, requestId), callOpts),
        );
        if (result.error) return streamError(result.error.details, route);
        const response = removed !== undefined && isTrueBoolParameter(removed) ? Buffer.concat([result.response, trueBoolParameterEntry(PARAMETERS_FIELD, FINAL_FLAG)]) : result.response;
        return lengthDelimited(2, response);
      } catch (error) {
        logFailure(options.logger, 'ModelStreamInfer', error);
        return streamError(asCranberriesError(error).message, route);
      }
    };

    pumpStream(call, answer, {
      maxInFlight: MAX_STREAM_IN_FLIGHT,
      logger: options.logger,
      onClosed: (how) => {
        if (how === 'cancelled') cancel.abort(new CranberriesError('CANCELLED', 'the client cancelled the stream'));
        else if (how instanceof Error) cancel.abort(new CranberriesError('CANCELLED', `the stream failed: ${how.message}`));
      },
    });
  };
}

/** A ModelStreamInferResponse carrying an error and the request's model, version and id. */
function streamError(message: string, route: { model: string; version: string; id: string }): Buffer {
  const inferResponse = Buffer.concat([stringField(1, route.model), stringField(2, route.version), stringField(3, route.id)]);
  return Buffer.concat([stringField(1, message), lengthDelimited(2, inferResponse)]);
}
