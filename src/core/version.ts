/** The package version, read once from package.json (the single source of truth). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

function findPackageJson(): { version: string } {
  // Compiled code runs from dist/src/core/; sources from src/core/.
  for (const up of ['../../../package.json', '../../package.json']) {
    try {
      return JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as { version: string };
    } catch {
      // try the next candidate
    }
  }
  return { version: '0.0.0' };
}

export const VERSION: string = findPackageJson().version;

/** The repository root (where package.json, models/ and proto/ live). */
export const PACKAGE_ROOT: string = fileURLToPath(new URL('../../../', import.meta.url));
