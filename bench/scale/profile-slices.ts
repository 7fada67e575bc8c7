/**
 * `node dist/bench/scale/profile-slices.js FILE.cpuprofile [--top N]`: where the event loop blocks,
 * per component, from a V8 CPU profile of the scale simulation (`node --cpu-prof
 * --cpu-prof-interval 250 dist/bench/scale/main.js ...`).
 *
 * The simulation runs the controller, the gateway's table watcher and the simulated workers in one
 * process, so the process's event-loop delay is theirs together. A *slice* here is one stretch of
 * synchronous work: consecutive samples under the same bottom frame (the same timer, immediate,
 * microtask drain or I/O callback; garbage collection is charged to the slice it interrupts),
 * ended by an idle sample or another bottom frame (to the sampling interval). Each sample is charged
 * to the component whose code is on its stack (gateway code first, then controller code, then the
 * simulated workers, then coordination reads — `cluster-state`/`layout`, whose callers an await
 * hides: the controller's and the gateway's folder caches — then the store), and a slice to the
 * component with most of its samples. Printed: per component, its slices' count, total, p99 and
 * longest; then the longest slices with the functions that spent them.
 */
import { readFile } from 'node:fs/promises';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

type Component = 'gateway' | 'controller' | 'workers' | 'reads' | 'store' | 'other';
const COMPONENTS: readonly Component[] = ['controller', 'gateway', 'workers', 'reads', 'store', 'other'];

const RULES: readonly [Component, RegExp][] = [
  ['gateway', /\/src\/gateway\//],
  ['controller', /\/src\/cluster\/(controller|controller-metrics|placement|ensemble-colocation|leader-election|event-loop-slices)\.js/],
  ['workers', /\/bench\/scale\/simulation\.js/],
  ['reads', /\/src\/cluster\/(cluster-state|layout)\.js/],
  ['store', /\/src\/cluster\/store\//],
];

interface Sample {
  /** The frame right under the root: which callback of the event loop this sample is in. */
  readonly bottom: number;
  /** Garbage collection or native code outside any callback: charged to the slice it interrupts. */
  readonly interrupt: boolean;
  readonly component: Component;
  /** The innermost frame of project code (`file:function`), or the innermost frame at all. */
  readonly where: string;
}

interface Slice {
  readonly startMs: number;
  durationUs: number;
  readonly byComponent: Map<Component, number>;
  readonly byWhere: Map<string, number>;
}

function shortFrame(frame: CallFrame): string {
  const file = frame.url.replace(/^.*\/dist\//, '').replace(/^.*\/node_modules\//, 'node_modules/');
  return `${file || '(native)'}:${frame.functionName || '(anonymous)'}`;
}

function classify(profile: CpuProfile): Map<number, Sample | 'idle'> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const result = new Map<number, Sample | 'idle'>();
  for (const node of profile.nodes) {
    if (node.callFrame.functionName === '(idle)') {
      result.set(node.id, 'idle');
      continue;
    }
    const stack: CallFrame[] = [];
    let bottom = node.id;
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      stack.push(byId.get(id)!.callFrame);
      if (parent.get(id) !== undefined) bottom = id;
    }
    const interrupt = stack.length <= 2 && /^\((garbage collector|program)\)$/.test(node.callFrame.functionName);
    let component: Component = 'other';
    for (const [name, pattern] of RULES) {
      if (stack.some((f) => pattern.test(f.url))) {
        component = name;
        break;
      }
    }
    const own = stack.find((f) => /\/dist\/(src|bench)\//.test(f.url)) ?? stack[0]!;
    result.set(node.id, { bottom, interrupt, component, where: shortFrame(own) });
  }
  return result;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const file = args.find((a) => !a.startsWith('--'));
  if (!file) throw new Error('usage: profile-slices FILE.cpuprofile [--top N]');
  const topIndex = args.indexOf('--top');
  const top = topIndex >= 0 ? Number(args[topIndex + 1]) : 15;
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const kinds = classify(profile);

  const slices: (Slice & { bottom: number })[] = [];
  let current: (Slice & { bottom: number }) | undefined;
  let at = 0;
  for (const [i, id] of profile.samples.entries()) {
    const delta = profile.timeDeltas[i + 1] ?? 0; // the time until the next sample is this sample's
    at += profile.timeDeltas[i] ?? 0;
    const kind = kinds.get(id);
    if (kind === undefined || kind === 'idle') {
      current = undefined;
      continue;
    }
    if (!current || (!kind.interrupt && current.bottom !== kind.bottom && current.bottom !== -1)) {
      slices.push((current = { startMs: at / 1000, durationUs: 0, byComponent: new Map(), byWhere: new Map(), bottom: kind.interrupt ? -1 : kind.bottom }));
    } else if (current.bottom === -1 && !kind.interrupt) current.bottom = kind.bottom;
    current.durationUs += delta;
    if (!kind.interrupt) current.byComponent.set(kind.component, (current.byComponent.get(kind.component) ?? 0) + delta);
    current.byWhere.set(kind.where, (current.byWhere.get(kind.where) ?? 0) + delta);
  }
  const owner = (s: Slice): Component => [...s.byComponent].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'other';
  const ms = (us: number): string => (us / 1000).toFixed(1);

  console.log(`${slices.length} slices over ${ms(at)} ms of profile`);
  console.log('| component | slices | total ms | p99 ms | max ms | slices > 20 ms |');
  console.log('|---|---|---|---|---|---|');
  for (const component of COMPONENTS) {
    const mine = slices
      .filter((s) => owner(s) === component)
      .map((s) => s.durationUs)
      .sort((a, b) => a - b);
    const total = mine.reduce((a, b) => a + b, 0);
    console.log(`| ${component} | ${mine.length} | ${ms(total)} | ${ms(percentile(mine, 99))} | ${ms(mine.at(-1) ?? 0)} | ${mine.filter((d) => d > 20_000).length} |`);
  }
  console.log(`\nlongest ${top} slices:`);
  for (const slice of [...slices].sort((a, b) => b.durationUs - a.durationUs).slice(0, top)) {
    const where = [...slice.byWhere]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 4)
      .map(([w, us]) => `${w} ${ms(us)}`)
      .join(', ');
    console.log(`  ${ms(slice.durationUs)} ms at ${(slice.startMs / 1000).toFixed(2)} s [${owner(slice)}]: ${where}`);
  }
}

await main();
