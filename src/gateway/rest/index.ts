/**
 * The REST lane: inference and TF Serving `/v1/...` relayed to a worker as bytes, taken ahead of
 * fastify by the fast lane or by fastify's route hooks (same relay either way); metadata, config
 * and statistics routes answered from the gateway's service; the keep-alive connection pools to
 * the workers' REST ports.
 */
export { HttpUpstreams, type HttpUpstreamsOptions, type UpstreamRequest, type UpstreamResponse } from './http-upstreams.js';
export { installRestForwarding, type RestForwardingOptions, type RestRelayService } from './rest-forwarding.js';
export { installRestFastLane } from './rest-fast-lane.js';
