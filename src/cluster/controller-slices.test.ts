import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { Controller } from './controller.js';
import { clusterPaths, encodeJson, type ModelDeployment, type NodeInfo } from './layout.js';
import { place, type PlacementResult } from './placement.js';
import { MemoryStore, MemoryStoreServer } from './store/memory-store.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;
const paths = clusterPaths();

describe('controller: a large round returns to the event loop', () => {
  it('a round over 200 workers × 2,000 models lets the event loop turn many times and decides as place()', async () => {
    const server = new MemoryStoreServer();
    const admin = new MemoryStore(server);
    await admin.start();
    for (const path of [paths.models, paths.nodes, paths.assignments, paths.status, paths.placement]) await admin.ensurePath(path);
    const nodes: NodeInfo[] = Array.from({ length: 200 }, (_, i) => ({
      id: `w${String(i).padStart(3, '0')}`,
      httpAddress: '127.0.0.1:1',
      grpcAddress: '127.0.0.1:2',
      memoryCapacityBytes: 64 * GiB,
      labels: {},
      startedAt: 0,
    }));
    const deployments: ModelDeployment[] = Array.from({ length: 2000 }, (_, i) => ({
      name: `m${String(i).padStart(4, '0')}`,
      replicas: 1 + (i % 3),
      memoryBytes: (20 + ((i * 37) % 500)) * MiB,
      memoryMeasured: false,
    }));
    for (const node of nodes) await admin.create(paths.node(node.id), encodeJson(node), 'ephemeral');
    for (const d of deployments) await admin.create(paths.model(d.name), encodeJson(d), 'persistent');

    const store = new MemoryStore(server);
    await store.start();
    // One round: the one it runs at once on becoming the leader (no coalesced or periodic ones).
    const controller = new Controller({ store, defaultReplicas: 1, logger: pino({ level: 'silent' }), coalesceMs: 600_000, resyncMs: 600_000 });
    const rounds: PlacementResult[] = [];
    const firstRound = new Promise<void>((resolve) =>
      controller.reconciled.subscribe((result) => {
        rounds.push(result);
        resolve();
      }),
    );
    // Count turns of the event loop while the round runs: an embedded store answers at once, so a
    // round that never yields would finish without a single turn.
    let turns = 0;
    let spinning = true;
    const spin = (): void => {
      turns++;
      if (spinning) setImmediate(spin);
    };
    await controller.start();
    try {
      assert.ok(controller.isLeader, 'the only controller leads');
      setImmediate(spin);
      const before = turns;
      await firstRound;
      spinning = false;
      const during = turns - before;

      assert.ok(during >= 5, `the event loop turned ${during} times during the round`);
      assert.equal(rounds.length, 1);
      const expected = place({ deployments, nodes, assignments: new Map(), statuses: new Map() });
      assert.deepEqual(rounds[0]!.assignments, expected.assignments);
      assert.deepEqual(rounds[0]!.decisions, expected.decisions);
    } finally {
      await controller.stop();
      await store.stop();
      await admin.stop();
    }
  });
});
