/** What other folders use of core/ (kept by scripts/index-imports.mjs). */
export { quoteInput, clip, formatShape, describeJsonValue } from './bounded-text.js';
export { systemClock } from './clock.js';
export type { Clock } from './clock.js';
export { CranberriesError, invalidArgument, internal, asCranberriesError, notFound, unavailable } from './errors.js';
export type { ErrorCode, FailureReason } from './errors.js';
export { EventChannel } from './events.js';
export type { Lifecycle } from './lifecycle.js';
export { defaultLogFormat, logSettingsOf } from './log-settings.js';
export type { LogSettings, LogSettingsSnapshot, LogSettingValue } from './log-settings.js';
export { createLogger, LOG_LEVELS, LOG_FORMATS } from './logger.js';
export type { Logger, LogLevel, LogFormat } from './logger.js';
export type { Parameters, ParameterValue } from './parameters.js';
export { clientMessage, registerServerFolder, scrubServerPaths } from './server-paths.js';
export { PACKAGE_ROOT, VERSION } from './version.js';
export { seededRandom } from './seeded-random.js';
