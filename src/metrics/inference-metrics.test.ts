import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { EventChannel } from '../core/events.js';
import type { ExecutionEvent, VersionStateEvent } from '../serving/model-manager.js';
import type { RequestEvent } from '../serving/serving-core.js';
import { InferenceMetrics, UNKNOWN_VERSION } from './inference-metrics.js';
import { parsePrometheusText, sampleValue } from '../../test/helpers/prometheus-text.js';

test('events become counters and histograms per model version', async () => {
  const registry = new Registry();
  const sources = { requestCompleted: new EventChannel<RequestEvent>(), executed: new EventChannel<ExecutionEvent>(), stateChanged: new EventChannel<VersionStateEvent>() };
  const detach = new InferenceMetrics(registry).attach(sources);
  sources.stateChanged.publish({ model: 'idle', version: 3, state: 'READY' });
  const timing = { computeInputNs: 1e6, computeInferNs: 2e6, computeOutputNs: 3e6 };
  for (let i = 0; i < 3; i++) sources.requestCompleted.publish({ model: 'm', version: 1, outcome: 'success', totalNs: 10e6, queueNs: 4e6, timing });
  sources.requestCompleted.publish({ model: 'm', version: 1, outcome: 'failure', reason: 'timeout', totalNs: 1e9 });
  sources.requestCompleted.publish({ model: 'm', version: undefined, outcome: 'failure', reason: 'rejected', totalNs: 0 });
  sources.executed.publish({ model: 'm', version: 1, batchRows: 5, requests: 3, timing });
  detach();
  sources.requestCompleted.publish({ model: 'm', version: 1, outcome: 'success', totalNs: 1, queueNs: 0, timing });

  const m = parsePrometheusText(await registry.metrics());
  const v1 = { model: 'm', version: '1' };
  assert.equal(sampleValue(m, 'cranberries_inference_request_success_total', v1), 3);
  assert.equal(sampleValue(m, 'cranberries_inference_request_failure_total', { ...v1, reason: 'timeout' }), 1);
  assert.equal(sampleValue(m, 'cranberries_inference_request_failure_total', { ...v1, reason: 'backend' }), 0);
  assert.equal(sampleValue(m, 'cranberries_inference_request_failure_total', { model: 'm', version: UNKNOWN_VERSION, reason: 'rejected' }), 1);
  assert.equal(sampleValue(m, 'cranberries_inference_count_total', v1), 5);
  assert.equal(sampleValue(m, 'cranberries_inference_executions_total', v1), 1);
  assert.equal(sampleValue(m, 'cranberries_batch_size_bucket', { ...v1, le: '4' }), 0);
  assert.equal(sampleValue(m, 'cranberries_batch_size_bucket', { ...v1, le: '8' }), 1);
  // Durations: successes only, in seconds.
  assert.equal(sampleValue(m, 'cranberries_request_duration_seconds_count', v1), 3);
  assert.ok(Math.abs(sampleValue(m, 'cranberries_request_duration_seconds_sum', v1)! - 0.03) < 1e-12);
  assert.equal(sampleValue(m, 'cranberries_request_duration_seconds_bucket', { ...v1, le: '0.01' }), 3);
  assert.equal(sampleValue(m, 'cranberries_request_duration_seconds_bucket', { ...v1, le: '0.005' }), 0);
  assert.ok(Math.abs(sampleValue(m, 'cranberries_queue_duration_seconds_sum', v1)! - 0.012) < 1e-12);
  assert.ok(Math.abs(sampleValue(m, 'cranberries_compute_infer_duration_seconds_sum', v1)! - 0.006) < 1e-12);
  assert.ok(Math.abs(sampleValue(m, 'cranberries_compute_output_duration_seconds_sum', v1)! - 0.009) < 1e-12);
  // A READY version has its series before any request.
  assert.equal(sampleValue(m, 'cranberries_inference_request_success_total', { model: 'idle', version: '3' }), 0);
});
