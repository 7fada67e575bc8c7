/**
 * The soak's inference requests, encoded once per run for each model and protocol: OIP REST with
 * JSON tensors, OIP REST with binary tensors, OIP gRPC, TF Serving REST (`:predict`) and TF Serving
 * gRPC (`Predict`). The models are the bundled ones (models/digits, models/diabetes,
 * models/word_ids); inputs are fixed, valid rows so that every answer but 200 / OK is a failure.
 */
import type * as grpc from '@grpc/grpc-js';
import { oipPackageDefinition, serviceDefinition, tfServingPackageDefinition } from '../../src/protocols/grpc/proto-loader.js';
import { PREDICTION_SERVICE_NAME } from '../../src/protocols/tfserving/tfs-grpc-service.js';

export const SOAK_PROTOCOLS = ['oip-rest-json', 'oip-rest-binary', 'oip-grpc', 'tfs-rest', 'tfs-grpc'] as const;
export type SoakProtocol = (typeof SOAK_PROTOCOLS)[number];

export const SOAK_MODELS = ['digits', 'diabetes', 'word_ids'] as const;
export type SoakModel = (typeof SOAK_MODELS)[number];

export interface HttpCall {
  readonly kind: 'http';
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

export interface GrpcCall {
  readonly kind: 'grpc';
  /** `/package.Service/Method` */
  readonly method: string;
  /** The serialized request message. */
  readonly message: Buffer;
}

export interface SoakRequest {
  readonly model: SoakModel;
  readonly protocol: SoakProtocol;
  readonly call: HttpCall | GrpcCall;
}

/** One model's input as the protocols need it. */
interface ModelInput {
  readonly name: string;
  readonly oipDatatype: 'FP32' | 'FP64' | 'BYTES';
  /** TF Serving DataType enum name. */
  readonly tfDtype: 'DT_FLOAT' | 'DT_DOUBLE' | 'DT_STRING';
  /** Full shape, batch dimension included where the model batches. */
  readonly shape: readonly number[];
  readonly values: readonly number[] | readonly string[];
  /** TF Serving REST body (row format where the model batches, columnar otherwise). */
  readonly tfsRestBody: unknown;
}

const DIGIT_PIXELS = Array.from({ length: 64 }, (_, i) => [0, 4, 9, 16][(i * 7) % 4]!);
const DIABETES_ROW = [0.038, 0.051, 0.062, 0.022, -0.044, -0.035, -0.043, -0.003, 0.02, -0.018];
const WORDS = ['the', 'cat', 'sat', 'zzzunknown'];

function rows<T>(values: readonly T[], width: number): T[][] {
  return Array.from({ length: values.length / width }, (_, i) => values.slice(i * width, (i + 1) * width));
}

const INPUTS: Record<SoakModel, ModelInput> = {
  digits: {
    name: 'image',
    oipDatatype: 'FP32',
    tfDtype: 'DT_FLOAT',
    shape: [1, 1, 8, 8],
    values: DIGIT_PIXELS,
    tfsRestBody: { instances: [[rows(DIGIT_PIXELS, 8)]] },
  },
  diabetes: {
    name: 'features',
    oipDatatype: 'FP64',
    tfDtype: 'DT_DOUBLE',
    shape: [1, 10],
    values: DIABETES_ROW,
    tfsRestBody: { instances: [DIABETES_ROW] },
  },
  word_ids: {
    name: 'words',
    oipDatatype: 'BYTES',
    tfDtype: 'DT_STRING',
    shape: [WORDS.length],
    values: WORDS,
    tfsRestBody: { inputs: { words: WORDS } },
  },
};

/** The raw bytes of a tensor as the binary extension and `raw_input_contents` carry them. */
function rawBytes(input: ModelInput): Buffer {
  if (input.oipDatatype === 'FP32') return Buffer.from(new Float32Array(input.values as number[]).buffer);
  if (input.oipDatatype === 'FP64') return Buffer.from(new Float64Array(input.values as number[]).buffer);
  // BYTES: each element is a 4-byte little-endian length and the bytes.
  return Buffer.concat(
    (input.values as string[]).flatMap((text) => {
      const bytes = Buffer.from(text, 'utf8');
      const length = Buffer.alloc(4);
      length.writeUInt32LE(bytes.length);
      return [length, bytes];
    }),
  );
}

function tfTensorProto(input: ModelInput): Record<string, unknown> {
  const shape = { dim: input.shape.map((size) => ({ size: String(size) })) };
  if (input.tfDtype === 'DT_FLOAT') return { dtype: input.tfDtype, tensor_shape: shape, float_val: input.values };
  if (input.tfDtype === 'DT_DOUBLE') return { dtype: input.tfDtype, tensor_shape: shape, double_val: input.values };
  return { dtype: input.tfDtype, tensor_shape: shape, string_val: (input.values as string[]).map((s) => Buffer.from(s, 'utf8')) };
}

export const OIP_MODEL_INFER = '/inference.GRPCInferenceService/ModelInfer';

/** Every (model, protocol) request of `models`, encoded. */
export function buildSoakRequests(models: readonly SoakModel[]): SoakRequest[] {
  const oipInfer = serviceDefinition(oipPackageDefinition(), 'inference.GRPCInferenceService')['ModelInfer'] as grpc.MethodDefinition<object, object>;
  const tfsPredict = serviceDefinition(tfServingPackageDefinition(), PREDICTION_SERVICE_NAME)['Predict'] as grpc.MethodDefinition<object, object>;
  const requests: SoakRequest[] = [];
  for (const model of models) {
    const input = INPUTS[model];
    const raw = rawBytes(input);
    const path = `/v2/models/${model}/infer`;
    const json = Buffer.from(JSON.stringify({ inputs: [{ name: input.name, datatype: input.oipDatatype, shape: input.shape, data: input.values }] }));
    const header = Buffer.from(
      JSON.stringify({
        inputs: [{ name: input.name, datatype: input.oipDatatype, shape: input.shape, parameters: { binary_data_size: raw.length } }],
        parameters: { binary_data_output: true },
      }),
    );
    requests.push(
      { model, protocol: 'oip-rest-json', call: { kind: 'http', path, headers: { 'content-type': 'application/json' }, body: json } },
      {
        model,
        protocol: 'oip-rest-binary',
        call: {
          kind: 'http',
          path,
          headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
          body: Buffer.concat([header, raw]),
        },
      },
      {
        model,
        protocol: 'oip-grpc',
        call: {
          kind: 'grpc',
          method: OIP_MODEL_INFER,
          message: oipInfer.requestSerialize({ model_name: model, inputs: [{ name: input.name, datatype: input.oipDatatype, shape: input.shape }], raw_input_contents: [raw] }),
        },
      },
      {
        model,
        protocol: 'tfs-rest',
        call: { kind: 'http', path: `/v1/models/${model}:predict`, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(input.tfsRestBody)) },
      },
      {
        model,
        protocol: 'tfs-grpc',
        call: { kind: 'grpc', method: tfsPredict.path, message: tfsPredict.requestSerialize({ model_spec: { name: model }, inputs: { [input.name]: tfTensorProto(input) } }) },
      },
    );
  }
  return requests;
}
