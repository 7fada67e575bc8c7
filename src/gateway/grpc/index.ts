/**
 * The gRPC lane: the raw HTTP/2 front on the public gRPC port (unary inference relayed frame
 * bytes in, frame bytes out), the relays installed on the gateway's grpc-js server (what the front
 * leaves, ModelStreamInfer, async metadata/config/statistics), the protobuf wire-field reader they
 * route by, and the connections to the workers' gRPC ports (raw HTTP/2 for the front, grpc-js
 * channels for the grpc-js relays and the service's decoded infer).
 */
export { GrpcFront, type GrpcFrontOptions } from './grpc-front.js';
export { installGrpcForwarding, type GrpcForwardingOptions, type GrpcRelayService } from './grpc-forwarding.js';
export { GrpcUpstreams, type GrpcAnswer, type GrpcUpstreamsOptions } from './grpc-upstreams.js';
export { H2Upstreams, type H2UpstreamsOptions } from './h2-upstreams.js';
