/**
 * The command-line flags of access control, shared by every command that opens REST/gRPC
 * endpoints (`serve`, `worker`, `gateway`), and the policy they make.
 *
 *   --http-restricted-api GROUP[,GROUP...]:HEADER=VALUE       (repeatable; Triton's flag)
 *   --grpc-restricted-protocol GROUP[,GROUP...]:KEY=VALUE     (repeatable; Triton's flag)
 *   --admin-token-file FILE       or CRANBERRIES_ADMIN_TOKEN
 *   --inference-token-file FILE   or CRANBERRIES_INFERENCE_TOKEN
 *   --cors-origin ORIGIN[,ORIGIN...]                          (repeatable)
 */
import { InvalidArgumentError, type Command } from 'commander';
import type { Logger } from 'pino';
import { API_GROUPS, isApiGroup, type ApiGroup, AccessPolicy, type RestrictedGroups, TokenStore } from '../access/index.js';

export const ADMIN_TOKEN_ENV = 'CRANBERRIES_ADMIN_TOKEN';
export const INFERENCE_TOKEN_ENV = 'CRANBERRIES_INFERENCE_TOKEN';

export interface AccessFlags {
  httpRestrictedApi: RestrictedGroups[];
  grpcRestrictedProtocol: RestrictedGroups[];
  adminTokenFile?: string;
  inferenceTokenFile?: string;
  corsOrigin: string[];
}

export function addAccessFlags(command: Command): Command {
  return command
    .option(
      '--http-restricted-api <groups:header=value>',
      `REST: calls to these API groups need this header with this value, else 403 (repeatable; groups: ${API_GROUPS.join(', ')})`,
      collectRestriction('--http-restricted-api'),
      [],
    )
    .option(
      '--grpc-restricted-protocol <groups:key=value>',
      'gRPC: calls to these API groups need the metadata triton-grpc-protocol-<key> with this value, else PERMISSION_DENIED (repeatable)',
      collectRestriction('--grpc-restricted-protocol'),
      [],
    )
    .option(
      '--admin-token-file <file>',
      `bearer token(s), one a line, for model-repository, cluster-admin, shared-memory, trace and logging calls (or $${ADMIN_TOKEN_ENV}); re-read when the file changes`,
    )
    .option('--inference-token-file <file>', `bearer token(s), one a line, for inference calls (or $${INFERENCE_TOKEN_ENV}); the admin token is accepted too`)
    .option('--cors-origin <origin>', 'allow cross-origin browser calls from this origin, e.g. https://app.example.com (repeatable or comma list; none by default)', collectOrigins, []);
}

/** The policy the flags (and environment) describe; throws on an unreadable token file. */
export function accessPolicyFromFlags(flags: AccessFlags, logger?: Logger, env: NodeJS.ProcessEnv = process.env): AccessPolicy {
  return new AccessPolicy({
    restrictedHttp: flags.httpRestrictedApi,
    restrictedGrpc: flags.grpcRestrictedProtocol,
    adminTokens: tokenSource('--admin-token-file', flags.adminTokenFile, env[ADMIN_TOKEN_ENV], logger),
    inferenceTokens: tokenSource('--inference-token-file', flags.inferenceTokenFile, env[INFERENCE_TOKEN_ENV], logger),
    corsOrigins: flags.corsOrigin,
  });
}

/** The file wins over the environment variable, which may hold several tokens separated by commas. */
function tokenSource(flag: string, file: string | undefined, fromEnv: string | undefined, logger: Logger | undefined): TokenStore | undefined {
  if (file !== undefined) {
    try {
      return TokenStore.fromFile(file, logger?.child({ component: 'access' }));
    } catch (error) {
      throw new Error(`${flag}: ${(error as Error).message}`, { cause: error });
    }
  }
  if (fromEnv !== undefined && fromEnv.trim() !== '')
    return TokenStore.of(
      fromEnv
        .split(',')
        .map((token) => token.trim())
        .filter((token) => token !== ''),
    );
  return undefined;
}

/** `GROUP[,GROUP...]:NAME=VALUE` → a restriction. */
export function parseRestriction(text: string, flag: string): RestrictedGroups {
  const colon = text.indexOf(':');
  const equals = text.indexOf('=', colon + 1);
  if (colon <= 0 || equals <= colon + 1) throw new InvalidArgumentError(`${flag} "${text}": expected GROUP[,GROUP...]:NAME=VALUE`);
  const groups: ApiGroup[] = [];
  for (const name of text.slice(0, colon).split(',')) {
    const group = name.trim();
    if (!isApiGroup(group)) throw new InvalidArgumentError(`${flag}: unknown API group '${group}' (known: ${API_GROUPS.join(', ')})`);
    groups.push(group);
  }
  const key = text
    .slice(colon + 1, equals)
    .trim()
    .toLowerCase();
  if (!/^[a-z0-9-]+$/.test(key)) throw new InvalidArgumentError(`${flag}: '${key}' is not a valid header name (letters, digits, '-')`);
  const value = text.slice(equals + 1);
  if (value === '') throw new InvalidArgumentError(`${flag}: the value for '${key}' must not be empty`);
  return { groups, key, value };
}

function collectRestriction(flag: string): (value: string, previous: RestrictedGroups[]) => RestrictedGroups[] {
  return (value, previous) => [...previous, parseRestriction(value, flag)];
}

function collectOrigins(value: string, previous: string[]): string[] {
  const origins = value
    .split(',')
    .map((origin) => origin.trim())
    .filter((origin) => origin !== '');
  for (const origin of origins) {
    let parsed: URL;
    try {
      parsed = new URL(origin);
    } catch {
      throw new InvalidArgumentError(`--cors-origin "${origin}" is not an origin such as https://app.example.com`);
    }
    if (parsed.origin !== origin) throw new InvalidArgumentError(`--cors-origin "${origin}": give the origin only (scheme://host[:port]), e.g. ${parsed.origin}`);
  }
  return [...previous, ...origins];
}
