import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { AspiredModel } from '../repository/aspired-model.js';
import { FakeRepository } from '../../test/doubles/model-folders.js';
import { eventually } from '../../test/helpers/eventually.js';
import { AssignmentSource, type ModelSelection } from './assignment-source.js';
import type { AspiredModelsTarget, ModelSource } from './model-source.js';
import { RepositorySource } from './repository-source.js';

/**
 * Records what a source asks for. Each call's convergence is held until the test lets it go
 * (`settleAll`), so a test can see whether `start` waits for the first scan's loads.
 */
class RecordingTarget implements AspiredModelsTarget {
  readonly calls: [string, AspiredModel | undefined][] = [];
  readonly aspired = new Map<string, AspiredModel>();
  /** Models whose convergence fails (a version did not load). */
  readonly failing = new Set<string>();
  hold = false;
  private readonly held: (() => void)[] = [];

  setAspired(model: string, aspired: AspiredModel | undefined): Promise<void> {
    this.calls.push([model, aspired]);
    if (aspired) this.aspired.set(model, aspired);
    else this.aspired.delete(model);
    const outcome = (): Promise<void> => (this.failing.has(model) ? Promise.reject(new Error(`${model} did not load`)) : Promise.resolve());
    if (!this.hold) return outcome();
    return new Promise<void>((resolve) => this.held.push(resolve)).then(outcome);
  }

  servedModels(): readonly string[] {
    return [...this.aspired.keys()].sort();
  }

  settleAll(): void {
    for (const settle of this.held.splice(0)) settle();
  }
}

class Selection implements ModelSelection {
  private models = new Set<string>();
  private readonly listeners = new Set<() => void>();
  has(model: string): boolean {
    return this.models.has(model);
  }
  list(): string[] {
    return [...this.models].sort();
  }
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  set(models: string[]): void {
    this.models = new Set(models);
    for (const listener of this.listeners) listener();
  }
}

describe('model sources', () => {
  let repo: FakeRepository;
  let target: RecordingTarget;
  let failures: string[];
  const started: ModelSource[] = [];

  beforeEach(() => {
    repo = new FakeRepository();
    target = new RecordingTarget();
    failures = [];
    repo.addModel('a', [1]);
    repo.addModel('b', [1]);
  });

  afterEach(async () => {
    for (const source of started.splice(0)) await source.stop();
    repo.dispose();
  });

  const onModelFailed = (model: string, error: Error): void => void failures.push(`${model}: ${error.message}`);
  function startSource(source: ModelSource): Promise<void> {
    started.push(source);
    return source.start(target);
  }

  test('repository, mode none: every model once; start resolves only after their loads settled', async () => {
    target.hold = true;
    let resolved = false;
    const starting = startSource(new RepositorySource({ repository: repo.repository, mode: 'none', pollSeconds: 0, loadModels: [], onModelFailed })).then(() => (resolved = true));
    await eventually(() => target.calls.length === 2, 'both models reported', 5000);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(resolved, false, 'start waits for the first scan to settle');
    target.settleAll();
    await starting;
    assert.deepEqual(target.servedModels(), ['a', 'b']);
  });

  test('repository, mode explicit: only the startup models; a failed one is reported, the others serve', async () => {
    target.failing.add('b');
    const source = new RepositorySource({ repository: repo.repository, mode: 'explicit', pollSeconds: 0, loadModels: ['b'], onModelFailed });
    await startSource(source);
    assert.deepEqual(
      target.calls.map(([m]) => m),
      ['b'],
    );
    assert.deepEqual(source.startupModels(), ['b']);
    assert.deepEqual(failures, ['b: b did not load']);
    const all = new RepositorySource({ repository: repo.repository, mode: 'explicit', pollSeconds: 0, loadModels: ['*'], onModelFailed });
    await startSource(all);
    assert.deepEqual(all.startupModels(), ['a', 'b']);
  });

  test('repository, mode poll: a changed and a removed folder are reported at the next scan', async () => {
    const source = new RepositorySource({ repository: repo.repository, mode: 'poll', pollSeconds: 0.05, loadModels: [], onModelFailed });
    await startSource(source);
    assert.deepEqual([...source.startupModels()].sort(), ['a', 'b']);
    repo.writeVersion('a', 2, 'v1');
    rmSync(join(repo.root, 'b'), { recursive: true });
    const versionsOfA = (): number[] => {
      const a = target.aspired.get('a');
      return a?.ok ? a.versions.map((v) => v.version) : [];
    };
    await eventually(() => versionsOfA().join() === '2' && target.servedModels().join() === 'a', 'the new version of a and the removal of b reported', 10_000);
    assert.ok(
      target.calls.some(([m, aspired]) => m === 'b' && aspired === undefined),
      'b was reported as removed',
    );
  });

  test('cluster assignment: only assigned models; a change of the assignment loads and unloads; a missing one is reported', async () => {
    const selection = new Selection();
    selection.set(['a', 'ghost']);
    const source = new AssignmentSource({ repository: repo.repository, selection, poll: false, pollSeconds: 0, onModelFailed });
    await startSource(source);
    assert.deepEqual(target.servedModels(), ['a', 'ghost']);
    const ghost = target.aspired.get('ghost');
    assert.ok(ghost && !ghost.ok && /no model folder 'ghost'/.test(ghost.reason), 'an assigned model missing from the repository shows why');
    assert.deepEqual([...source.startupModels()].sort(), ['a', 'ghost']);
    selection.set(['b']);
    await eventually(() => target.servedModels().join() === 'b', 'the new assignment applied', 5000);
    await source.stop();
    selection.set(['a']);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(target.servedModels(), ['b'], 'a stopped source follows no more changes');
  });
});
