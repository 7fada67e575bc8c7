/**
 * The administration UI as its own service (`cranberries admin`) in front of a real local cluster
 * of processes: ZooKeeper, a controller, two workers, a gateway and the admin service, driven in a
 * real browser. Replicas set from the page move a model onto both workers (the placement map shows
 * it), unloading from the page makes inference through the gateway fail and loading brings it
 * back, and the digit pad's inference goes through the admin service to the gateway. The gateway
 * serves the UI at /ui too.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { PACKAGE_ROOT } from '../../src/core/version.js';
import { ClusterProcess, ProcessCluster } from '../helpers/process-cluster.js';
import { eventually } from '../helpers/eventually.js';
import { drawStroke, launchBrowser, openPage, screenshot, type WatchedPage } from '../helpers/browser.js';

const UI_WAIT_MS = 60_000;
let cluster: ProcessCluster;
let admin: ClusterProcess;
let adminUrl: string;
let browser: Browser;
let watched: WatchedPage;
let page: Page;

before(async () => {
  cluster = await ProcessCluster.start({
    models: {},
    copyModelDirs: [join(PACKAGE_ROOT, 'models', 'digits'), join(PACKAGE_ROOT, 'models', 'diabetes')],
    workers: 2,
    defaultReplicas: 1,
    sessionTimeoutMs: 4000,
  });
  admin = new ClusterProcess('admin', [
    'admin',
    '--zookeeper',
    cluster.zk.connectionString,
    '--host',
    '127.0.0.1',
    '--http-port',
    '0',
    '--gateway',
    cluster.gateway.url,
    '--gateway-metrics',
    cluster.gateway.metricsUrl,
    '--model-repository',
    cluster.repo.root,
    '--log-level',
    'info',
  ]);
  const listening = await admin.logLine('admin UI listening');
  adminUrl = `http://127.0.0.1:${String(listening['http'])}`;
  await eventually(async () => (await cluster.readyNodes('digits')).length === 1 && (await cluster.readyNodes('diabetes')).length === 1, 'both models READY', 90_000);
  browser = await launchBrowser();
  watched = await openPage(browser, `${adminUrl}/`);
  page = watched.page;
});

after(async () => {
  await browser?.close();
  await admin?.kill();
  await cluster?.close();
});

const placementCell = (model: string, node: string) => page.locator(`[data-testid="placement-map"] tr[data-model="${model}"] td[data-node="${node}"]`);
const stateCell = (model: string) => page.locator(`table.models tr[data-model="${model}"] [data-testid="model-state"]`);

async function confirmAction(model: string, button: string): Promise<void> {
  await page.locator(`table.models tr[data-model="${model}"]`).getByRole('button', { name: button, exact: true }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Confirm' }).click();
}

async function inferThroughGateway(): Promise<number> {
  const response = await fetch(`${cluster.gateway.url}/v2/models/diabetes/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP64', shape: [1, 10], data: [0.03, 0.05, 0.06, 0.02, -0.04, -0.03, -0.04, 0, 0.02, -0.02] }] }),
  });
  await response.arrayBuffer();
  return response.status;
}

describe('administration UI service over a local cluster', { timeout: 300_000 }, () => {
  test('the overview shows every component, both workers and the models READY', async () => {
    for (const model of ['digits', 'diabetes'])
      await stateCell(model)
        .filter({ hasText: /^READY$/ })
        .waitFor({ timeout: UI_WAIT_MS });
    const components = (await page.locator('.components').textContent()) ?? '';
    assert.match(components, /coordination store\s*UP\s*ZooKeeper/);
    assert.match(components, /controller\s*UP\s*leader/);
    assert.match(components, /gateway\s*UP/);
    assert.match(components, /2 registered: w1, w2/);
    await screenshot(page, 'cluster-overview');
  });

  test('setting replicas from the UI places the model on both workers, as the placement map shows', async () => {
    await page.locator('table.models tr[data-model="digits"]').getByLabel('Replicas').fill('2');
    await confirmAction('digits', 'Set');
    for (const node of ['w1', 'w2']) await placementCell('digits', node).getByText('READY').waitFor({ timeout: UI_WAIT_MS });
    assert.deepEqual(await cluster.readyNodes('digits'), ['w1', 'w2']);
    await page.locator('table.models tr[data-model="digits"]').getByLabel('Replicas').fill('1');
    await confirmAction('digits', 'Set');
    await eventually(async () => (await page.locator('[data-testid="placement-map"] tr[data-model="digits"] .s-ready').count()) === 1, 'one READY replica left on the map', UI_WAIT_MS);
  });

  test('unloading from the UI makes inference through the gateway fail; loading brings it back', async () => {
    assert.equal(await inferThroughGateway(), 200);
    await confirmAction('diabetes', 'Unload');
    await stateCell('diabetes')
      .filter({ hasText: /^UNLOADED$/ })
      .waitFor({ timeout: UI_WAIT_MS });
    await eventually(async () => (await inferThroughGateway()) !== 200, 'inference on the unloaded model to fail', 30_000);
    await confirmAction('diabetes', 'Load');
    await stateCell('diabetes')
      .filter({ hasText: /^READY$/ })
      .waitFor({ timeout: UI_WAIT_MS });
    await eventually(async () => (await inferThroughGateway()) === 200, 'inference to work again', 30_000);
  });

  test('the digit pad classifies a drawn "1" through the admin service and the gateway', async () => {
    await page.locator('a[href="#/models/digits"]').first().click();
    await page.locator('[data-testid="digit-canvas"]').waitFor({ timeout: UI_WAIT_MS });
    await drawStroke(page, '[data-testid="digit-canvas"]', [112, 24], [112, 200]);
    const prediction = page.locator('[data-testid="digit-prediction"] strong');
    await prediction.waitFor({ timeout: UI_WAIT_MS });
    assert.equal((await prediction.textContent())?.trim(), '1');
    await page.waitForTimeout(4500);
    await screenshot(page, 'cluster-model-digits');
    assert.deepEqual(watched.errors, [], 'no console errors');
  });

  test('the gateway serves the UI at /ui too, and GET / redirects there', async () => {
    const root = await fetch(`${cluster.gateway.url}/`, { redirect: 'manual' });
    assert.equal(root.status, 302);
    assert.equal(root.headers.get('location'), '/ui/');
    const index = await fetch(`${cluster.gateway.url}/ui/`);
    assert.equal(index.status, 200);
    assert.match(await index.text(), /<div id="app">/);
    const overview = (await (await fetch(`${cluster.gateway.url}/v2/cluster/overview`)).json()) as { nodes: { id: string }[] };
    assert.deepEqual(
      overview.nodes.map((n) => n.id),
      ['w1', 'w2'],
    );
    // The live stream works through the gateway too (nothing in front of fastify buffers or takes it).
    const controller = new AbortController();
    const stream = await fetch(`${cluster.gateway.url}/v2/cluster/events`, { signal: controller.signal });
    assert.equal(stream.status, 200);
    const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (!text.includes('event: overview')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    controller.abort();
    assert.match(text, /event: overview\ndata: \{/);
  });
});
