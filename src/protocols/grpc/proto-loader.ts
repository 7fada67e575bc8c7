/**
 * Loads the `.proto` files under `<repo>/proto/` once per process and hands out the package
 * definitions grpc-js servers and clients are built from.
 *
 * Decoding options are chosen for the protocols, not for convenience:
 * - `keepCase`: message objects use the proto's snake_case names, which is also the shape of the
 *   façade's `ModelConfig`, so a config maps onto `inference.ModelConfig` without translation.
 * - `longs: String`: 64-bit integers (shapes, INT64/UINT64 contents, int64 parameters) arrive as
 *   decimal strings. That is lossless, unlike `Number`; adapters turn shapes into numbers with a
 *   range check and 64-bit tensor elements into bigints. Encoding accepts numbers and strings.
 * - `enums: String`, `defaults: true`, `oneofs: true`: enum names, every field present (repeated
 *   fields as `[]`, unset messages as `null`), and a virtual field naming the member a oneof holds.
 * - bytes stay `Buffer`s that view the received message, so raw tensor data is not copied.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as protoLoader from '@grpc/proto-loader';
import type * as grpc from '@grpc/grpc-js';

export const PROTO_LOAD_OPTIONS: Readonly<protoLoader.Options> = Object.freeze({
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
});

/** Walks up from this module (`src/protocols/grpc/` or, compiled, `dist/src/protocols/grpc/`) to `<repo>/proto`. */
function findProtoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 10; depth++) {
    const candidate = join(dir, 'proto');
    if (existsSync(join(candidate, 'grpc_service.proto'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new Error(`cannot find the proto/ folder (with grpc_service.proto) above ${fileURLToPath(import.meta.url)}`);
}

/** Absolute path of the include root that every proto import is relative to. */
export const PROTO_ROOT: string = findProtoRoot();

export const OIP_PROTO_FILES: readonly string[] = ['grpc_service.proto', 'health.proto'];
export const TF_SERVING_PROTO_FILES: readonly string[] = ['tensorflow_serving/apis/prediction_service.proto', 'tensorflow_serving/apis/model_service.proto'];

function loadPackage(files: readonly string[]): protoLoader.PackageDefinition {
  return protoLoader.loadSync([...files], { ...PROTO_LOAD_OPTIONS, includeDirs: [PROTO_ROOT] });
}

let oip: protoLoader.PackageDefinition | undefined;
let tfServing: protoLoader.PackageDefinition | undefined;

/** `inference.*` (Open Inference Protocol + Triton extensions) and `grpc.health.v1.*`. */
export function oipPackageDefinition(): protoLoader.PackageDefinition {
  oip ??= loadPackage(OIP_PROTO_FILES);
  return oip;
}

/** `tensorflow.serving.*` and the `tensorflow.*` messages they use. */
export function tfServingPackageDefinition(): protoLoader.PackageDefinition {
  tfServing ??= loadPackage(TF_SERVING_PROTO_FILES);
  return tfServing;
}

/** The method table of a fully qualified service, e.g. `inference.GRPCInferenceService`. */
export function serviceDefinition(definition: protoLoader.PackageDefinition, serviceName: string): grpc.ServiceDefinition {
  const entry = definition[serviceName];
  if (entry === undefined || !isServiceDefinition(entry)) throw new Error(`${serviceName} is not a service in the loaded protos`);
  return entry;
}

function isServiceDefinition(entry: protoLoader.AnyDefinition): entry is protoLoader.ServiceDefinition {
  // Message and enum definitions carry a `format` tag; service definitions are plain method maps.
  return !('format' in entry);
}
