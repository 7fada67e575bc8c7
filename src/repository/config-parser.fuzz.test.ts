/**
 * Property-based fuzzing of `config.pbtxt` parsing: random text and mutations of valid configs
 * must either parse or fail with a CranberriesError (a clear message naming the problem), never
 * throw anything else and never hang. The seed is fixed (override with FUZZ_SEED) and logged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CranberriesError } from '../core/errors.js';
import { parseModelConfig } from './config-parser.js';

const SEED = Number(process.env['FUZZ_SEED'] ?? 20261205);

const VALID_CONFIGS = [
  'name: "m"\nmax_batch_size: 8\ninput [ { name: "INPUT0" data_type: TYPE_FP32 dims: [ 4 ] } ]\noutput [ { name: "OUTPUT0" data_type: TYPE_FP32 dims: [ 4 ] } ]\n',
  'max_batch_size: 0\ninput { name: "x" data_type: TYPE_STRING dims: [ -1 ] reshape { shape: [ 1, -1 ] } }\noutput { name: "y" data_type: TYPE_INT64 dims: [ -1 ] }\n' +
    'dynamic_batching { preferred_batch_size: [ 2, 4 ] max_queue_delay_microseconds: 100 }\ninstance_group [ { count: 2 kind: KIND_CPU } ]\n' +
    'parameters { key: "k" value { string_value: "v" } }\nversion_policy { specific { versions: [ 1, 3 ] } }\n',
];

/** Pieces of the text format that make random text likelier to reach deep into the parser. */
const TOKENS = [
  '{',
  '}',
  '[',
  ']',
  ':',
  ',',
  ';',
  '"',
  "'",
  '\\',
  '#',
  '\n',
  ' ',
  '-',
  '0x',
  '1e999',
  '-1',
  '9223372036854775808',
  'name',
  'dims',
  'input',
  'output',
  'max_batch_size',
  'data_type',
  'TYPE_FP32',
  'reshape',
  'shape',
  'parameters',
  'key',
  'value',
  'string_value',
  'dynamic_batching',
  'instance_group',
  'inf',
  'nan',
  '<',
  '>',
  '\u0000',
  '\u00e9',
];

function check(text: string): void {
  try {
    parseModelConfig(text, 'fuzzed');
  } catch (error) {
    if (!(error instanceof CranberriesError)) throw new Error(`non-CranberriesError for ${JSON.stringify(text.slice(0, 300))}: ${String(error)}`, { cause: error });
    assert.ok(error.message.length < 4096, `error message of ${error.message.length} chars`);
  }
}

test(`config.pbtxt fuzz: random token soup, random text and mutated valid configs (seed ${SEED})`, { timeout: 60_000 }, () => {
  const started = Date.now();
  const soup = fc.array(fc.constantFrom(...TOKENS), { maxLength: 200 }).map((tokens) => tokens.join(' '));
  const mutated = fc
    .tuple(fc.constantFrom(...VALID_CONFIGS), fc.array(fc.tuple(fc.nat(), fc.nat({ max: 8 }), fc.oneof(fc.constantFrom(...TOKENS), fc.string({ maxLength: 4 }))), { minLength: 1, maxLength: 6 }))
    .map(([base, edits]) =>
      edits.reduce((text, [at, cut, insert]) => {
        const i = at % (text.length + 1);
        return text.slice(0, i) + insert + text.slice(i + cut);
      }, base),
    );
  const deepNesting = fc.nat({ max: 20_000 }).map((depth) => `parameters ${'{ key: "k" value '.repeat(depth)}`);
  fc.assert(fc.property(fc.oneof(soup, mutated, fc.string({ maxLength: 300 }), deepNesting), check), { seed: SEED, numRuns: 1500 });
  // A hang shows up as the test timeout; this keeps the cost visible.
  assert.ok(Date.now() - started < 55_000, `took ${Date.now() - started} ms`);
});
