/**
 * The soak's results: a summary printed at the end, and `soak-<timestamp>.json` (everything) and
 * `soak-<timestamp>.md` (the same as tables) under the results folder.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { formatTable } from '../../src/load-generator/bench-report.js';
import type { Counts } from './soak-load.js';
import { seconds, type SoakResult } from './soak-run.js';

const causes = (c: Counts): string =>
  Object.entries(c.causes)
    .sort((a, b) => b[1] - a[1])
    .map(([cause, n]) => `${cause} ×${n}`)
    .join(', ') || '-';

/** Failed requests of the models with replicas ≥ 2: the number that must be zero. */
export function replicatedFailures(result: SoakResult): number {
  return result.replicatedModels.reduce((sum, model) => sum + (result.load.byModel[model]?.failed ?? 0), 0);
}

/** The end-of-run summary as text tables (also the body of the Markdown report). */
export function formatSoakSummary(result: SoakResult, markdown = false): string {
  const { load } = result;
  const table = (header: readonly string[], rows: readonly (readonly string[])[]): string =>
    markdown ? [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n') : formatTable(header, rows);
  const byModel = Object.entries(load.byModel)
    .sort()
    .map(([model, c]) => {
      const latency = load.latencyByModel[model];
      const replicas = result.replicatedModels.includes(model as never) ? String(result.options.replicas[model as keyof typeof result.options.replicas] ?? 1) : '1';
      return [model, replicas, String(c.sent), String(c.ok), String(c.failed), causes(c), String(latency?.p50Ms ?? '-'), String(latency?.p99Ms ?? '-'), String(latency?.maxMs ?? '-')];
    });
  const byProtocol = Object.entries(load.byModelProtocol)
    .sort()
    .map(([key, c]) => [...key.split(' '), String(c.sent), String(c.ok), String(c.failed), causes(c)]);
  const intervals = load.intervals.map((s) => [
    `${seconds(s.startMs)}–${seconds(s.endMs)}`,
    String(s.sent),
    String(s.ok),
    String(s.failed),
    Object.entries(s.causes)
      .map(([cause, n]) => `${cause} ×${n}`)
      .join(', ') || '-',
    String(s.p50Ms),
    String(s.p99Ms),
    String(s.maxMs),
  ]);
  const events = result.events.map((e) => [seconds(e.atMs), e.action, e.target, e.recoveredAfterMs === undefined ? 'NOT recovered' : seconds(e.recoveredAfterMs), e.detail]);
  const h = (title: string): string => (markdown ? `\n## ${title}\n` : `\n${title}`);
  const failures = replicatedFailures(result);
  const lines = [
    `${load.total.sent} requests in ${seconds(load.durationMs)}: ${load.total.ok} ok, ${load.total.failed} failed (${causes(load.total)}); ` +
      `${failures} failed for models with replicas ≥ 2 (${result.replicatedModels.join(', ') || 'none'})${result.aborted ? ' [ABORTED early]' : ''}`,
    h('Per model (latency of successful requests, ms)'),
    table(['model', 'replicas', 'sent', 'ok', 'failed', 'failures by cause', 'p50', 'p99', 'max'], byModel),
    h('Per model and protocol'),
    table(['model', 'protocol', 'sent', 'ok', 'failed', 'failures by cause'], byProtocol),
    h('Over time (latency of successful requests, ms)'),
    table(['interval', 'sent', 'ok', 'failed', 'failures by cause', 'p50', 'p99', 'max'], intervals),
    h('Chaos events (time since the load started)'),
    table(['at', 'action', 'target', 'recovered after', 'what happened'], events),
  ];
  if (load.failureSamples.length > 0) {
    lines.push(h(`First failures (${Math.min(20, load.failureSamples.length)} of ${load.total.failed})`));
    lines.push(
      table(
        ['at', 'model', 'protocol', 'cause', 'detail'],
        load.failureSamples.slice(0, 20).map((f) => [seconds(f.atMs), f.model, f.protocol, f.cause, f.detail.replace(/\s+/g, ' ').replace(/\|/g, '/')]),
      ),
    );
  }
  return lines.join('\n');
}

/** Writes `soak-<timestamp>.json` and `.md` into `dir`; returns their paths. */
export async function writeSoakReport(result: SoakResult, dir: string): Promise<{ json: string; markdown: string }> {
  await mkdir(dir, { recursive: true });
  const stamp = result.startedAt.slice(0, 19).replace(/:/g, '-');
  const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', loadAverage: loadavg(), node: process.version };
  const json = join(dir, `soak-${stamp}.json`);
  const markdown = join(dir, `soak-${stamp}.md`);
  await writeFile(json, `${JSON.stringify({ ...result, machine, replicatedFailures: replicatedFailures(result) }, null, 2)}\n`);
  const o = result.options;
  const settings =
    `${o.workers} workers (poll mode), 2 controllers, ZooKeeper, gateway; load: ${o.concurrency} closed loops over ${Object.keys(result.load.byModelProtocol).length} (model, protocol) pairs for ${seconds(o.durationMs)}; ` +
    `chaos: ${o.actions.join(', ')} (pause ${seconds(o.pauseMs)}, down ${seconds(o.downMs)}); slow-client flood ${o.flood.httpSockets} HTTP + ${o.flood.grpcSockets} HTTP/2 sockets for ${seconds(o.flood.durationMs)}, a byte every ${o.flood.tickMs} ms.`;
  await writeFile(
    markdown,
    [
      `# Soak run ${result.startedAt}`,
      '',
      `Machine: ${machine.cpus} × ${machine.cpuModel}, Node ${machine.node}, load average at the end ${machine.loadAverage.map((l) => l.toFixed(1)).join(' ')}.`,
      '',
      settings,
      '',
      formatSoakSummary(result, true),
      '',
    ].join('\n'),
  );
  return { json, markdown };
}
