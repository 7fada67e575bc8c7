/** What other folders use of server/ (kept by scripts/index-imports.mjs). */
export { ModelServer, SERVER_NAME_HELP } from './model-server.js';
export type { ModelServerOptions, BoundPorts, ModelSelection } from './model-server.js';
export { startupFailures } from './readiness.js';
export type { ReadinessModels } from './readiness.js';
export { startStandalone } from './standalone.js';
export { bannerModels, logStartupBanner } from './startup-banner.js';
export { checkStartupInputs, finishStartup } from './startup.js';
export type { StartingServer } from './startup.js';
export { defaultNodeId, startWorkerNode } from './worker-node.js';
