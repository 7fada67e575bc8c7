/**
 * Finds the project's `.proto` files at run time and parses `model_config.proto` once, lazily.
 *
 * The files live in `<package root>/proto/`; compiled modules run from `dist/src/repository/` and
 * sources (tests run through a TS loader) from `src/repository/`, so the root is found by walking
 * up from this module rather than by a fixed relative path. Field names are kept as written
 * (`keepCase`), which is the snake_case shape `ModelConfig` uses everywhere.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { internal } from '../core/index.js';

/** Absolute path of `proto/<fileName>` in the package this module belongs to. */
export function findProtoFile(fileName: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 8; depth++) {
    const candidate = join(dir, 'proto', fileName);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw internal(`cannot find proto/${fileName} above ${fileURLToPath(import.meta.url)}`);
}

let root: protobuf.Root | undefined;

/** The parsed, resolved `model_config.proto` (package `inference`). */
export function modelConfigRoot(): protobuf.Root {
  if (!root) {
    const loaded = new protobuf.Root();
    loaded.loadSync(findProtoFile('model_config.proto'), { keepCase: true });
    loaded.resolveAll();
    root = loaded;
  }
  return root;
}

/** `inference.ModelConfig`. */
export function modelConfigType(): protobuf.Type {
  return modelConfigRoot().lookupType('inference.ModelConfig');
}
