import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from 'commander';
import { parseTraceUpdate, settingResponse, TraceSettings, type TraceValues } from './trace-settings.js';
import { tracerOptionsFromFlags, parseTraceConfigEntry } from './trace-flags.js';

const ON: TraceValues = { levels: ['TIMESTAMPS'], rate: 3, count: -1, logFrequency: 0, file: '/tmp/t.json' };

describe('trace settings (Triton TraceManager semantics)', () => {
  test('every rate-th request is sampled while the count lasts; the count shown is what remains', () => {
    const settings = new TraceSettings({ ...ON, count: 2 }, 'triton');
    const sampled = Array.from({ length: 12 }, () => settings.settingFor('m').sample(false));
    assert.deepEqual(
      sampled.flatMap((hit, i) => (hit ? [i + 1] : [])),
      [3, 6],
    );
    assert.equal(settingResponse(settings.settingFor('m'), {})['trace_count'], '0');
  });

  test('OFF samples nothing and marks the settings inactive; a forced (propagated) trace needs OpenTelemetry mode and a level', () => {
    const off = new TraceSettings({ ...ON, levels: [] }, 'opentelemetry');
    assert.equal(off.active, false);
    assert.equal(off.settingFor('m').followsPropagation, false);
    const otel = new TraceSettings({ ...ON, rate: 0 }, 'opentelemetry');
    assert.equal(otel.active, true);
    assert.equal(otel.settingFor('m').sample(false), false, 'rate 0: nothing sampled by rate');
    assert.equal(otel.settingFor('m').sample(true), true, 'a propagated context is traced anyway');
  });

  test('a model setting keeps its own fields, follows the global ones, and disappears when all are cleared', () => {
    const settings = new TraceSettings(ON, 'triton');
    settings.update('m', { rate: 7 });
    settings.update(undefined, { rate: 50, count: 9 });
    assert.equal(settings.settingFor('m').rate, 7);
    assert.equal(settings.settingFor('m').count, 9);
    assert.equal(settings.settingFor('other').rate, 50);
    settings.update('m', { rate: null });
    assert.equal(settings.settingFor('m'), settings.settingFor('other'), 'back on the global setting');
    settings.update(undefined, { rate: null, count: null });
    assert.equal(settings.settingFor('m').rate, 3, 'clearing a global field restores the startup value');
  });

  test('an update that would leave tracing on but invalid is refused and changes nothing', () => {
    const settings = new TraceSettings({ ...ON, file: '', levels: [] }, 'triton');
    assert.throws(() => settings.update(undefined, { levels: ['TIMESTAMPS'] }), /Attempting to set invalid trace setting :trace file name is not given/);
    assert.deepEqual(settings.settingFor('m').levels, []);
    settings.update(undefined, { rate: 0 });
    assert.equal(settings.settingFor('m').rate, 0, 'an invalid setting that keeps tracing off is allowed');
  });

  test('replaced settings are reported (their collected traces get written)', () => {
    const settings = new TraceSettings(ON, 'triton');
    const replaced: number[] = [];
    settings.onReplaced((old) => replaced.push(old.rate));
    settings.update('m', { rate: 5 });
    settings.update(undefined, { rate: 4 });
    assert.deepEqual(replaced, [3, 5], 'the global setting, then the model setting that follows it');
  });

  test("parses updates with Triton's messages", () => {
    assert.deepEqual(
      parseTraceUpdate(
        new Map([
          ['trace_rate', ['10']],
          ['trace_level', ['TENSORS', 'TIMESTAMPS']],
          ['trace_count', null],
          ['bogus', ['x']],
        ]),
      ),
      {
        rate: 10,
        levels: ['TIMESTAMPS', 'TENSORS'],
        count: null,
      },
    );
    assert.throws(() => parseTraceUpdate(new Map([['trace_rate', ['4294967296']]])), /value is out of range \[ 0, 4294967295 \]/);
    assert.throws(() => parseTraceUpdate(new Map([['log_frequency', ['1', '2']]])), /expect only 1 value for 'log_frequency'/);
    assert.throws(
      () => parseTraceUpdate(new Map([['trace_file', ['x']]])),
      (e: Error & { code?: string }) => e.code === 'UNIMPLEMENTED',
    );
  });
});

describe('--trace-config', () => {
  test('global and mode settings, as Triton spells them', () => {
    const options = tracerOptionsFromFlags(['level=TIMESTAMPS', 'level=TENSORS', 'rate=100', 'count=5', 'triton,file=/tmp/x.json', 'triton,log-frequency=50'], {});
    assert.deepEqual(options.values, { levels: ['TIMESTAMPS', 'TENSORS'], rate: 100, count: 5, logFrequency: 50, file: '/tmp/x.json' });
    assert.equal(options.mode, 'triton');
    const otel = tracerOptionsFromFlags(['mode=opentelemetry', 'opentelemetry,url=http://127.0.0.1:9/v1/traces', 'opentelemetry,resource=service.name=x', 'opentelemetry,bsp_schedule_delay=10'], {
      OTEL_BSP_MAX_QUEUE_SIZE: '4096',
    });
    assert.equal(otel.mode, 'opentelemetry');
    assert.deepEqual(otel.openTelemetry, { url: 'http://127.0.0.1:9/v1/traces', resource: { 'service.name': 'x' }, bspMaxQueueSize: 4096, bspScheduleDelayMs: 10, bspMaxExportBatchSize: 512 });
  });

  test('defaults: OFF, rate 1000, count -1, Triton mode without a file', () => {
    const options = tracerOptionsFromFlags([], {});
    assert.deepEqual(options.values, { levels: [], rate: 1000, count: -1, logFrequency: 0, file: '' });
  });

  test('refuses malformed values with the flag named', () => {
    assert.throws(() => parseTraceConfigEntry(',rate=1'), /No trace mode specified/);
    assert.throws(() => parseTraceConfigEntry('rate'), /option format is/);
    assert.throws(() => parseTraceConfigEntry('jaeger,url=x'), /invalid value for trace mode option: jaeger/);
    assert.throws(() => parseTraceConfigEntry('triton,url=x'), /unknown --trace-config setting 'triton,url'/);
    assert.throws(
      () => tracerOptionsFromFlags(['rate=-5'], {}),
      (e: Error) => e instanceof InvalidArgumentError && /Bad option: "--trace-config rate"/.test(e.message),
    );
    assert.throws(() => tracerOptionsFromFlags(['level=TIMESTAMPS'], {}), /needs a trace file/);
  });
});
