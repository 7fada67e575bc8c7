/**
 * TLS for Cranberries: loading and checking PEM files, watching them for changes (certificate
 * reload without a restart), and the option shapes every listener (fastify/https, node:http2,
 * grpc-js, the metrics server) and every outgoing connection (undici, node:http2, grpc-js) needs.
 */
export { TlsConfigError, checkTlsFiles, leafFingerprint, readTlsMaterial, readTlsMaterialSync, type TlsFiles, type TlsMaterial } from './tls-files.js';
export { TlsWatcher, type TlsWatchOptions } from './tls-watcher.js';
export { ServerTls, followTlsChanges, serverSecureContext, serverTlsOptions, type ServerTlsConfig, type ServerTlsFiles } from './server-tls.js';
export { clientConnectionOptions, clientTlsOf, grpcChannelCredentials, type ClientTlsOptions } from './client-tls.js';
