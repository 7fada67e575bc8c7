import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatBytes, parseMemorySize } from './memory-size.js';

describe('memory sizes', () => {
  it('parses binary, decimal and plain sizes', () => {
    const cases: [string, number][] = [
      ['4GiB', 4 * 2 ** 30],
      ['512MiB', 512 * 2 ** 20],
      ['512Mi', 512 * 2 ** 20],
      ['2G', 2e9],
      ['2gb', 2e9],
      ['1.5 GiB', 1.5 * 2 ** 30],
      ['1048576', 1048576],
      ['100B', 100],
      ['1TiB', 2 ** 40],
    ];
    for (const [text, bytes] of cases) assert.equal(parseMemorySize(text), bytes, text);
  });

  it('refuses what is not a size, naming it', () => {
    for (const text of ['', 'GiB', '4 GiBs', '-1GiB', '4XB', '1e3']) {
      assert.throws(() => parseMemorySize(text), new RegExp(`'${text}' is not a memory size`), text);
    }
  });

  it('formats sizes for reasons and logs', () => {
    assert.equal(formatBytes(6 * 2 ** 30), '6 GiB');
    assert.equal(formatBytes(1.5 * 2 ** 30), '1.5 GiB');
    assert.equal(formatBytes(300 * 2 ** 20), '300 MiB');
    assert.equal(formatBytes(2048), '2 KiB');
    assert.equal(formatBytes(512), '512 B');
    assert.equal(formatBytes(0), '0 B');
  });
});
