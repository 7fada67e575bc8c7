/**
 * B1's baseline: a bare `node:http` server, in its own process, that reads each request body to the
 * end and answers with fixed bytes — the exact answer the real server gave for the same request.
 * It is what serving costs with no routing, decoding, validation, queueing, worker hop or encoding.
 *
 * Run as `node bare-server.js <answer file> <content-type>`; prints `PORT <n>` once listening.
 * When imported, `startBareServer` spawns it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { RestTransport, type PreparedHttpRequest } from '../../src/load-generator/rest-transport.js';

const SELF = fileURLToPath(import.meta.url);

export interface BareServer {
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
}

export async function startBareServer(answerFile: string, contentType: string): Promise<BareServer> {
  const child: ChildProcess = spawn(process.execPath, [SELF, answerFile, contentType], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let text = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      text += chunk;
      const match = /PORT (\d+)/.exec(text);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`the bare server exited with code ${code}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * A bare server that answers `request` with exactly what the real server at `url` answered it
 * (recorded once into `answerFile`), and a sender of `request` to it over the same load generator.
 */
export async function startBareReplay(
  url: string,
  request: PreparedHttpRequest,
  answerFile: string,
  connections: number,
): Promise<{ send: () => Promise<void>; stop: () => Promise<void>; pid: number }> {
  const answer = await fetch(url + request.path, { method: 'POST', headers: request.headers, body: request.body });
  if (answer.status !== 200) throw new Error(`${request.path} answered ${answer.status}: ${await answer.text()}`);
  await writeFile(answerFile, Buffer.from(await answer.arrayBuffer()));
  const server = await startBareServer(answerFile, answer.headers.get('content-type') ?? 'application/json');
  const transport = new RestTransport({ url: server.url, binary: false, connections });
  return {
    send: transport.sender(request),
    pid: server.pid,
    stop: async () => {
      await transport.close();
      await server.stop();
    },
  };
}

function serve(answerFile: string, contentType: string): void {
  const answer = readFileSync(answerFile);
  const server = createServer((request, response) => {
    request.on('data', () => {});
    request.on('end', () => {
      response.writeHead(200, { 'content-type': contentType, 'content-length': answer.byteLength });
      response.end(answer);
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => process.stdout.write(`PORT ${(server.address() as AddressInfo).port}\n`));
  process.on('SIGTERM', () => process.exit(0));
}

if (process.argv[1] === SELF) serve(process.argv[2] ?? '', process.argv[3] ?? 'application/json');
