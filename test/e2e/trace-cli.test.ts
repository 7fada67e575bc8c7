/**
 * `--trace-config` on `cranberries serve`, as users run it (a real process): Triton's flag forms
 * configure tracing, the trace file is written at shutdown, and malformed values stop the process
 * with a message naming the flag.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTempModelRepository, identityModel, type TempModelRepository } from '../fixtures/onnx-models.js';
import { infer } from '../helpers/oip-client.js';
import { exitWithin, startCli } from '../helpers/cli-process.js';
import { waitFor } from '../helpers/test-server.js';

const EXIT_MS = 60_000;

describe('cranberries serve --trace-config', () => {
  let repo: TempModelRepository;
  let dir: string;

  before(async () => {
    repo = await createTempModelRepository({ identity: { versions: { 1: identityModel({ datatype: 'FP32', dims: [-1], batching: true }) }, config: 'max_batch_size: 4\n' } });
    dir = await mkdtemp(join(tmpdir(), 'cranberries-trace-cli-'));
  });
  after(async () => {
    await repo.remove();
    await rm(dir, { recursive: true, force: true });
  });

  test('Triton-mode flags set the settings; the trace file is complete after SIGTERM', async () => {
    const file = join(dir, 'trace.json');
    const cli = startCli(['--model-repository', repo.root, '--trace-config', `triton,file=${file}`, '--trace-config', 'level=TIMESTAMPS', '--trace-config', 'rate=2', '--trace-config', 'count=-1']);
    try {
      const url = await cli.url(EXIT_MS);
      await waitFor(async () => (await fetch(`${url}/v2/models/identity/ready`)).status === 200, EXIT_MS, 'the model to load');
      const setting = (await (await fetch(`${url}/v2/trace/setting`)).json()) as Record<string, unknown>;
      assert.deepEqual(setting, { trace_level: ['TIMESTAMPS'], trace_rate: '2', trace_count: '-1', log_frequency: '0', trace_file: file, trace_mode: 'triton' });
      for (let i = 1; i <= 4; i++) {
        const result = await infer(url, 'identity', [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 2], data: [i, i] }], { id: `cli-${i}` });
        assert.equal(result.status, 200);
      }
      cli.child.kill('SIGTERM');
      assert.equal(await exitWithin(cli, EXIT_MS), 0);
    } finally {
      await cli.stop();
    }
    const records = JSON.parse(await readFile(file, 'utf8')) as { request_id?: string }[];
    assert.deepEqual(
      records.flatMap((r) => (r.request_id === undefined ? [] : [r.request_id])),
      ['cli-2', 'cli-4'],
    );
  });

  for (const [flags, message] of [
    [['--trace-config', 'level=TIMESTAMPS'], /needs a trace file: add --trace-config triton,file=<path>/],
    [['--trace-config', 'jaeger,url=http://x'], /invalid value for trace mode option: jaeger/],
    [['--trace-config', 'rate=often'], /Bad option: "--trace-config rate"\. Unable to parse 'rate', got: often/],
  ] as const) {
    test(`refuses ${flags.join(' ')}`, async () => {
      const cli = startCli(['--model-repository', repo.root, ...flags]);
      try {
        assert.notEqual(await exitWithin(cli, EXIT_MS), 0);
        assert.match(cli.stderr(), message);
      } finally {
        await cli.stop();
      }
    });
  }
});
