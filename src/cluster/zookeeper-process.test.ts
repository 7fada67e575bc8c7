import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fourLetterWord, startZooKeeperProcess, ZOOKEEPER_JAR } from './zookeeper-process.js';

describe('startZooKeeperProcess', { skip: existsSync(ZOOKEEPER_JAR) ? false : 'the Debian zookeeper package is not installed', timeout: 60_000 }, () => {
  it('starts a private server, stops and restarts it on the same port, and cleans up', async () => {
    const zk = await startZooKeeperProcess({ tickTimeMs: 500 });
    try {
      assert.match(zk.connectionString, /^127\.0\.0\.1:\d+$/);
      assert.equal(await fourLetterWord(zk.port, 'ruok'), 'imok');
      assert.ok(zk.running);
      await zk.stop();
      assert.ok(!zk.running);
      await assert.rejects(fourLetterWord(zk.port, 'ruok'), /ECONNREFUSED/);
      await zk.restart();
      assert.equal(await fourLetterWord(zk.port, 'ruok'), 'imok');
      assert.match(await fourLetterWord(zk.port, 'srvr'), /Mode: standalone/);
    } finally {
      await zk.close();
    }
    assert.ok(!existsSync(zk.dir), 'its temp folder is removed');
  });
});
