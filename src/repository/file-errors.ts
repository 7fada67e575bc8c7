/**
 * File system errors in a user's terms. Node's messages (`ENAMETOOLONG: name too long, realpath
 * '/srv/models/m/1/…'`) quote whole absolute paths, as long as they are; users get what went wrong,
 * the error code, and the path relative to the folder they know (the repository, a model list's
 * base path, an override folder), shortened.
 */
import { relative } from 'node:path';
import { shownName } from './model-names.js';

const WHY: Readonly<Record<string, string>> = {
  ENAMETOOLONG: 'the name is too long for the file system',
  ENOENT: 'not found',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'it is a folder, not a file',
  EACCES: 'the server may not read it',
  EPERM: 'the server may not read it',
  ELOOP: 'too many symbolic links',
  EMFILE: 'the server has too many files open',
  ENFILE: 'the server has too many files open',
};

/** `"m/1/x…": the name is too long for the file system (ENAMETOOLONG)`, or undefined for an error that is not a file system error. */
export function fileErrorReason(error: unknown, base: string): string | undefined {
  const errno = error as NodeJS.ErrnoException | undefined;
  if (!(error instanceof Error) || typeof errno?.syscall !== 'string' || typeof errno.code !== 'string' || !/^E[A-Z0-9]+$/.test(errno.code)) return undefined;
  const why = WHY[errno.code] ?? 'the file system refused it';
  if (typeof errno.path !== 'string') return `${why} (${errno.code})`;
  const rel = relative(base, errno.path);
  // A path outside `base` shows by its last part only: never a server folder.
  const shown = rel === '' ? '.' : rel.startsWith('..') || rel.startsWith('/') ? (errno.path.split('/').at(-1) ?? '') : rel;
  return `${shownName(shown)}: ${why} (${errno.code})`;
}
