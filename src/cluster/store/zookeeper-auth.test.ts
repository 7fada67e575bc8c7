import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { digestId, parseZooKeeperAuth, zooKeeperAuthFrom } from './zookeeper-auth.js';

describe('ZooKeeper identity parsing', () => {
  it("user:password, the password may hold colons; digest ids are ZooKeeper's", () => {
    assert.deepEqual(parseZooKeeperAuth('u:p:q'), { user: 'u', password: 'p:q' });
    assert.throws(() => parseZooKeeperAuth('nopassword'), /user:password/);
    assert.throws(() => parseZooKeeperAuth(':p'), /user:password/);
    // ZooKeeper's DigestAuthenticationProvider.generateDigest("super:test") (documented example).
    assert.equal(digestId({ user: 'super', password: 'test' }), 'super:D/InIHSb7yEEbrWz8b9l71RjZJU=');
    assert.deepEqual(zooKeeperAuthFrom({ env: { CRANBERRIES_ZOOKEEPER_AUTH: 'a:b' } }), { user: 'a', password: 'b' });
    assert.equal(zooKeeperAuthFrom({ env: {} }), undefined);
  });
});
