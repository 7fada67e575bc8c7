/**
 * Human-readable output of `cranberries bench`: a header naming what was measured and one table
 * row per load level. (`--json` prints the `BenchReport` object itself.)
 */
import type { BenchLevelResult, BenchReport } from './bench-runner.js';
import { modeLabel } from './bench-runner.js';

/** Right-aligned columns under a header row; the first column is left-aligned. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export const fixed = (value: number, digits: number): string => (Number.isFinite(value) ? value.toFixed(digits) : '-');

function levelRow(level: BenchLevelResult): string[] {
  const l = level.latency;
  const s = level.server;
  return [
    modeLabel(level.mode),
    fixed(level.requestsPerSecond, 1),
    fixed(level.inferencesPerSecond, 1),
    fixed(l.p50Ms, 2),
    fixed(l.p90Ms, 2),
    fixed(l.p95Ms, 2),
    fixed(l.p99Ms, 2),
    s ? fixed(s.queueUs, 0) : '-',
    s ? fixed(s.computeUs, 0) : '-',
    s ? fixed(s.avgBatch, 2) : '-',
    String(level.failed + level.skipped),
  ];
}

export function formatReport(report: BenchReport): string {
  const title =
    `Model '${report.model}'${report.version ? ` version ${report.version}` : ''} over ${report.protocol}: ` +
    `${report.rowsPerRequest} row(s), ${formatBytes(report.requestBytes)} of tensors per request; ` +
    `${report.warmupSecs} s warm-up, ${report.measureSecs} s window per level`;
  const header = ['Load', 'Req/s', 'Infer/s', 'p50 ms', 'p90 ms', 'p95 ms', 'p99 ms', 'Queue µs', 'Compute µs', 'Avg batch', 'Failed'];
  const lines = [title, '', formatTable(header, report.levels.map(levelRow))];
  const errors = new Map<string, number>();
  for (const level of report.levels) for (const [message, count] of Object.entries(level.errors)) errors.set(message, (errors.get(message) ?? 0) + count);
  if (errors.size > 0) lines.push('', 'Failures:', ...[...errors].map(([message, count]) => `  ${count} × ${message}`));
  lines.push('', "Queue and compute are the server's own means per request over the same window (statistics API).");
  return lines.join('\n');
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
