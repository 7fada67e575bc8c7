/**
 * The server address of the client commands (`infer -u`, `bench -u`): `host:port`, or a URL with
 * scheme http://, https:// (REST), grpc:// or grpcs:// (gRPC). Without a scheme the command's
 * default protocol applies.
 */
import { InvalidArgumentError } from 'commander';

export const SERVER_SCHEMES = ['http', 'https', 'grpc', 'grpcs'] as const;
export type ServerScheme = (typeof SERVER_SCHEMES)[number];

export interface ServerAddress {
  /** As given; undefined for a bare `host:port`. */
  readonly scheme: ServerScheme | undefined;
  /** `host:port` or `host` (IPv6 in brackets). */
  readonly authority: string;
  /** A REST path prefix, `''` when none. */
  readonly path: string;
}

const AUTHORITY = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?$/;

function shown(value: string): string {
  return value.length > 80 ? `${value.slice(0, 80)}…` : value;
}

/** Parses a server address; InvalidArgumentError (for commander) when it is none. */
export function parseServerAddress(value: string): ServerAddress {
  const text = value.trim();
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/s.exec(text);
  let scheme: ServerScheme | undefined;
  let rest = text;
  if (match) {
    const given = (match[1] ?? '').toLowerCase();
    if (!(SERVER_SCHEMES as readonly string[]).includes(given)) {
      throw new InvalidArgumentError(`"${shown(text)}": unsupported scheme '${shown(given)}'; use host:port, http://, https://, grpc:// or grpcs://`);
    }
    scheme = given as ServerScheme;
    rest = match[2] ?? '';
  }
  const slash = rest.indexOf('/');
  const authority = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? '' : rest.slice(slash).replace(/\/+$/, '');
  const parts = AUTHORITY.exec(authority);
  if (!parts || (parts[2] !== undefined && Number(parts[2]) > 65535)) {
    throw new InvalidArgumentError(`"${shown(text)}" is not a server address: give host:port, optionally with http://, https://, grpc:// or grpcs://`);
  }
  if ((scheme === 'grpc' || scheme === 'grpcs') && path !== '') throw new InvalidArgumentError(`"${shown(text)}": a gRPC address has no path`);
  return { scheme, authority, path };
}

/** commander argument parser: checks the address, keeps the text. */
export function serverAddressArgument(value: string): string {
  parseServerAddress(value);
  return value.trim();
}

/** The address as a URL, with `defaultScheme` when it has none. */
export function serverUrl(address: ServerAddress, defaultScheme: ServerScheme): string {
  return `${address.scheme ?? defaultScheme}://${address.authority}${address.path}`;
}
