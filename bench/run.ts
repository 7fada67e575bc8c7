/**
 * The benchmark suite (`npm run bench` → `node dist/bench/run.js`): B1–B11 side by side in one run
 * on this machine, each server under test in its own child process. Writes
 * `bench/results/<date>.json` and `bench/results/<date>.md` and prints the markdown.
 *
 * Flags: `--quick` (short windows, for trying the suite; not for quoting), `--only B1,B4` (run some
 * parts; `SCALE` is the control-plane simulation, its flags prefixed `--scale-`: see bench/scale/main.ts). Environment: `BENCH_SERVER_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof"` passes node
 * flags to every server process (profiling).
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { runB1 } from './suite/b1-overhead.js';
import { b2Repository, runB2 } from './suite/b2-batching.js';
import { runB3 } from './suite/b3-limit.js';
import { runB4 } from './suite/b4-transport.js';
import { runB5 } from './suite/b5-hot-swap.js';
import { runB6 } from './suite/b6-memory.js';
import { runB7 } from './suite/b7-responsiveness.js';
import { runB8 } from './suite/b8-gateway.js';
import { runB9 } from './suite/b9-python.js';
import { runB10 } from './suite/b10-ensemble.js';
import { runB11 } from './suite/b11-inception.js';
import { parseScaleFlags, renderScaleMarkdown, runScaleSuite } from './scale/suite.js';
import { createContext, machineInfo } from './suite/context.js';
import { prepareModels } from './suite/models.js';
import { renderMarkdown, type SuiteResults } from './suite/results.js';
import { ROOT, ServerProcess } from './suite/server-process.js';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const onlyIndex = args.indexOf('--only');
  const only = onlyIndex >= 0 ? new Set((args[onlyIndex + 1] ?? '').toUpperCase().split(',')) : undefined;
  const wanted = (...parts: string[]): boolean => !only || parts.some((p) => only.has(p));

  const ctx = createContext(quick);
  const started = new Date();
  const date = started.toISOString().slice(0, 16).replace(':', '-');
  const results: SuiteResults = { date, quick, machine: machineInfo(), durations: {}, errors: {} };
  ctx.log(`machine: ${results.machine.cpuModel}, ${results.machine.cores} cores, Node.js ${results.machine.node}, load average ${results.machine.loadAverageStart}`);

  const part = async (name: string, run: () => Promise<void>): Promise<void> => {
    const t0 = performance.now();
    try {
      await run();
    } catch (error) {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      results.errors[name] = message;
      ctx.log(`${name} failed: ${message}`);
    }
    results.durations[name] = (performance.now() - t0) / 1000;
  };

  const models = await prepareModels(ctx);
  if (wanted('B1')) await part('B1', async () => void (results.b1 = await runB1(ctx, models)));
  if (wanted('B2', 'B3', 'B7')) {
    await part('B2+B7+B3', async () => {
      const server = await ServerProcess.start({ repository: await b2Repository(ctx, models) });
      try {
        if (wanted('B2')) results.b2 = await runB2(ctx, server);
        if (wanted('B7')) results.b7 = await runB7(ctx, server);
        if (wanted('B3')) results.b3 = await runB3(ctx, server, models);
      } finally {
        await server.stop();
      }
    });
  }
  if (wanted('B4')) await part('B4', async () => void (results.b4 = await runB4(ctx, models)));
  if (wanted('B5')) await part('B5', async () => void (results.b5 = await runB5(ctx, models)));
  if (wanted('B6')) await part('B6', async () => void (results.b6 = await runB6(ctx, models)));
  if (wanted('B8')) await part('B8', async () => void (results.b8 = await runB8(ctx, models)));
  if (wanted('B9')) await part('B9', async () => void (results.b9 = await runB9(ctx)));
  if (wanted('B10')) await part('B10', async () => void (results.b10 = await runB10(ctx)));
  if (wanted('B11')) await part('B11', async () => void (results.b11 = await runB11(ctx)));
  if (wanted('SCALE')) await part('SCALE', async () => void (results.scale = await runScaleSuite(parseScaleFlags(args, 'scale-'), (line) => ctx.log(line))));
  results.machine.loadAverageEnd = Number(loadavg()[0]!.toFixed(2));
  results.durations['total'] = (Date.now() - started.getTime()) / 1000;

  const dir = join(ROOT, 'bench/results');
  await mkdir(dir, { recursive: true });
  const markdown = renderMarkdown(results) + (results.scale ? `\n\n${renderScaleMarkdown(results.scale)}\n` : '');
  for (const [extension, text] of [
    ['json', JSON.stringify(results, null, 2)],
    ['md', markdown],
  ] as const) {
    const file = join(dir, `${date}.${extension}`);
    await writeFile(`${file}.tmp`, `${text}\n`);
    await rename(`${file}.tmp`, file);
  }
  process.stdout.write(`\n${markdown}\nWrote bench/results/${date}.json and bench/results/${date}.md\n`);
  if (Object.keys(results.errors).length > 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
