/**
 * B7 — responsiveness. ResNet-18 under full load (REST binary, concurrency 64, batching on) while
 * (a) the server's main-thread event-loop delay is sampled inside the server process
 * (`monitorEventLoopDelay`, 1 ms resolution, via the preloaded probe), and (b) a separate client on
 * its own connection checks `GET /v2/health/ready` every 20 ms. Target: event-loop delay p99 ≤ 10 ms.
 */
import { Client } from 'undici';
import { measureLevel } from '../../src/load-generator/bench-runner.js';
import { LatencyHistogram, type LatencySummary } from '../../src/load-generator/latency-histogram.js';
import { restTarget, type SuiteContext } from './context.js';
import type { EventLoopReading } from './event-loop-probe.js';
import type { ServerProcess } from './server-process.js';
import { levelSummary, type LevelSummary } from './level-summary.js';

export interface B7Result {
  readonly model: string;
  readonly concurrency: number;
  readonly load: LevelSummary;
  readonly eventLoop: EventLoopReading;
  readonly health: LatencySummary;
  readonly healthFailures: number;
}

export const B7_CONCURRENCY = 64;

export async function runB7(ctx: SuiteContext, server: ServerProcess): Promise<B7Result> {
  const target = await restTarget(server.httpUrl, 'resnet18', { binary: true, connections: B7_CONCURRENCY });
  const health = new LatencyHistogram();
  let healthFailures = 0;
  let eventLoop: EventLoopReading | undefined;
  let probing = true;
  const client = new Client(new URL(server.httpUrl).origin, { keepAliveTimeout: 60_000 });
  const warmup = ctx.secs(3);
  const measure = ctx.secs(10);
  const healthLoop = (async () => {
    await new Promise((r) => setTimeout(r, warmup * 1000));
    while (probing) {
      const started = performance.now();
      try {
        const answer = await client.request({ path: '/v2/health/ready', method: 'GET' });
        await answer.body.dump();
        if (answer.statusCode === 200) health.record((performance.now() - started) * 1000);
        else healthFailures++;
      } catch {
        healthFailures++;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  try {
    ctx.log(`B7: ResNet-18 at concurrency ${B7_CONCURRENCY}; event-loop delay inside the server and health-check latency`);
    const level = await measureLevel({
      mode: { kind: 'concurrency', concurrency: B7_CONCURRENCY },
      send: target.send,
      rowsPerRequest: 1,
      warmupSecs: warmup,
      measureSecs: measure,
      statistics: () => target.transport.statistics('resnet18'),
      onWindow: async (edge) => {
        if (edge === 'start') {
          await server.resetEventLoop();
          return;
        }
        eventLoop = await server.readEventLoop();
        probing = false;
      },
    });
    probing = false;
    await healthLoop;
    if (!eventLoop) throw new Error('the event-loop probe was not read');
    return { model: 'resnet18', concurrency: B7_CONCURRENCY, load: levelSummary(level), eventLoop, health: health.summary(), healthFailures };
  } finally {
    probing = false;
    await client.close();
    await target.close();
  }
}
