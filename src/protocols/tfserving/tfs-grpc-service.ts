/**
 * TF Serving's gRPC services (tensorflow_serving/apis) on the InferenceService façade:
 *
 * - `tensorflow.serving.PredictionService`: Predict (TensorProto in both forms, `output_filter`;
 *   answers in the typed `*_val` lists unless the server or the call asks for `tensor_content`),
 *   GetModelMetadata (the SignatureDefMap packed in a `google.protobuf.Any`), Classify and Regress
 *   for models that fit (`signatures.ts`), MultiInference as one Classify/Regress per task on the
 *   shared input (every task must address the same model, as in TF Serving);
 * - `tensorflow.serving.ModelService`: GetModelStatus, HandleReloadConfigRequest (the served models
 *   become exactly the given `model_config_list`; relative base paths are taken from the server's
 *   working directory).
 *
 * `ModelSpec` selects the version (`version`, an Int64Value) or a label (`version_label`), and the
 * signature (`signature_name`, empty = `serving_default`); responses echo the resolved spec.
 */
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { CranberriesError, invalidArgument } from '../../core/index.js';
import { modelConfigListFromMessage } from '../../repository/index.js';
import type { InferenceService, RequestContext } from '../../serving/index.js';
import type { GrpcServiceRegistration } from '../grpc/index.js';
import { serviceDefinition, tfServingPackageDefinition } from '../grpc/index.js';
import type { ClassScore } from './example-tensors.js';
import { examplesFromProto } from './examples.js';
import { unary } from './grpc-unary.js';
import { signatureDefMap, CLASSIFY_METHOD, REGRESS_METHOD } from './signatures.js';
import { decodeTensorProto, encodeTensorProto, type TensorSerialization } from './tensor-proto-codec.js';
import { requestedSerialization, TENSOR_SERIALIZATION_HEADER } from './tensor-serialization.js';
import { DecodeBudget } from '../../tensors/index.js';
import type {
  WireClassificationRequest,
  WireClassificationResult,
  WireGetModelMetadataRequest,
  WireGetModelMetadataResponse,
  WireGetModelStatusRequest,
  WireInferenceResult,
  WireModelSpec,
  WireModelVersionStatus,
  WireMultiInferenceRequest,
  WirePredictRequest,
  WirePredictResponse,
  WireRegressionRequest,
  WireRegressionResult,
  WireReloadConfigRequest,
  WireStatusProto,
  WireTensorProto,
} from './tfs-messages.js';
import { TfServingOperations, type ModelRef } from './tfs-operations.js';
import { packSignatureDefMap } from './tfs-proto-root.js';
import { tfsStateOf, tfsStatusOf } from './version-status.js';

export const PREDICTION_SERVICE_NAME = 'tensorflow.serving.PredictionService';
export const MODEL_SERVICE_NAME = 'tensorflow.serving.ModelService';

/**
 * Default for how many bytes the tensors of one Predict request may take once `*_val` lists are
 * expanded to their shape: the default gRPC message limit, so a request decodes to no more than
 * the largest one a client could have sent in full.
 */
export const DEFAULT_MAX_DECODED_BYTES = 64 * 1024 * 1024;

/**
 * The registrations the composition code passes to `createGrpcServer` (`services`). `maxDecodedBytes` bounds what
 * one Predict request's tensors take once expanded (the server passes its message size limit);
 * `serialization` is how Predict answers carry numbers (default: typed lists, as TF Serving).
 */
export function tfServingGrpcServices(
  service: InferenceService,
  logger?: Logger,
  maxDecodedBytes = DEFAULT_MAX_DECODED_BYTES,
  serialization: TensorSerialization = 'proto_field',
): GrpcServiceRegistration[] {
  const operations = new TfServingOperations(service);
  const definitions = tfServingPackageDefinition();
  return [
    {
      name: PREDICTION_SERVICE_NAME,
      definition: serviceDefinition(definitions, PREDICTION_SERVICE_NAME),
      implementation: predictionService(operations, logger, maxDecodedBytes, serialization),
    },
    { name: MODEL_SERVICE_NAME, definition: serviceDefinition(definitions, MODEL_SERVICE_NAME), implementation: modelService(operations, logger) },
  ];
}

/**
 * One Predict: inputs decoded against the signature within `maxDecodedBytes`, outputs in the form
 * the call's `cranberries-tensor-serialization` values ask for, else `serialization`.
 */
export async function predict(
  operations: TfServingOperations,
  request: WirePredictRequest,
  context: RequestContext,
  requestedForm: readonly (string | Buffer)[],
  serialization: TensorSerialization,
  maxDecodedBytes: number,
): Promise<WirePredictResponse> {
  const ref = refOf(request.model_spec);
  const form = requestedSerialization(requestedForm, serialization);
  const wireInputs = request.inputs ?? {};
  const result = await operations.predict(
    ref,
    request.model_spec?.signature_name ?? '',
    (metadata) => {
      // Each tensor is checked against its signature input, and expanded lists against one
      // budget for the whole request, before its data is allocated.
      const budget = new DecodeBudget(maxDecodedBytes);
      return Object.entries(wireInputs).map(([name, proto]) => decodeTensorProto(proto, name, { signature: metadata.inputs.find((input) => input.name === name), budget }));
    },
    request.output_filter,
    context,
  );
  const outputs: Record<string, WireTensorProto> = {};
  for (const tensor of result.outputs) outputs[tensor.name] = encodeTensorProto(tensor, form);
  return { model_spec: specOf(ref.model, result.version, result.signature), outputs };
}

export function predictionService(
  operations: TfServingOperations,
  logger?: Logger,
  maxDecodedBytes = DEFAULT_MAX_DECODED_BYTES,
  serialization: TensorSerialization = 'proto_field',
): grpc.UntypedServiceImplementation {
  return {
    Predict: unary<WirePredictRequest, WirePredictResponse>('Predict', logger, (request, context, metadata) =>
      predict(operations, request, context, metadata.get(TENSOR_SERIALIZATION_HEADER), serialization, maxDecodedBytes),
    ),

    GetModelMetadata: unary<WireGetModelMetadataRequest, WireGetModelMetadataResponse>('GetModelMetadata', logger, (request) => {
      const fields = request.metadata_field ?? [];
      if (fields.length === 0) throw invalidArgument('GetModelMetadataRequest must specify at least one metadata_field');
      for (const field of fields) if (field !== 'signature_def') throw invalidArgument(`Metadata field ${field} is not supported`);
      const ref = refOf(request.model_spec);
      const { version, metadata } = operations.metadata(ref);
      return {
        model_spec: specOf(ref.model, version, request.model_spec?.signature_name ?? ''),
        metadata: { signature_def: packSignatureDefMap(signatureDefMap(metadata)) },
      };
    }),

    Classify: unary<WireClassificationRequest, { model_spec: WireModelSpec; result: WireClassificationResult }>('Classify', logger, async (request, context) => {
      const ref = refOf(request.model_spec);
      const result = await operations.classify(ref, request.model_spec?.signature_name ?? '', examplesFromProto(request.input), context);
      return { model_spec: specOf(ref.model, result.version, result.signature), result: classificationResult(result.results) };
    }),

    Regress: unary<WireRegressionRequest, { model_spec: WireModelSpec; result: WireRegressionResult }>('Regress', logger, async (request, context) => {
      const ref = refOf(request.model_spec);
      const result = await operations.regress(ref, request.model_spec?.signature_name ?? '', examplesFromProto(request.input), context);
      return { model_spec: specOf(ref.model, result.version, result.signature), result: regressionResult(result.results) };
    }),

    MultiInference: unary<WireMultiInferenceRequest, { results: WireInferenceResult[] }>('MultiInference', logger, async (request, context) => {
      const tasks = request.tasks ?? [];
      if (tasks.length === 0) throw invalidArgument('MultiInferenceRequest must have at least one task');
      const refs = tasks.map((task) => refOf(task.model_spec));
      const model = refs[0]!.model;
      if (refs.some((ref) => ref.model !== model)) throw invalidArgument('All ModelSpecs in a MultiInferenceRequest must access the same model name');
      const examples = examplesFromProto(request.input);
      const results = await Promise.all(
        tasks.map(async (task, i): Promise<WireInferenceResult> => {
          const ref = refs[i]!;
          const signatureName = task.model_spec?.signature_name ?? '';
          if (task.method_name === CLASSIFY_METHOD) {
            const result = await operations.classify(ref, signatureName, examples, context);
            return { model_spec: specOf(model, result.version, result.signature), classification_result: classificationResult(result.results) };
          }
          if (task.method_name === REGRESS_METHOD) {
            const result = await operations.regress(ref, signatureName, examples, context);
            return { model_spec: specOf(model, result.version, result.signature), regression_result: regressionResult(result.results) };
          }
          throw invalidArgument(`Unsupported signature method_name: ${task.method_name ?? ''} (tasks take ${CLASSIFY_METHOD} or ${REGRESS_METHOD})`);
        }),
      );
      return { results };
    }),
  };
}

export function modelService(operations: TfServingOperations, logger?: Logger): grpc.UntypedServiceImplementation {
  return {
    GetModelStatus: unary<WireGetModelStatusRequest, { model_version_status: WireModelVersionStatus[] }>('GetModelStatus', logger, (request) => ({
      model_version_status: operations.status(refOf(request.model_spec)).map((status) => ({
        version: status.version,
        state: tfsStateOf(status.state),
        status: tfsStatusOf(status),
      })),
    })),

    HandleReloadConfigRequest: unary<WireReloadConfigRequest, { status: WireStatusProto; metric: never[] }>('HandleReloadConfigRequest', logger, async (request) => {
      const entries = modelConfigListFromMessage(request.config, 'ReloadConfigRequest.config', process.cwd());
      await operations.reload(entries);
      return { status: { error_code: 'OK', error_message: '' }, metric: [] };
    }),
  };
}

/** ModelSpec → the addressed model, version or label. */
export function refOf(spec: WireModelSpec | null | undefined): ModelRef {
  const model = spec?.name ?? '';
  if (model === '') throw invalidArgument('model_spec.name is required');
  const choice = spec?.version_choice ?? (spec?.version ? 'version' : spec?.version_label ? 'version_label' : undefined);
  if (choice === 'version') {
    const raw = spec?.version?.value ?? 0;
    const version = Number(raw);
    if (!Number.isSafeInteger(version) || version < 0) throw invalidArgument(`model_spec.version ${String(raw)} is not a valid version number`);
    return { model, version };
  }
  if (choice === 'version_label') {
    const label = spec?.version_label ?? '';
    if (label === '') throw new CranberriesError('INVALID_ARGUMENT', 'model_spec.version_label is empty');
    return { model, label };
  }
  return { model };
}

function specOf(model: string, version: number, signature: string): WireModelSpec {
  return { name: model, version: { value: String(version) }, signature_name: signature };
}

function classificationResult(results: readonly (readonly ClassScore[])[]): WireClassificationResult {
  return { classifications: results.map((row) => ({ classes: row.map(([label, score]) => ({ label, score })) })) };
}

function regressionResult(results: readonly number[]): WireRegressionResult {
  return { regressions: results.map((value) => ({ value })) };
}
