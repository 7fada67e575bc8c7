import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { EventChannel } from '../core/events.js';
import type { SessionState } from './store/coordination-store.js';
import { createCoordinationMetrics } from './coordination-metrics.js';
import { ControllerMetrics, type PlacementRound } from './controller-metrics.js';
import { GatewayUpstreamMetrics } from '../metrics/gateway-upstream-metrics.js';
import { WorkerMetrics } from './worker-metrics.js';
import { parsePrometheusText, sampleValue, type Exposition } from '../../test/helpers/prometheus-text.js';

const scrape = async (registry: Registry): Promise<Exposition> => parsePrometheusText(await registry.metrics());

test('coordination session: current state and transitions', async () => {
  const registry = new Registry();
  const listeners: ((s: SessionState) => void)[] = [];
  const store = { sessionState: 'connected' as SessionState, onSessionState: (l: (s: SessionState) => void) => (listeners.push(l), () => listeners.splice(listeners.indexOf(l), 1)) };
  const metrics = createCoordinationMetrics(registry, store);
  for (const s of ['disconnected', 'expired', 'connected'] as const) for (const l of listeners) l(s);
  store.sessionState = 'disconnected';
  for (const l of listeners) l('disconnected');
  const m = await scrape(registry);
  assert.equal(sampleValue(m, 'cranberries_coordination_session_state', { state: 'disconnected' }), 1);
  assert.equal(sampleValue(m, 'cranberries_coordination_session_state', { state: 'connected' }), 0);
  assert.equal(sampleValue(m, 'cranberries_coordination_session_transitions_total', { state: 'disconnected' }), 2);
  assert.equal(sampleValue(m, 'cranberries_coordination_session_transitions_total', { state: 'expired' }), 1);
  metrics.close();
  assert.equal(listeners.length, 0);
});

test('controller: leadership, rounds, decisions and the last round’s placement', async () => {
  const registry = new Registry();
  const reconciled = new EventChannel<PlacementRound>();
  const leadershipChanged = new EventChannel<boolean>();
  let leader = false;
  let nodes: Promise<readonly string[]> = Promise.resolve(['w1', 'w2', 'w3']);
  const metrics = new ControllerMetrics(registry, { isLeader: () => leader, reconciled, leadershipChanged, liveNodes: () => nodes });
  leader = true;
  leadershipChanged.publish(true);
  reconciled.publish({
    assignments: new Map([
      ['w1', ['a', 'b']],
      ['w2', ['a']],
      ['w3', []],
    ]),
    placement: new Map([
      ['a', { state: 'PLACED', nodes: ['w1', 'w2'] }],
      ['b', { state: 'PARTIAL', nodes: ['w1'], reason: 'one replica fits' }],
      ['c', { state: 'PENDING', nodes: [], reason: 'needs 6 GiB, largest free is 3 GiB' }],
    ]),
    decisions: [{ action: 'assign' }, { action: 'assign' }, { action: 'unassign' }],
  });
  let m = await scrape(registry);
  assert.equal(sampleValue(m, 'cranberries_controller_leader'), 1);
  assert.equal(sampleValue(m, 'cranberries_controller_leadership_changes_total'), 1);
  assert.equal(sampleValue(m, 'cranberries_controller_placement_rounds_total'), 1);
  assert.equal(sampleValue(m, 'cranberries_controller_placement_decisions_total', { action: 'assign' }), 2);
  assert.equal(sampleValue(m, 'cranberries_controller_placement_decisions_total', { action: 'unassign' }), 1);
  assert.equal(sampleValue(m, 'cranberries_controller_models', { state: 'PENDING' }), 1);
  assert.equal(sampleValue(m, 'cranberries_controller_models', { state: 'PLACED' }), 1);
  assert.equal(sampleValue(m, 'cranberries_controller_model_placement', { model: 'c', state: 'PENDING' }), 1);
  assert.equal(sampleValue(m, 'cranberries_controller_model_placement', { model: 'c', state: 'PLACED' }), 0);
  assert.equal(sampleValue(m, 'cranberries_controller_assigned_replicas', { model: 'a' }), 2);
  assert.equal(sampleValue(m, 'cranberries_controller_node_assigned_models', { node: 'w1' }), 2);
  assert.equal(sampleValue(m, 'cranberries_cluster_nodes'), 3);
  // A standby exports no stale placement; the store unreachable: the last known count stays.
  leader = false;
  assert.equal(sampleValue(await scrape(registry), 'cranberries_controller_models', { state: 'PENDING' }), 0);
  assert.equal(sampleValue(await scrape(registry), 'cranberries_controller_assigned_replicas', { model: 'a' }), undefined);
  nodes = Promise.reject(new Error('UNAVAILABLE'));
  m = await scrape(registry);
  assert.equal(sampleValue(m, 'cranberries_cluster_nodes'), 3);
  metrics.close();
  reconciled.publish({ assignments: new Map(), placement: new Map(), decisions: [] });
  assert.equal(sampleValue(await scrape(registry), 'cranberries_controller_placement_rounds_total'), 1);
});

test('worker and gateway upstream metrics', async () => {
  const registry = new Registry();
  let registered = true;
  const worker = new WorkerMetrics(registry, { assignedModels: () => 4, registered: () => registered });
  worker.registeredOnce();
  worker.registeredOnce();
  worker.statusPublished(true);
  worker.statusPublished(false);
  registered = false;
  const gateway = new GatewayUpstreamMetrics(registry);
  gateway.observeUpstream('w1', 0.003);
  gateway.observeUpstream('w1', 0.2);
  gateway.workerMarkedDown('w2');
  const m = await scrape(registry);
  assert.equal(sampleValue(m, 'cranberries_worker_assigned_models'), 4);
  assert.equal(sampleValue(m, 'cranberries_worker_registered'), 0);
  assert.equal(sampleValue(m, 'cranberries_worker_registrations_total'), 2);
  assert.equal(sampleValue(m, 'cranberries_worker_status_publishes_total', { outcome: 'failed' }), 1);
  assert.equal(sampleValue(m, 'cranberries_gateway_upstream_duration_seconds_count', { node: 'w1' }), 2);
  assert.equal(sampleValue(m, 'cranberries_gateway_upstream_duration_seconds_bucket', { node: 'w1', le: '0.005' }), 1);
  assert.equal(sampleValue(m, 'cranberries_gateway_worker_marked_down_total', { node: 'w2' }), 1);
});
