/** What other folders use of protocols/http/ (kept by scripts/index-imports.mjs). */
export { connectionSignal } from './client-signal.js';
export { httpStatusOf, describeError, sendError } from './error-mapping.js';
export { createHttpApp } from './http-server.js';
export { clientErrorAnswer } from './listener-answers.js';
export { routePath } from './method-routes.js';
export { bodyOf } from './request-body.js';
export { installHttpRequestTracking } from './request-tracking.js';
export { parseVersion } from './version-param.js';
