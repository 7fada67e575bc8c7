/**
 * The paths of the TF Serving REST API (`/v1/models/{m}[/versions/{v}|/labels/{l}][:verb]`), matched the way TF Serving does:
 * case-insensitively, `{m}` and `{l}` as `[^/:]+` (URL-decoded), `{v}` as digits, a version or a
 * label but not both. Anything else under `/v1` is `400 Malformed request: <METHOD> <path>`, and
 * `GET /v1/models` is `400 Missing model name in request.`
 */
import { invalidArgument } from '../../core/index.js';
import type { ModelRef } from './tfs-operations.js';

export type TfsRestCall = { readonly kind: 'status' | 'metadata'; readonly ref: ModelRef } | { readonly kind: 'predict' | 'classify' | 'regress'; readonly ref: ModelRef };

const GET_PATH = /^\/v1\/models(?:\/([^/:]+))?(?:\/versions\/([0-9]+)|\/labels\/([^/:]+))?(\/metadata)?$/i;
const POST_PATH = /^\/v1\/models\/([^/:]+)(?:\/versions\/([0-9]+)|\/labels\/([^/:]+))?:(predict|classify|regress)$/i;

/** Parses `url` (path and optional query) of a request with `method`. */
export function parseTfsRestPath(method: string, url: string): TfsRestCall {
  const query = url.indexOf('?');
  const path = query === -1 ? url : url.slice(0, query);
  const malformed = (): Error => invalidArgument(`Malformed request: ${method} ${url}`);
  if (method === 'GET') {
    const match = GET_PATH.exec(path);
    if (!match) throw malformed();
    const [, model, version, label, metadata] = match;
    if (model === undefined) {
      if (version !== undefined || label !== undefined || metadata !== undefined) throw malformed();
      throw invalidArgument('Missing model name in request.');
    }
    return { kind: metadata === undefined ? 'status' : 'metadata', ref: refOf(model, version, label, malformed) };
  }
  if (method === 'POST') {
    const match = POST_PATH.exec(path);
    if (!match) throw malformed();
    const [, model, version, label, verb] = match;
    return { kind: verb!.toLowerCase() as 'predict' | 'classify' | 'regress', ref: refOf(model!, version, label, malformed) };
  }
  throw malformed();
}

function refOf(model: string, version: string | undefined, label: string | undefined, malformed: () => Error): ModelRef {
  const decode = (text: string): string => {
    try {
      return decodeURIComponent(text);
    } catch {
      throw malformed();
    }
  };
  const number = version === undefined ? undefined : Number(version);
  if (number !== undefined && !Number.isSafeInteger(number)) throw invalidArgument(`model version ${version} is too large`);
  return { model: decode(model), version: number, label: label === undefined ? undefined : decode(label) };
}
