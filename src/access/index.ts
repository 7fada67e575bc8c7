/**
 * Access control for every protocol front: API groups, the policy (restricted groups, bearer
 * tokens, allowed CORS origins), the REST hook, the gRPC interceptor and the command-line flags.
 * Protocols only install the hook / interceptor; the decisions are made here.
 */
export { API_GROUPS, GRPC_METHOD_GROUPS, grpcGroupOf, isMutation, restGroupOf, type ApiGroup, isApiGroup } from './api-groups.js';
export { AccessPolicy, ADMIN_GROUPS, INFERENCE_GROUPS, type AccessPolicyOptions, type RestrictedGroups } from './access-policy.js';
export { TokenStore, bearerToken } from './token-store.js';
export { installRestAccess, restFastLaneAdmits } from './rest-guard.js';
export { grpcAccessInterceptor, grpcFrontAdmits } from './grpc-guard.js';
