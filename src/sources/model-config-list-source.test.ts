import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CranberriesError } from '../core/errors.js';
import type { AspiredModel } from '../repository/aspired-model.js';
import { ModelConfigListSource } from './model-config-list-source.js';
import type { AspiredModelsTarget } from './model-source.js';

const code = (expected: string, pattern: RegExp) => (e: unknown) => e instanceof CranberriesError && e.code === expected && pattern.test(e.message);

describe('ModelConfigListSource', () => {
  class FakeTarget implements AspiredModelsTarget {
    readonly aspired = new Map<string, AspiredModel>();
    readonly labels = new Map<string, Readonly<Record<string, number>>>();
    failLabels = false;
    setAspired(model: string, aspired: AspiredModel | undefined): Promise<void> {
      if (aspired) this.aspired.set(model, aspired);
      else this.aspired.delete(model);
      return Promise.resolve();
    }
    servedModels(): readonly string[] {
      return [...this.aspired.keys()];
    }
    setLabels(model: string, labels: Readonly<Record<string, number>>): void {
      if (this.failLabels && Object.keys(labels).length > 0) throw new CranberriesError('FAILED_PRECONDITION', `label of '${model}' not READY`);
      this.labels.set(model, labels);
    }
  }

  test('applies exactly the listed models from their folders, then their labels; the list decides the policy', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cranberries-list-'));
    try {
      for (const version of ['1', '2', '3']) {
        await mkdir(join(dir, 'folder', version), { recursive: true });
        await writeFile(join(dir, 'folder', version, 'model.onnx'), 'x');
      }
      await writeFile(join(dir, 'folder', 'config.pbtxt'), 'name: "folder"\nmax_batch_size: 4\nversion_policy: { latest { num_versions: 1 } }\n');
      const file = join(dir, 'models.config');
      await writeFile(file, 'model_config_list { config { name: "served_as" base_path: "folder" model_version_policy { specific { versions: [1, 3] } } version_labels { key: "stable" value: 1 } } }');
      const target = new FakeTarget();
      await target.setAspired('previous', { ok: false, reason: 'x' });
      const errors: string[] = [];
      const source = new ModelConfigListSource({ file, pollSeconds: 0, modelFilename: () => 'model.onnx', setLabels: (m, l) => target.setLabels(m, l), onError: (e) => errors.push(e.message) });
      await source.start(target);
      assert.deepEqual(source.startupModels(), ['served_as']);
      assert.deepEqual(target.servedModels(), ['served_as'], 'models missing from the list are unloaded');
      const aspired = target.aspired.get('served_as');
      assert.ok(aspired?.ok);
      assert.equal(aspired.config.name, 'served_as');
      assert.equal(aspired.config.max_batch_size, 4, 'the folder config.pbtxt is used');
      assert.deepEqual(
        aspired.versions.map((v) => v.version),
        [1, 3],
        'the list overrides the folder version policy',
      );
      assert.deepEqual(target.labels.get('served_as'), { stable: 1 });
      assert.equal(source.directoryOf('served_as'), join(dir, 'folder'));
      assert.deepEqual(errors, []);

      target.failLabels = true;
      await assert.rejects(
        source.apply([{ name: 'missing', basePath: join(dir, 'nope'), versionLabels: { stable: 1 } }]),
        code('FAILED_PRECONDITION', /model 'missing' .*nope.*label of 'missing' not READY/),
      );
      assert.deepEqual(target.servedModels(), ['missing']);
      assert.equal(source.directoryOf('served_as'), undefined);
      await source.stop();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a base path may be anywhere, but links inside it must stay inside it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cranberries-list-'));
    try {
      // The base path itself is a link (the operator's choice); its version 2 leads out of it.
      await mkdir(join(dir, 'real', '1'), { recursive: true });
      await writeFile(join(dir, 'real', '1', 'model.onnx'), 'x');
      await mkdir(join(dir, 'elsewhere', '2'), { recursive: true });
      await writeFile(join(dir, 'elsewhere', '2', 'model.onnx'), 'x');
      await symlink(join(dir, 'elsewhere', '2'), join(dir, 'real', '2'));
      await symlink(join(dir, 'real'), join(dir, 'base'));
      await symlink(join(dir, 'elsewhere', 'secret'), join(dir, 'real', 'config.pbtxt'));
      const target = new FakeTarget();
      const source = new ModelConfigListSource({ modelFilename: () => 'model.onnx', setLabels: (m, l) => target.setLabels(m, l), pollSeconds: 0 });
      source.connect(target);
      const entry = { name: 'm', basePath: join(dir, 'base'), versionPolicy: { all: {} }, versionLabels: {} };
      await assert.rejects(source.apply([entry]), code('FAILED_PRECONDITION', /'config\.pbtxt' is a symbolic link to nothing/));
      await rm(join(dir, 'real', 'config.pbtxt'));
      await source.apply([entry]);
      const aspired = target.aspired.get('m');
      assert.ok(aspired?.ok);
      assert.deepEqual(
        aspired.versions.map((v) => [v.version, v.refused]),
        [
          [1, undefined],
          [2, "'2' is a symbolic link that leads outside the model repository (links must stay inside it)"],
        ],
      );
      await source.stop();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('an unreadable or unparsable file fails start; a file without models unloads everything', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cranberries-list-'));
    try {
      const target = new FakeTarget();
      await assert.rejects(
        new ModelConfigListSource({ file: join(dir, 'absent'), pollSeconds: 0, modelFilename: () => 'model.onnx', setLabels: () => {} }).start(target),
        code('INVALID_ARGUMENT', /cannot read the model config file/),
      );
      const bad = join(dir, 'bad.config');
      await writeFile(bad, 'model_config_list { config { name: "a" ');
      await assert.rejects(new ModelConfigListSource({ file: bad, pollSeconds: 0, modelFilename: () => 'model.onnx', setLabels: () => {} }).start(target), code('INVALID_ARGUMENT', /bad\.config/));
      await target.setAspired('x', { ok: false, reason: 'r' });
      const empty = join(dir, 'empty.config');
      await writeFile(empty, 'model_config_list { }');
      await new ModelConfigListSource({ file: empty, pollSeconds: 0, modelFilename: () => 'model.onnx', setLabels: () => {} }).start(target);
      assert.deepEqual(target.servedModels(), []);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
