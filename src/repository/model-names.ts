/**
 * The one rule for model names and for the relative paths of the load API's file overrides, used
 * wherever they enter: repository folder names, the OIP load / unload API over REST and gRPC, the
 * cluster admin API and TF Serving model lists.
 *
 * A model name is one path segment a file system can hold: 1 to 255 UTF-8 bytes (the common
 * file-name limit), no control characters (C0, DEL, C1: they corrupt logs and terminals), no `/`,
 * `\` or NUL, and no `..` anywhere (so it can never be read as a parent folder, whatever joins it).
 * A file override is `<segment>/<segment>/…`, every segment following the same rule, at most
 * 1024 bytes in all, and never a folder (`1/`).
 */
import { invalidArgument, type CranberriesError } from '../core/index.js';

export const MAX_NAME_BYTES = 255;
export const MAX_OVERRIDE_PATH_BYTES = 1024;
/** Most characters of a rejected name an error message shows. */
const SHOWN_CHARACTERS = 64;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Why `name` cannot be a model name, or undefined when it can. */
export function modelNameProblem(name: string): string | undefined {
  return segmentProblem(name, 'a model name');
}

export function isValidModelName(name: string): boolean {
  return modelNameProblem(name) === undefined;
}

/** Throws INVALID_ARGUMENT naming the problem (with the name shown escaped and shortened). */
export function checkModelName(name: string, where = 'model name'): void {
  const problem = modelNameProblem(name);
  if (problem !== undefined) throw invalidName(where, name, problem);
}

/**
 * Why `path` (the part after `file:` in a load API parameter) cannot be a file of an override
 * folder, or undefined when it can.
 */
export function fileOverrideProblem(path: string): string | undefined {
  if (path === '') return 'it names no file (expected file:<version>/<file name>)';
  if (Buffer.byteLength(path, 'utf8') > MAX_OVERRIDE_PATH_BYTES) return `it is longer than ${MAX_OVERRIDE_PATH_BYTES} bytes`;
  if (path.includes('\\')) return "it contains '\\' (separate folders with '/')";
  if (path.endsWith('/')) return 'it names a folder, not a file';
  for (const segment of path.split('/')) {
    const problem = segmentProblem(segment, 'a path segment');
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/** Throws INVALID_ARGUMENT for a `file:` parameter key whose path cannot be written. */
export function checkFileOverrideKey(key: string, path: string): void {
  const problem = fileOverrideProblem(path);
  if (problem !== undefined) throw invalidName('parameter', key, problem);
}

/** `name` for an error message: JSON-escaped (control characters show as \u…) and shortened. */
export function shownName(name: string): string {
  const chars = [...name];
  const short = chars.length > SHOWN_CHARACTERS ? `${chars.slice(0, SHOWN_CHARACTERS).join('')}…` : name;
  return JSON.stringify(short);
}

function segmentProblem(segment: string, what: string): string | undefined {
  if (segment === '') return `${what} must not be empty`;
  if (segment.includes('\0')) return `${what} must not contain NUL`;
  if (CONTROL.test(segment)) return `${what} must not contain control characters`;
  if (segment.includes('/') || segment.includes('\\')) return `${what} must not contain '/' or '\\'`;
  if (segment === '.' || segment.includes('..')) return `${what} must not be '.' or contain '..'`;
  if (Buffer.byteLength(segment, 'utf8') > MAX_NAME_BYTES) return `${what} must be at most ${MAX_NAME_BYTES} bytes`;
  return undefined;
}

function invalidName(where: string, name: string, problem: string): CranberriesError {
  return invalidArgument(`invalid ${where} ${shownName(name)}: ${problem}`);
}
