/** What other folders use of protocols/common/ (kept by scripts/index-imports.mjs). */
export { addListenerLimitFlags, listenerLimitsFromFlags, DEFAULT_LISTENER_LIMITS, applyHttpLimits, httpServerOptions } from './listener-limits.js';
export type { HttpListenerLimits, ListenerLimitFlags, ListenerLimits, GrpcListenerLimits } from './listener-limits.js';
export { REQUEST_ID_HEADER, resolveRequestId, usableRequestId, newRequestId, withRequestId, versionOrUndefined } from './request-id.js';
export type { ResolvedRequestId } from './request-id.js';
