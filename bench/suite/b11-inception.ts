/**
 * B11, Inception v3 three ways: the bundled models/inception_v3 (a Keras Inception v3 from nsfwjs,
 * TF.js layers files) on TensorFlow.js (WebAssembly, `convert_to_onnx` "never"), the same files
 * converted to ONNX at load (the default, `convert_to_onnx` auto) and served on ONNX Runtime, and
 * torchvision's Inception v3 exported to ONNX by PyTorch (bench/models/make_inception.py, random
 * weights; 1000 classes against the bundled model's 5, a negligible part of the cost). One server
 * process in explicit mode holds the three; each is loaded in turn through the repository API (the
 * load time: reading the files, and for the converted one conversion, ONNX Runtime's session and
 * the parity check against tfjs), then driven by the same client over REST binary with one-image
 * requests: sequentially (concurrency 1) and at concurrency 4, where the dynamic batcher joins
 * requests (max_batch_size 4 for all three). The two ONNX Runtime variants alternate over two rounds
 * so machine noise hits both; tfjs (~0.5–1 s per image) runs one short round.
 *
 * Target (issue 15): the converted model at ≥ 0.8 of the export's images/s, at both levels.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { addSubModel } from '../../test/fixtures/onnx-models.js';
import { restTarget, type SuiteContext } from './context.js';
import { levelSummary, type LevelSummary } from './level-summary.js';
import { writeRepository } from './models.js';
import { ROOT, ServerProcess } from './server-process.js';

/** Converted ÷ exported images/s the issue asks for. */
export const B11_MIN_CONVERTED_VS_EXPORT = 0.8;
export const B11_LEVELS = [1, 4] as const;

export type B11VariantName = 'tfjs' | 'converted' | 'export';

export interface B11Level {
  readonly concurrency: number;
  /** One summary per round (two for the ONNX Runtime variants, one for tfjs). */
  readonly rounds: readonly LevelSummary[];
  /** Mean images/s over the rounds. */
  readonly imagesPerSecond: number;
}

export interface B11Variant {
  readonly variant: B11VariantName;
  readonly model: string;
  /** What served it, from the served config's `runtime` parameter ("onnxruntime", "tensorflowjs"). */
  readonly runtime: string;
  /** Wall-clock seconds of the repository API's load call. */
  readonly loadSeconds: number;
  readonly levels: readonly B11Level[];
}

export interface B11Result {
  readonly variants: readonly B11Variant[];
  /** Why the ONNX export is missing (no torch, ...); the ratio to it is then not measured. */
  readonly exportSkipped?: string;
  /** Converted ÷ export images/s per concurrency, and the smaller of them (the target's figure). */
  readonly convertedVsExport?: { readonly byConcurrency: Readonly<Record<string, number>>; readonly min: number };
  /** tfjs ÷ converted images/s per concurrency. */
  readonly tfjsVsConverted?: Readonly<Record<string, number>>;
}

/** The bundled model's config with another name and, for tfjs, the conversion turned off. */
async function bundledConfig(name: string, convert: 'auto' | 'never'): Promise<string> {
  const config = (await readFile(join(ROOT, 'models/inception_v3/config.pbtxt'), 'utf8')).replace('name: "inception_v3"', `name: "${name}"`);
  if (!config.includes(`name: "${name}"`)) throw new Error('models/inception_v3/config.pbtxt has no name: "inception_v3" line');
  return convert === 'auto' ? config : `${config}parameters { key: "convert_to_onnx" value { string_value: "never" } }\n`;
}

/** The export's config: what the bundled model's says about batching and instances, on ONNX Runtime. */
const EXPORT_CONFIG = `name: "inception_v3_export"
platform: "onnxruntime_onnx"
max_batch_size: 4
dynamic_batching {
  max_queue_delay_microseconds: 2000
}
instance_group [
  {
    count: 1
    kind: KIND_CPU
  }
]
`;

/** Writes bench/models/inception_v3.onnx when missing; returns why it cannot, or undefined. */
function exportInception(ctx: SuiteContext, file: string): string | undefined {
  if (existsSync(file)) return undefined;
  ctx.log('B11: exporting torchvision Inception v3 (random weights) with /usr/bin/python3 bench/models/make_inception.py ...');
  try {
    execFileSync('/usr/bin/python3', [join(ctx.modelsDir, 'make_inception.py'), file], { stdio: ['ignore', 'inherit', 'pipe'] });
    return undefined;
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim().split('\n').pop() ?? '';
    return (
      `cannot export Inception v3 to ONNX (${stderr.slice(0, 200) || (error instanceof Error ? error.message.slice(0, 200) : String(error))}); ` +
      'it needs Debian packages python3-torch and python3-torchvision: apt-get install -y --no-install-recommends python3-torch python3-torchvision'
    );
  }
}

async function control(server: ServerProcess, model: string, action: 'load' | 'unload'): Promise<number> {
  const t0 = performance.now();
  const answer = await fetch(`${server.httpUrl}/v2/repository/models/${model}/${action}`, { method: 'POST' });
  if (answer.status !== 200) throw new Error(`${action} ${model}: HTTP ${answer.status} ${(await answer.text()).slice(0, 500)}`);
  return (performance.now() - t0) / 1000;
}

async function servedRuntime(server: ServerProcess, model: string): Promise<string> {
  const config = (await (await fetch(`${server.httpUrl}/v2/models/${model}/config`)).json()) as { parameters?: Record<string, { string_value?: string }> };
  // A plain ONNX model carries no runtime parameter: ONNX Runtime is the only thing that serves it.
  return config.parameters?.['runtime']?.string_value ?? 'onnxruntime';
}

/**
 * Copies the bundled models/inception_v3 (generated from nsfwjs first, when missing or stale) into
 * `repository` as `name`, on TF.js (`never`) or converted to ONNX at load (`auto`). Returns the
 * megabytes of its weight shards.
 */
export async function copyBundledInception(ctx: SuiteContext, repository: string, name: string, convert: 'auto' | 'never'): Promise<number> {
  ctx.log('node scripts/build-inception-v3.mjs (models/inception_v3/1 from nsfwjs, when missing or stale)');
  execFileSync(process.execPath, [join(ROOT, 'scripts/build-inception-v3.mjs')], { stdio: 'inherit' });
  await cp(join(ROOT, 'models/inception_v3'), join(repository, name), { recursive: true });
  await writeFile(join(repository, name, 'config.pbtxt'), await bundledConfig(name, convert));
  const version = join(ROOT, 'models/inception_v3/1');
  const shards = (await readdir(version)).filter((file) => file.endsWith('.bin'));
  return shards.reduce((sum, file) => sum + statSync(join(version, file)).size, 0) / 1e6;
}

export async function runB11(ctx: SuiteContext): Promise<B11Result> {
  const exportFile = join(ctx.modelsDir, 'inception_v3.onnx');
  const exportSkipped = exportInception(ctx, exportFile);
  if (exportSkipped) ctx.log(`B11: the ONNX export is skipped: ${exportSkipped}`);

  const primerFile = join(ctx.modelsDir, 'b11-primer.onnx');
  await mkdir(ctx.modelsDir, { recursive: true });
  await writeFile(primerFile, addSubModel('FP32', [4]));
  const repository = await writeRepository(ctx, 'b11', {
    primer: { file: primerFile, config: 'max_batch_size: 8\n' },
    ...(exportSkipped ? {} : { inception_v3_export: { file: exportFile, config: EXPORT_CONFIG } }),
  });
  for (const [name, convert] of [
    ['inception_v3_tfjs', 'never'],
    ['inception_v3_converted', 'auto'],
  ] as const) {
    await copyBundledInception(ctx, repository, name, convert);
  }

  const server = await ServerProcess.start({ repository, flags: ['--model-control-mode', 'explicit'], startTimeoutMs: 180_000 });
  try {
    // ONNX Runtime's library and first-session state are paid once per process: a tiny model
    // loaded and unloaded first keeps them out of whichever Inception is loaded first.
    await control(server, 'primer', 'load');
    await control(server, 'primer', 'unload');
    const names: Record<B11VariantName, string> = { tfjs: 'inception_v3_tfjs', converted: 'inception_v3_converted', export: 'inception_v3_export' };
    const present: B11VariantName[] = exportSkipped ? ['tfjs', 'converted'] : ['export', 'tfjs', 'converted'];
    const loaded = new Map<B11VariantName, { loadSeconds: number; runtime: string }>();
    for (const variant of present) {
      const loadSeconds = await control(server, names[variant], 'load');
      const runtime = await servedRuntime(server, names[variant]);
      loaded.set(variant, { loadSeconds, runtime });
      ctx.log(`B11: ${names[variant]} loaded in ${loadSeconds.toFixed(1)} s, served by ${runtime}`);
    }

    const rounds = new Map<string, LevelSummary[]>();
    const measure = async (variant: B11VariantName, concurrency: number, warmup: number, window: number): Promise<void> => {
      const target = await restTarget(server.httpUrl, names[variant], { binary: true, connections: concurrency, serverPid: server.pid });
      try {
        const level = levelSummary(await target.run(concurrency, warmup, window));
        const key = `${variant}/${concurrency}`;
        rounds.set(key, [...(rounds.get(key) ?? []), level]);
        ctx.log(
          `B11: ${variant} c${concurrency}: ${level.inferencesPerSecond.toFixed(2)} images/s, p50 ${level.p50Ms.toFixed(0)} ms, p99 ${level.p99Ms.toFixed(0)} ms, ` +
            `batch ${level.avgBatch?.toFixed(1) ?? '?'}, ${((level.serverCpuUsPerInference ?? Number.NaN) / 1000).toFixed(0)} ms CPU/image${level.failed > 0 ? `, ${level.failed} failed` : ''}`,
        );
      } finally {
        await target.close();
      }
    };
    // The ONNX Runtime pair alternates (which goes first too), so drift hits both alike.
    const onnxPair: B11VariantName[] = exportSkipped ? ['converted'] : ['converted', 'export'];
    for (let round = 0; round < 2; round++) {
      for (const concurrency of B11_LEVELS) {
        for (const variant of round % 2 === 0 ? onnxPair : [...onnxPair].reverse()) await measure(variant, concurrency, ctx.secs(1), ctx.secs(6));
      }
    }
    // tfjs takes ~0.5–1 s per image: one round, long enough windows to hold a dozen or so.
    for (const concurrency of B11_LEVELS) await measure('tfjs', concurrency, ctx.secs(2), ctx.secs(10));

    const variants: B11Variant[] = present.map((variant) => ({
      variant,
      model: names[variant],
      ...loaded.get(variant)!,
      levels: B11_LEVELS.map((concurrency) => {
        const levelRounds = rounds.get(`${variant}/${concurrency}`) ?? [];
        return { concurrency, rounds: levelRounds, imagesPerSecond: levelRounds.reduce((sum, l) => sum + l.inferencesPerSecond, 0) / Math.max(1, levelRounds.length) };
      }),
    }));
    return { variants, ...(exportSkipped ? { exportSkipped } : {}), ...b11Ratios(variants) };
  } finally {
    await server.stop();
  }
}

/** The ratios of images/s between variants at each concurrency. */
export function b11Ratios(variants: readonly B11Variant[]): Pick<B11Result, 'convertedVsExport' | 'tfjsVsConverted'> {
  const perSecond = (variant: B11VariantName, concurrency: number): number | undefined =>
    variants.find((v) => v.variant === variant)?.levels.find((l) => l.concurrency === concurrency)?.imagesPerSecond;
  const divide = (top: B11VariantName, bottom: B11VariantName): Record<string, number> | undefined => {
    const out: Record<string, number> = {};
    for (const concurrency of B11_LEVELS) {
      const a = perSecond(top, concurrency);
      const b = perSecond(bottom, concurrency);
      if (a === undefined || b === undefined) return undefined;
      out[String(concurrency)] = a / b;
    }
    return out;
  };
  const convertedVsExport = divide('converted', 'export');
  const tfjsVsConverted = divide('tfjs', 'converted');
  return {
    ...(convertedVsExport ? { convertedVsExport: { byConcurrency: convertedVsExport, min: Math.min(...Object.values(convertedVsExport)) } } : {}),
    ...(tfjsVsConverted ? { tfjsVsConverted } : {}),
  };
}
