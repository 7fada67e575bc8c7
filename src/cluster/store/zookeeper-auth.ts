/**
 * The cluster's identity in ZooKeeper (`--zookeeper-auth user:password`, `--zookeeper-auth-file`,
 * or `CRANBERRIES_ZOOKEEPER_AUTH`) and the ACL its nodes get.
 *
 * Scheme `digest`: the session sends `user:password`; a node's ACL names the identity as
 * `user:base64(sha1(user:password))`. Every node the cluster creates gives that identity all
 * rights and the world none: without the credentials a client can neither change placement
 * (create, set, delete) nor read the cluster's state (worker addresses, assignments). Operators
 * inspect it with `addauth digest user:password` in zkCli.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ACL, Id, Permission } from 'node-zookeeper-client';

export const ZOOKEEPER_AUTH_ENV = 'CRANBERRIES_ZOOKEEPER_AUTH';

export interface ZooKeeperAuth {
  readonly user: string;
  readonly password: string;
}

/** `user:password` → the identity; the user must not contain ':', the password may. */
export function parseZooKeeperAuth(text: string): ZooKeeperAuth {
  const trimmed = text.trim();
  const colon = trimmed.indexOf(':');
  if (colon <= 0 || colon === trimmed.length - 1) throw new Error('ZooKeeper auth must be user:password (both non-empty)');
  return { user: trimmed.slice(0, colon), password: trimmed.slice(colon + 1) };
}

/** The identity from a flag value, a file (first line), or the environment; undefined when none is given. */
export function zooKeeperAuthFrom(options: { value?: string | undefined; file?: string | undefined; env?: NodeJS.ProcessEnv }): ZooKeeperAuth | undefined {
  if (options.value !== undefined) return parseZooKeeperAuth(options.value);
  if (options.file !== undefined) {
    const line = readFileSync(options.file, 'utf8')
      .split(/\r?\n/)
      .find((l) => l.trim() !== '' && !l.trim().startsWith('#'));
    if (line === undefined) throw new Error(`ZooKeeper auth file ${options.file} is empty`);
    return parseZooKeeperAuth(line);
  }
  const fromEnv = (options.env ?? process.env)[ZOOKEEPER_AUTH_ENV];
  return fromEnv !== undefined && fromEnv.trim() !== '' ? parseZooKeeperAuth(fromEnv) : undefined;
}

/** The digest id ZooKeeper compares an authenticated session's `user:password` against. */
export function digestId(auth: ZooKeeperAuth): string {
  const hash = createHash('sha1').update(`${auth.user}:${auth.password}`, 'utf8').digest('base64');
  return `${auth.user}:${hash}`;
}

/** All rights to the cluster identity, none to anyone else. */
export function clusterAcls(auth: ZooKeeperAuth): ACL[] {
  return [new ACL(Permission.ALL, new Id('digest', digestId(auth)))];
}

/** ZooKeeper's default for nodes created without an identity: everything to everyone. */
export function openAcls(): ACL[] {
  return [new ACL(Permission.ALL, new Id('world', 'anyone'))];
}
