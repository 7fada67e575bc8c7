/**
 * Controller failover on a real ZooKeeper: two `cranberries controller` processes, one leads and
 * seeds the desired state from the repository (default replicas, and a config's `replicas`
 * parameter); `kill -9` of the leader makes the standby take over within the session timeout,
 * after which it places a change made through the admin API. Workers run in this process.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ClusterAdmin } from '../../src/cluster/admin-api.js';
import { clusterPaths } from '../../src/cluster/layout.js';
import { ZooKeeperStore } from '../../src/cluster/store/zookeeper-store.js';
import type { WorkerNode } from '../../src/composition/worker-node.js';
import { startTestWorker } from '../helpers/cluster-worker.js';
import { createLogger, type LogLevel } from '../../src/core/logger.js';
import { addSubModel, createTempModelRepository, type TempModelRepository } from '../fixtures/onnx-models.js';
import { startZooKeeper, type TestZooKeeper } from '../helpers/zookeeper.js';
import { eventually } from '../helpers/eventually.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const SESSION_MS = 2000;
const paths = clusterPaths();
const logger = createLogger((process.env['TEST_LOG_LEVEL'] as LogLevel | undefined) ?? 'silent');

interface ControllerProcess {
  readonly child: ChildProcess;
  readonly lines: { msg: string; [key: string]: unknown }[];
  readonly exited: Promise<void>;
}

function startController(connect: string, repository: string): ControllerProcess {
  const child = spawn(
    process.execPath,
    [
      MAIN,
      'controller',
      '--host',
      '127.0.0.1',
      '--metrics-port',
      '0',
      '--zookeeper',
      connect,
      '--model-repository',
      repository,
      '--default-replicas',
      '1',
      '--zookeeper-session-timeout-ms',
      String(SESSION_MS),
      '--log-level',
      'info',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines: { msg: string }[] = [];
  let buffered = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    let cut;
    while ((cut = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, cut);
      buffered = buffered.slice(cut + 1);
      try {
        lines.push(JSON.parse(line) as { msg: string });
      } catch {
        // not a log line
      }
    }
  });
  child.stderr.resume();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { child, lines, exited };
}

describe('controller failover (real ZooKeeper, controller processes)', { timeout: 110_000 }, () => {
  let zk: TestZooKeeper;
  let repo: TempModelRepository;
  let store: ZooKeeperStore;
  let admin: ClusterAdmin;
  const workerStores: ZooKeeperStore[] = [];
  const workers: WorkerNode[] = [];
  const controllers: ControllerProcess[] = [];
  let connect: string;

  before(async () => {
    zk = await startZooKeeper();
    connect = `${zk.connectionString}/failover`;
    const model = { versions: { 1: addSubModel('FP32', [4]) }, config: 'max_batch_size: 8\n' };
    repo = await createTempModelRepository({
      single: model,
      pair: { ...model, config: 'max_batch_size: 8\nparameters { key: "replicas" value: { string_value: "2" } }\n' },
    });
    store = new ZooKeeperStore({ connectionString: connect, sessionTimeoutMs: 4000 });
    await store.start();
    admin = new ClusterAdmin(store);
    for (const id of ['w1', 'w2']) {
      const workerStore = new ZooKeeperStore({ connectionString: connect, sessionTimeoutMs: 4000 });
      await workerStore.start();
      workerStores.push(workerStore);
      workers.push(
        await startTestWorker({
          store: workerStore,
          nodeId: id,
          memoryCapacityBytes: 2 ** 30,
          modelRepository: repo.root,
          logger,
        }),
      );
    }
  });

  after(async () => {
    for (const c of controllers) {
      c.child.kill('SIGKILL');
      await c.exited;
    }
    for (const w of workers) await w.stop();
    for (const s of [...workerStores, store]) await s?.stop();
    await repo?.remove();
    await zk?.close();
  });

  /** The pid of the current leader, from the lowest election node (its data is `<host>:<pid>`). */
  const leaderPid = async (): Promise<number | undefined> => {
    const candidates = await store.children(paths.election);
    const lowest = [...candidates].sort()[0];
    if (!lowest) return undefined;
    const data = (await store.get(`${paths.election}/${lowest}`))?.data;
    const text = data ? new TextDecoder().decode(data) : '';
    return text.startsWith(`${hostname()}:`) ? Number(text.slice(hostname().length + 1)) : undefined;
  };

  it('the leader seeds the desired state from the repository and places it', async () => {
    const first = startController(connect, repo.root);
    controllers.push(first);
    await eventually(async () => (await leaderPid()) === first.child.pid, 'the first controller to lead');
    const second = startController(connect, repo.root);
    controllers.push(second);
    await eventually(async () => (await store.children(paths.election)).length === 2, 'the standby to queue');

    const models = await eventually(async () => {
      const list = await admin.listModels();
      return list.length === 2 && list.every((m) => m.readyReplicas === m.replicas) ? list : undefined;
    }, 'both models READY as seeded');
    assert.deepEqual(
      models.map((m) => [m.name, m.replicas, m.placement.state]),
      [
        ['pair', 2, 'PLACED'],
        ['single', 1, 'PLACED'],
      ],
    );
    assert.ok(
      first.lines.some((l) => l.msg.startsWith("placement: assign 'pair' to w")),
      'the leader logs its decisions',
    );
    assert.ok(!second.lines.some((l) => l.msg.startsWith('placement:')), 'the standby does not act');
  });

  it('kill -9 of the leader: the standby takes over within the session timeout and places changes', async () => {
    const [first, second] = controllers as [ControllerProcess, ControllerProcess];
    const killedAt = Date.now();
    first.child.kill('SIGKILL');
    await first.exited;
    await eventually(async () => (await leaderPid()) === second.child.pid, 'the standby to lead', 3 * SESSION_MS + 5000);
    const takeover = Date.now() - killedAt;
    // ZooKeeper ends the dead session after the timeout (checked once per tick), then the standby's watch fires.
    assert.ok(takeover < SESSION_MS + 3000, `took over in ${takeover} ms`);

    await admin.setReplicas('single', 2);
    const single = await eventually(async () => {
      const m = await admin.getModel('single');
      return m.readyReplicas === 2 ? m : undefined;
    }, 'the new leader to place the second replica');
    assert.deepEqual(single.placement, { state: 'PLACED', nodes: ['w1', 'w2'] });
    assert.ok(
      second.lines.some((l) => /^placement: assign 'single' to w[12]: replica 2 of 2/.test(l.msg)),
      'the new leader logs its decision',
    );
    assert.ok(second.lines.some((l) => l.msg === 'became the leader'));
  });
});
