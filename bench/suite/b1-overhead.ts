/**
 * B1 — serving overhead. The tiny model over OIP REST (JSON) against a bare `node:http` server that
 * answers the very bytes the real server answered, with the same load generator, connections and
 * concurrency. Ratio = served throughput / bare throughput (target ≥ 0.5).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeRestRequest, RestTransport } from '../../src/bench/rest-transport.js';
import { measureLevel } from '../../src/bench/bench-runner.js';
import { startBareServer } from './bare-server.js';
import { restTarget, type SuiteContext } from './context.js';
import { BATCHING, type ModelFiles, writeRepository } from './models.js';
import { ServerProcess } from './server-process.js';
import { levelSummary, type LevelSummary } from './results.js';

export interface B1Result {
  readonly model: string;
  readonly protocol: 'rest-json';
  readonly concurrency: number;
  readonly config: string;
  readonly served: LevelSummary;
  readonly bare: LevelSummary;
  readonly ratio: number;
}

export const B1_CONCURRENCY = 16;

export async function runB1(ctx: SuiteContext, models: ModelFiles): Promise<B1Result> {
  const repository = await writeRepository(ctx, 'b1', { tiny: { file: models.tiny, config: BATCHING } });
  const server = await ServerProcess.start({ repository });
  const warmup = ctx.secs(2);
  const measure = ctx.secs(6);
  try {
    const target = await restTarget(server.httpUrl, 'tiny', { binary: false, connections: B1_CONCURRENCY });
    // The answer the real server gives, recorded once for the bare server to replay.
    const request = encodeRestRequest({ model: 'tiny', inputs: target.inputs }, false);
    const answer = await fetch(server.httpUrl + request.path, { method: 'POST', headers: request.headers, body: request.body });
    if (answer.status !== 200) throw new Error(`tiny model answered ${answer.status}: ${await answer.text()}`);
    const answerFile = join(ctx.reposDir, 'b1', 'answer.json');
    await writeFile(answerFile, Buffer.from(await answer.arrayBuffer()));
    const contentType = answer.headers.get('content-type') ?? 'application/json';

    ctx.log(`B1: tiny model over OIP REST JSON, concurrency ${B1_CONCURRENCY}`);
    const served = await target.run(B1_CONCURRENCY, warmup, measure);
    await target.close();
    await server.stop();

    const bareServer = await startBareServer(answerFile, contentType);
    try {
      ctx.log('B1: bare node:http server replaying the same answer');
      const bareTransport = new RestTransport({ url: bareServer.url, binary: false, connections: B1_CONCURRENCY });
      const bare = await measureLevel({
        mode: { kind: 'concurrency', concurrency: B1_CONCURRENCY },
        send: bareTransport.sender(request),
        rowsPerRequest: 1,
        warmupSecs: warmup,
        measureSecs: measure,
      });
      await bareTransport.close();
      return {
        model: 'tiny (add/sub, 2 × FP32[1,4])',
        protocol: 'rest-json',
        concurrency: B1_CONCURRENCY,
        config: BATCHING.trim(),
        served: levelSummary(served),
        bare: levelSummary(bare),
        ratio: served.requestsPerSecond / bare.requestsPerSecond,
      };
    } finally {
      await bareServer.stop();
    }
  } finally {
    await server.stop();
  }
}
