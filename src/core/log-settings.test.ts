import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CranberriesError } from './errors.js';
import { createRootLogger, defaultLogFormat, logSettingsOf, switchesOf, thresholdOf, writes, type LogFormat, type LogLevel } from './log-settings.js';

function capture(level: LogLevel, format: LogFormat): { logger: ReturnType<typeof createRootLogger>; lines: string[] } {
  const lines: string[] = [];
  const logger = createRootLogger({ level, format, destination: { write: (text: string) => lines.push(text) }, colors: false });
  return { logger, lines };
}

describe('choosing the format', () => {
  test('text on a terminal, JSON lines otherwise', () => {
    assert.equal(defaultLogFormat({ isTTY: true }), 'text');
    assert.equal(defaultLogFormat({ isTTY: false }), 'json');
    assert.equal(defaultLogFormat({}), 'json');
  });

  test('json writes one JSON object a line; text writes time, level and message', () => {
    const json = capture('info', 'json');
    json.logger.info({ model: 'digits' }, 'loaded');
    assert.equal(json.lines.length, 1);
    const record = JSON.parse(json.lines[0] ?? '') as Record<string, unknown>;
    assert.equal(record['msg'], 'loaded');
    assert.equal(record['model'], 'digits');
    const text = capture('info', 'text');
    text.logger.child({ component: 'http' }).info({ model: 'digits', version: 1 }, 'loaded');
    assert.match(text.lines[0] ?? '', /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} INFO: \[http\] loaded model=digits version=1\n$/);
  });

  test('the text format does not repeat a field the message already says', () => {
    const { logger, lines } = capture('info', 'text');
    logger.warn({ model: 'digits', state: 'UNAVAILABLE', reason: 'no version folder' }, "model 'digits' is UNAVAILABLE: no version folder");
    assert.match(lines[0] ?? '', /WARN: model 'digits' is UNAVAILABLE: no version folder\n$/);
    logger.info({ host: '127.0.0.1', http: 8000, grpc: 8001, tls: 'plaintext' }, 'listening (plaintext): HTTP 127.0.0.1:8000, gRPC 127.0.0.1:8001');
    assert.match(lines[1] ?? '', /INFO: listening \(plaintext\): HTTP 127\.0\.0\.1:8000, gRPC 127\.0\.0\.1:8001\n$/);
  });
});

describe('level switches', () => {
  test('a --log-level is that level and every more severe one', () => {
    assert.deepEqual(switchesOf('info'), { info: true, warning: true, error: true, fatal: true, verboseLevel: 0 });
    assert.deepEqual(switchesOf('warn'), { info: false, warning: true, error: true, fatal: true, verboseLevel: 0 });
    assert.deepEqual(switchesOf('debug'), { info: true, warning: true, error: true, fatal: true, verboseLevel: 1 });
    assert.deepEqual(switchesOf('trace'), { info: true, warning: true, error: true, fatal: true, verboseLevel: 2 });
    assert.deepEqual(switchesOf('fatal'), { info: false, warning: false, error: false, fatal: true, verboseLevel: 0 });
    assert.deepEqual(switchesOf('silent'), { info: false, warning: false, error: false, fatal: false, verboseLevel: 0 });
  });

  test('independent switches: info off with verbose on writes debug but not info', () => {
    const switches = { info: false, warning: true, error: true, fatal: true, verboseLevel: 1 };
    assert.equal(thresholdOf(switches), 'debug');
    assert.deepEqual(
      [10, 20, 30, 40, 50, 60].map((n) => writes(switches, n)),
      [false, true, false, true, true, true],
    );
    assert.equal(thresholdOf(switchesOf('silent')), 'silent');
  });
});

describe('run-time settings', () => {
  test("answer Triton's settings; a change reaches child loggers made before it", () => {
    const { logger, lines } = capture('info', 'json');
    const child = logger.child({ component: 'grpc' });
    const settings = logSettingsOf(child);
    assert.ok(settings, 'a child carries the settings of its root');
    assert.deepEqual(settings.snapshot(), { log_file: '', log_info: true, log_warning: true, log_error: true, log_verbose_level: 0, log_format: 'json' });
    child.debug('hidden');
    assert.equal(lines.length, 0);
    const answer = settings.update({ log_verbose_level: 1, log_info: false });
    assert.deepEqual(answer, { log_file: '', log_info: false, log_warning: true, log_error: true, log_verbose_level: 1, log_format: 'json' });
    lines.length = 0;
    child.debug('shown');
    child.info('not shown: info is off');
    child.warn('shown too');
    assert.deepEqual(
      lines.map((l) => (JSON.parse(l) as { msg: string }).msg),
      ['shown', 'shown too'],
    );
  });

  test('the format changes at run time', () => {
    const { logger, lines } = capture('info', 'json');
    const settings = logSettingsOf(logger);
    assert.ok(settings);
    settings.update({ log_format: 'text' });
    lines.length = 0;
    logger.info({ a: 1 }, 'hello');
    assert.match(lines[0] ?? '', /INFO: hello a=1\n$/);
  });

  test('refusals: unknown setting, wrong type or value (INVALID_ARGUMENT), log_file (UNIMPLEMENTED); all or nothing', () => {
    const { logger } = capture('info', 'json');
    const settings = logSettingsOf(logger);
    assert.ok(settings);
    const code = (changes: Record<string, unknown>): string => {
      try {
        settings.update(changes);
        return 'OK';
      } catch (error) {
        assert.ok(error instanceof CranberriesError);
        assert.ok(error.message.length < 200, error.message);
        return error.code;
      }
    };
    assert.equal(code({ log_infos: true }), 'INVALID_ARGUMENT');
    assert.equal(code({ ['x'.repeat(10_000)]: true }), 'INVALID_ARGUMENT');
    assert.equal(code({ log_info: 'true' }), 'INVALID_ARGUMENT');
    assert.equal(code({ log_verbose_level: -1 }), 'INVALID_ARGUMENT');
    assert.equal(code({ log_verbose_level: 1.5 }), 'INVALID_ARGUMENT');
    assert.equal(code({ log_verbose_level: '1' }), 'INVALID_ARGUMENT');
    assert.equal(code({ log_format: 'ISO8601' }), 'INVALID_ARGUMENT');
    assert.equal(code({ log_format: 1 }), 'INVALID_ARGUMENT');
    assert.equal(code({ log_file: '/tmp/x.log' }), 'UNIMPLEMENTED');
    assert.equal(code({ log_file: '' }), 'UNIMPLEMENTED');
    assert.equal(code({ log_verbose_level: 3, log_error: 'no' }), 'INVALID_ARGUMENT');
    assert.equal(settings.snapshot().log_verbose_level, 0, 'a refused change changes nothing');
    assert.equal(code({ log_file: null, log_info: null }), 'OK', 'null leaves a setting as it is');
    assert.equal(code({}), 'OK');
    assert.equal(settings.snapshot().log_info, true);
  });

  test('a plain pino logger has no run-time settings', async () => {
    const { pino } = await import('pino');
    assert.equal(logSettingsOf(pino({ level: 'silent' })), undefined);
    assert.equal(logSettingsOf(undefined), undefined);
  });
});
