/**
 * A throw-away PKI for TLS tests, made with Debian's `openssl` CLI in a temporary folder: a CA,
 * server certificates for 127.0.0.1 and localhost (subjectAltName) signed by it, client
 * certificates, and a second, unrelated CA with its own client (which mutual TLS must refuse).
 * EC P-256 keys: quick to make, and every TLS stack in the tests speaks them.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const OPENSSL = '/usr/bin/openssl';

export interface CertPair {
  readonly certFile: string;
  readonly keyFile: string;
}

export interface Authority extends CertPair {
  readonly name: string;
}

export interface TestPki {
  readonly dir: string;
  readonly ca: Authority;
  /** Server certificate for IP 127.0.0.1 and DNS localhost, signed by `ca`. */
  readonly server: CertPair;
  /** Client certificate signed by `ca`. */
  readonly client: CertPair;
  /** A CA the servers do not trust, and a client certificate signed by it. */
  readonly otherCa: Authority;
  readonly otherClient: CertPair;
  /** Issues a further certificate (new key) into `dir` under `name`. */
  issue(authority: Authority, name: string, kind: 'server' | 'client'): Promise<CertPair>;
  remove(): Promise<void>;
}

export async function createTestPki(): Promise<TestPki> {
  if (!existsSync(OPENSSL)) throw new Error(`${OPENSSL} is missing: install the Debian openssl package`);
  const dir = await mkdtemp(join(tmpdir(), 'cranberries-pki-'));
  const makeAuthority = async (name: string): Promise<Authority> => {
    const pair = { name, certFile: join(dir, `${name}.crt`), keyFile: join(dir, `${name}.key`) };
    await openssl(
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-keyout',
      pair.keyFile,
      '-out',
      pair.certFile,
    );
    return pair;
  };
  const issue = async (authority: Authority, name: string, kind: 'server' | 'client'): Promise<CertPair> => {
    const pair = { certFile: join(dir, `${name}.crt`), keyFile: join(dir, `${name}.key`) };
    const request = join(dir, `${name}.csr`);
    const extensions = join(dir, `${name}.ext`);
    await writeFile(
      extensions,
      kind === 'server'
        ? 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n'
        : 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n',
    );
    await openssl('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${name}`, '-keyout', pair.keyFile, '-out', request);
    const serial = `0x${Date.now().toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`;
    await openssl('x509', '-req', '-in', request, '-CA', authority.certFile, '-CAkey', authority.keyFile, '-set_serial', serial, '-days', '2', '-extfile', extensions, '-out', pair.certFile);
    return pair;
  };
  try {
    const ca = await makeAuthority('test-ca');
    const otherCa = await makeAuthority('other-ca');
    const [server, client, otherClient] = await Promise.all([issue(ca, 'server', 'server'), issue(ca, 'client', 'client'), issue(otherCa, 'other-client', 'client')]);
    return { dir, ca, server, client, otherCa, otherClient, issue, remove: () => rm(dir, { recursive: true, force: true }) };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

async function openssl(...args: string[]): Promise<void> {
  try {
    await run(OPENSSL, args, { timeout: 30_000 });
  } catch (error) {
    const failed = error as { stderr?: string; message: string };
    throw new Error(`openssl ${args[0]} failed: ${failed.stderr?.trim() || failed.message}`);
  }
}
