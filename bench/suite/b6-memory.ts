/**
 * B6 — memory. In a fresh explicit-mode server per model (after a tiny primer model was loaded and
 * unloaded, so ONNX Runtime's own library is already resident), the model is loaded, used (batches
 * of 8), and unloaded through the repository API; the server's RSS is read from /proc at each step. Reported per model:
 * the ONNX file size and RSS growth over the RSS just before the load — after load, after use, and
 * after unload (what was not given back). Run with `MALLOC_TRIM_THRESHOLD_=0` (the documented
 * deployment) and without, to show glibc keeping freed memory. The bundled Inception v3 is measured
 * on TF.js (`convert_to_onnx` never: its tfjs worker must give its wasm heap back on unload) and
 * converted to ONNX at load; its "file" size is its weight shards'. The bundled `digits_torchscript`
 * runs in a Python stub process: RSS is the server's plus every process under it, so unloading must
 * end the stub for its memory to come back.
 */
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { restTarget, type SuiteContext } from './context.js';
import { fileMegabytes, type ModelFiles, writeRepository } from './models.js';
import { copyBundledInception } from './b11-inception.js';
import { ROOT, ServerProcess } from './server-process.js';

export interface B6Row {
  readonly model: string;
  readonly mallocTrim: boolean;
  readonly fileMB: number;
  readonly baseMB: number;
  readonly loadedMB: number;
  readonly usedMB: number;
  readonly unloadedMB: number;
}

export interface B6Result {
  readonly batch: number;
  readonly rows: readonly B6Row[];
}

const MB = 1e6;
const settle = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function runB6(ctx: SuiteContext, models: ModelFiles): Promise<B6Result> {
  const repository = await writeRepository(ctx, 'b6', {
    resnet18: { file: models.resnet18, config: 'max_batch_size: 8\n' },
    mlp: { file: models.mlp, config: 'max_batch_size: 8\n' },
    primer: { file: models.tiny, config: 'max_batch_size: 8\n' },
  });
  const fileMB: Record<string, number> = {
    resnet18: fileMegabytes(models.resnet18),
    mlp: fileMegabytes(models.mlp),
    inception_v3_tfjs: await copyBundledInception(ctx, repository, 'inception_v3_tfjs', 'never'),
    inception_v3_converted: await copyBundledInception(ctx, repository, 'inception_v3_converted', 'auto'),
    digits_torchscript: fileMegabytes(join(ROOT, 'models/digits_torchscript/1/model.pt')),
  };
  await cp(join(ROOT, 'models/digits_torchscript'), join(repository, 'digits_torchscript'), { recursive: true });
  // Inception v3 takes at most 4 images per request.
  const batchOf = (model: string): number => (model.startsWith('inception') ? 4 : 8);
  const rows: B6Row[] = [];
  for (const mallocTrim of [true, false]) {
    // A fresh server per model: memory one model left behind must not be counted for (or reused by) the next.
    for (const model of ['resnet18', 'mlp', 'inception_v3_tfjs', 'inception_v3_converted', 'digits_torchscript']) {
      const server = await ServerProcess.start({ repository, flags: ['--model-control-mode', 'explicit'], mallocTrim });
      try {
        // ONNX Runtime's library and first-session state are paid once per process, not per model:
        // a tiny model loaded and unloaded first keeps them out of the model's figures.
        await control(server, 'primer', 'load');
        await control(server, 'primer', 'unload');
        await settle(1000);
        ctx.log(`B6: ${model}, MALLOC_TRIM_THRESHOLD_${mallocTrim ? '=0' : ' unset'}`);
        const base = await server.rssBytes();
        await control(server, model, 'load');
        await settle(500);
        const loaded = await server.rssBytes();
        const target = await restTarget(server.httpUrl, model, { binary: true, connections: 1, batchSize: batchOf(model) });
        for (let i = 0; i < 10; i++) await target.send();
        await target.close();
        await settle(500);
        const used = await server.rssBytes();
        await control(server, model, 'unload');
        await settle(1500);
        const unloaded = await server.rssBytes();
        rows.push({
          model,
          mallocTrim,
          fileMB: fileMB[model]!,
          baseMB: base / MB,
          loadedMB: (loaded - base) / MB,
          usedMB: (used - base) / MB,
          unloadedMB: (unloaded - base) / MB,
        });
      } finally {
        await server.stop();
      }
    }
  }
  return { batch: 8, rows };
}

async function control(server: ServerProcess, model: string, action: 'load' | 'unload'): Promise<void> {
  const answer = await fetch(`${server.httpUrl}/v2/repository/models/${model}/${action}`, { method: 'POST' });
  if (answer.status !== 200) throw new Error(`${action} ${model}: HTTP ${answer.status} ${await answer.text()}`);
}
