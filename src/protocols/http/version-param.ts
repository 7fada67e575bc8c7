/** The `{version}` segment of OIP REST paths. */
import { invalidArgument } from '../../core/index.js';

/** Triton: a version in the URL matches `[0-9]+`. */
export function parseVersion(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const version = Number(text);
  if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(version)) {
    throw invalidArgument(`model version must be a non-negative decimal integer, got '${text}'`);
  }
  return version;
}
