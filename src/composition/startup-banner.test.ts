import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bannerModels, bannerText, endpointUrls } from './startup-banner.js';
import type { ReadinessModels } from './readiness.js';

const endpoints = { host: '127.0.0.1', http: 8000, grpc: 8001, metrics: 8002, tls: false };

test('endpoint URLs carry the scheme (TLS: https and grpcs) and bracket IPv6 hosts', () => {
  assert.deepEqual(endpointUrls(endpoints), { http: 'http://127.0.0.1:8000', grpc: 'grpc://127.0.0.1:8001', metrics: 'http://127.0.0.1:8002/metrics' });
  assert.deepEqual(endpointUrls({ ...endpoints, host: '::1', tls: true }), { http: 'https://[::1]:8000', grpc: 'grpcs://[::1]:8001', metrics: 'https://[::1]:8002/metrics' });
});

/** A model table as the model manager reports it (logic test: the real manager is exercised end to end). */
function table(entries: Record<string, { ready: boolean; failure?: string; versions: { version: number; state: string; reason?: string }[] }>): ReadinessModels {
  const never = { subscribe: () => () => {} };
  return {
    allReady: () => Object.values(entries).every((e) => e.ready),
    modelNames: () => Object.keys(entries),
    isAspired: () => true,
    isReady: (m) => entries[m]?.ready ?? false,
    isSettled: () => true,
    failure: (m) => entries[m]?.failure,
    versions: (m) => (entries[m]?.versions ?? []).map((v) => ({ version: v.version, state: v.state, reason: v.reason })),
    stateChanged: never,
    modelSettled: never,
  };
}

test('models: READY with their versions, UNAVAILABLE with a reason, unplaced models from the failures', () => {
  const models = bannerModels(
    table({
      b: {
        ready: true,
        versions: [
          { version: 2, state: 'READY' },
          { version: 1, state: 'READY' },
        ],
      },
      a: { ready: false, versions: [{ version: 1, state: 'UNAVAILABLE', reason: 'bad file' }] },
    }),
    [{ model: 'c', reason: 'not placed: no room' }],
  );
  assert.deepEqual(models, [
    { name: 'a', state: 'UNAVAILABLE', versions: [], reason: 'version 1: bad file' },
    { name: 'b', state: 'READY', versions: [1, 2] },
    { name: 'c', state: 'UNAVAILABLE', versions: [], reason: 'not placed: no room' },
  ]);
  const text = bannerText(endpoints, models);
  assert.match(text, /1 of 3 models READY/);
  assert.match(text, /HTTP {5}http:\/\/127\.0\.0\.1:8000/);
  assert.match(text, /\n {2}b {2}READY \(versions 1, 2\)/);
  assert.match(text, /\n {2}c {2}UNAVAILABLE: not placed: no room/);
});
