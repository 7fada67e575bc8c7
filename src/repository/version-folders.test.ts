import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelRepository, readModelFolder, versionFolders } from './model-repository.js';

const modelFilename = (): string => 'model.onnx';

async function modelFolder(versions: readonly string[]): Promise<{ root: string; dir: string; remove: () => Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'cranberries-versions-'));
  const dir = join(root, 'm');
  for (const version of versions) {
    await mkdir(join(dir, version), { recursive: true });
    await writeFile(join(dir, version, 'model.onnx'), version);
  }
  return { root, dir, remove: () => rm(root, { recursive: true, force: true }) };
}

describe('versionFolders', () => {
  test('strict: positive integers without leading zeros only', () => {
    assert.deepEqual(
      versionFolders(['1', '00000123', '0', 'abc', '12']),
      new Map([
        [1, '1'],
        [12, '12'],
      ]),
    );
  });

  test('digits: any all-digit name of a version ≥ 1, as TF Serving reads base paths', () => {
    assert.deepEqual(
      versionFolders(['00000123', '7', '0', '000', 'v2', '-3', '1e3'], 'digits'),
      new Map([
        [123, '00000123'],
        [7, '7'],
      ]),
    );
    // Beyond 2^53 a number is not exact: not a version.
    assert.deepEqual(versionFolders(['99999999999999999999'], 'digits'), new Map());
  });

  test('digits: two names of one number are refused, naming both', () => {
    assert.equal(versionFolders(['7', '007', '8'], 'digits'), "version folders '007' and '7' both name version 7: remove or rename one");
  });
});

describe('reading a model folder', () => {
  test('digits: 00000123 is served as version 123 from its own folder', async () => {
    const folder = await modelFolder(['00000123']);
    try {
      const strict = await readModelFolder(folder.dir, 'm', modelFilename);
      assert.ok(strict.ok);
      assert.deepEqual(strict.versions, []);
      assert.match(strict.noVersionReason ?? '', /'00000123' is zero-padded/);
      const digits = await readModelFolder(folder.dir, 'm', modelFilename, undefined, { versionFolders: 'digits' });
      assert.ok(digits.ok);
      assert.deepEqual(
        digits.versions.map((v) => [v.version, v.modelPath.endsWith(join('00000123', 'model.onnx'))]),
        [[123, true]],
      );
    } finally {
      await folder.remove();
    }
  });

  test('digits: 7 and 007 make the model unavailable, the reason naming both, and the refusal is reported', async () => {
    const folder = await modelFolder(['7', '007']);
    try {
      const refusals: string[] = [];
      const read = await readModelFolder(folder.dir, 'm', modelFilename, undefined, { versionFolders: 'digits', onRefused: (reason) => refusals.push(reason) });
      assert.deepEqual(read, { ok: false, reason: "version folders '007' and '7' both name version 7: remove or rename one" });
      assert.deepEqual(refusals, [read.reason]);
      // The repository option does the same for repository models.
      const repository = new ModelRepository({ root: folder.root, modelFilename, versionFolders: 'digits' });
      assert.equal((await repository.read('m')).ok, false);
      const strict = await new ModelRepository({ root: folder.root, modelFilename }).read('m');
      assert.ok(strict.ok);
      assert.deepEqual(
        strict.versions.map((v) => v.version),
        [7],
      );
    } finally {
      await folder.remove();
    }
  });
});
