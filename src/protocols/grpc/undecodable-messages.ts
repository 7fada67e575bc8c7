/**
 * A request message that cannot be decoded is the client's mistake: INVALID_ARGUMENT, not INTERNAL.
 *
 * grpc-js answers a throwing `requestDeserialize` with a hard-coded INTERNAL ("Error deserializing
 * request") before any handler or interceptor sees the call. So every served method's deserializer
 * is wrapped to return an `UndecodableMessage` marker instead of throwing, and one server
 * interceptor ends a call that receives such a marker with INVALID_ARGUMENT (for unary,
 * server-streaming and bidirectional methods alike) before the message reaches a handler.
 */
import * as grpc from '@grpc/grpc-js';
import { clip } from '../../core/index.js';

/** What a wrapped deserializer returns for bytes that do not decode. */
class UndecodableMessage {
  constructor(readonly reason: string) {}
}

/** `definition` with every request deserializer turned into one that never throws. */
export function withTolerantDeserializers(definition: grpc.ServiceDefinition): grpc.ServiceDefinition {
  const tolerant: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, method] of Object.entries(definition as Record<string, grpc.MethodDefinition<unknown, unknown>>)) {
    const deserialize = method.requestDeserialize;
    const messageName = method.path.split('/')[1] ?? method.path;
    tolerant[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer): unknown => {
        try {
          return deserialize(bytes);
        } catch (error) {
          const detail = error instanceof Error ? error.message : String(error);
          return new UndecodableMessage(`the request message of ${messageName} cannot be decoded: ${clip(detail, 200)}`);
        }
      },
    };
  }
  return tolerant;
}

/** Ends a call with INVALID_ARGUMENT when a message failed to decode (needs `withTolerantDeserializers`). */
export const undecodableMessageInterceptor: grpc.ServerInterceptor = (_method, call) =>
  new grpc.ServerInterceptingCall(call, {
    start: (next) => {
      next({
        onReceiveMessage: (message: unknown, forward: (message: unknown) => void) => {
          if (message instanceof UndecodableMessage) {
            call.sendStatus({ code: grpc.status.INVALID_ARGUMENT, details: message.reason, metadata: new grpc.Metadata() });
            return;
          }
          forward(message);
        },
      });
    },
  });
