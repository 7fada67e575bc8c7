/**
 * Composition: where the parts become processes. A model server (`ModelServer`), a cluster worker
 * (`startWorkerNode`), the standalone one-process cluster (`startStandalone`), a controller
 * (`startControllerNode`), a gateway (`GatewayServer`) and the administration service (`AdminService`)
 * are wired here, with their listeners, metrics, TLS and protocol families; `cli/` only turns flags into
 * their options.
 */
export { ModelServer, SERVER_NAME_HELP } from './model-server.js';
export type { ModelServerOptions, BoundPorts, ModelSelection } from './model-server.js';
export { startupFailures } from './readiness.js';
export type { ReadinessModels } from './readiness.js';
export { startStandalone } from './standalone.js';
export { bannerModels, logStartupBanner } from './startup-banner.js';
export { checkStartupInputs, finishStartup } from './startup.js';
export type { StartingServer } from './startup.js';
export { defaultNodeId, startWorkerNode } from './worker-node.js';
export { startControllerNode } from './controller-node.js';
export type { ControllerNode, ControllerNodeOptions } from './controller-node.js';
export { GatewayServer } from './gateway-server.js';
export type { GatewayServerOptions, GatewayPorts } from './gateway-server.js';
export { AdminService } from './admin-server.js';
export type { AdminServiceOptions } from './admin-server.js';
