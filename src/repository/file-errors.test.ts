import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { realpath } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileErrorReason } from './file-errors.js';

describe('file system errors in user terms', () => {
  it('names the path relative to the base, shortened, with what went wrong and the code', async () => {
    const base = tmpdir();
    const error = await realpath(join(base, 'z'.repeat(300))).catch((e: unknown) => e);
    const reason = fileErrorReason(error, base);
    assert.match(reason ?? '', /^"z{64}…": the name is too long for the file system \(ENAMETOOLONG\)$/);
    const missing = await realpath(join(base, 'no-such-folder-here')).catch((e: unknown) => e);
    assert.equal(fileErrorReason(missing, base), '"no-such-folder-here": not found (ENOENT)');
  });

  it('shows a path outside the base by its last part only; other errors are not file errors', async () => {
    const outside = await realpath('/no-such-root-folder/secret/file.bin').catch((e: unknown) => e);
    assert.equal(fileErrorReason(outside, '/srv/models'), '"file.bin": not found (ENOENT)');
    assert.equal(fileErrorReason(new SyntaxError('bad JSON'), '/srv'), undefined);
    assert.equal(fileErrorReason(Object.assign(new Error('x'), { code: 'INVALID_ARGUMENT' }), '/srv'), undefined);
  });
});
