/**
 * Small TLS probes for tests: the certificate a port presents to a new connection, and whether a
 * handshake (with or without a client certificate) is accepted. Loopback only.
 */
import { readFileSync } from 'node:fs';
import { connect, type ConnectionOptions } from 'node:tls';
import { X509Certificate } from 'node:crypto';

/** SHA-256 fingerprint (`AA:BB:...`) of the certificate in a PEM file. */
export function fileFingerprint(certFile: string): string {
  return new X509Certificate(readFileSync(certFile)).fingerprint256;
}

/** The fingerprint of the leaf certificate a new TLS connection to `port` is shown. */
export function presentedFingerprint(port: number, ca: Buffer, alpn?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost', ...(alpn ? { ALPNProtocols: [alpn] } : {}) }, () => {
      const fingerprint = socket.getPeerCertificate().fingerprint256;
      socket.destroy();
      resolve(fingerprint);
    });
    socket.once('error', reject);
    socket.setTimeout(10_000, () => socket.destroy(new Error('TLS probe timed out')));
  });
}

/**
 * Whether the server keeps a TLS connection made with `options`: with TLS 1.3 a server refuses a
 * client certificate only after the client's side of the handshake is done, so this waits for
 * either the server's alert (refused) or an answer to a request line (accepted).
 */
export function handshakeAccepted(port: number, options: ConnectionOptions, alpn?: string): Promise<{ accepted: boolean; error?: string }> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ...options, ...(alpn ? { ALPNProtocols: [alpn] } : {}) }, () => {
      // HTTP/1.1 for REST/metrics; an HTTP/2 port answers the preface-less bytes with a GOAWAY frame, also data.
      socket.write('GET /v2/health/live HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n');
    });
    let settled = false;
    const done = (result: { accepted: boolean; error?: string }): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve(result);
    };
    socket.once('data', () => done({ accepted: true }));
    socket.once('error', (error: NodeJS.ErrnoException) => done({ accepted: false, error: error.code ?? error.message }));
    socket.once('close', () => done({ accepted: false, error: 'closed' }));
    socket.setTimeout(10_000, () => done({ accepted: false, error: 'timeout' }));
  });
}
