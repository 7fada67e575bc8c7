/**
 * The observability flags every long-running command shares (`serve`, `worker`, `gateway`,
 * `controller`): Graphite push and request log sampling. A command adds them with
 * `addObservabilityFlags(command)` and turns the parsed flags into server options with
 * `observabilityOptions(flags)`, so every component spells and validates them the same way.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { DEFAULT_GRAPHITE_INTERVAL_SECONDS, DEFAULT_GRAPHITE_PREFIX, parseGraphiteAddress, type GraphiteOptions } from '../metrics/index.js';

export interface ObservabilityFlags {
  graphite?: { host: string; port: number } | undefined;
  graphitePrefix: string;
  graphiteIntervalSecs: number;
  graphiteNode?: string | undefined;
  logRequestsSampleRate: number;
}

export interface ObservabilityOptions {
  readonly graphite: GraphiteOptions | undefined;
  readonly logRequestsSampleRate: number;
}

export function addObservabilityFlags(command: Command): Command {
  return command
    .option('--graphite <host:port>', 'also push metrics to this carbon (Graphite) plaintext endpoint', graphiteAddress)
    .option('--graphite-prefix <prefix>', 'first segment(s) of every Graphite path', DEFAULT_GRAPHITE_PREFIX)
    .option('--graphite-interval-secs <seconds>', 'seconds between Graphite pushes (whole seconds)', wholeSeconds, DEFAULT_GRAPHITE_INTERVAL_SECONDS)
    .option('--graphite-node <name>', "this process's segment in Graphite paths (default: the host name)")
    .option('--log-requests-sample-rate <rate>', 'share of inference requests to log, 0..1 (0 = none)', sampleRate, 0);
}

/** The flags as options; `defaultNode` names the process in Graphite when `--graphite-node` is absent (e.g. a worker's node id). */
export function observabilityOptions(flags: ObservabilityFlags, defaultNode?: string): ObservabilityOptions {
  const graphite = flags.graphite ? { ...flags.graphite, prefix: flags.graphitePrefix, intervalSeconds: flags.graphiteIntervalSecs, node: flags.graphiteNode ?? defaultNode } : undefined;
  return { graphite, logRequestsSampleRate: flags.logRequestsSampleRate };
}

function graphiteAddress(value: string): { host: string; port: number } {
  try {
    return parseGraphiteAddress(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

function wholeSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`"${value}" is not a whole number of seconds ≥ 1`);
  return n;
}

function sampleRate(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError(`"${value}" is not a rate between 0 and 1`);
  return n;
}
