import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RetryBudget } from './retry-budget.js';

function clock(start = 1_000_000): { now: () => number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

function retries(budget: RetryBudget, attempts: number): number {
  let granted = 0;
  for (let i = 0; i < attempts; i++) if (budget.tryAcquireRetry()) granted++;
  return granted;
}

describe('RetryBudget', () => {
  it('allows the floor when there is no traffic, and no more', () => {
    const budget = new RetryBudget({ minRetriesPerWindow: 5, now: clock().now });
    assert.equal(retries(budget, 100), 5);
  });

  it('allows ratio × requests on top of the floor', () => {
    const budget = new RetryBudget({ ratio: 0.2, minRetriesPerWindow: 3, now: clock().now });
    for (let i = 0; i < 100; i++) budget.recordRequest();
    assert.equal(retries(budget, 1000), 23);
  });

  it('caps retries when every request fails: an outage is not doubled', () => {
    const c = clock();
    const budget = new RetryBudget({ ratio: 0.2, minRetriesPerWindow: 10, windowMs: 10_000, now: c.now });
    let requests = 0;
    let granted = 0;
    // 60 s of 200 failing requests per second, each wanting one retry.
    for (let second = 0; second < 60; second++) {
      for (let i = 0; i < 200; i++) {
        budget.recordRequest();
        requests++;
        if (budget.tryAcquireRetry()) granted++;
      }
      c.advance(1000);
    }
    assert.ok(granted / requests <= 0.21, `${granted} retries for ${requests} requests`);
    assert.ok(granted / requests >= 0.15, `the budget is used, not starved: ${granted}/${requests}`);
  });

  it('forgets requests and retries that slide out of the window', () => {
    const c = clock();
    const budget = new RetryBudget({ ratio: 0.5, minRetriesPerWindow: 0, windowMs: 10_000, buckets: 10, now: c.now });
    for (let i = 0; i < 10; i++) budget.recordRequest();
    assert.equal(retries(budget, 100), 5);
    c.advance(5000);
    assert.equal(retries(budget, 100), 0, 'still inside the window');
    c.advance(6000);
    assert.equal(retries(budget, 100), 0, 'the requests that earned the budget are gone too');
    for (let i = 0; i < 4; i++) budget.recordRequest();
    assert.equal(retries(budget, 100), 2);
    c.advance(60_000);
    for (let i = 0; i < 2; i++) budget.recordRequest();
    assert.equal(retries(budget, 100), 1, 'a long idle gap clears every bucket');
  });
});
