/**
 * Path rules shared by every coordination store, so both implementations accept and reject the
 * same paths: absolute, `/`-separated, no empty, `.` or `..` segments, no trailing slash (except
 * the root `/` itself).
 */
import { invalidArgument } from '../../core/index.js';

/** Throws INVALID_ARGUMENT unless `path` is a well-formed absolute store path. */
export function validatePath(path: string): void {
  if (path === '/') return;
  if (!path.startsWith('/') || path.endsWith('/')) throw invalidArgument(`invalid store path '${path}': must start with '/' and not end with '/'`);
  for (const segment of path.slice(1).split('/')) {
    if (segment === '' || segment === '.' || segment === '..' || segment.includes('\0')) {
      throw invalidArgument(`invalid store path '${path}': empty, '.' or '..' segment`);
    }
  }
}

/** The parent of a validated path (`/` for top-level nodes); undefined for the root. */
export function parentPath(path: string): string | undefined {
  if (path === '/') return undefined;
  const cut = path.lastIndexOf('/');
  return cut === 0 ? '/' : path.slice(0, cut);
}

/** The last segment of a validated path. */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

export function childPath(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}

/** Every ancestor of a path, outermost first, excluding `/` and including the path itself. */
export function pathPrefixes(path: string): string[] {
  const prefixes: string[] = [];
  let at = 0;
  while (at >= 0 && path !== '/') {
    at = path.indexOf('/', at + 1);
    prefixes.push(at < 0 ? path : path.slice(0, at));
  }
  return prefixes;
}

/** ZooKeeper's sequential suffix: a 10-digit zero-padded counter. */
export function sequenceSuffix(counter: number): string {
  return String(counter).padStart(10, '0');
}
