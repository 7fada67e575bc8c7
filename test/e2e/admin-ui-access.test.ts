/**
 * The administration UI with an admin token configured, in a real browser against a real
 * standalone server: the page asks for the token, every action carries it, and the server itself
 * refuses an action without it (not just the page hiding a button). Also: a page the server did
 * not serve (another origin) cannot act even with a simple cross-site request.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { AccessPolicy, TokenStore } from '../../src/access/index.js';
import { createLogger } from '../../src/core/logger.js';
import { startStandalone, type Standalone } from '../../src/composition/standalone.js';
import { createTempModelRepository, identityModel, type TempModelRepository } from '../fixtures/onnx-models.js';
import { launchBrowser, openPage, screenshot, type WatchedPage } from '../helpers/browser.js';

const TOKEN = 'ui-test-admin-token';
let repo: TempModelRepository;
let server: Standalone;
let url: string;
let browser: Browser;
let watched: WatchedPage;
let page: Page;

before(async () => {
  repo = await createTempModelRepository({ echo: { versions: { 1: identityModel({ datatype: 'FP32', dims: [-1], batching: true }) }, config: 'max_batch_size: 8\n' } });
  server = await startStandalone({
    modelRepository: repo.root,
    host: '127.0.0.1',
    httpPort: 0,
    grpcPort: 0,
    metricsPort: 0,
    controlMode: 'none',
    pollSeconds: 1,
    loadModels: [],
    httpMaxBodyBytes: 1 << 20,
    grpcMaxMessageBytes: 1 << 20,
    access: new AccessPolicy({ adminTokens: TokenStore.of([TOKEN]) }),
    logger: createLogger('silent'),
  });
  url = `http://127.0.0.1:${server.ports.http}`;
  browser = await launchBrowser();
  watched = await openPage(browser, `${url}/ui/`);
  page = watched.page;
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await repo?.remove();
});

/** A call made by the page itself (same origin, the page's own fetch), with or without a token. */
function pageFetch(path: string, method: string, token?: string): Promise<{ status: number; body: string }> {
  const headers = token === undefined ? '{}' : JSON.stringify({ authorization: `Bearer ${token}` });
  return page.evaluate(`fetch(${JSON.stringify(path)}, { method: ${JSON.stringify(method)}, headers: ${headers} }).then(async (r) => ({ status: r.status, body: await r.text() }))`);
}

describe('administration UI with an admin token', { timeout: 180_000 }, () => {
  test('the page asks for the token; a wrong one is refused by the server and asked again', async () => {
    const input = page.locator('#admin-token');
    await input.waitFor();
    assert.match((await page.locator('.token-form').textContent()) ?? '', /admin token/);
    await screenshot(page, 'token-prompt');
    await input.fill('not-the-token');
    await page.getByRole('button', { name: 'Use token' }).click();
    await page
      .locator('.token-form')
      .getByText(/invalid bearer token/)
      .waitFor();
    await page.locator('#admin-token').fill(TOKEN);
    await page.getByRole('button', { name: 'Use token' }).click();
    await page
      .locator('tr[data-model="echo"] [data-testid="model-state"]')
      .filter({ hasText: /^READY$/ })
      .waitFor();
    assert.equal(await page.locator('#admin-token').count(), 0);
  });

  test('an action without the token is refused by the server; with it, it is carried out', async () => {
    const refused = await pageFetch('/v2/cluster/models/echo/unload', 'POST');
    assert.equal(refused.status, 401);
    assert.match(refused.body, /admin token/);
    const wrong = await pageFetch('/v2/cluster/models/echo/unload', 'POST', 'wrong');
    assert.equal(wrong.status, 401);
    // Nothing changed.
    const view = await fetch(`${url}/v2/cluster/models/echo`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(((await view.json()) as { replicas: number }).replicas, 1);
    // From the page's own button (the page adds the token): carried out.
    await page.locator('table.models tr[data-model="echo"]').getByRole('button', { name: 'Unload', exact: true }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Confirm' }).click();
    await page
      .locator('tr[data-model="echo"] [data-testid="model-state"]')
      .filter({ hasText: /^UNLOADED$/ })
      .waitFor();
  });

  test('after forgetting the token, an action from the page shows the server refusal', async () => {
    await page.getByRole('button', { name: 'Forget token' }).click();
    await page.locator('table.models tr[data-model="echo"]').getByRole('button', { name: 'Load', exact: true }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Confirm' }).click();
    await page
      .locator('[data-testid="action-outcome"]')
      .getByText(/Load echo failed: 401/)
      .waitFor();
    await page.locator('#admin-token').waitFor();
    const view = await fetch(`${url}/v2/cluster/models/echo`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(((await view.json()) as { replicas: number }).replicas, 0, 'the refused load changed nothing');
  });

  test('a request claiming this origin but sent to another host, or from another origin, is still cross-site', async () => {
    const spoofed = await fetch(`${url}/v2/cluster/models/echo/load`, {
      method: 'POST',
      headers: { origin: 'http://evil.example', authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(spoofed.status, 403);
    await spoofed.arrayBuffer();
    const otherPort = await fetch(`${url}/v2/cluster/models/echo/load`, {
      method: 'POST',
      headers: { origin: `http://127.0.0.1:1`, authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(otherPort.status, 403);
    await otherPort.arrayBuffer();
    // The page's own origin with the token: allowed.
    const own = await fetch(`${url}/v2/cluster/models/echo/load?wait=0`, { method: 'POST', headers: { origin: url, authorization: `Bearer ${TOKEN}` } });
    assert.ok(own.status === 200 || own.status === 202, `same origin: ${own.status}`);
    await own.arrayBuffer();
    // Console errors here are the refused calls' own network errors (401s), which the browser logs; no script error.
    assert.deepEqual(
      watched.errors.filter((e) => !/status of 401/.test(e)),
      [],
    );
  });
});
