/**
 * B8's peers: nginx (REST `proxy_pass` with upstream keepalive, gRPC `grpc_pass`) and HAProxy (HTTP
 * mode with connection reuse; gRPC over h2 both sides), each in front of the same Cranberries worker
 * as the gateway, one process each (nginx `master_process off`, HAProxy `nbthread 1`, so their CPU
 * is one process's). Configs are written into a temp folder and removed on stop.
 *
 * The binaries come from Debian (`nginx-light`, `haproxy`). When they are missing and the suite runs
 * as root it installs them with apt-get; otherwise the peer is skipped with the command to run.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type PeerName = 'nginx' | 'haproxy';
export const PEER_PACKAGES = 'nginx-light haproxy';
export const PEER_INSTALL_HINT = `apt-get install -y ${PEER_PACKAGES}`;

export interface Peer {
  readonly name: PeerName;
  /** host:port of its REST (HTTP/1.1) and gRPC (h2c) fronts. */
  readonly http: string;
  readonly grpc: string;
  readonly pid: number;
  stop(): Promise<void>;
}

const BINARIES: Record<PeerName, readonly string[]> = { nginx: ['/usr/sbin/nginx'], haproxy: ['/usr/sbin/haproxy'] };

function binaryOf(name: PeerName): string | undefined {
  return BINARIES[name].find((path) => existsSync(path));
}

/**
 * Makes sure the peers' binaries exist: installs the Debian packages when root. Returns why a peer
 * cannot run, per missing peer.
 */
export function ensurePeerBinaries(log: (message: string) => void): Partial<Record<PeerName, string>> {
  const missing = (['nginx', 'haproxy'] as const).filter((name) => !binaryOf(name));
  if (missing.length > 0 && process.getuid?.() === 0) {
    log(`B8: installing the peers (${PEER_INSTALL_HINT})`);
    try {
      execFileSync('apt-get', ['install', '-y', ...PEER_PACKAGES.split(' ')], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    } catch (error) {
      log(`B8: apt-get failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const reasons: Partial<Record<PeerName, string>> = {};
  for (const name of ['nginx', 'haproxy'] as const) {
    if (!binaryOf(name)) reasons[name] = `${name} is not installed; run as root: ${PEER_INSTALL_HINT}`;
  }
  return reasons;
}

export async function startPeer(name: PeerName, worker: { http: string; grpc: string }): Promise<Peer> {
  const binary = binaryOf(name);
  if (!binary) throw new Error(`${name} is not installed (${PEER_INSTALL_HINT})`);
  const dir = await mkdtemp(join(tmpdir(), `cranberries-b8-${name}-`));
  const [httpPort, grpcPort] = [await freePort(), await freePort()];
  const conf = join(dir, `${name}.conf`);
  await writeFile(conf, name === 'nginx' ? nginxConfig(dir, httpPort, grpcPort, worker) : haproxyConfig(httpPort, grpcPort, worker));
  const args = name === 'nginx' ? ['-c', conf, '-p', dir] : ['-f', conf, '-db'];
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
  await waitListening(child, httpPort, () => stderr);
  await waitListening(child, grpcPort, () => stderr);
  return {
    name,
    http: `127.0.0.1:${httpPort}`,
    grpc: `127.0.0.1:${grpcPort}`,
    pid: child.pid!,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        // nginx: SIGQUIT is its graceful stop; HAProxy: SIGUSR1 is; both end on SIGTERM too.
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function nginxConfig(dir: string, httpPort: number, grpcPort: number, worker: { http: string; grpc: string }): string {
  return `daemon off;
master_process off;
worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${join(dir, 'body')};
  proxy_temp_path ${join(dir, 'proxy')};
  fastcgi_temp_path ${join(dir, 'fastcgi')};
  uwsgi_temp_path ${join(dir, 'uwsgi')};
  scgi_temp_path ${join(dir, 'scgi')};
  client_max_body_size 64m;
  keepalive_requests 1000000;
  upstream rest_worker { server ${worker.http}; keepalive 64; keepalive_requests 1000000; }
  upstream grpc_worker { server ${worker.grpc}; keepalive 64; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:${httpPort};
    location / {
      proxy_pass http://rest_worker;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }
  }
  server {
    listen 127.0.0.1:${grpcPort} http2;
    http2_max_requests 1000000;
    location / { grpc_pass grpc://grpc_worker; }
  }
}
`;
}

function haproxyConfig(httpPort: number, grpcPort: number, worker: { http: string; grpc: string }): string {
  return `global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  option http-keep-alive
frontend rest
  bind 127.0.0.1:${httpPort}
  default_backend rest_worker
backend rest_worker
  http-reuse always
  server w ${worker.http}
frontend grpc
  bind 127.0.0.1:${grpcPort} proto h2
  default_backend grpc_worker
backend grpc_worker
  http-reuse always
  server w ${worker.grpc} proto h2
`;
}

/** A port free on 127.0.0.1 now (bound and released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Polls a TCP connect to the port (every 50 ms, at most 10 s); fails early if the process exits. */
async function waitListening(child: ChildProcess, port: number, stderr: () => string): Promise<void> {
  const { connect } = await import('node:net');
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the peer exited with code ${child.exitCode}: ${stderr()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the peer did not listen on port ${port} within 10 s: ${stderr()}`);
}
