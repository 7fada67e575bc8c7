import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileOverrideProblem, modelNameProblem, shownName } from './model-names.js';

test('model names: one path segment of at most 255 bytes without control characters or ..', () => {
  for (const name of ['simple', 'resnet-50_v1.2', 'ünïcødé', 'a'.repeat(255), 'é'.repeat(127)]) assert.equal(modelNameProblem(name), undefined, name);
  const refused: [string, RegExp][] = [
    ['', /empty/],
    ['a/b', /'\/'/],
    ['a\\b', /'\\'/],
    ['a\0b', /NUL/],
    ['a\u0001b', /control/],
    ['tab\there', /control/],
    ['del\u007f', /control/],
    ['c1\u0085', /control/],
    ['.', /'\.'/],
    ['..', /'\.\.'/],
    ['a..b', /'\.\.'/],
    ['a'.repeat(256), /255 bytes/],
    ['é'.repeat(128), /255 bytes/],
  ];
  for (const [name, problem] of refused) assert.match(modelNameProblem(name) ?? '', problem, JSON.stringify(name));
});

test('file override paths: relative files whose every segment is a valid name', () => {
  for (const path of ['1/model.onnx', '1/model.onnx/model.onnx', 'config.pbtxt', '2/weights.bin']) assert.equal(fileOverrideProblem(path), undefined, path);
  for (const path of ['', '1/', '/etc/passwd', '../x', '1/../../x', '1\\x', '1//x', '1/./x', '1/a\0b', `1/${'m'.repeat(256)}`, `${'a/'.repeat(600)}x`]) {
    assert.notEqual(fileOverrideProblem(path), undefined, JSON.stringify(path));
  }
});

test('names in messages are escaped and shortened', () => {
  assert.equal(shownName('a\u0001b'), '"a\\u0001b"');
  assert.equal(shownName('x'.repeat(1000)).length, 64 + 3);
});
