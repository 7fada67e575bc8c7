/**
 * The administration UI in a real browser (Debian chromium via playwright-core) against a real
 * standalone server (the one-node cluster `cranberries serve` runs) serving the bundled example
 * models plus one broken model: the overview shows live state, actions from the page change what
 * the API serves, the digit pad classifies a drawn "1", a malformed request gets a readable error,
 * and the events page lists what happened. Screenshots go to test-output/admin-ui/.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { createLogger } from '../../src/core/logger.js';
import { PACKAGE_ROOT } from '../../src/core/version.js';
import { startStandalone, type Standalone } from '../../src/composition/standalone.js';
import { waitFor } from '../helpers/test-server.js';
import { drawStroke, launchBrowser, openPage, screenshot, type WatchedPage } from '../helpers/browser.js';

const UI_WAIT_MS = 30_000;
let repository: string;
let server: Standalone;
let url: string;
let browser: Browser;
let watched: WatchedPage;
let page: Page;

/** A model whose ONNX file is not a model: it fails to load, with a reason. */
const BROKEN_CONFIG = `name: "broken"
backend: "onnxruntime"
max_batch_size: 0
input [ { name: "x", data_type: TYPE_FP32, dims: [ 1 ] } ]
output [ { name: "y", data_type: TYPE_FP32, dims: [ 1 ] } ]
`;

before(async () => {
  repository = await mkdtemp(join(tmpdir(), 'cranberries-admin-ui-'));
  await cp(join(PACKAGE_ROOT, 'models'), repository, { recursive: true });
  await mkdir(join(repository, 'broken', '1'), { recursive: true });
  await writeFile(join(repository, 'broken', 'config.pbtxt'), BROKEN_CONFIG);
  await writeFile(join(repository, 'broken', '1', 'model.onnx'), 'this is not an ONNX model');
  server = await startStandalone({
    modelRepository: repository,
    host: '127.0.0.1',
    httpPort: 0,
    grpcPort: 0,
    metricsPort: 0,
    controlMode: 'none',
    pollSeconds: 1,
    loadModels: [],
    httpMaxBodyBytes: 1 << 20,
    grpcMaxMessageBytes: 1 << 20,
    strictReadiness: false,
    logger: createLogger('silent'),
  });
  url = `http://127.0.0.1:${server.ports.http}`;
  browser = await launchBrowser();
  watched = await openPage(browser, `${url}/`);
  page = watched.page;
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (repository) await rm(repository, { recursive: true, force: true });
});

const stateCell = (model: string) => page.locator(`tr[data-model="${model}"] [data-testid="model-state"]`);

async function waitForState(model: string, state: string): Promise<void> {
  await stateCell(model)
    .filter({ hasText: new RegExp(`^${state}$`) })
    .waitFor({ timeout: UI_WAIT_MS });
}

/** Clicks an action in a model's row of the overview, then Confirm in the dialog. */
async function confirmAction(model: string, button: string): Promise<void> {
  await page.locator(`table.models tr[data-model="${model}"]`).getByRole('button', { name: button, exact: true }).click();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  await dialog.getByRole('button', { name: 'Confirm' }).click();
}

async function inferDiabetes(): Promise<number> {
  const response = await fetch(`${url}/v2/models/diabetes/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP64', shape: [1, 10], data: [0.03, 0.05, 0.06, 0.02, -0.04, -0.03, -0.04, 0, 0.02, -0.02] }] }),
  });
  await response.arrayBuffer();
  return response.status;
}

describe('administration UI on a standalone server', { timeout: 240_000 }, () => {
  test('GET / redirects to the UI; index.html is revalidated, hashed assets are immutable', async () => {
    const root = await fetch(`${url}/`, { redirect: 'manual' });
    assert.equal(root.status, 302);
    assert.equal(root.headers.get('location'), '/ui/');
    const index = await fetch(`${url}/ui/`);
    assert.equal(index.status, 200);
    assert.equal(index.headers.get('cache-control'), 'no-cache');
    const html = await index.text();
    const asset = /src="(\/ui\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    assert.ok(asset, 'the page loads a hashed script');
    const script = await fetch(`${url}${asset}`);
    assert.equal(script.status, 200);
    assert.equal(script.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    await script.arrayBuffer();
  });

  test('the overview lists the example models READY and says why the broken one is not', async () => {
    for (const model of ['diabetes', 'digits', 'word_ids']) await waitForState(model, 'READY');
    await waitForState('broken', 'UNAVAILABLE');
    const reason = await page.locator('tr[data-model="broken"] [data-testid="model-reason"]').textContent();
    assert.match(reason ?? '', /version 1 on local: .{10,}/, `a reason in words, got: ${reason}`);
    assert.equal(await page.getByRole('heading', { name: 'Components' }).count(), 1);
    assert.match((await page.locator('.components').textContent()) ?? '', /controller.*leader/s);
    // The placement map shows the version on the worker.
    assert.match((await page.locator('[data-testid="placement-map"] tr[data-model="digits"] td[data-node="local"]').textContent()) ?? '', /v1\s*READY/);
    await screenshot(page, 'overview');
  });

  test('unloading from the UI makes inference fail over the API; loading brings it back', async () => {
    assert.equal(await inferDiabetes(), 200);
    await confirmAction('diabetes', 'Unload');
    await waitForState('diabetes', 'UNLOADED');
    await waitFor(async () => (await inferDiabetes()) !== 200, 15_000, 'inference on the unloaded model to fail');
    const refused = await inferDiabetes();
    assert.ok(refused >= 400 && refused < 600, `unloaded: ${refused}`);
    await confirmAction('diabetes', 'Load');
    await waitForState('diabetes', 'READY');
    await waitFor(async () => (await inferDiabetes()) === 200, 15_000, 'inference on the reloaded model');
  });

  test('setting replicas from the UI changes the desired state and the page follows it live', async () => {
    const input = page.locator('table.models tr[data-model="word_ids"]').getByLabel('Replicas');
    await input.fill('0');
    await confirmAction('word_ids', 'Set');
    await waitForState('word_ids', 'UNLOADED');
    const view = (await (await fetch(`${url}/v2/cluster/models/word_ids`)).json()) as { replicas: number };
    assert.equal(view.replicas, 0);
    await input.fill('1');
    await confirmAction('word_ids', 'Set');
    await waitForState('word_ids', 'READY');
    assert.equal(await page.locator('table.models [aria-invalid="true"]').count(), 0);
  });

  test('drawing a "1" on the digit pad returns class 1', async () => {
    await page.locator('a[href="#/models/digits"]').first().click();
    await page.getByRole('heading', { name: /Model digits/ }).waitFor();
    await page.locator('[data-testid="digit-canvas"]').waitFor();
    // A vertical stroke down the middle of the 224×224 pad.
    await drawStroke(page, '[data-testid="digit-canvas"]', [112, 24], [112, 200]);
    const prediction = page.locator('[data-testid="digit-prediction"] strong');
    await prediction.waitFor({ timeout: UI_WAIT_MS });
    assert.equal((await prediction.textContent())?.trim(), '1');
    // The probabilities are drawn as ten labelled bars.
    assert.equal(await page.getByRole('list', { name: 'Probability of each class' }).locator('li').count(), 10);
    // The charts have had time to take a few samples.
    await page.waitForTimeout(4500);
    await screenshot(page, 'model-digits');
  });

  test('a malformed JSON request shows a readable error instead of sending it', async () => {
    const editor = page.getByLabel('Inference request (JSON, Open Inference Protocol)');
    await editor.fill('{"inputs": [ {"name": "image", ');
    await page.getByRole('button', { name: 'Run inference' }).click();
    const problems = page.locator('[data-testid="infer-problems"]');
    await problems.getByText(/The request is not valid JSON/).waitFor();
    // A well-formed request with the wrong shape is refused with the reason too.
    await editor.fill(JSON.stringify({ inputs: [{ name: 'image', datatype: 'FP32', shape: [1, 1, 8, 8], data: [1, 2, 3] }] }));
    await page.getByRole('button', { name: 'Run inference' }).click();
    await problems.getByText(/needs 64 values, the data has 3/).waitFor();
    // The example runs and shows its outputs and timing.
    await page.getByRole('button', { name: 'Reset example' }).click();
    await page.getByRole('button', { name: 'Run inference' }).click();
    await page
      .locator('[data-testid="infer-result"]')
      .getByText(/answered in [\d.]+ ms/)
      .waitFor();
  });

  test('the events page lists state changes, filterable by model', async () => {
    await page.getByRole('link', { name: 'Events' }).click();
    await page.getByRole('heading', { name: 'Events' }).waitFor();
    await page
      .getByText(/diabetes v1 on local: .* → READY/)
      .first()
      .waitFor();
    await page.getByLabel('Model').selectOption('digits');
    const shown = await page.locator('.events li').allTextContents();
    assert.ok(shown.length > 0);
    for (const line of shown) assert.match(line, /digits/);
    await screenshot(page, 'events');
    // The same stream for scripts: recent events as JSON, filtered by model.
    const recent = (await (await fetch(`${url}/v2/cluster/events/recent?model=diabetes`)).json()) as { events: { model: string; message: string }[] };
    assert.ok(recent.events.some((e) => /desired replicas 1 → 0/.test(e.message)));
    assert.ok(recent.events.every((e) => e.model === 'diabetes'));
  });

  test('every control has a label, keyboard focus reaches the navigation, and a narrow window needs no sideways scrolling', async () => {
    await page.getByRole('link', { name: 'Overview' }).click();
    await waitForState('digits', 'READY');
    // Browser-side code as text: the test's own TypeScript has no DOM types.
    const unlabelled = await page.evaluate(`[...document.querySelectorAll('input, select, textarea, button')]
      .filter((element) => !(element.labels?.length || element.getAttribute('aria-label') || element.textContent?.trim()))
      .map((element) => element.outerHTML.slice(0, 80))`);
    assert.deepEqual(unlabelled, []);
    // From a fresh load, the first Tab stops are the skip link and the navigation.
    await page.reload();
    await waitForState('digits', 'READY');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate('document.activeElement?.textContent'), 'Skip to content');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate('document.activeElement?.textContent'), 'Overview');
    await page.setViewportSize({ width: 390, height: 800 });
    await page.waitForTimeout(300);
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    assert.ok(overflow <= 1, `the page is ${overflow} px wider than a narrow window`);
    await screenshot(page, 'overview-narrow');
    await page.setViewportSize({ width: 1280, height: 800 });
    assert.deepEqual(watched.errors, [], 'no console errors');
  });
});
