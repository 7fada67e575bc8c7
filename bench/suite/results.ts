/**
 * The suite's results: one JSON document and one markdown report (`bench/results/<date>.{json,md}`)
 * with the machine, a summary table of every target (met or not, as a ratio from this run) and the
 * detail tables behind each figure.
 */
import type { ScaleSuiteResults } from '../scale/suite.js';
import { fixed, formatTable } from '../../src/load-generator/bench-report.js';
import { B1_MAX_CPU_RATIO, B1_MAX_GRPC_RATIO, type B1Result } from './b1-overhead.js';
import { B2_MIN_LOW_LOAD_GAIN, type B2Model, type B2Result } from './b2-batching.js';
import type { LevelSummary } from './level-summary.js';
import { B3_MIN_SERVED_VS_CEILING, type B3Result } from './b3-limit.js';
import type { B4Result } from './b4-transport.js';
import type { B5Result } from './b5-hot-swap.js';
import type { B6Result } from './b6-memory.js';
import type { B7Result } from './b7-responsiveness.js';
import { B8_MAX_EXTRA_P50_MS, B8_MIN_RATIO, type B8Result } from './b8-gateway.js';
import type { B9Result } from './b9-python.js';
import type { B10Result } from './b10-ensemble.js';
import { B11_MIN_CONVERTED_VS_EXPORT, type B11Result } from './b11-inception.js';
import type { MachineInfo } from './context.js';

export interface SuiteResults {
  /** The control-plane scale simulation (bench/scale). */
  scale?: ScaleSuiteResults;
  readonly date: string;
  readonly quick: boolean;
  readonly machine: MachineInfo;
  /** Wall-clock seconds each part took. */
  readonly durations: Record<string, number>;
  b1?: B1Result;
  b2?: B2Result;
  b3?: B3Result;
  b4?: B4Result;
  b5?: B5Result;
  b6?: B6Result;
  b7?: B7Result;
  b8?: B8Result;
  b9?: B9Result;
  b10?: B10Result;
  b11?: B11Result;
  /** Parts that failed to run, with why. */
  readonly errors: Record<string, string>;
}

export interface TargetRow {
  readonly id: string;
  readonly what: string;
  readonly result: string;
  readonly target: string;
  readonly met: boolean | undefined;
}

const x = (v: number): string => `${fixed(v, 2)}×`;
/** Megabytes with their sign: growth +12, given back −3. */
const signed = (mb: number): string => (Math.round(mb) < 0 ? `−${fixed(-mb, 0)}` : `+${fixed(mb, 0)}`);
/** Server CPU µs per request of a level, or '—' when it was not measured. */
const cpuUs = (level: LevelSummary): string => (level.serverCpuUsPerRequest === undefined ? '—' : fixed(level.serverCpuUsPerRequest, 0));
const cpuPerInferenceUs = (level: LevelSummary): string => (level.serverCpuUsPerInference === undefined ? '—' : fixed(level.serverCpuUsPerInference, 0));

export function targetRows(r: SuiteResults): TargetRow[] {
  const rows: TargetRow[] = [];
  const add = (id: string, what: string, result: string, target: string, met: boolean | undefined): void => {
    rows.push({ id, what, result, target, met });
  };
  if (r.b1) {
    const b = r.b1;
    add(
      'B1',
      `serving overhead, server CPU per request: OIP REST JSON vs bare node:http, tiny model, concurrency ${b.concurrency} (${fixed(b.servedCpuUsPerRequest, 0)} vs ${fixed(b.bareCpuUsPerRequest, 0)} µs)`,
      `${x(b.cpuRatio)} the bare server's CPU`,
      `≤ ${B1_MAX_CPU_RATIO}×`,
      b.cpuRatio <= B1_MAX_CPU_RATIO,
    );
    add(
      'B1',
      `serving overhead, throughput: OIP REST JSON vs bare node:http, tiny model, concurrency ${b.concurrency}`,
      `${fixed(b.ratio, 2)} (${fixed(b.servedRequestsPerSecond, 0)} vs ${fixed(b.bareRequestsPerSecond, 0)} req/s)`,
      'reported',
      undefined,
    );
    // Results written before this row existed have no protocol figures.
    if (b.protocols !== undefined) {
      const [rest, grpc] = [b.protocols.find((p) => p.protocol === 'rest-binary'), b.protocols.find((p) => p.protocol === 'grpc')];
      add(
        'B1',
        `server CPU per tiny request, gRPC vs REST binary, same server and rounds, concurrency ${b.concurrency} (${fixed(grpc?.cpuUsPerRequest ?? Number.NaN, 0)} vs ${fixed(rest?.cpuUsPerRequest ?? Number.NaN, 0)} µs)`,
        `${x(b.grpcCpuRatio)} REST binary's CPU`,
        `≤ ${B1_MAX_GRPC_RATIO}×`,
        b.grpcCpuRatio <= B1_MAX_GRPC_RATIO,
      );
    }
  }
  if (r.b2) {
    const g = (m: B2Model): string => `${x(m.gainAt32Plus)} (min over concurrency ≥ 32)`;
    add('B2', 'batching gain, MLP 784-512-512-10, inferences/s on ÷ off', g(r.b2.mlp), '≥ 3× at concurrency ≥ 32', r.b2.mlp.gainAt32Plus >= 3);
    add('B2', 'batching gain, ResNet-18, inferences/s on ÷ off', g(r.b2.conv), 'reported', undefined);
    for (const m of [r.b2.mlp, ...(r.b2.tiny ? [r.b2.tiny] : [])]) {
      add(
        'B2',
        `no low-load cost of batching, ${m.model}, inferences/s on ÷ off`,
        `${x(m.gainAtLowLoad)} (min over concurrency 1, 2)`,
        `≥ ${B2_MIN_LOW_LOAD_GAIN}× at concurrency 1 and 2`,
        m.gainAtLowLoad >= B2_MIN_LOW_LOAD_GAIN,
      );
    }
  }
  if (r.b3) {
    const line = (m: B3Result['mlp']): string =>
      `${fixed(m.ratio, 2)} (${fixed(m.servedInferencesPerSecond, 0)} vs ${fixed(m.rawInferencesPerSecond, 0)} inf/s at batch ~${fixed(m.servedAvgBatch, 0)}; HTTP ceiling ${fixed(m.ceiling, 2)})`;
    add('B3', 'distance to the limit, ResNet-18: served at c64 ÷ raw ONNX Runtime', line(r.b3.conv), '≥ 0.9', r.b3.conv.ratio >= 0.9);
    add('B3', 'distance to the limit, MLP: served at c64 ÷ raw ONNX Runtime', line(r.b3.mlp), 'reported (bound: one-row HTTP requests, see the ceiling)', undefined);
    const m = r.b3.mlp;
    // Older result files lack the figure; the row is then left out.
    if (m.servedVsCeiling !== undefined) {
      add(
        'B3',
        `MLP served ÷ HTTP ceiling (one-row requests at c${m.concurrency} answered by a bare node:http server): ${fixed(m.servedInferencesPerSecond, 0)} vs ${fixed(m.bareInferencesPerSecond, 0)} inf/s, server ${fixed(m.servedCpuUsPerInference, 0)} µs CPU/inf`,
        fixed(m.servedVsCeiling, 2),
        `≥ ${B3_MIN_SERVED_VS_CEILING}`,
        m.servedVsCeiling >= B3_MIN_SERVED_VS_CEILING,
      );
      for (const b of m.batchedRequests) {
        add(
          'B3',
          `MLP, clients sending ${b.rowsPerRequest} rows per request (c${b.concurrency}): inf/s and server CPU per inference`,
          `${fixed(b.inferencesPerSecond, 0)} inf/s (${x(b.inferencesPerSecond / m.servedInferencesPerSecond)} one-row), ${b.serverCpuUsPerInference === undefined ? '—' : fixed(b.serverCpuUsPerInference, 1)} µs CPU/inf`,
          'reported',
          undefined,
        );
      }
    }
  }
  if (r.b4) {
    const mbps = (p: string): string => fixed(r.b4!.rows.find((row) => row.protocol === p)?.megabytesPerSecond ?? Number.NaN, 0);
    add('B4', `4 MiB tensor, REST binary vs REST JSON (${mbps('rest-binary')} vs ${mbps('rest-json')} MB/s)`, x(r.b4.binaryVsJson), '≥ 5×', r.b4.binaryVsJson >= 5);
    add('B4', `4 MiB tensor, gRPC vs REST JSON (${mbps('grpc')} vs ${mbps('rest-json')} MB/s)`, x(r.b4.grpcVsJson), '≥ 5×', r.b4.grpcVsJson >= 5);
  }
  if (r.b5) {
    const b = r.b5;
    const ready = b.appearToReadyMs === undefined ? 'never' : `${fixed(b.appearToReadyMs / 1000, 2)} s to READY`;
    add(
      'B5',
      `hot swap under load (ResNet-18, poll ${b.pollSeconds} s, c${b.concurrency}): ${ready}`,
      `${b.failed} failed of ${b.requests}`,
      '0 failed',
      b.failed === 0 && b.appearToReadyMs !== undefined,
    );
  }
  if (r.b6) {
    for (const row of r.b6.rows.filter((row) => row.mallocTrim)) {
      add(
        'B6',
        `memory, ${row.model} (${fixed(row.fileMB, 1)} MB file), MALLOC_TRIM_THRESHOLD_=0`,
        `${signed(row.loadedMB)} MB loaded, ${signed(row.usedMB)} MB used, ${signed(row.unloadedMB)} MB after unload`,
        'reported',
        undefined,
      );
    }
  }
  if (r.b7) {
    const b = r.b7;
    add(
      'B7',
      `event-loop delay p99 inside the server, ResNet-18 at c${b.concurrency} (health check p99 ${fixed(b.health.p99Ms, 1)} ms)`,
      `${fixed(b.eventLoop.p99Ms, 1)} ms (max ${fixed(b.eventLoop.maxMs, 1)} ms)`,
      '≤ 10 ms',
      b.eventLoop.p99Ms <= 10,
    );
  }
  if (r.b8) {
    for (const row of r.b8.rows) {
      const name = row.protocol === 'grpc' ? 'gRPC' : 'REST';
      add(
        'B8',
        `gateway cost, ${name}: gateway vs straight to the worker, tiny model over ${row.protocol}, 1 worker, c${r.b8.concurrency} (${fixed(row.gatewayRequestsPerSecond, 0)} vs ${fixed(row.directRequestsPerSecond, 0)} req/s)`,
        `${fixed(row.ratio, 2)} of direct, extra p50 ${fixed(row.extraP50Ms, 2)} ms`,
        `≥ ${B8_MIN_RATIO} of direct, extra p50 < ${B8_MAX_EXTRA_P50_MS} ms`,
        row.ratio >= B8_MIN_RATIO && row.extraP50Ms < B8_MAX_EXTRA_P50_MS,
      );
      const nginx = row.peers?.find((p) => p.peer === 'nginx');
      if (nginx) {
        const gatewayCpu = row.cpuMicrosPerRequest.gateway.gateway;
        add(
          'B8',
          `gateway vs nginx in the same run, ${name}: ratio ${fixed(row.ratio, 2)} vs ${fixed(nginx.ratio, 2)}, proxy CPU ${fixed(gatewayCpu, 0)} vs ${fixed(nginx.cpuMicrosPerRequest.peer, 0)} µs/req, extra p50 ${fixed(row.extraP50Ms, 2)} vs ${fixed(nginx.extraP50Ms, 2)} ms`,
          row.ratio >= nginx.ratio && gatewayCpu <= nginx.cpuMicrosPerRequest.peer && row.extraP50Ms <= nginx.extraP50Ms ? 'as good as nginx' : 'behind nginx',
          'ratio and CPU/req at least as good as nginx, extra p50 no worse',
          row.ratio >= nginx.ratio && gatewayCpu <= nginx.cpuMicrosPerRequest.peer && row.extraP50Ms <= nginx.extraP50Ms,
        );
      }
      const haproxy = row.peers?.find((p) => p.peer === 'haproxy');
      if (haproxy) {
        add(
          'B8',
          `HAProxy in front of the same worker, ${name}`,
          `${fixed(haproxy.ratio, 2)} of direct, extra p50 ${fixed(haproxy.extraP50Ms, 2)} ms, ${fixed(haproxy.cpuMicrosPerRequest.peer, 0)} µs CPU/req`,
          'reported',
          undefined,
        );
      }
    }
  }
  if (r.b9) {
    for (const row of r.b9.calls) {
      add(
        'B9',
        `Python backend per-call overhead, ${row.runtime}: through the stub vs the same call inside Python (${fixed(row.servedMicros, 0)} vs ${fixed(row.inProcessMicros, 0)} µs)`,
        `+${fixed(row.overheadMicros, 0)} µs per call`,
        'reported',
        undefined,
      );
    }
    for (const row of r.b9.rest ?? []) {
      const batching =
        row.batchedPerSecond !== undefined && row.unbatchedPerSecond !== undefined
          ? `; c16: ${fixed(row.batchedPerSecond, 0)} inf/s batched vs ${fixed(row.unbatchedPerSecond, 0)} unbatched (${x(row.batchedPerSecond / row.unbatchedPerSecond)})`
          : '';
      add(
        'B9',
        `REST binary, bundled ${row.model}, ${row.kind}: p50 at concurrency 1${batching ? ', and batching on ÷ off at concurrency 16' : ''}`,
        `${fixed(row.p50Ms, 2)} ms${batching}`,
        'reported',
        undefined,
      );
    }
    for (const row of r.b9.throughput) {
      add(
        'B9',
        `Python backend transport, ${fixed(row.megabytes, 1)} MB FP32 tensor echoed through the ${row.path === 'shm' ? '/dev/shm files' : 'pipes'}`,
        `${fixed(row.megabytesPerSecond, 0)} MB/s`,
        'reported',
        undefined,
      );
    }
  }
  if (r.b10) {
    const b = r.b10;
    add(
      'B10',
      `ensemble overhead, digits_pipeline (JS → ONNX → JS) in one call vs the client calling the 3 steps in turn, REST binary, c1 (${fixed(b.ensembleMicros, 0)} vs ${fixed(b.chainedMicros, 0)} µs; one step alone ${fixed(b.singleStepMicros, 0)} µs)`,
      `${fixed(b.ensembleMicros - b.chainedMicros, 0)} µs per request vs chaining; ${fixed(b.ensembleMicros - b.singleStepMicros, 0)} µs over one round trip`,
      'reported',
      undefined,
    );
  }
  if (r.b11) {
    const b = r.b11;
    const variant = (name: string) => b.variants.find((v) => v.variant === name);
    const ips = (name: string, concurrency: number): string => fixed(variant(name)?.levels.find((l) => l.concurrency === concurrency)?.imagesPerSecond ?? Number.NaN, 2);
    const converted = variant('converted');
    const onOnnx = converted?.runtime === 'onnxruntime' ? '' : ` — the converted model fell back to ${converted?.runtime ?? '?'}`;
    if (b.convertedVsExport) {
      const by = b.convertedVsExport.byConcurrency;
      add(
        'B11',
        `Inception v3 from its TF.js files, converted to ONNX at load, vs torchvision's Inception v3 exported to ONNX (1000 classes vs 5: the last layer is a negligible part of the cost), one-image REST binary requests, images/s (c1: ${ips('converted', 1)} vs ${ips('export', 1)}; c4, batched: ${ips('converted', 4)} vs ${ips('export', 4)})${onOnnx}`,
        `${fixed(b.convertedVsExport.min, 2)} (c1 ${fixed(by['1'] ?? Number.NaN, 2)}, c4 ${fixed(by['4'] ?? Number.NaN, 2)})`,
        `≥ ${B11_MIN_CONVERTED_VS_EXPORT} at c1 and c4`,
        b.convertedVsExport.min >= B11_MIN_CONVERTED_VS_EXPORT && onOnnx === '',
      );
    } else {
      add('B11', 'Inception v3 converted to ONNX at load vs its ONNX export', `not measured: ${b.exportSkipped ?? 'no export figures'}`, `≥ ${B11_MIN_CONVERTED_VS_EXPORT} at c1 and c4`, undefined);
    }
    if (b.tfjsVsConverted) {
      add(
        'B11',
        `Inception v3 on TensorFlow.js (WebAssembly, convert_to_onnx "never") vs converted to ONNX at load, images/s (c1: ${ips('tfjs', 1)} vs ${ips('converted', 1)}; c4: ${ips('tfjs', 4)} vs ${ips('converted', 4)})`,
        `${fixed(b.tfjsVsConverted['1'] ?? Number.NaN, 2)} at c1, ${fixed(b.tfjsVsConverted['4'] ?? Number.NaN, 2)} at c4`,
        'reported',
        undefined,
      );
    }
  }
  return rows;
}

export function renderMarkdown(r: SuiteResults): string {
  const m = r.machine;
  const out: string[] = [];
  out.push(`# Cranberries benchmark suite — ${r.date}${r.quick ? ' (quick run: short windows, not for quoting)' : ''}`, '');
  out.push(
    `Machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.platform}; Node.js ${m.node}, onnxruntime-node ${m.onnxruntime}. ` +
      `Load average (1 min) ${m.loadAverageStart} at start, ${m.loadAverageEnd ?? '?'} at end — the load generator, the server and anything else on the machine share its cores.`,
    '',
  );
  const met = (v: boolean | undefined): string => (v === undefined ? '—' : v ? '✅ met' : '❌ missed');
  out.push('| # | Measure | Result | Target | Status |', '|---|---|---|---|---|');
  for (const t of targetRows(r)) out.push(`| ${t.id} | ${t.what} | ${t.result} | ${t.target} | ${met(t.met)} |`);
  for (const [part, error] of Object.entries(r.errors)) out.push(`| ${part} | did not run | ${error.split('\n')[0]} | | ❌ |`);
  out.push('');

  const code = (text: string): string => ['```', text, '```', ''].join('\n');
  if (r.b1) {
    const b = r.b1;
    out.push(
      `## B1 serving overhead`,
      '',
      `Tiny model with \`${b.config.replace(/\n/g, ' ')}\`, ${b.protocol}, concurrency ${b.concurrency}; ` +
        `${b.rounds} alternating rounds, ratios ${b.roundRatios.map((v) => fixed(v, 2)).join(', ')}. Latencies from the median round.`,
      '',
    );
    out.push(
      code(
        formatTable(
          ['Server', 'Req/s (all rounds)', 'Server CPU µs/req', 'p50 ms', 'p99 ms', 'Failed'],
          [
            ['cranberries (OIP REST)', fixed(b.servedRequestsPerSecond, 0), fixed(b.servedCpuUsPerRequest, 0), fixed(b.served.p50Ms, 2), fixed(b.served.p99Ms, 2), String(b.served.failed)],
            ['bare node:http', fixed(b.bareRequestsPerSecond, 0), fixed(b.bareCpuUsPerRequest, 0), fixed(b.bare.p50Ms, 2), fixed(b.bare.p99Ms, 2), String(b.bare.failed)],
            ...(b.protocols ?? []).map((p) => [
              `cranberries (${p.protocol})`,
              fixed(p.requestsPerSecond, 0),
              fixed(p.cpuUsPerRequest, 0),
              fixed(p.level.p50Ms, 2),
              fixed(p.level.p99Ms, 2),
              String(p.level.failed),
            ]),
          ],
        ),
      ),
    );
  }
  if (r.b2) {
    out.push('## B2 batching gain', '', `One-row requests over ${r.b2.protocol}. On: \`${r.b2.configOn.replace(/\n/g, ' ')}\`; off: \`${r.b2.configOff}\`.`, '');
    out.push('Server CPU µs per inference: user + system time of the server process (all threads) in the window ÷ inferences completed in it.', '');
    for (const model of [r.b2.mlp, r.b2.conv, ...(r.b2.tiny ? [r.b2.tiny] : [])]) {
      out.push(`### ${model.model}`, '');
      out.push(
        code(
          formatTable(
            ['Concurrency', 'On inf/s', 'On p99 ms', 'Avg batch', 'On CPU µs/inf', 'Off inf/s', 'Off p99 ms', 'Off CPU µs/inf', 'Gain'],
            model.levels.map((l) => [
              String(l.concurrency),
              fixed(l.on.inferencesPerSecond, 0),
              fixed(l.on.p99Ms, 1),
              fixed(l.on.avgBatch ?? Number.NaN, 1),
              cpuPerInferenceUs(l.on),
              fixed(l.off.inferencesPerSecond, 0),
              fixed(l.off.p99Ms, 1),
              cpuPerInferenceUs(l.off),
              x(l.gain),
            ]),
          ),
        ),
      );
    }
  }
  if (r.b3) {
    out.push(
      '## B3 distance to the limit',
      '',
      `Served at concurrency ${r.b3.mlp.concurrency} (batching on, REST binary) and raw ONNX Runtime (worker thread, intra-op threads ${r.b3.intraOpThreads}, batches back to back), alternating.`,
      '',
    );
    out.push(
      code(
        formatTable(
          ['Model', 'Round', 'Served inf/s', 'Served avg batch', 'Served p99 ms', 'Raw batch', 'Raw inf/s', 'Raw ms/run', 'Ratio'],
          [r.b3.mlp, r.b3.conv].flatMap((m) =>
            m.rounds.map((round, i) => [
              m.model,
              String(i + 1),
              fixed(round.servedInferencesPerSecond, 0),
              fixed(round.servedAvgBatch, 1),
              fixed(round.servedP99Ms, 1),
              String(round.raw.batch),
              fixed(round.raw.inferencesPerSecond, 0),
              fixed(round.raw.runMs, 2),
              fixed(round.servedInferencesPerSecond / round.raw.inferencesPerSecond, 2),
            ]),
          ),
        ),
      ),
    );
    out.push('The HTTP ceiling: the same one-row requests, at the same concurrency, answered by a bare `node:http` server with recorded bytes (no decoding, queue, model or encoding).', '');
    out.push(
      code(
        formatTable(
          ['Model', 'Bare server inf/s', 'Raw inf/s (mean)', 'Ceiling', 'Served ÷ ceiling'],
          [r.b3.mlp, r.b3.conv].map((m) => [
            m.model,
            fixed(m.bareInferencesPerSecond, 0),
            fixed(m.rawInferencesPerSecond, 0),
            fixed(m.ceiling, 2),
            fixed(m.servedInferencesPerSecond / m.bareInferencesPerSecond, 2),
          ]),
        ),
      ),
    );
  }
  if (r.b4) {
    out.push('## B4 transport', '', `${(r.b4.tensorBytes / 2 ** 20).toFixed(0)} MiB FP32 tensor through Identity (the same comes back), concurrency ${r.b4.concurrency}.`, '');
    out.push(
      code(
        formatTable(
          ['Protocol', 'Req/s', 'MB/s each way', 'Server CPU µs/req', 'p50 ms', 'p99 ms'],
          r.b4.rows.map((row) => [row.protocol, fixed(row.level.requestsPerSecond, 2), fixed(row.megabytesPerSecond, 0), cpuUs(row.level), fixed(row.level.p50Ms, 0), fixed(row.level.p99Ms, 0)]),
        ),
      ),
    );
  }
  if (r.b5) {
    const b = r.b5;
    out.push('## B5 hot swap', '', `Version 2 folder renamed into place while ResNet-18 serves at concurrency ${b.concurrency}; poll interval ${b.pollSeconds} s.`, '');
    out.push(
      code(
        formatTable(
          ['Appear → v2 READY', 'Appear → v1 gone', 'Requests', 'Failed', 'Req/s', 'p99 ms'],
          [
            [
              b.appearToReadyMs === undefined ? 'never' : `${fixed(b.appearToReadyMs, 0)} ms`,
              b.appearToOldGoneMs === undefined ? 'never' : `${fixed(b.appearToOldGoneMs, 0)} ms`,
              String(b.requests),
              String(b.failed),
              fixed(b.load.requestsPerSecond, 1),
              fixed(b.load.p99Ms, 0),
            ],
          ],
        ),
      ),
    );
    if (Object.keys(b.errors).length > 0)
      out.push(
        code(
          Object.entries(b.errors)
            .map(([e, n]) => `${n} × ${e}`)
            .join('\n'),
        ),
      );
  }
  if (r.b6) {
    out.push(
      '## B6 memory',
      '',
      `RSS growth of the server and its child processes (a Python model's stub) over their RSS before each load (MB = 10^6 B); used = after 10 requests of batch ${r.b6.batch} (Inception v3: 4). Inception v3's file size is its uint8-quantized weight shards (its float32 weights are ~4× that).`,
      '',
    );
    out.push(
      code(
        formatTable(
          ['Model', 'MALLOC_TRIM_THRESHOLD_', 'File MB', 'Loaded', 'Used', 'After unload', 'Loaded ÷ file'],
          r.b6.rows.map((row) => [
            row.model,
            row.mallocTrim ? '0' : 'unset',
            fixed(row.fileMB, 1),
            signed(row.loadedMB),
            signed(row.usedMB),
            signed(row.unloadedMB),
            // A file of a few kB (a TorchScript MLP) makes the ratio meaningless.
            row.fileMB < 0.1 ? '—' : fixed(row.loadedMB / row.fileMB, 2),
          ]),
        ),
      ),
    );
  }
  if (r.b7) {
    const b = r.b7;
    out.push('## B7 responsiveness', '', `ResNet-18 at concurrency ${b.concurrency} (${fixed(b.load.inferencesPerSecond, 1)} inf/s, p99 ${fixed(b.load.p99Ms, 0)} ms).`, '');
    out.push(
      code(
        formatTable(
          ['Measure', 'p50 ms', 'p99 ms', 'max ms', 'Samples'],
          [
            ['event-loop delay (server main thread)', fixed(b.eventLoop.p50Ms, 2), fixed(b.eventLoop.p99Ms, 2), fixed(b.eventLoop.maxMs, 2), String(b.eventLoop.samples)],
            ['GET /v2/health/ready latency', fixed(b.health.p50Ms, 2), fixed(b.health.p99Ms, 2), fixed(b.health.maxMs, 2), `${b.health.count} (${b.healthFailures} failed)`],
          ],
        ),
      ),
    );
  }
  if (r.b8) {
    const b = r.b8;
    out.push(
      '## B8 gateway',
      '',
      `Local cluster with ${b.workers} worker; tiny model with \`${b.config.replace(/\n/g, ' ')}\`, concurrency ${b.concurrency}; ` +
        `${b.rounds} alternating rounds per protocol (gateway, then direct). Req/s over all rounds; latencies from the median round; extra p50 = median over rounds of gateway p50 − direct p50.`,
      '',
    );
    out.push(
      code(
        formatTable(
          ['Protocol', 'Path', 'Req/s (all rounds)', 'p50 ms', 'p99 ms', 'Failed', 'Gateway ÷ direct', 'Extra p50 ms'],
          b.rows.flatMap((row) => [
            [
              row.protocol,
              'gateway',
              fixed(row.gatewayRequestsPerSecond, 0),
              fixed(row.gateway.p50Ms, 2),
              fixed(row.gateway.p99Ms, 2),
              String(row.gateway.failed),
              `${fixed(row.ratio, 2)} (rounds ${row.roundRatios.map((v) => fixed(v, 2)).join(', ')})`,
              fixed(row.extraP50Ms, 2),
            ],
            [row.protocol, 'direct (worker)', fixed(row.directRequestsPerSecond, 0), fixed(row.direct.p50Ms, 2), fixed(row.direct.p99Ms, 2), String(row.direct.failed), '', ''],
          ]),
        ),
      ),
    );
    out.push('CPU per request of each process (µs, over the measured windows). The three share the cores, so the ratio is about direct total ÷ gateway total.', '');
    out.push(
      code(
        formatTable(
          ['Protocol', 'Path', 'Load generator', 'Worker', 'Gateway', 'Total'],
          b.rows.flatMap((row) =>
            (['gateway', 'direct'] as const).map((path) => {
              const c = row.cpuMicrosPerRequest[path];
              return [
                row.protocol,
                path,
                fixed(c.loadGenerator, 0),
                fixed(c.worker, 0),
                path === 'gateway' ? fixed(c.gateway, 0) : '',
                fixed(c.loadGenerator + c.worker + (path === 'gateway' ? c.gateway : 0), 0),
              ];
            }),
          ),
        ),
      ),
    );
    const peerRows = b.rows.flatMap((row) => (row.peers ?? []).map((peer) => ({ row, peer })));
    if (peerRows.length > 0) {
      out.push('Peers in front of the same worker, in the same rounds (one process each). CPU µs per request: the proxy process, and the worker behind it.', '');
      out.push(
        code(
          formatTable(
            ['Protocol', 'Proxy', 'Req/s (all rounds)', '÷ direct', 'p50 ms', 'Extra p50 ms', 'Proxy CPU µs/req', 'Worker CPU µs/req'],
            b.rows.flatMap((row) => [
              [
                row.protocol,
                'cranberries gateway',
                fixed(row.gatewayRequestsPerSecond, 0),
                fixed(row.ratio, 2),
                fixed(row.gateway.p50Ms, 2),
                fixed(row.extraP50Ms, 2),
                fixed(row.cpuMicrosPerRequest.gateway.gateway, 0),
                fixed(row.cpuMicrosPerRequest.gateway.worker, 0),
              ],
              ...(row.peers ?? []).map((peer) => [
                row.protocol,
                peer.peer,
                fixed(peer.requestsPerSecond, 0),
                fixed(peer.ratio, 2),
                fixed(peer.level.p50Ms, 2),
                fixed(peer.extraP50Ms, 2),
                fixed(peer.cpuMicrosPerRequest.peer, 0),
                fixed(peer.cpuMicrosPerRequest.worker, 0),
              ]),
            ]),
          ),
        ),
      );
    }
    for (const [peer, why] of Object.entries(b.peersSkipped ?? {})) out.push(`Peer ${peer} skipped: ${why}`, '');
  }
  if (r.b11) {
    const b = r.b11;
    out.push(
      '## B11 Inception v3 three ways',
      '',
      'One server (explicit mode) holding the bundled models/inception_v3 twice (TF.js layers files: on TensorFlow.js WebAssembly with `convert_to_onnx` "never", ' +
        "and converted to ONNX at load) and torchvision's Inception v3 exported to ONNX (random weights, 1000 classes). Same client: one-image requests over REST binary, " +
        'sequential (c1) and at concurrency 4 (dynamic batching, max_batch_size 4). The ONNX Runtime variants alternate over two rounds; tfjs runs one. ' +
        'Load = wall time of the repository load call (for the converted model: tfjs load, conversion, ONNX Runtime session, parity check).',
      '',
    );
    if (b.exportSkipped) out.push(`The ONNX export was skipped: ${b.exportSkipped}`, '');
    out.push(
      code(
        formatTable(
          ['Variant', 'Runtime', 'Load s', 'Concurrency', 'Round', 'Images/s', 'p50 ms', 'p99 ms', 'Avg batch', 'Server CPU ms/image', 'Failed'],
          b.variants.flatMap((v) =>
            v.levels.flatMap((l) =>
              l.rounds.map((round, i) => [
                v.variant,
                v.runtime,
                fixed(v.loadSeconds, 1),
                String(l.concurrency),
                String(i + 1),
                fixed(round.inferencesPerSecond, 2),
                fixed(round.p50Ms, 0),
                fixed(round.p99Ms, 0),
                fixed(round.avgBatch ?? Number.NaN, 1),
                round.serverCpuUsPerInference === undefined ? '—' : fixed(round.serverCpuUsPerInference / 1000, 0),
                String(round.failed),
              ]),
            ),
          ),
        ),
      ),
    );
  }
  out.push(
    '## Time per part',
    '',
    code(
      Object.entries(r.durations)
        .map(([k, v]) => `${k.padEnd(10)} ${v.toFixed(0)} s`)
        .join('\n'),
    ),
  );
  return out.join('\n');
}
