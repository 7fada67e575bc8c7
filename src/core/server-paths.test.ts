import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { clientMessage, registerServerFolder, scrubServerPaths } from './server-paths.js';

describe('server paths in client messages', () => {
  it('shows paths inside a registered folder relative to it, the longest folder first', () => {
    const forgetRepo = registerServerFolder('/srv/models');
    const forgetNested = registerServerFolder('/srv/models/m/1');
    try {
      assert.equal(scrubServerPaths('missing "/srv/models/m/2/weights.bin"'), 'missing "m/2/weights.bin"');
      assert.equal(scrubServerPaths('missing "/srv/models/m/1/weights.bin"'), 'missing "weights.bin"');
      assert.equal(scrubServerPaths('cannot read /srv/models'), 'cannot read .');
      assert.equal(scrubServerPaths('no paths here'), 'no paths here');
    } finally {
      forgetNested();
      forgetRepo();
    }
    assert.equal(scrubServerPaths('/srv/models/m/2/weights.bin'), '/srv/models/m/2/weights.bin', 'unregistered');
  });

  it('counts registrations: a folder stays registered until every registration is gone', () => {
    const first = registerServerFolder('/srv/shared');
    const second = registerServerFolder('/srv/shared/');
    first();
    first();
    assert.equal(scrubServerPaths('/srv/shared/a'), 'a');
    second();
    assert.equal(scrubServerPaths('/srv/shared/a'), '/srv/shared/a');
  });

  it('always hides the temporary directory, and bounds the message', () => {
    assert.equal(scrubServerPaths(`${tmpdir()}/cranberries-overrides-x/1/1/model.onnx`), 'cranberries-overrides-x/1/1/model.onnx');
    const long = clientMessage(`${tmpdir()}/${'y'.repeat(5000)}`);
    assert.ok(long.length < 1100);
    assert.ok(!long.includes(tmpdir()));
  });
});
