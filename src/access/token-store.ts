/**
 * Bearer tokens from a file or an environment variable, compared in constant time.
 *
 * A token file holds one token per line (blank lines and lines starting with `#` are skipped), so
 * a token can be rotated without a restart: add the new one, move clients over, remove the old one.
 * The file is re-read when it changes (polled once a second with `fs.watchFile`, which also sees a
 * file replaced by a rename, as secret mounts do). A file that becomes unreadable or empty keeps no
 * token: every guarded request is refused until it is fixed (fail closed), and the failure is logged.
 *
 * Only SHA-256 digests of the tokens are kept; a presented token is hashed and compared with
 * `crypto.timingSafeEqual` against every digest, so neither the comparison time nor the length of
 * the presented token tells anything about a stored one.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import type { Logger } from 'pino';

/** Longest token accepted; longer ones are refused without hashing. */
const MAX_TOKEN_LENGTH = 4096;
const POLL_INTERVAL_MS = 1000;

export class TokenStore {
  private digests: readonly Buffer[];
  private readonly stopWatching: (() => void) | undefined;

  private constructor(tokens: readonly string[], watch?: { file: string; logger: Logger | undefined }) {
    this.digests = tokens.map(digest);
    if (watch === undefined) return;
    const { file, logger } = watch;
    const onChange = (current: Stats, previous: Stats): void => {
      if (current.mtimeMs === previous.mtimeMs && current.ino === previous.ino && current.size === previous.size) return;
      try {
        const next = readTokenFile(file);
        this.digests = next.map(digest);
        logger?.info({ file, tokens: next.length }, 'token file re-read');
      } catch (error) {
        this.digests = [];
        logger?.error({ file, err: (error as Error).message }, 'token file unreadable or empty: refusing every request it guards until it is fixed');
      }
    };
    watchFile(file, { interval: POLL_INTERVAL_MS, persistent: false }, onChange);
    this.stopWatching = () => unwatchFile(file, onChange);
  }

  /** Tokens given directly (tests, an environment variable). */
  static of(tokens: readonly string[]): TokenStore {
    if (tokens.length === 0) throw new Error('a token store needs at least one token');
    for (const token of tokens) checkToken(token, 'a token');
    return new TokenStore(tokens);
  }

  /** Tokens from `file` (read now; throws if unreadable or empty), followed as it changes. */
  static fromFile(file: string, logger?: Logger): TokenStore {
    return new TokenStore(readTokenFile(file), { file, logger });
  }

  /** Whether `presented` is one of the tokens. */
  accepts(presented: string): boolean {
    if (presented.length === 0 || presented.length > MAX_TOKEN_LENGTH) return false;
    const candidate = digest(presented);
    let match = false;
    // Every digest is compared, match or not: the time does not depend on which one matches.
    for (const stored of this.digests) match = timingSafeEqual(candidate, stored) || match;
    return match;
  }

  close(): void {
    this.stopWatching?.();
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

function checkToken(token: string, where: string): void {
  if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) throw new Error(`${where} must be 1 to ${MAX_TOKEN_LENGTH} characters long`);
  if (/\s/.test(token)) throw new Error(`${where} must not contain whitespace`);
}

export function readTokenFile(file: string): string[] {
  const tokens = readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  if (tokens.length === 0) throw new Error(`token file ${file} holds no token`);
  tokens.forEach((token, index) => checkToken(token, `token file ${file}, token ${index + 1}`));
  return tokens;
}

/** The token of an `Authorization: Bearer <token>` value; undefined for anything else. */
export function bearerToken(authorization: string | undefined): string | undefined {
  if (authorization === undefined) return undefined;
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization);
  return match?.[1];
}
