/**
 * The `inference.*` messages of the project's own `proto/grpc_service.proto`, loaded with protobufjs
 * once per process, and the per-RPC (de)serializers the gRPC client passes to grpc-js.
 *
 * The client decodes with protobufjs directly (not @grpc/proto-loader) so that each RPC can choose
 * its conversion: 64-bit integers as decimal strings (lossless) in general, but as JSON numbers for
 * ModelConfig, whose REST form prints them as numbers. Bytes fields stay Buffers that view the
 * received message, so raw output tensors are not copied.
 */
import { isAbsolute, join } from 'node:path';
import protobuf from 'protobufjs';
import { PACKAGE_ROOT } from '../core/index.js';

const PROTO_DIR = join(PACKAGE_ROOT, 'proto');

let root: protobuf.Root | undefined;

function oipRoot(): protobuf.Root {
  if (root === undefined) {
    const loaded = new protobuf.Root();
    // Imports are relative to the proto/ include root, as with `protoc -Iproto`.
    loaded.resolvePath = (_origin, target) => (isAbsolute(target) ? target : join(PROTO_DIR, target));
    loaded.loadSync('grpc_service.proto', { keepCase: true });
    loaded.resolveAll();
    root = loaded;
  }
  return root;
}

/** Decoding used by most RPCs: every field present, enums by name, int64 as decimal strings. */
export const LOSSLESS: protobuf.IConversionOptions = { longs: String, enums: String, defaults: true, arrays: true, objects: true, oneofs: true };

/** ModelConfig as its REST JSON form prints it: int64 as numbers and no virtual oneof fields. */
export const CONFIG_JSON: protobuf.IConversionOptions = { longs: Number, enums: String, defaults: true, arrays: true, objects: true };

export interface RpcMethod<Req, Res> {
  /** `/inference.GRPCInferenceService/<Rpc>` */
  readonly path: string;
  readonly serialize: (request: Req) => Buffer;
  readonly deserialize: (bytes: Buffer) => Res;
}

export function oipMethod<Req extends object, Res>(rpc: string, requestType: string, responseType: string, conversion: protobuf.IConversionOptions = LOSSLESS): RpcMethod<Req, Res> {
  const request = oipRoot().lookupType(`inference.${requestType}`);
  const response = oipRoot().lookupType(`inference.${responseType}`);
  return {
    path: `/inference.GRPCInferenceService/${rpc}`,
    serialize: (message) => {
      const bytes = request.encode(request.fromObject(message)).finish();
      return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    },
    deserialize: (bytes) => response.toObject(response.decode(bytes), conversion) as Res,
  };
}
