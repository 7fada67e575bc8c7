/**
 * Request ids and failure accounting for the gRPC inference handlers (the gRPC side of
 * `protocols/http/request-tracking.ts`): the id comes from the `x-request-id` metadata, the OIP `id` or is
 * generated (`request-id.ts`); unary calls echo it in their response metadata; a failure is
 * reported to the service (`InferenceService.recordRejected`) and, when the caller chose the id, its message
 * ends with ` (request id: X)` (a gRPC error is only a status and a message; an id the caller
 * never saw would only lengthen it).
 */
import { Metadata } from '@grpc/grpc-js';
import { asCranberriesError, type CranberriesError } from '../../core/index.js';
import type { InferenceService } from '../../serving/index.js';
import { REQUEST_ID_HEADER, resolveRequestId, versionOrUndefined, withRequestId, type ResolvedRequestId } from '../common/index.js';

/** A unary call's id: metadata, then the message's `id`, then generated. */
export function unaryRequestId(metadata: Metadata, oipId: string): ResolvedRequestId {
  return resolveRequestId(metadata.get(REQUEST_ID_HEADER)[0], oipId);
}

/** A stream message's id: its own `id` first (the stream's metadata cannot tell its requests apart), then the metadata. */
export function streamRequestId(metadata: Metadata, oipId: string): ResolvedRequestId {
  return resolveRequestId(oipId, metadata.get(REQUEST_ID_HEADER)[0]);
}

/** Sends the id back as response metadata (before the answer or the error status). */
export function echoRequestId(call: { sendMetadata(metadata: Metadata): void }, requestId: string): void {
  const metadata = new Metadata();
  metadata.set(REQUEST_ID_HEADER, requestId);
  call.sendMetadata(metadata);
}

/** Counts the failure against the model if `infer` did not already, and gives the error to answer with. */
export function failedInference(service: InferenceService, message: { readonly model_name: string; readonly model_version: string }, error: unknown, requestId: ResolvedRequestId): CranberriesError {
  service.recordRejected?.(message.model_name, versionOrUndefined(message.model_version), error, requestId.id);
  return requestId.fromCaller ? withRequestId(error, requestId.id) : asCranberriesError(error);
}
