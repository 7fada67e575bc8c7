/**
 * The one file system rule for everything read from a model repository: a model folder, its
 * `config.pbtxt`, version folders, model files (and every file of a model-file folder, such as
 * external weights) and label files must resolve (after following symbolic links) to a path inside
 * the boundary: the repository root, or for a TF Serving model list entry its `base_path`, or for
 * the load API its override folder. Symbolic links are followed while they stay inside; one that
 * leads out is refused with a reason the caller shows (the model or version becomes UNAVAILABLE).
 *
 * The boundary is the repository root rather than each model's own folder so that models may share
 * files through links inside the repository (a version folder linked from another model, common
 * label files); the operator already chose to expose everything inside the root.
 *
 * Reasons name paths relative to the boundary, never absolute server paths.
 */
import { lstatSync, realpathSync } from 'node:fs';
import { lstat, readdir, realpath } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

export class OutsideBoundaryError extends Error {
  override readonly name = 'OutsideBoundaryError';
}

/** Most entries inspected below a model-file folder (bounded work for a hostile tree). */
const MAX_FOLDER_ENTRIES = 10_000;
const MAX_FOLDER_DEPTH = 8;

/** The real path of a boundary folder itself (the operator's choice: it may be a link). */
export async function realBoundary(boundary: string): Promise<string> {
  return realpath(boundary).catch(() => boundary);
}

/**
 * The real path of `path`, which must lie inside `boundary` (a real path, see `realBoundary`).
 * Undefined when `path` does not exist (callers decide whether that is fine); throws
 * `OutsideBoundaryError` when it resolves outside.
 */
export async function resolveInside(boundary: string, path: string): Promise<string | undefined> {
  let real: string;
  try {
    real = await realpath(path);
  } catch (error) {
    if (isMissing(error)) {
      // A dangling link is missing too, unless it points out (then say so rather than "not found").
      const link = await lstat(path).catch(() => undefined);
      if (link?.isSymbolicLink()) throw outside(boundary, path, 'a symbolic link to nothing (links are followed only to files inside the model repository)');
      return undefined;
    }
    throw error;
  }
  if (!isInside(boundary, real)) throw outside(boundary, path);
  return real;
}

/** The synchronous `resolveInside`, for readers that are synchronous (label files). */
export function resolveInsideSync(boundary: string, path: string): string | undefined {
  let real: string;
  try {
    real = realpathSync(path);
  } catch (error) {
    if (isMissing(error)) {
      if (lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink()) throw outside(boundary, path, 'a symbolic link to nothing (links are followed only to files inside the model repository)');
      return undefined;
    }
    throw error;
  }
  if (!isInside(boundary, real)) throw outside(boundary, path);
  return real;
}

/** Every link below `folder` (a model-file folder: the model and its external weights) must stay inside. */
export async function checkFolderInside(boundary: string, folder: string): Promise<void> {
  let seen = 0;
  const walk = async (dir: string, depth: number): Promise<void> => {
    if (depth > MAX_FOLDER_DEPTH) return;
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (++seen > MAX_FOLDER_ENTRIES) return;
      const path = join(dir, entry.name);
      if (entry.isSymbolicLink()) await resolveInside(boundary, path);
      else if (entry.isDirectory()) await walk(path, depth + 1);
    }
  };
  await walk(folder, 0);
}

export function isInside(boundary: string, path: string): boolean {
  return path === boundary || path.startsWith(boundary.endsWith(sep) ? boundary : boundary + sep);
}

/** `path` relative to the boundary, for messages. */
export function shownPath(boundary: string, path: string): string {
  const rel = relative(boundary, path);
  return rel === '' ? '.' : rel;
}

function outside(boundary: string, path: string, what = 'a symbolic link that leads outside the model repository (links must stay inside it)'): OutsideBoundaryError {
  return new OutsideBoundaryError(`'${shownPath(boundary, path)}' is ${what}`);
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
