/**
 * The boundary check (.dependency-cruiser.cjs, run by `npm test`) on small fixture trees: it reports
 * an import against the layer direction, a file cycle, a directory cycle, a folder without a layer
 * and an import that bypasses a folder's index.ts, and it passes a tree that keeps the rules. The
 * real tree is checked by scripts/test.mjs itself; this shows the check is able to fail.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CRUISER = join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');

interface Violation {
  readonly from: string;
  readonly to: string;
  readonly rule: { readonly name: string; readonly severity: string };
}

/** Writes `files` under a fresh folder with the project's config and a tsconfig, cruises src/: the violations and the exit status. */
function cruise(files: Record<string, string>): { violations: Violation[]; status: number | null } {
  const dir = mkdtempSync(join(tmpdir(), 'boundaries-'));
  try {
    copyFileSync(join(ROOT, '.dependency-cruiser.cjs'), join(dir, '.dependency-cruiser.cjs'));
    // TypeScript from the project, so type-only imports count as the real check counts them.
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true } }));
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    const run = (output: string) => spawnSync(process.execPath, [CRUISER, 'src', '--config', '.dependency-cruiser.cjs', '--output-type', output], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
    const json = run('json');
    assert.ok(json.stdout, `dependency-cruiser printed nothing: ${json.stderr}`);
    const report = JSON.parse(json.stdout) as { summary: { violations: Violation[] } };
    // The exit status npm test sees: the `err` output exits non-zero when a rule of severity error is broken.
    return { violations: report.summary.violations, status: run('err').status };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const names = (violations: readonly Violation[]): string[] => [...new Set(violations.map((v) => v.rule.name))].sort();

/** A tree that keeps every rule: serving imports core through its index. */
const CLEAN = {
  'src/core/errors.ts': 'export const code = 1;\n',
  'src/core/index.ts': "export { code } from './errors.js';\n",
  'src/serving/service.ts': "import { code } from '../core/index.js';\nexport const served = code + 1;\n",
  'src/serving/index.ts': "export { served } from './service.js';\n",
};

test('a tree that keeps the rules passes', () => {
  const { violations, status } = cruise(CLEAN);
  assert.deepEqual(violations, []);
  assert.equal(status, 0);
});

test('an import against the layer direction is an error', () => {
  const { violations, status } = cruise({ ...CLEAN, 'src/core/errors.ts': "import { served } from '../serving/index.js';\nexport const code = served;\n" });
  const layer = violations.filter((v) => v.rule.name === 'layer:core');
  assert.deepEqual(
    layer.map((v) => [v.from, v.to, v.rule.severity]),
    [['src/core/errors.ts', 'src/serving/index.ts', 'error']],
  );
  // The back-import closes a cycle too, between the files and between the folders.
  assert.ok(names(violations).includes('no-file-cycle'));
  assert.ok(names(violations).includes('no-folder-cycle'));
  assert.notEqual(status, 0);
});

test('a folder may not import another folder of its own layer', () => {
  const { violations } = cruise({ ...CLEAN, 'src/tls/files.ts': "import { code } from '../tensors/index.js';\nexport const f = code;\n", 'src/tensors/index.ts': 'export const code = 2;\n' });
  assert.deepEqual(names(violations), ['layer:tls']);
});

test('a cycle between two files of one folder is an error', () => {
  const { violations, status } = cruise({
    ...CLEAN,
    'src/tensors/tensor.ts': "import type { DataType } from './data-type.js';\nexport type Tensor = { type: DataType };\n",
    'src/tensors/data-type.ts': "import type { Tensor } from './tensor.js';\nexport type DataType = 'FP32';\nexport type Of = Tensor['type'];\n",
  });
  const cycles = violations.filter((v) => v.rule.name === 'no-file-cycle');
  // One report per cycle, from one of its files.
  assert.equal(cycles.length, 1);
  assert.ok(['src/tensors/data-type.ts', 'src/tensors/tensor.ts'].includes(cycles[0]?.from ?? ''));
  assert.ok(cycles.every((v) => v.rule.severity === 'error'));
  assert.notEqual(status, 0);
});

test('a folder without a layer is reported', () => {
  const { violations } = cruise({ ...CLEAN, 'src/widgets/widget.ts': "import { code } from '../core/index.js';\nexport const w = code;\n" });
  assert.deepEqual(names(violations), ['unplaced-folder']);
});

test("an import of another folder's file instead of its index.ts is an error", () => {
  const { violations, status } = cruise({ ...CLEAN, 'src/serving/service.ts': "import { code } from '../core/errors.js';\nexport const served = code + 1;\n" });
  assert.deepEqual(
    violations.map((v) => [v.rule.name, v.from, v.to, v.rule.severity]),
    [['through-index', 'src/serving/service.ts', 'src/core/errors.ts', 'error']],
  );
  assert.notEqual(status, 0);
});
