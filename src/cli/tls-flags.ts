/** The `--tls-*` flags of the serving commands (serve, worker, gateway): one TLS setup for every listener of the process. */
import type { Command } from 'commander';
import { checkTlsFiles, clientTlsOf, readTlsMaterialSync, type ClientTlsOptions, type ServerTlsConfig, type TlsFiles } from '../tls/index.js';
import { nonNegativeNumber } from './options.js';

export interface TlsFlags {
  tlsCertFile?: string;
  tlsKeyFile?: string;
  tlsCaFile?: string;
  tlsReloadPollSecs: number;
}

export function addTlsFlags(command: Command): Command {
  return command
    .option('--tls-cert-file <file>', 'serve HTTPS, gRPC over TLS and metrics over HTTPS with this PEM certificate chain (needs --tls-key-file)')
    .option('--tls-key-file <file>', 'PEM private key of --tls-cert-file')
    .option('--tls-ca-file <file>', 'mutual TLS: require client certificates signed by this PEM CA bundle')
    .option('--tls-reload-poll-secs <seconds>', 're-read the TLS files this often besides on change events; 0 = only on events', nonNegativeNumber, 30);
}

/** The server TLS of the flags; undefined when no TLS flag is given. Throws on an incomplete set. */
export function tlsOptions(flags: TlsFlags): ServerTlsConfig | undefined {
  const files: TlsFiles = { certFile: flags.tlsCertFile, keyFile: flags.tlsKeyFile, caFile: flags.tlsCaFile };
  checkTlsFiles(files, 'server');
  if (files.certFile === undefined || files.keyFile === undefined) return undefined;
  return { certFile: files.certFile, keyFile: files.keyFile, caFile: files.caFile, reloadPollMs: Math.round(flags.tlsReloadPollSecs * 1000) };
}

export interface UpstreamTlsFlags {
  upstreamTlsCaFile?: string;
  upstreamTlsCertFile?: string;
  upstreamTlsKeyFile?: string;
}

/** The gateway's TLS towards its workers. */
export function addUpstreamTlsFlags(command: Command): Command {
  return command
    .option('--upstream-tls-ca-file <file>', 'connect to the workers over TLS, trusting this PEM CA bundle (the workers run with --tls-*)')
    .option('--upstream-tls-cert-file <file>', 'client certificate the gateway presents to workers that require mutual TLS (implies TLS to workers)')
    .option('--upstream-tls-key-file <file>', 'PEM private key of --upstream-tls-cert-file');
}

/** TLS to the workers; undefined when no upstream flag is given (plaintext). */
export function upstreamTlsOptions(flags: UpstreamTlsFlags & TlsFlags): (TlsFiles & { reloadPollMs: number }) | undefined {
  const files: TlsFiles = { certFile: flags.upstreamTlsCertFile, keyFile: flags.upstreamTlsKeyFile, caFile: flags.upstreamTlsCaFile };
  checkTlsFiles(files, 'client', '--upstream-tls');
  if (files.certFile === undefined && files.caFile === undefined) return undefined;
  return { ...files, reloadPollMs: Math.round(flags.tlsReloadPollSecs * 1000) };
}

export interface ClientTlsFlags {
  tlsCaFile?: string;
  tlsCertFile?: string;
  tlsKeyFile?: string;
}

/** TLS of the client commands (infer, bench): for https:// and grpcs:// URLs. */
export function addClientTlsFlags(command: Command): Command {
  return command
    .option('--tls-ca-file <file>', "https:// or grpcs://: trust servers whose certificate chains to this PEM CA bundle (default: the system's roots)")
    .option('--tls-cert-file <file>', 'client certificate for servers that require mutual TLS (PEM)')
    .option('--tls-key-file <file>', 'PEM private key of --tls-cert-file');
}

/** The client TLS settings of the flags (files read and checked now); undefined when none is given. */
export function clientTlsOptions(flags: ClientTlsFlags): ClientTlsOptions | undefined {
  const files: TlsFiles = { certFile: flags.tlsCertFile, keyFile: flags.tlsKeyFile, caFile: flags.tlsCaFile };
  checkTlsFiles(files, 'client');
  if (files.certFile === undefined && files.caFile === undefined) return undefined;
  return clientTlsOf(readTlsMaterialSync(files));
}
