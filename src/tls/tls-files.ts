/**
 * TLS material as files on disk (PEM): a certificate chain and its private key (this side's
 * identity) and a CA bundle (the peers this side trusts). Read and checked together, so a
 * certificate that does not match its key, or a file that is not PEM, is refused with a message
 * naming the file instead of failing later inside a handshake.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';

export interface TlsFiles {
  /** PEM certificate chain (leaf first). Required for a server; for a client, only for mutual TLS. */
  readonly certFile?: string | undefined;
  /** PEM private key of `certFile`. */
  readonly keyFile?: string | undefined;
  /** PEM CA bundle: a server requires client certificates signed by it; a client trusts servers signed by it. */
  readonly caFile?: string | undefined;
}

export interface TlsMaterial {
  readonly cert: Buffer | undefined;
  readonly key: Buffer | undefined;
  readonly ca: Buffer | undefined;
}

/** Bad TLS files (missing, unreadable, not PEM, key not matching the certificate). */
export class TlsConfigError extends Error {
  override readonly name = 'TlsConfigError';
}

/** Files larger than this are not certificates: refused before reading them whole. */
const MAX_FILE_BYTES = 1 << 20;

/** Checks that the file names make sense together; `role` says whether this side needs an identity. */
export function checkTlsFiles(files: TlsFiles, role: 'server' | 'client', flagPrefix = '--tls'): void {
  if ((files.certFile === undefined) !== (files.keyFile === undefined)) {
    throw new TlsConfigError(`${flagPrefix}-cert-file and ${flagPrefix}-key-file must be given together`);
  }
  if (role === 'server' && files.certFile === undefined && files.caFile !== undefined) {
    throw new TlsConfigError(`${flagPrefix}-ca-file needs ${flagPrefix}-cert-file and ${flagPrefix}-key-file (the server's own certificate)`);
  }
}

/** Reads and checks the files now (startup: a bad file stops the process with a clear message). */
export function readTlsMaterialSync(files: TlsFiles): TlsMaterial {
  const material = { cert: readSync(files.certFile), key: readSync(files.keyFile), ca: readSync(files.caFile) };
  validate(material, files);
  return material;
}

/** Reads and checks the files (reload). Rejects with a TlsConfigError. */
export async function readTlsMaterial(files: TlsFiles): Promise<TlsMaterial> {
  const [cert, key, ca] = await Promise.all([read(files.certFile), read(files.keyFile), read(files.caFile)]);
  const material = { cert, key, ca };
  validate(material, files);
  return material;
}

export function sameMaterial(a: TlsMaterial, b: TlsMaterial): boolean {
  return equal(a.cert, b.cert) && equal(a.key, b.key) && equal(a.ca, b.ca);
}

/** SHA-256 fingerprint of the leaf certificate (`AA:BB:...`), for logs. */
export function leafFingerprint(material: TlsMaterial): string | undefined {
  if (material.cert === undefined) return undefined;
  try {
    return new X509Certificate(material.cert).fingerprint256;
  } catch {
    return createHash('sha256').update(material.cert).digest('hex');
  }
}

function equal(a: Buffer | undefined, b: Buffer | undefined): boolean {
  return a === undefined || b === undefined ? a === b : a.equals(b);
}

function validate(material: TlsMaterial, files: TlsFiles): void {
  try {
    // Parses every PEM block and checks the key against the certificate, as a handshake would.
    createSecureContext({ cert: material.cert, key: material.key, ca: material.ca });
  } catch (error) {
    const which = [files.certFile, files.keyFile, files.caFile].filter((f) => f !== undefined).join(', ');
    throw new TlsConfigError(`TLS files ${which} are not usable: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (material.cert !== undefined) {
    try {
      new X509Certificate(material.cert);
    } catch {
      throw new TlsConfigError(`${files.certFile}: not a PEM certificate`);
    }
  }
  if (material.ca !== undefined && !material.ca.includes('-----BEGIN CERTIFICATE-----')) {
    throw new TlsConfigError(`${files.caFile}: no PEM certificate in the CA file`);
  }
}

function readSync(file: string | undefined): Buffer | undefined {
  if (file === undefined) return undefined;
  try {
    checkSize(file, statSync(file).size);
    return readFileSync(file);
  } catch (error) {
    throw readError(file, error);
  }
}

async function read(file: string | undefined): Promise<Buffer | undefined> {
  if (file === undefined) return undefined;
  try {
    checkSize(file, (await stat(file)).size);
    return await readFile(file);
  } catch (error) {
    throw readError(file, error);
  }
}

/** Checked before reading: an empty file is one being rewritten, a huge one is not PEM material. */
function checkSize(file: string, size: number): void {
  if (size === 0) throw new TlsConfigError(`${file} is empty`);
  if (size > MAX_FILE_BYTES) throw new TlsConfigError(`${file} is larger than ${MAX_FILE_BYTES} bytes: not a PEM certificate or key`);
}

function readError(file: string, error: unknown): TlsConfigError {
  if (error instanceof TlsConfigError) return error;
  return new TlsConfigError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
}
