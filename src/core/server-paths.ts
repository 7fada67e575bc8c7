/**
 * Server folders never appear in what a client reads. Errors from the file system and from ONNX
 * Runtime name absolute paths (the model repository, the load API's override folders under the
 * temporary directory); an error answer shows them relative to the folder a user knows instead:
 * `/srv/models/m/1/weights.bin` → `m/1/weights.bin`.
 *
 * Components register the folders they own (`registerServerFolder`), and every protocol adapter
 * passes its error messages through `clientMessage` (via `boundMessage`'s callers) as the last
 * step. The temporary directory is always scrubbed. A process may run several servers (tests do),
 * so registrations are counted and each registration is removed by its own handle.
 */
import { realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { boundMessage } from './bounded-text.js';

const folders = new Map<string, number>();

/** Registers `folder` (and its real path, if different) for scrubbing; returns the function that unregisters it. */
export function registerServerFolder(folder: string): () => void {
  const variants = new Set([stripSlash(folder)]);
  try {
    variants.add(stripSlash(realpathSync(folder)));
  } catch {
    // Not there (yet): its given spelling is enough.
  }
  for (const variant of variants) if (variant !== '') folders.set(variant, (folders.get(variant) ?? 0) + 1);
  let registered = true;
  return () => {
    if (!registered) return;
    registered = false;
    for (const variant of variants) {
      const count = (folders.get(variant) ?? 0) - 1;
      if (count <= 0) folders.delete(variant);
      else folders.set(variant, count);
    }
  };
}

/** `text` with every registered folder (and the temporary directory) shown relative: `<folder>/x` → `x`, `<folder>` → `.`. */
export function scrubServerPaths(text: string): string {
  if (!text.includes('/')) return text;
  const roots = [...folders.keys(), ...tempFolders()].sort((a, b) => b.length - a.length);
  let scrubbed = text;
  for (const root of roots) {
    if (!scrubbed.includes(root)) continue;
    scrubbed = scrubbed.replaceAll(`${root}/`, '').replaceAll(root, '.');
  }
  return scrubbed;
}

/** The message a client may read: server folders scrubbed, then bounded (`boundMessage`). */
export function clientMessage(message: string): string {
  return boundMessage(scrubServerPaths(message));
}

function tempFolders(): string[] {
  const dir = stripSlash(tmpdir());
  // "/" as the temporary directory would strip every slash: leave such a setup alone.
  if (dir === '') return [];
  try {
    const real = stripSlash(realpathSync(dir));
    return real !== dir && real !== '' ? [dir, real] : [dir];
  } catch {
    return [dir];
  }
}

function stripSlash(path: string): string {
  return path.endsWith('/') ? path.slice(0, -1) : path;
}
