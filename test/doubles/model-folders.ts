/**
 * Model folders on disk for unit tests of the model manager and the serving core with the fake
 * backend (`fake-backend.ts`): a temporary repository with `config.pbtxt` and empty-ish
 * `<version>/model.fake` files whose size decides their stamp (rewrite one with another size to
 * make a source see a changed model file).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BackendRegistry } from '../../src/backends/backend-registry.js';
import { ModelRepository } from '../../src/repository/model-repository.js';
import { FakeBackend, fakeModelConfigText } from './fake-backend.js';

export class FakeRepository {
  readonly root = mkdtempSync(join(tmpdir(), 'cranberries-fake-repo-'));
  readonly backend = new FakeBackend();
  readonly backends = new BackendRegistry([this.backend]);
  readonly repository = new ModelRepository({ root: this.root, modelFilename: (config) => this.backends.modelFilename(config) });

  /** Writes `<model>/config.pbtxt` (the fake backend's, plus `extra`) and a model file per version. */
  addModel(model: string, versions: readonly number[], extra = ''): void {
    mkdirSync(join(this.root, model), { recursive: true });
    writeFileSync(join(this.root, model, 'config.pbtxt'), fakeModelConfigText(model, extra));
    for (const version of versions) this.writeVersion(model, version, 'v1');
  }

  /** (Re)writes a version's model file; a content of another length changes its stamp. */
  writeVersion(model: string, version: number, content: string): void {
    mkdirSync(join(this.root, model, String(version)), { recursive: true });
    writeFileSync(join(this.root, model, String(version), 'model.fake'), content);
  }

  removeVersion(model: string, version: number): void {
    rmSync(join(this.root, model, String(version)), { recursive: true, force: true });
  }

  dispose(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}
