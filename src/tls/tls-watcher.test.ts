import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { createTestPki, type TestPki } from '../../test/helpers/test-pki.js';
import { fileFingerprint } from '../../test/helpers/tls-probe.js';
import { checkTlsFiles, leafFingerprint, readTlsMaterialSync, TlsConfigError } from './tls-files.js';
import { TlsWatcher } from './tls-watcher.js';

let pki: TestPki;

before(async () => {
  pki = await createTestPki();
});

after(async () => {
  await pki?.remove();
});

test('files that do not make a usable identity are refused with a message naming them', async () => {
  assert.throws(
    () => readTlsMaterialSync({ certFile: `${pki.dir}/missing.crt`, keyFile: pki.server.keyFile }),
    (e: Error) => e instanceof TlsConfigError && /missing\.crt: ENOENT|cannot read .*missing\.crt/.test(e.message),
  );
  // The key of another certificate.
  assert.throws(
    () => readTlsMaterialSync({ certFile: pki.server.certFile, keyFile: pki.client.keyFile }),
    (e: Error) => e instanceof TlsConfigError && e.message.includes('server.crt') && /mismatch/i.test(e.message),
  );
  const empty = `${pki.dir}/empty.pem`;
  await writeFile(empty, '');
  assert.throws(() => readTlsMaterialSync({ certFile: empty, keyFile: pki.server.keyFile }), /empty\.pem is empty/);
  const notPem = `${pki.dir}/garbage.pem`;
  await writeFile(notPem, 'hello\n');
  assert.throws(() => readTlsMaterialSync({ certFile: pki.server.certFile, keyFile: pki.server.keyFile, caFile: notPem }), TlsConfigError);
  assert.throws(() => checkTlsFiles({ certFile: 'a.crt' }, 'server'), /--tls-cert-file and --tls-key-file must be given together/);
  assert.throws(() => checkTlsFiles({ caFile: 'ca.crt' }, 'server'), /--tls-ca-file needs --tls-cert-file/);
  assert.doesNotThrow(() => checkTlsFiles({ caFile: 'ca.crt' }, 'client'));
  const good = readTlsMaterialSync({ certFile: pki.server.certFile, keyFile: pki.server.keyFile, caFile: pki.ca.certFile });
  assert.equal(leafFingerprint(good), fileFingerprint(pki.server.certFile));
});

test('the watcher publishes changed files once, keeps the current material on bad files, and sees change events', async () => {
  const live = { certFile: `${pki.dir}/w.crt`, keyFile: `${pki.dir}/w.key` };
  await copyFile(pki.server.certFile, live.certFile);
  await copyFile(pki.server.keyFile, live.keyFile);
  const watcher = new TlsWatcher(live, { pollMs: 0, debounceMs: 50 });
  const published: string[] = [];
  watcher.changed.subscribe((m) => published.push(leafFingerprint(m) ?? ''));
  try {
    assert.equal(await watcher.reload(), false, 'unchanged files: nothing to publish');
    const renewed = await pki.issue(pki.ca, 'watch-renewed', 'server');
    // Half-written: the new certificate with the old key is refused; the old material stays.
    await writeFile(live.certFile, await readFile(renewed.certFile));
    assert.equal(await watcher.reload(), false);
    assert.equal(leafFingerprint(watcher.current), fileFingerprint(pki.server.certFile));
    await writeFile(live.keyFile, await readFile(renewed.keyFile));
    // The change event (no poll here) brings the complete pair in.
    const deadline = Date.now() + 10_000;
    while (published.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(published, [fileFingerprint(renewed.certFile)]);
    assert.equal(leafFingerprint(watcher.current), fileFingerprint(renewed.certFile));
  } finally {
    watcher.close();
  }
});
