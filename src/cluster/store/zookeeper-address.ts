/**
 * ZooKeeper connection strings, `host:port[,host:port...][/chroot]` (the Java client's format), and
 * the mapping of the client library's error codes to Cranberries' error catalogue.
 */
import { CranberriesError, invalidArgument, type ErrorCode } from '../../core/index.js';
import { Exception } from 'node-zookeeper-client';
import { validatePath } from './store-paths.js';

export interface ZooKeeperAddress {
  /** `host:port,host:port` as the client library takes it. */
  readonly servers: string;
  /** The chroot, e.g. `/prod`; undefined when the string has none. */
  readonly chroot: string | undefined;
}

/** Parses and validates a connection string; INVALID_ARGUMENT names what is wrong. */
export function parseZooKeeperAddress(text: string): ZooKeeperAddress {
  const trimmed = text.trim();
  const slash = trimmed.indexOf('/');
  const hostList = slash < 0 ? trimmed : trimmed.slice(0, slash);
  let chroot = slash < 0 ? undefined : trimmed.slice(slash);
  if (chroot === '/') chroot = undefined;
  if (chroot !== undefined) {
    try {
      validatePath(chroot);
    } catch {
      throw invalidArgument(`ZooKeeper connection string '${text}': invalid chroot '${chroot}'`);
    }
  }
  const servers = hostList.split(',').map((s) => s.trim());
  if (servers.length === 0 || servers.some((s) => s === '')) {
    throw invalidArgument(`ZooKeeper connection string '${text}': expected host:port[,host:port...][/chroot]`);
  }
  for (const server of servers) {
    const match = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/.exec(server);
    const port = match ? Number(match[2]) : NaN;
    if (!match || port < 1 || port > 65535) {
      throw invalidArgument(`ZooKeeper connection string '${text}': '${server}' is not host:port`);
    }
  }
  return { servers: servers.join(','), chroot };
}

/** The library's callback errors are `Exception` objects (not `Error`s) with a numeric code. */
export function zooKeeperErrorCode(error: unknown): number | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'number') return error.code;
  return undefined;
}

const CODE_MAP: ReadonlyMap<number, ErrorCode> = new Map([
  [Exception.NO_NODE, 'NOT_FOUND'],
  [Exception.NODE_EXISTS, 'ALREADY_EXISTS'],
  [Exception.BAD_VERSION, 'FAILED_PRECONDITION'],
  [Exception.NOT_EMPTY, 'FAILED_PRECONDITION'],
  [Exception.NO_CHILDREN_FOR_EPHEMERALS, 'FAILED_PRECONDITION'],
  [Exception.CONNECTION_LOSS, 'UNAVAILABLE'],
  [Exception.SESSION_EXPIRED, 'UNAVAILABLE'],
  [Exception.OPERATION_TIMEOUT, 'UNAVAILABLE'],
  [Exception.BAD_ARGUMENTS, 'INVALID_ARGUMENT'],
]);

/** Converts a library error into a CranberriesError that says what was attempted on which path. */
export function fromZooKeeperError(error: unknown, what: string, path: string): CranberriesError {
  if (error instanceof CranberriesError) return error;
  const code = zooKeeperErrorCode(error);
  const name = typeof error === 'object' && error !== null && 'name' in error && typeof error.name === 'string' ? error.name : String(error);
  const mapped = code === undefined ? 'INTERNAL' : (CODE_MAP.get(code) ?? 'INTERNAL');
  return new CranberriesError(mapped, `ZooKeeper ${what} '${path}' failed: ${name}`, { cause: error });
}
