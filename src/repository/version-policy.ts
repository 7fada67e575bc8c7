/**
 * Which of a model's versions on disk are to be served, by its version policy (Triton's
 * `ModelVersionPolicy`, the same semantics as TensorFlow Serving's `ServableVersionPolicy`).
 * Pure: the repository scanner feeds it the numeric version folders it found.
 */
import type { ModelVersionPolicy } from './model-config.js';

/**
 * The versions of `available` that `policy` serves, ascending and without duplicates:
 * `latest { num_versions: n }` the n numerically highest (0 counts as 1), `all` every one,
 * `specific { versions }` those listed that exist.
 */
export function selectVersions(policy: ModelVersionPolicy, available: readonly number[]): number[] {
  const ascending = [...new Set(available)].sort((a, b) => a - b);
  if ('latest' in policy) {
    const count = Math.max(1, policy.latest.num_versions);
    return ascending.slice(Math.max(0, ascending.length - count));
  }
  if ('specific' in policy) {
    const wanted = new Set(policy.specific.versions);
    return ascending.filter((version) => wanted.has(version));
  }
  return ascending;
}
