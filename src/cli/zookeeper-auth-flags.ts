/**
 * `--zookeeper-auth user:password` / `--zookeeper-auth-file FILE` (or `CRANBERRIES_ZOOKEEPER_AUTH`)
 * for every command that talks to the cluster's ZooKeeper (`controller`, `worker`, `gateway`):
 * the cluster's identity, with which its nodes are created and changed (`zookeeper-auth.ts`).
 */
import { InvalidArgumentError, type Command } from 'commander';
import { parseZooKeeperAuth, zooKeeperAuthFrom, ZOOKEEPER_AUTH_ENV, type ZooKeeperAuth } from '../cluster/index.js';

export interface ZooKeeperAuthFlags {
  zookeeperAuth?: string;
  zookeeperAuthFile?: string;
}

export function addZooKeeperAuthFlags(command: Command): Command {
  return command
    .option(
      '--zookeeper-auth <user:password>',
      `the cluster's ZooKeeper identity (digest): nodes are created so only it can read or change them (or $${ZOOKEEPER_AUTH_ENV}); prefer the file or the variable, command lines are visible to other users`,
      checkAuth,
    )
    .option('--zookeeper-auth-file <file>', "file whose first line is the cluster's ZooKeeper identity user:password");
}

export function zooKeeperAuthFromFlags(flags: ZooKeeperAuthFlags, env: NodeJS.ProcessEnv = process.env): ZooKeeperAuth | undefined {
  return zooKeeperAuthFrom({ value: flags.zookeeperAuth, file: flags.zookeeperAuthFile, env });
}

function checkAuth(value: string): string {
  try {
    parseZooKeeperAuth(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
  return value;
}
