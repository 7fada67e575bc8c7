/**
 * `npm run soak -- --minutes N [flags]`: a soak and chaos run against a local cluster of real
 * processes (see soak-run.ts), with periodic progress lines, an end-of-run summary and a JSON +
 * Markdown report under bench/results/. Exit code 0 when no request of a model with replicas ≥ 2
 * failed, 1 otherwise (and 2 when the run itself could not be made). Ctrl-C ends the run early,
 * still writing the report and stopping every process; a second Ctrl-C exits at once (the children
 * are killed on exit).
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError, Option } from 'commander';
import { CHAOS_ACTIONS, runSoak, type ChaosAction } from './soak-run.js';
import { formatSoakSummary, replicatedFailures, writeSoakReport } from './soak-report.js';
import { SOAK_MODELS, type SoakModel } from './soak-requests.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function number(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`"${value}" is not a number in [${min}, ${max}]`);
    return n;
  };
}

function actions(value: string): ChaosAction[] {
  const list = value
    .split(',')
    .map((a) => a.trim())
    .filter((a) => a !== '');
  for (const action of list) if (!(CHAOS_ACTIONS as readonly string[]).includes(action)) throw new InvalidArgumentError(`unknown chaos action "${action}" (known: ${CHAOS_ACTIONS.join(', ')})`);
  return list as ChaosAction[];
}

function replicas(value: string): Partial<Record<SoakModel, number>> {
  const result: Partial<Record<SoakModel, number>> = {};
  for (const pair of value.split(',').filter((p) => p.trim() !== '')) {
    const [model, count] = pair.split('=').map((s) => s.trim());
    if (!(SOAK_MODELS as readonly string[]).includes(model ?? '') || !Number.isInteger(Number(count)) || Number(count) < 1 || Number(count) > 10) {
      throw new InvalidArgumentError(`"${pair}": expected <model>=<replicas 1-10>, model one of ${SOAK_MODELS.join(', ')}`);
    }
    result[model as SoakModel] = Number(count);
  }
  return result;
}

interface SoakFlags {
  minutes: number;
  workers: number;
  concurrency: number;
  intervalSecs: number;
  requestTimeoutSecs: number;
  actions: ChaosAction[];
  pauseSecs: number;
  downSecs: number;
  replicas: Partial<Record<SoakModel, number>>;
  floodHttpSockets: number;
  floodGrpcSockets: number;
  floodSecs: number;
  floodTickMs: number;
  out: string;
}

const program = new Command('soak')
  .description(
    'Soak and chaos run: a local cluster under mixed REST/gRPC load while workers, ZooKeeper and the controller are killed and restarted, versions swapped and a worker flooded with slow clients.',
  )
  .option('--minutes <n>', 'how long the load runs', number(0.5, 24 * 60), 5)
  .option('--workers <n>', 'worker processes', number(2, 6), 3)
  .option('--concurrency <n>', 'closed loops sending requests', number(1, 64), 8)
  .option('--interval-secs <n>', 'progress and latency interval', number(1, 600), 10)
  .option('--request-timeout-secs <n>', 'a request not answered within this fails as a timeout', number(1, 300), 30)
  .addOption(new Option('--actions <list>', 'chaos actions, run in this order round and round').argParser(actions).default([...CHAOS_ACTIONS], CHAOS_ACTIONS.join(',')))
  .option('--pause-secs <n>', 'pause after each action once the cluster has recovered', number(0, 600), 10)
  .option('--down-secs <n>', 'how long a killed worker, or ZooKeeper, stays down', number(0, 120), 5)
  .addOption(new Option('--replicas <list>', 'replicas per model (models not named keep 1)').argParser(replicas).default({ digits: 2, diabetes: 2 }, 'digits=2,diabetes=2'))
  .option('--flood-http-sockets <n>', 'slow HTTP sockets against one worker (half dribble headers, half bodies)', number(0, 15_000), 200)
  .option('--flood-grpc-sockets <n>', 'HTTP/2 preface-only connections against the same worker', number(0, 15_000), 50)
  .option('--flood-secs <n>', 'how long the flood lasts', number(1, 600), 20)
  .option('--flood-tick-ms <n>', 'time between two bytes on each slow socket', number(10, 60_000), 1000)
  .option('--out <dir>', 'folder for soak-<timestamp>.json and .md', resolve(ROOT, 'bench/results'))
  .action(async (flags: SoakFlags) => {
    let abort: () => void = () => undefined;
    const aborted = new Promise<void>((resolveAbort) => (abort = resolveAbort));
    let interrupts = 0;
    const onSignal = (): void => {
      if (++interrupts > 1) process.exit(130);
      console.log('\ninterrupted: ending the run, writing the report and stopping the cluster (Ctrl-C again to exit at once) ...');
      abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const started = Date.now();
    const result = await runSoak({
      durationMs: Math.round(flags.minutes * 60_000),
      workers: flags.workers,
      replicas: flags.replicas,
      concurrency: flags.concurrency,
      intervalMs: flags.intervalSecs * 1000,
      requestTimeoutMs: flags.requestTimeoutSecs * 1000,
      actions: flags.actions,
      pauseMs: flags.pauseSecs * 1000,
      downMs: flags.downSecs * 1000,
      flood: { httpSockets: flags.floodHttpSockets, grpcSockets: flags.floodGrpcSockets, tickMs: flags.floodTickMs, durationMs: flags.floodSecs * 1000 },
      modelRepository: resolve(ROOT, 'models'),
      log: (line) => console.log(`${new Date().toISOString().slice(11, 19)} ${line}`),
      abort: aborted,
    });
    console.log(`\n${formatSoakSummary(result)}`);
    const paths = await writeSoakReport(result, flags.out);
    console.log(`\nreport: ${paths.markdown}\n        ${paths.json}\n(run took ${((Date.now() - started) / 1000).toFixed(0)} s)`);
    process.exitCode = replicatedFailures(result) === 0 ? 0 : 1;
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(2);
});
