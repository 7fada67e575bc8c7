import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CranberriesError } from '../../core/errors.js';
import { createRootLogger, logSettingsOf } from '../../core/log-settings.js';
import { handleLogSettings } from './oip-logging.js';

function settings(): NonNullable<ReturnType<typeof logSettingsOf>> {
  const s = logSettingsOf(createRootLogger({ level: 'info', format: 'json', destination: { write: () => {} } }));
  assert.ok(s);
  return s;
}

const codeOf = (run: () => unknown): string => {
  try {
    run();
    return 'OK';
  } catch (error) {
    return error instanceof CranberriesError ? `${error.code}: ${error.message}` : String(error);
  }
};

test('LogSettings answers every setting, typed as Triton types them', () => {
  const answer = handleLogSettings(settings(), { settings: { log_verbose_level: { uint32_param: 2, parameter_choice: 'uint32_param' } } });
  assert.deepEqual(answer.settings?.['log_verbose_level'], { uint32_param: 2, parameter_choice: 'uint32_param' });
  assert.deepEqual(answer.settings?.['log_file'], { string_param: '', parameter_choice: 'string_param' });
  assert.deepEqual(answer.settings?.['log_info'], { bool_param: true, parameter_choice: 'bool_param' });
  assert.deepEqual(answer.settings?.['log_format'], { string_param: 'json', parameter_choice: 'string_param' });
  assert.equal(Object.keys(answer.settings ?? {}).length, 6);
});

test('a value of the wrong type, or none, is INVALID_ARGUMENT; log_file is UNIMPLEMENTED', () => {
  const s = settings();
  assert.equal(
    codeOf(() => handleLogSettings(s, { settings: { log_info: { string_param: 'true', parameter_choice: 'string_param' } } })),
    "INVALID_ARGUMENT: expect boolean for 'log_info'",
  );
  assert.equal(
    codeOf(() => handleLogSettings(s, { settings: { log_verbose_level: { bool_param: true, parameter_choice: 'bool_param' } } })),
    "INVALID_ARGUMENT: expect uint32 for 'log_verbose_level'",
  );
  assert.equal(
    codeOf(() => handleLogSettings(s, { settings: { log_error: {} } })),
    "INVALID_ARGUMENT: expect boolean for 'log_error'",
  );
  assert.match(
    codeOf(() => handleLogSettings(s, { settings: { log_file: { string_param: '', parameter_choice: 'string_param' } } })),
    /^UNIMPLEMENTED: log file location/,
  );
  assert.match(
    codeOf(() => handleLogSettings(s, { settings: { nope: { bool_param: true, parameter_choice: 'bool_param' } } })),
    /^INVALID_ARGUMENT: unknown log setting 'nope'/,
  );
  assert.equal(s.snapshot().log_verbose_level, 0);
});
