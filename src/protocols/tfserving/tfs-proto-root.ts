/**
 * protobufjs types of the TF Serving protos, for the one message the gRPC adapter must serialize
 * itself: the `SignatureDefMap` packed into a `google.protobuf.Any` by GetModelMetadata (grpc-js
 * serializes everything else from the service definitions). Loaded once, lazily, from the same
 * `proto/` tree as the service definitions.
 */
import { isAbsolute, join } from 'node:path';
import protobuf from 'protobufjs';
import { PROTO_ROOT } from '../grpc/index.js';

export const SIGNATURE_DEF_MAP_TYPE_URL = 'type.googleapis.com/tensorflow.serving.SignatureDefMap';

let signatureDefMap: protobuf.Type | undefined;

export function signatureDefMapType(): protobuf.Type {
  if (!signatureDefMap) {
    const root = new protobuf.Root();
    // Imports are relative to the proto root; google/protobuf/* resolve to protobufjs' bundled copies.
    root.resolvePath = (_origin, target) => (isAbsolute(target) ? target : join(PROTO_ROOT, target));
    root.loadSync(join(PROTO_ROOT, 'tensorflow_serving/apis/get_model_metadata.proto'), { keepCase: true });
    root.resolveAll();
    signatureDefMap = root.lookupType('tensorflow.serving.SignatureDefMap');
  }
  return signatureDefMap;
}

/** `{type_url, value}` of an Any holding `map` (a SignatureDefMap's `signature_def` field). */
export function packSignatureDefMap(map: Record<string, unknown>): { type_url: string; value: Uint8Array } {
  const type = signatureDefMapType();
  return { type_url: SIGNATURE_DEF_MAP_TYPE_URL, value: type.encode(type.fromObject({ signature_def: map })).finish() };
}
