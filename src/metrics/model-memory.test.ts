import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventChannel } from '../core/events.js';
import type { VersionStateEvent } from '../serving/model-manager.js';
import { LoadMemoryProbe } from './model-memory.js';

test('a load that overlapped no other is measured as its RSS growth; overlapping loads are not', () => {
  const events = new EventChannel<VersionStateEvent>();
  let rss = 1000;
  const probe = new LoadMemoryProbe(events, () => rss);
  events.publish({ model: 'a', version: 1, state: 'LOADING' });
  rss += 300;
  events.publish({ model: 'a', version: 1, state: 'READY', loadSeconds: 1 });
  assert.equal(probe.bytes('a', 1), 300);

  events.publish({ model: 'b', version: 1, state: 'LOADING' });
  rss += 100;
  events.publish({ model: 'c', version: 2, state: 'LOADING' });
  rss += 100;
  events.publish({ model: 'b', version: 1, state: 'READY' });
  events.publish({ model: 'c', version: 2, state: 'READY' });
  assert.equal(probe.bytes('b', 1), undefined);
  assert.equal(probe.bytes('c', 2), undefined);

  // A failed load measures nothing; memory that shrank counts as 0, not negative.
  events.publish({ model: 'd', version: 1, state: 'LOADING' });
  events.publish({ model: 'd', version: 1, state: 'UNAVAILABLE', reason: 'bad file' });
  assert.equal(probe.bytes('d', 1), undefined);
  events.publish({ model: 'e', version: 1, state: 'LOADING' });
  rss -= 50;
  events.publish({ model: 'e', version: 1, state: 'READY' });
  assert.equal(probe.bytes('e', 1), 0);

  probe.close();
  events.publish({ model: 'f', version: 1, state: 'LOADING' });
  events.publish({ model: 'f', version: 1, state: 'READY' });
  assert.equal(probe.bytes('f', 1), undefined);
});
