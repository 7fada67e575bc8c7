/**
 * Label files named by outputs' `label_filename` (one label per line; line i names class i), used
 * by the classification extension. A label file must resolve inside `boundary` (the repository
 * root, a model list's base path or an override folder; see `repository/contained-path.ts`): the
 * model's load already refused one that leads outside, and this check holds if a link changes later.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveInsideSync } from '../repository/index.js';
import type { ModelConfig } from '../repository/index.js';

export function readLabels(modelDir: string, config: ModelConfig, boundary: string = modelDir): ReadonlyMap<string, readonly string[]> {
  const labels = new Map<string, readonly string[]>();
  for (const output of config.output) {
    if (!output.label_filename) continue;
    try {
      const path = resolveInsideSync(boundary, join(modelDir, output.label_filename));
      if (path === undefined) continue;
      const lines = readFileSync(path, 'utf8').split(/\r?\n/);
      if (lines.at(-1) === '') lines.pop();
      labels.set(output.name, lines);
    } catch {
      // A missing (or refused) label file only means classifications come without labels.
    }
  }
  return labels;
}
