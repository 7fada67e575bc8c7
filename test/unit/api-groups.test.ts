import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHttpApp } from '../../src/protocols/http/http-server.js';
import { FakeInferenceService } from '../doubles/fake-inference-service.js';
import { oipPackageDefinition, serviceDefinition, tfServingPackageDefinition } from '../../src/protocols/grpc/proto-loader.js';
import { tfServingRoutes } from '../../src/protocols/tfserving/index.js';
import { clusterAdminRoutes } from '../../src/cluster/admin-routes.js';
import { MemoryStore } from '../../src/cluster/store/memory-store.js';
import { grpcGroupOf, isMutation, restGroupOf, tfServingRestGroupOf, GRPC_METHOD_GROUPS } from '../../src/access/api-groups.js';

test('every REST route of the model server and the cluster admin API belongs to a group', async () => {
  const service = new FakeInferenceService();
  const app = createHttpApp({ service, maxBodyBytes: 1024, apis: [tfServingRoutes(service, 1024)] });
  const routes: { method: string; url: string }[] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url });
  });
  await app.register(clusterAdminRoutes(new MemoryStore()));
  await app.ready();
  assert.ok(routes.length > 40, `saw ${routes.length} routes`);
  const missing = routes.filter((route) => restGroupOf(route.url, route.url) === undefined).map((r) => `${r.method} ${r.url}`);
  assert.deepEqual(missing, []);
  await app.close();
});

test('every shared-memory route (system and CUDA) is in the shared-memory group, as are the gRPC calls', async () => {
  const app = createHttpApp({ service: new FakeInferenceService(), maxBodyBytes: 1024 });
  const urls = new Set<string>();
  app.addHook('onRoute', (route) => {
    if (route.url.includes('sharedmemory')) urls.add(route.url);
  });
  await app.ready();
  assert.equal(urls.size, 10, [...urls].join(' '));
  for (const url of urls) assert.equal(restGroupOf(url, url), 'shared-memory', url);
  for (const rpc of ['SystemSharedMemoryStatus', 'SystemSharedMemoryRegister', 'SystemSharedMemoryUnregister', 'CudaSharedMemoryStatus', 'CudaSharedMemoryRegister', 'CudaSharedMemoryUnregister']) {
    assert.equal(grpcGroupOf(`/inference.GRPCInferenceService/${rpc}`), 'shared-memory', rpc);
  }
  await app.close();
});

test("REST routes map to Triton's groups", () => {
  const cases: [string, string][] = [
    ['/v2/health/live', 'health'],
    ['/v2/models/:model/versions/:version/ready', 'health'],
    ['/v2', 'metadata'],
    ['/v2/models/:model', 'metadata'],
    ['/v2/models/:model/versions/:version/infer', 'inference'],
    ['/v2/models/:model/config', 'model-config'],
    ['/v2/models/stats', 'statistics'],
    ['/v2/models/:model/stats', 'statistics'],
    ['/v2/repository/index', 'model-repository'],
    ['/v2/repository/:repo/models/:model/unload', 'model-repository'],
    ['/v2/repository/models/:model/labels', 'model-repository'],
    ['/v2/cluster/models/:model/replicas', 'cluster-admin'],
  ];
  for (const [pattern, group] of cases) assert.equal(restGroupOf(pattern, pattern), group, pattern);
  assert.equal(restGroupOf(undefined, '/nowhere'), undefined);
});

test('TF Serving REST paths: status is health, metadata is metadata, the rest is inference (case-insensitive, decoded)', () => {
  assert.equal(tfServingRestGroupOf('/v1/models/m'), 'health');
  assert.equal(tfServingRestGroupOf('/v1/models/m/versions/3'), 'health');
  assert.equal(tfServingRestGroupOf('/v1/models/m/labels/stable'), 'health');
  assert.equal(tfServingRestGroupOf('/v1/models/m/metadata'), 'metadata');
  assert.equal(tfServingRestGroupOf('/v1/models/m/versions/1/metadata'), 'metadata');
  assert.equal(tfServingRestGroupOf('/v1/models/m:predict'), 'inference');
  assert.equal(tfServingRestGroupOf('/V1/MODELS/m:PREDICT'), 'inference');
  assert.equal(tfServingRestGroupOf('/v1/models/m%3Apredict'), 'inference');
  assert.equal(tfServingRestGroupOf('/v1/models/m/labels/a:classify?x=1'), 'inference');
});

test('every gRPC method of every served service belongs to a group', () => {
  const services: [ReturnType<typeof oipPackageDefinition>, string][] = [
    [oipPackageDefinition(), 'inference.GRPCInferenceService'],
    [oipPackageDefinition(), 'grpc.health.v1.Health'],
    [tfServingPackageDefinition(), 'tensorflow.serving.PredictionService'],
    [tfServingPackageDefinition(), 'tensorflow.serving.ModelService'],
  ];
  const paths = services.flatMap(([definition, name]) => Object.values(serviceDefinition(definition, name)).map((method) => method.path));
  assert.ok(paths.length >= 25);
  assert.deepEqual(
    paths.filter((path) => grpcGroupOf(path) === undefined),
    [],
  );
  assert.equal(grpcGroupOf('/tensorflow.serving.ModelService/HandleReloadConfigRequest'), 'model-repository');
  assert.equal(grpcGroupOf('/tensorflow.serving.ModelService/GetModelStatus'), 'health');
  assert.equal(grpcGroupOf('/inference.GRPCInferenceService/ModelStreamInfer'), 'inference');
  assert.ok(GRPC_METHOD_GROUPS.size >= paths.length - 1);
});

test('mutations: writes to the groups that change the server', () => {
  assert.equal(isMutation('POST', 'model-repository'), true);
  assert.equal(isMutation('PUT', 'cluster-admin'), true);
  assert.equal(isMutation('DELETE', 'cluster-admin'), true);
  assert.equal(isMutation('GET', 'cluster-admin'), false);
  assert.equal(isMutation('POST', 'inference'), false);
  assert.equal(isMutation('POST', undefined), false);
});
