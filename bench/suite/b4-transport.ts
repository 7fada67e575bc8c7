/**
 * B4 — transport. A 4 MiB FP32 tensor through an Identity model (so 4 MiB comes back too) over REST
 * JSON, REST binary and gRPC raw contents, at concurrency 2. MB/s = requests/s × tensor bytes
 * (each way). Targets: binary and gRPC ≥ 5× JSON.
 */
import { buildInputs } from '../../src/load-generator/bench-inputs.js';
import { measureLevel } from '../../src/load-generator/bench-runner.js';
import { GrpcTransport } from '../../src/load-generator/grpc-transport.js';
import { RestTransport } from '../../src/load-generator/rest-transport.js';
import type { BenchProtocol, BenchTransport } from '../../src/load-generator/transport.js';
import type { SuiteContext } from './context.js';
import { type ModelFiles, TENSOR_4MIB_ELEMENTS, writeRepository } from './models.js';
import { ServerProcess } from './server-process.js';
import { CpuWindow } from './process-cpu.js';
import { levelSummary, type LevelSummary } from './level-summary.js';

export interface B4Row {
  readonly protocol: BenchProtocol;
  readonly level: LevelSummary;
  /** Tensor megabytes (10^6 B) per second, each way. */
  readonly megabytesPerSecond: number;
}

export interface B4Result {
  readonly tensorBytes: number;
  readonly concurrency: number;
  readonly rows: readonly B4Row[];
  readonly binaryVsJson: number;
  readonly grpcVsJson: number;
}

export const B4_CONCURRENCY = 2;

export async function runB4(ctx: SuiteContext, models: ModelFiles): Promise<B4Result> {
  const repository = await writeRepository(ctx, 'b4', { identity: { file: models.identity4MiB, config: 'max_batch_size: 0\n' } });
  const server = await ServerProcess.start({ repository });
  const rows: B4Row[] = [];
  try {
    for (const protocol of ['rest-json', 'rest-binary', 'grpc'] as const) {
      ctx.log(`B4: 4 MiB tensor over ${protocol}`);
      const transport: BenchTransport =
        protocol === 'grpc' ? new GrpcTransport(server.grpcAddress) : new RestTransport({ url: server.httpUrl, binary: protocol === 'rest-binary', connections: B4_CONCURRENCY });
      try {
        const info = await transport.metadata('identity');
        const inputs = await buildInputs(info, { inputs: [], shapes: new Map(), batchSize: 1 });
        const target = { model: 'identity', inputs };
        const bytes = transport.payloadBytes(target);
        const cpu = new CpuWindow([server.pid]);
        const level = await measureLevel({
          mode: { kind: 'concurrency', concurrency: B4_CONCURRENCY },
          send: transport.prepare(target),
          rowsPerRequest: 1,
          // A JSON round trip of 4 MiB takes about a second: even quick runs need a window of several.
          warmupSecs: Math.max(1, ctx.secs(2)),
          measureSecs: Math.max(4, ctx.secs(6)),
          statistics: () => transport.statistics('identity'),
          onWindow: cpu.onWindow,
        });
        rows.push({ protocol, level: levelSummary({ ...level, serverCpuSeconds: cpu.seconds }), megabytesPerSecond: (level.requestsPerSecond * bytes) / 1e6 });
      } finally {
        await transport.close();
      }
    }
  } finally {
    await server.stop();
  }
  // No JSON request completing in the window leaves the ratios undefined (NaN), never infinite.
  const rate = (p: BenchProtocol): number => rows.find((r) => r.protocol === p && r.level.requestsPerSecond > 0)?.megabytesPerSecond ?? Number.NaN;
  return {
    tensorBytes: TENSOR_4MIB_ELEMENTS * 4,
    concurrency: B4_CONCURRENCY,
    rows,
    binaryVsJson: rate('rest-binary') / rate('rest-json'),
    grpcVsJson: rate('grpc') / rate('rest-json'),
  };
}
