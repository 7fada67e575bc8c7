import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CranberriesError } from '../../core/errors.js';
import { Cancellation } from './cancellation.js';
import { EndpointHealth } from './endpoint-health.js';
import type { Endpoint, EndpointTable } from './endpoint-table.js';
import { Picker } from './picker.js';
import { RequestRouter, type AttemptOutcome, type FailureKind } from './request-router.js';
import { RetryBudget } from './retry-budget.js';
import { endpoint, tableOf } from '../../../test/helpers/gateway-tables.js';

interface Setup {
  router: RequestRouter;
  health: EndpointHealth;
  picker: Picker;
  events: string[];
}

function setup(table: EndpointTable, budget = new RetryBudget()): Setup {
  // Probes never answer: a worker marked down stays down for the test.
  const health = new EndpointHealth({ probe: () => Promise.resolve(false), initialProbeDelayMs: 60_000 });
  const picker = new Picker(health, { random: () => 0.99 });
  const events: string[] = [];
  const router = new RequestRouter({
    table: () => table,
    picker,
    health,
    budget,
    observer: {
      attempted: (e, outcome) => events.push(`${e.nodeId}:${outcome}`),
      retried: (kind) => events.push(`retry:${kind}`),
      budgetExhausted: () => events.push('budget'),
    },
  });
  return { router, health, picker, events };
}

const ok = (value: string): AttemptOutcome<string> => ({ ok: true, value });
const fail = (kind: FailureKind, answer?: string): AttemptOutcome<string> => ({ ok: false, kind, detail: `${kind} happened`, answer });
const two = tableOf({ w1: { m: { 1: 'READY' } }, w2: { m: { 1: 'READY' } } });
const one = tableOf({ w1: { m: { 1: 'READY' } } });

describe('RequestRouter', () => {
  it('returns the first answer when the worker serves it (client errors included: never retried)', async () => {
    const { router, events } = setup(two);
    assert.equal(await router.route({ model: 'm', requestId: 'r' }, () => Promise.resolve(ok('400 bad input'))), '400 bad input');
    assert.deepEqual(events, ['w1:ok']);
  });

  it('retries a refused request once on another replica and marks the first one down', async () => {
    const { router, health, picker, events } = setup(two);
    const tried: string[] = [];
    const answer = await router.route({ model: 'm', requestId: 'r' }, (e: Endpoint) => {
      tried.push(e.nodeId);
      return Promise.resolve(tried.length === 1 ? fail('refused') : ok(`from ${e.nodeId}`));
    });
    assert.equal(answer, `from ${tried[1]}`);
    assert.notEqual(tried[0], tried[1]);
    assert.ok(!health.isUp(endpoint(tried[0] ?? '').key), 'the refusing worker is down');
    assert.ok(health.isUp(endpoint(tried[1] ?? '').key));
    assert.deepEqual(events, [`${tried[0]}:refused`, 'retry:refused', `${tried[1]}:ok`]);
    assert.equal(picker.outstanding(endpoint('w1').key) + picker.outstanding(endpoint('w2').key), 0, 'every pick released');
    health.stop();
  });

  it('does not mark a worker down for a broken connection, and retries on the same one when it is the only replica', async () => {
    const { router, health, events } = setup(one);
    let calls = 0;
    const answer = await router.route({ model: 'm', requestId: 'r' }, () => Promise.resolve(++calls === 1 ? fail('reset') : ok('second try')));
    assert.equal(answer, 'second try');
    assert.ok(health.isUp(endpoint('w1').key));
    assert.deepEqual(events, ['w1:reset', 'retry:reset', 'w1:ok']);
  });

  it("retries a 503 elsewhere, and returns the worker's own 503 when it cannot", async () => {
    const { router, health } = setup(two);
    const tried: string[] = [];
    const answer = await router.route({ model: 'm', requestId: 'r' }, (e) => {
      tried.push(e.nodeId);
      return Promise.resolve(tried.length === 1 ? fail('unavailable', '503') : ok(e.nodeId));
    });
    assert.equal(tried.length, 2);
    assert.equal(answer, tried[1]);
    assert.notEqual(tried[0], tried[1]);
    assert.ok(health.isUp(endpoint(tried[0] ?? '').key), 'a 503 is an answer: the worker stays up');
    const single = setup(one);
    assert.equal(await single.router.route({ model: 'm', requestId: 'r' }, () => Promise.resolve(fail('unavailable', '503 from worker'))), '503 from worker');
    assert.deepEqual(single.events, ['w1:unavailable'], 'no other replica: no retry');
  });

  it('tries at most twice, then fails with UNAVAILABLE naming the worker and the request id', async () => {
    const { router, events, health } = setup(two);
    await assert.rejects(
      router.route({ model: 'm', requestId: 'req-42' }, () => Promise.resolve(fail('refused'))),
      (error: unknown) => error instanceof CranberriesError && error.code === 'UNAVAILABLE' && /worker w\d could not serve it \(refused happened\).*\(request id: req-42\)/.test(error.message),
    );
    assert.equal(events.filter((e) => /^w\d:refused$/.test(e)).length, 2);
    // Both are down now: the next request fails fast, without any attempt.
    events.length = 0;
    await assert.rejects(
      router.route({ model: 'm', requestId: 'req-43' }, () => Promise.resolve(ok('unreachable'))),
      /no reachable replica \(2 READY, 2 down\) \(request id: req-43\)/,
    );
    assert.deepEqual(events, []);
    health.stop();
  });

  it('stops retrying when the budget is spent', async () => {
    const { router, events, health } = setup(two, new RetryBudget({ ratio: 0, minRetriesPerWindow: 1 }));
    const attempt = (): Promise<AttemptOutcome<string>> => Promise.resolve(fail('reset'));
    await assert.rejects(router.route({ model: 'm', requestId: 'a' }, attempt), /could not serve it/);
    assert.equal(events.filter((e) => e === 'retry:reset').length, 1);
    events.length = 0;
    await assert.rejects(router.route({ model: 'm', requestId: 'b' }, attempt), /retry budget exhausted \(request id: b\)/);
    assert.deepEqual(
      events.filter((e) => !e.includes(':')),
      ['budget'],
    );
    health.stop();
  });

  it('does not retry once the client has gone', async () => {
    const { router, events } = setup(two);
    const cancel = new Cancellation();
    await assert.rejects(
      router.route({ model: 'm', requestId: 'r', cancel }, () => {
        cancel.abort(new CranberriesError('CANCELLED', 'client went away'));
        return Promise.resolve(fail('reset'));
      }),
      /client went away/,
    );
    assert.equal(events.length, 1);
  });

  it('adds the request id to pick errors', async () => {
    const { router } = setup(two);
    await assert.rejects(
      router.route({ model: 'nope', requestId: 'id-1' }, () => Promise.resolve(ok('x'))),
      (error: unknown) => {
        return error instanceof CranberriesError && error.code === 'NOT_FOUND' && error.message === "Request for unknown model: 'nope' is not found (request id: id-1)";
      },
    );
  });
});
