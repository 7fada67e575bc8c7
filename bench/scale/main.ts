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
 *   --cpu-prof-dir DIR     a V8 CPU profile of each phase (read them with profile-slices.js)
 *   --processes-max-workers N   largest size also run with the controller, the gateway table watcher and
 *                          the simulated workers each in their own process over ZooKeeper, each reporting
 *                          its own event-loop delay, CPU, heap and GC (default 300; 0: none)
 *   --processes            only those rows (no one-process rows; --zk-max-workers does not apply)
 *   --worker-processes N   with --processes: processes the simulated workers are spread over (default 1)
 */
import { writeFile } from 'node:fs/promises';
import { flag, parseScaleFlags, renderScaleMarkdown, runScaleSuite } from './suite.js';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const results = await runScaleSuite(parseScaleFlags(args), (line) => console.log(line));
  console.log(renderScaleMarkdown(results));
  const json = flag(args, '--json');
  if (json) await writeFile(json, JSON.stringify(results, null, 2));
  process.exit(0);
}

await main();
