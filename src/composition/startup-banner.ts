/**
 * The startup banner: once the startup has settled, one info record listing every endpoint (with
 * its scheme) and every model with its state. In the text format it is a short block a person
 * reads; in JSON one line with `endpoints` and `models` fields a program reads.
 */
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import { VERSION, logSettingsOf } from '../core/index.js';
import { modelReason, type ReadinessModels } from './readiness.js';

export interface BannerEndpoints {
  readonly host: string;
  readonly http: number;
  readonly grpc: number;
  readonly metrics: number;
  /** HTTPS, gRPC over TLS and metrics over HTTPS. */
  readonly tls: boolean;
}

export interface BannerModel {
  readonly name: string;
  readonly state: 'READY' | 'UNAVAILABLE';
  /** READY versions. */
  readonly versions: readonly number[];
  readonly reason?: string | undefined;
}

/** Models listed in the text block; the JSON line lists up to `MAX_JSON_MODELS`. */
const MAX_TEXT_MODELS = 50;
const MAX_JSON_MODELS = 1000;

/** `http://host:port`, `grpc://host:port`, ... (IPv6 hosts in brackets). */
export function endpointUrls(endpoints: BannerEndpoints): { http: string; grpc: string; metrics: string } {
  const host = isIP(endpoints.host) === 6 ? `[${endpoints.host}]` : endpoints.host;
  const s = endpoints.tls ? 's' : '';
  return { http: `http${s}://${host}:${endpoints.http}`, grpc: `grpc${s}://${host}:${endpoints.grpc}`, metrics: `http${s}://${host}:${endpoints.metrics}/metrics` };
}

/**
 * Every served model (aspired) and every model in `failures` (the startup's models that are not
 * READY, with their reasons; a model the cluster could not place has no version to show it).
 */
export function bannerModels(models: ReadinessModels, failures: readonly { model: string; reason: string }[] = []): BannerModel[] {
  const reasons = new Map(failures.map((f) => [f.model, f.reason]));
  const names = [...new Set([...models.modelNames().filter((m) => models.isAspired(m)), ...reasons.keys()])].sort();
  return names.map((name) => {
    if (models.isReady(name)) {
      return {
        name,
        state: 'READY',
        versions: models
          .versions(name)
          .filter((v) => v.state === 'READY')
          .map((v) => v.version)
          .sort((a, b) => a - b),
      };
    }
    return { name, state: 'UNAVAILABLE', versions: [], reason: reasons.get(name) ?? modelReason(models, name) ?? 'not ready' };
  });
}

function modelLine(model: BannerModel, width: number): string {
  const versions = model.versions.length > 0 ? ` (version${model.versions.length > 1 ? 's' : ''} ${model.versions.join(', ')})` : '';
  return `  ${model.name.padEnd(width)}  ${model.state}${model.state === 'READY' ? versions : `: ${model.reason ?? 'not ready'}`}`;
}

/** The human block (the text format's message). */
export function bannerText(endpoints: BannerEndpoints, models: readonly BannerModel[]): string {
  const urls = endpointUrls(endpoints);
  const ready = models.filter((m) => m.state === 'READY').length;
  const shown = models.slice(0, MAX_TEXT_MODELS);
  const width = Math.min(40, Math.max(0, ...shown.map((m) => m.name.length)));
  return [
    `Cranberries ${VERSION} started: ${ready} of ${models.length} model${models.length === 1 ? '' : 's'} READY`,
    `  HTTP     ${urls.http}  (OIP REST, TF Serving REST)`,
    `  gRPC     ${urls.grpc}  (OIP gRPC, TF Serving gRPC)`,
    `  metrics  ${urls.metrics}`,
    ...(models.length === 0 ? ['  no models'] : shown.map((m) => modelLine(m, width))),
    ...(models.length > shown.length ? [`  ... and ${models.length - shown.length} more (POST /v2/repository/index lists them all)`] : []),
  ].join('\n');
}

/** Logs the banner at info: a block in the text format, one structured line in JSON. */
export function logStartupBanner(logger: Logger, endpoints: BannerEndpoints, models: readonly BannerModel[]): void {
  if (logSettingsOf(logger)?.format === 'text') {
    logger.info(bannerText(endpoints, models));
    return;
  }
  const ready = models.filter((m) => m.state === 'READY').length;
  const urls = endpointUrls(endpoints);
  logger.info(
    { banner: true, version: VERSION, endpoints: urls, models: models.slice(0, MAX_JSON_MODELS), ...(models.length > MAX_JSON_MODELS ? { modelsNotListed: models.length - MAX_JSON_MODELS } : {}) },
    `Cranberries ${VERSION} started: ${ready} of ${models.length} models READY; HTTP ${urls.http}, gRPC ${urls.grpc}, metrics ${urls.metrics}`,
  );
}
