/**
 * Class-label files (`label_filename` of an output): where a version's files are depends on where
 * it was read from (the repository, a model list's base_path, or a load request's override
 * folder), and each file must stay inside that folder's boundary. Read once per loaded copy and
 * kept as long as the copy lives (classification answers and TF Serving Classify use them).
 */
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { readLabels } from './labels.js';
import type { ServedVersion } from './served-version.js';

export interface OutputLabelFilesOptions {
  /** The model repository's root folder. */
  readonly repositoryRoot: string;
  /** Folder of a model served from outside the repository (a model list's base_path). */
  readonly modelDirectory?: ((model: string) => string | undefined) | undefined;
  /** The override folder a version was read from (the load API's files), if any. */
  readonly overrideFolderOf: (served: ServedVersion) => string | undefined;
}

export class OutputLabelFiles {
  private readonly labels = new WeakMap<ServedVersion, ReadonlyMap<string, readonly string[]>>();

  constructor(private readonly options: OutputLabelFilesOptions) {}

  /** Each output's class names of a loaded copy (empty for a copy that is not READY). */
  of(served: ServedVersion): ReadonlyMap<string, readonly string[]> {
    let labels = this.labels.get(served);
    if (!labels) {
      const parts = served.parts;
      const listed = this.options.modelDirectory?.(served.model);
      const override = this.options.overrideFolderOf(served);
      // The folder the version was read from, and the boundary its files must stay in.
      const boundary = realpathOr(listed ?? override ?? this.options.repositoryRoot);
      const dir = listed !== undefined || override !== undefined ? boundary : join(boundary, served.model);
      labels = parts ? readLabels(dir, parts.config, boundary) : new Map();
      this.labels.set(served, labels);
    }
    return labels;
  }
}

function realpathOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
