import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LeaderElection } from './leader-election.js';
import { MemoryStore, MemoryStoreServer } from './store/memory-store.js';

async function eventually(check: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

async function candidates(count: number): Promise<{ server: MemoryStoreServer; stores: MemoryStore[]; elections: LeaderElection[] }> {
  const server = new MemoryStoreServer();
  const stores: MemoryStore[] = [];
  const elections: LeaderElection[] = [];
  for (let i = 0; i < count; i++) {
    const store = new MemoryStore(server);
    await store.start();
    const election = new LeaderElection({ store, path: '/cranberries/election', candidate: `c${i}` });
    await election.start();
    stores.push(store);
    elections.push(election);
  }
  return { server, stores, elections };
}

const leaders = (elections: LeaderElection[]): number[] => elections.flatMap((e, i) => (e.isLeader ? [i] : []));

describe('leader election', () => {
  it('the first candidate leads; the next takes over when it stops', async () => {
    const { elections, stores } = await candidates(3);
    await eventually(() => leaders(elections).length === 1, 'one leader');
    assert.deepEqual(leaders(elections), [0]);
    const changes: boolean[] = [];
    elections[1]!.leadershipChanged.subscribe((l) => changes.push(l));
    await elections[0]!.stop();
    await eventually(() => elections[1]!.isLeader, 'candidate 1 to lead');
    assert.deepEqual(leaders(elections), [1]);
    assert.deepEqual(changes, [true]);
    for (const e of elections) await e.stop();
    for (const s of stores) await s.stop();
  });

  it('a candidate in the middle leaving changes nothing; the last one then waits on the first', async () => {
    const { elections, stores } = await candidates(3);
    await eventually(() => elections[0]!.isLeader, 'candidate 0 to lead');
    await elections[1]!.stop();
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(leaders(elections), [0]);
    await elections[0]!.stop();
    await eventually(() => elections[2]!.isLeader, 'candidate 2 to lead');
    for (const e of elections) await e.stop();
    for (const s of stores) await s.stop();
  });

  it('the leader whose session dies (process killed) is replaced', async () => {
    const { elections, stores } = await candidates(2);
    await eventually(() => elections[0]!.isLeader, 'candidate 0 to lead');
    // A killed process: its session ends on the server, nobody calls stop().
    await stores[0]!.stop();
    await eventually(() => elections[1]!.isLeader, 'candidate 1 to lead');
    await elections[1]!.stop();
    await stores[1]!.stop();
  });

  it('a leader steps down while disconnected and after its session expires it queues again at the back', async () => {
    const { elections, stores } = await candidates(2);
    await eventually(() => elections[0]!.isLeader, 'candidate 0 to lead');
    stores[0]!.disconnect();
    assert.equal(elections[0]!.isLeader, false, 'cannot know it leads while cut off');
    stores[0]!.reconnect();
    await eventually(() => elections[0]!.isLeader, 'candidate 0 to lead again (same session)');

    stores[0]!.expireSession();
    await eventually(() => elections[1]!.isLeader, 'candidate 1 to take over');
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(leaders(elections), [1]);
    assert.equal((await stores[1]!.children('/cranberries/election')).length, 2, 'candidate 0 re-entered');
    await elections[1]!.stop();
    await eventually(() => elections[0]!.isLeader, 'candidate 0 to lead after candidate 1 leaves');
    for (const e of elections) await e.stop();
    for (const s of stores) await s.stop();
  });
});
