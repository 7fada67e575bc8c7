import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NodeStatus } from '../../cluster/index.js';
import { EndpointTable, type WorkerSnapshot } from './endpoint-table.js';

function generator(seed: number): () => number {
  let state = seed;
  return () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

const STATES = ['LOADING', 'READY', 'READY', 'UNLOADING', 'UNAVAILABLE'] as const;

function randomStatus(random: () => number): NodeStatus {
  const models: NodeStatus['models'] = {};
  for (let m = 0; m < 8; m++) {
    if (random() < 0.5) continue;
    const versions: NodeStatus['models'][string]['versions'] = {};
    for (const v of ['1', '2', '3']) if (random() < 0.5) versions[v] = { state: STATES[Math.floor(random() * STATES.length)]! };
    models[`m${m}`] = { versions }; // sometimes no versions at all: the model is still known
  }
  return { models };
}

function snapshot(id: string, port: number, status: NodeStatus): WorkerSnapshot {
  return { node: { id, httpAddress: `127.0.0.1:${port}`, grpcAddress: `127.0.0.1:${port + 1}`, memoryCapacityBytes: 0, labels: {}, startedAt: 0 }, status };
}

describe('EndpointTable.update', () => {
  it('equals a full build after every step of random worker changes (statuses, joins, leaves, tier moves)', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const random = generator(seed);
      let workers = new Map<string, WorkerSnapshot>();
      let retained = new Map<string, WorkerSnapshot>();
      let table = EndpointTable.build({ workers, retained, deployments: new Map() });
      for (let step = 0; step < 12; step++) {
        const nextWorkers = new Map(workers);
        const nextRetained = new Map(retained);
        const changed = new Set<string>();
        for (let w = 0; w < 6; w++) {
          const id = `w${w}`;
          const roll = random();
          if (roll < 0.25) {
            nextWorkers.set(id, snapshot(id, 9000 + 2 * w, randomStatus(random)));
            changed.add(id);
          } else if (roll < 0.35 && nextWorkers.has(id)) {
            nextRetained.set(id, nextWorkers.get(id)!);
            nextWorkers.delete(id);
            changed.add(id);
          } else if (roll < 0.42 && nextRetained.has(id)) {
            nextRetained.delete(id);
            changed.add(id);
          }
        }
        const input = { workers: nextWorkers, retained: nextRetained, deployments: new Map() };
        const updated = EndpointTable.update(table, input, changed);
        const built = EndpointTable.build(input);
        assert.deepEqual(updated, built, `seed ${seed} step ${step}`);
        for (const m of ['m0', 'm3', 'm7']) {
          assert.deepEqual(updated.replicaStates(m), built.replicaStates(m));
          assert.deepEqual(updated.freshVersions(m), built.freshVersions(m));
          assert.deepEqual(updated.retainedVersions(m), built.retainedVersions(m));
        }
        table = updated;
        workers = nextWorkers;
        retained = nextRetained;
      }
    }
  });
});
