/**
 * Startup failures worded for people: which flag, which value, what went wrong, what to do.
 * `cranberries serve` prints the message alone on stderr and exits nonzero.
 */
import { stat, access } from 'node:fs/promises';
import { constants } from 'node:fs';

/** A startup failure caused by a flag's value; `message` is one human sentence. */
export class StartupError extends Error {
  override readonly name = 'StartupError';
  constructor(
    readonly flag: string,
    message: string,
  ) {
    super(message);
  }
}

/** The error for an endpoint that could not listen. */
export function listenError(flag: string, host: string, port: number, error: unknown): StartupError {
  const text = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  const address = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  if (code === 'EADDRINUSE' || /EADDRINUSE|address already in use/i.test(text)) {
    return new StartupError(flag, `${flag} ${port}: ${address} is already in use (another process listens there); choose another port, or 0 for a free one`);
  }
  if (code === 'EACCES' || /EACCES|permission denied/i.test(text)) {
    return new StartupError(flag, `${flag} ${port}: no permission to listen on ${address} (ports below 1024 need privileges); choose a port ≥ 1024`);
  }
  if (code === 'EADDRNOTAVAIL' || /EADDRNOTAVAIL|ENOTFOUND|cannot assign requested address/i.test(text)) {
    return new StartupError(flag, `${flag} ${port}: cannot listen on ${address}: this machine has no such address (check --host)`);
  }
  return new StartupError(flag, `${flag} ${port}: cannot listen on ${address}: ${text.slice(0, 300)}`);
}

/** A folder the server must read: it exists, is a folder, and is readable. */
export async function requireFolder(flag: string, path: string, given: string): Promise<void> {
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => error);
  if (info instanceof Error) {
    throw new StartupError(flag, info.code === 'ENOENT' ? `${flag} ${given}: no such folder (${path})` : `${flag} ${given}: cannot read ${path}: ${info.code ?? info.message}`);
  }
  if (!info.isDirectory()) throw new StartupError(flag, `${flag} ${given}: ${path} is a file, not a folder`);
  await access(path, constants.R_OK | constants.X_OK).catch(() => {
    throw new StartupError(flag, `${flag} ${given}: the folder ${path} is not readable by this user`);
  });
}

/** A file the server must read: it exists, is a file, and is readable. */
export async function requireFile(flag: string, path: string, given: string): Promise<void> {
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => error);
  if (info instanceof Error) {
    throw new StartupError(flag, info.code === 'ENOENT' ? `${flag} ${given}: no such file (${path})` : `${flag} ${given}: cannot read ${path}: ${info.code ?? info.message}`);
  }
  if (!info.isFile()) throw new StartupError(flag, `${flag} ${given}: ${path} is not a file`);
  await access(path, constants.R_OK).catch(() => {
    throw new StartupError(flag, `${flag} ${given}: the file ${path} is not readable by this user`);
  });
}

const MAX_LISTED = 10;

/** "a, b, c (and 4 more)": a bounded list of names for messages. */
export function listNames(names: readonly string[], max = MAX_LISTED): string {
  if (names.length === 0) return 'none';
  const shown = names.slice(0, max).join(', ');
  return names.length > max ? `${shown} (and ${names.length - max} more)` : shown;
}

/** The known name closest to `name` (edit distance ≤ 2), for "did you mean" hints. */
export function closestName(name: string, known: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance <= 2 && (!best || distance < best.distance)) best = { name: candidate, distance };
  }
  return best?.name;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2 || a.length > 200 || b.length > 200) return 3;
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const swap = i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1] ? previous[j - 2]! : Infinity;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1), swap);
    }
    previous = current;
  }
  return previous[b.length]!;
}
