/**
 * `node --expose-gc dist/bench/scale/main.js [flags]` (or `npm run bench -- --only scale`): the
 * control-plane scale simulation at several sizes. Flags:
 *   --sizes 10x100,100x1000,300x3000,1000x10000   workers×models to run (default: these four)
 *   --max-workers N        skip sizes above N workers (default: none)
 *   --store memory|zookeeper|both                  default both (ZooKeeper up to --zk-max-workers)
 *   --zk-max-workers N     largest size run on ZooKeeper (default 300)
 *   --worker-sessions N    ZooKeeper sessions the simulated workers share (default 8)
 *   --load-time-scale F    multiplies simulated load times (default 0.25)
 *   --json FILE            also write the results as JSON
 */
import { writeFile } from 'node:fs/promises';
import { renderScaleMarkdown, runScaleSuite, type ScaleSuiteOptions } from './suite.js';

function flag(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

export function parseScaleFlags(args: readonly string[]): ScaleSuiteOptions {
  const sizes = (flag(args, '--sizes') ?? '10x100,100x1000,300x3000,1000x10000').split(',').map((s) => {
    const [w, m] = s.split('x').map(Number);
    if (!Number.isInteger(w) || !Number.isInteger(m) || w! <= 0 || m! <= 0) throw new Error(`--sizes: '${s}' is not <workers>x<models>`);
    return { workers: w!, models: m! };
  });
  const number = (name: string): number | undefined => {
    const text = flag(args, name);
    if (text === undefined) return undefined;
    const value = Number(text);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`${name}: '${text}' is not a positive number`);
    return value;
  };
  const store = flag(args, '--store') ?? 'both';
  if (!['memory', 'zookeeper', 'both'].includes(store)) throw new Error(`--store: '${store}' is not memory, zookeeper or both`);
  return {
    sizes,
    maxWorkers: number('--max-workers'),
    stores: store === 'both' ? ['memory', 'zookeeper'] : [store as 'memory' | 'zookeeper'],
    zookeeperMaxWorkers: number('--zk-max-workers') ?? 300,
    workerSessions: number('--worker-sessions'),
    loadTimeScale: number('--load-time-scale'),
  };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const results = await runScaleSuite(parseScaleFlags(args), (line) => console.log(line));
  console.log(renderScaleMarkdown(results));
  const json = flag(args, '--json');
  if (json) await writeFile(json, JSON.stringify(results, null, 2));
  process.exit(0);
}

await main();
