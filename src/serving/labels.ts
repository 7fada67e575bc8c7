/**
 * Label files named by outputs' `label_filename` (one label per line; line i names class i), used
 * by the classification extension.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelConfig } from '../repository/model-config.js';

export function readLabels(modelDir: string, config: ModelConfig): ReadonlyMap<string, readonly string[]> {
  const labels = new Map<string, readonly string[]>();
  for (const output of config.output) {
    if (!output.label_filename) continue;
    try {
      const lines = readFileSync(join(modelDir, output.label_filename), 'utf8').split(/\r?\n/);
      if (lines.at(-1) === '') lines.pop();
      labels.set(output.name, lines);
    } catch {
      // A missing label file only means classifications come without labels.
    }
  }
  return labels;
}
