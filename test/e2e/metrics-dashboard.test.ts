/**
 * The Grafana dashboard names only metrics Cranberries really exports: every PromQL expression in
 * it is tokenized and checked (balanced brackets, known functions), and every metric it reads must
 * be in a real scrape of a server after traffic or registered by the cluster metric modules
 * (controller, worker, coordination, gateway, Graphite). A renamed metric fails this test. The
 * metrics reference (README.md) must list every exported `cranberries_*` metric and describe
 * every panel of the dashboard.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { PACKAGE_ROOT } from '../../src/core/version.js';
import { EventChannel } from '../../src/core/events.js';
import { createCoordinationMetrics } from '../../src/cluster/coordination-metrics.js';
import { ControllerMetrics, type PlacementRound } from '../../src/cluster/controller-metrics.js';
import { GatewayUpstreamMetrics } from '../../src/metrics/gateway-upstream-metrics.js';
import { GraphiteReporter } from '../../src/metrics/graphite-reporter.js';
import { parsePrometheusText } from '../helpers/prometheus-text.js';
import { WorkerMetrics } from '../../src/cluster/worker-metrics.js';
import { GatewayMetrics, type GatewayMetricsSources } from '../../src/gateway/index.js';
import { addSubModel, createTempModelRepository, type TempModelRepository } from '../fixtures/onnx-models.js';
import { infer } from '../helpers/oip-client.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

const DASHBOARD = join(PACKAGE_ROOT, 'deploy/grafana/cranberries-dashboard.json');
const DOCS = join(PACKAGE_ROOT, 'README.md');
const CONFIG =
  'max_batch_size: 8\ninput [ { name: "INPUT0" data_type: TYPE_FP32 dims: [ 4 ] }, { name: "INPUT1" data_type: TYPE_FP32 dims: [ 4 ] } ]\noutput [ { name: "OUTPUT0" data_type: TYPE_FP32 dims: [ 4 ] }, { name: "OUTPUT1" data_type: TYPE_FP32 dims: [ 4 ] } ]\n';

const PROMQL_FUNCTIONS = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'count',
  'stddev',
  'stdvar',
  'topk',
  'bottomk',
  'quantile',
  'count_values',
  'group',
  'rate',
  'irate',
  'increase',
  'delta',
  'idelta',
  'deriv',
  'histogram_quantile',
  'abs',
  'ceil',
  'floor',
  'round',
  'clamp_min',
  'clamp_max',
  'avg_over_time',
  'max_over_time',
  'min_over_time',
  'sum_over_time',
  'count_over_time',
  'last_over_time',
  'absent',
  'vector',
  'scalar',
  'time',
  'label_replace',
]);
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset']);
const GROUPING = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);

interface Token {
  readonly kind: 'ident' | 'string' | 'number' | 'punct' | 'range';
  readonly text: string;
}

function tokenize(expr: string): Token[] {
  const tokens: Token[] = [];
  const source = expr.replaceAll('$__rate_interval', '5m').replaceAll('$__range', '1h');
  for (let i = 0; i < source.length;) {
    const c = source[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < source.length && source[j] !== c) j += source[j] === '\\' ? 2 : 1;
      assert.ok(j < source.length, `unterminated string in: ${expr}`);
      tokens.push({ kind: 'string', text: source.slice(i, j + 1) });
      i = j + 1;
    } else if (c === '[') {
      const j = source.indexOf(']', i);
      assert.ok(j > i && /^\[\d+[smhdwy](:\d*[smhdwy]?)?\]$/.test(source.slice(i, j + 1)), `bad range selector in: ${expr}`);
      tokens.push({ kind: 'range', text: source.slice(i, j + 1) });
      i = j + 1;
    } else if (/[a-zA-Z_:]/.test(c)) {
      const match = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(source.slice(i))!;
      tokens.push({ kind: 'ident', text: match[0] });
      i += match[0].length;
    } else if (/[0-9.]/.test(c)) {
      const match = /^[0-9.]+(e[+-]?\d+)?/.exec(source.slice(i))!;
      tokens.push({ kind: 'number', text: match[0] });
      i += match[0].length;
    } else {
      const match = /^(==|!=|=~|!~|>=|<=|[-+*/%^(){},=<>])/.exec(source.slice(i));
      assert.ok(match, `unexpected character '${c}' in: ${expr}`);
      tokens.push({ kind: 'punct', text: match[0] });
      i += match[0].length;
    }
  }
  return tokens;
}

/** The metric names an expression reads; asserts it is well formed on the way. */
function metricNames(expr: string): string[] {
  const tokens = tokenize(expr);
  const names: string[] = [];
  const stack: string[] = [];
  let skipList = false;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.kind === 'punct' && (t.text === '(' || t.text === '{')) {
      stack.push(skipList && t.text === '(' ? 'list' : t.text);
      skipList = false;
      continue;
    }
    if (t.kind === 'punct' && (t.text === ')' || t.text === '}')) {
      const open = stack.pop();
      assert.ok(open !== undefined && (t.text === '}' ? open === '{' : open !== '{'), `unbalanced '${t.text}' in: ${expr}`);
      continue;
    }
    if (t.kind !== 'ident') continue;
    const inside = stack.at(-1);
    if (inside === '{' || inside === 'list') continue; // label names
    if (GROUPING.has(t.text)) {
      skipList = tokens[i + 1]?.text === '(';
      continue;
    }
    if (KEYWORDS.has(t.text)) continue;
    const next = tokens[i + 1]?.text;
    if (next === '(' || ((next === 'by' || next === 'without') && PROMQL_FUNCTIONS.has(t.text))) {
      assert.ok(PROMQL_FUNCTIONS.has(t.text), `unknown PromQL function '${t.text}' in: ${expr}`);
      continue;
    }
    names.push(t.text);
  }
  assert.equal(stack.length, 0, `unclosed bracket in: ${expr}`);
  return names;
}

interface Panel {
  readonly type: string;
  readonly title: string;
  readonly targets?: { readonly expr: string }[];
  readonly panels?: Panel[];
}

let repo: TempModelRepository;
let server: TestServer;

before(async () => {
  repo = await createTempModelRepository({ simple: { versions: { 1: addSubModel('FP32', [4]) }, config: CONFIG } });
  server = await startTestServer({ modelRepository: repo.root });
});

after(async () => {
  await server?.stop();
  await repo?.remove();
});

/** Metric families (name → type) a server exports after traffic, plus those the cluster modules register. */
async function exportedFamilies(): Promise<Map<string, string>> {
  const inputs = [
    { name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] },
    { name: 'INPUT1', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] },
  ];
  assert.equal((await infer(server.url, 'simple', inputs)).status, 200);
  const scrape = parsePrometheusText(await (await fetch(`http://127.0.0.1:${server.ports.metrics}/metrics`)).text());
  const families = new Map(scrape.types);

  const cluster = new Registry();
  new ControllerMetrics(cluster, { isLeader: () => true, reconciled: new EventChannel<PlacementRound>() });
  new WorkerMetrics(cluster, { assignedModels: () => 0, registered: () => true });
  createCoordinationMetrics(cluster, { sessionState: 'connected', onSessionState: () => () => {} });
  new GatewayUpstreamMetrics(cluster);
  new GatewayMetrics(cluster, {} as GatewayMetricsSources); // only registered here, never collected
  new GraphiteReporter(cluster, { host: '127.0.0.1', port: 1, prefix: 'x', intervalSeconds: 1 }); // never started
  for (const metric of cluster.getMetricsAsArray()) families.set(metric.name, String((metric as { type?: unknown }).type));
  return families;
}

function isExported(name: string, families: ReadonlyMap<string, string>): boolean {
  if (families.has(name)) return true;
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return base !== name && (families.get(base) === 'histogram' || (families.get(base) === 'summary' && !name.endsWith('_bucket')));
}

test('every metric the dashboard queries is one Cranberries exports', async () => {
  const dashboard = JSON.parse(await readFile(DASHBOARD, 'utf8')) as { panels: Panel[]; templating: { list: { query?: unknown }[] } };
  const families = await exportedFamilies();
  const expressions: string[] = [];
  const walk = (panels: readonly Panel[]): void => {
    for (const p of panels) {
      if (p.type !== 'row') assert.ok((p.targets ?? []).length > 0, `panel '${p.title}' has no query`);
      expressions.push(...(p.targets ?? []).map((t) => t.expr));
      walk(p.panels ?? []);
    }
  };
  walk(dashboard.panels);
  for (const variable of dashboard.templating.list) {
    const query = typeof variable.query === 'object' && variable.query !== null ? (variable.query as { query: string }).query : variable.query;
    const labelValues = typeof query === 'string' ? /^label_values\((\w+),\s*\w+\)$/.exec(query) : null;
    if (labelValues) expressions.push(labelValues[1]!);
  }
  assert.ok(expressions.length >= 30, `only ${expressions.length} expressions found`);

  const used = new Set<string>();
  for (const expr of expressions) {
    const names = metricNames(expr);
    assert.ok(names.length > 0, `no metric in: ${expr}`);
    for (const name of names) {
      assert.ok(isExported(name, families), `the dashboard queries '${name}', which nothing exports (in: ${expr})`);
      used.add(name.replace(/_(bucket|sum|count)$/, ''));
    }
  }
  // The views the dashboard exists for.
  for (const name of [
    'cranberries_inference_request_success_total',
    'cranberries_inference_request_failure_total',
    'cranberries_request_duration_seconds',
    'cranberries_queue_duration_seconds',
    'cranberries_compute_infer_duration_seconds',
    'cranberries_batch_size',
    'cranberries_inference_count_total',
    'cranberries_inference_executions_total',
    'cranberries_cluster_nodes',
    'cranberries_controller_models',
    'cranberries_gateway_ready_replicas',
  ]) {
    assert.ok(used.has(name), `the dashboard does not show ${name}`);
  }
});

test('the PromQL checks reject what they should', () => {
  assert.deepEqual(metricNames('sum by (model, le) (rate(x_bucket{model=~"$model", le!="1"}[5m]))'), ['x_bucket']);
  assert.deepEqual(metricNames('a / on (instance) group_left b'), ['a', 'b']);
  assert.throws(() => metricNames('sum(rate(x[5m])'), /unclosed/);
  assert.throws(() => metricNames('summ(x)'), /unknown PromQL function 'summ'/);
  assert.throws(() => metricNames('rate(x[5 m])'), /bad range selector/);
});

test('README.md lists every exported cranberries_* metric and describes every panel', async () => {
  const docs = await readFile(DOCS, 'utf8');
  const families = await exportedFamilies();
  for (const name of families.keys()) {
    if (name.startsWith('cranberries_')) assert.ok(docs.includes(`\`${name}\``), `README.md does not document ${name}`);
  }
  const dashboard = JSON.parse(await readFile(DASHBOARD, 'utf8')) as { panels: Panel[] };
  for (const panel of dashboard.panels) assert.ok(docs.includes(panel.title), `README.md does not describe the panel or row '${panel.title}'`);
});
