/**
 * The gRPC listener limits (`listener-limits.ts`) for a raw `node:http2` server, such as the
 * gateway's gRPC front (grpc-js applies them itself for its own servers; this mirrors what grpc-js
 * does with the same options, so both ports behave alike):
 *
 * - connections beyond `maxConnections` are closed as soon as they are accepted;
 * - a session without open streams for `idleTimeoutMs` gets a GOAWAY and is closed; this includes
 *   a connection that sent only the preface or nothing at all, since the timer starts when the
 *   connection is accepted;
 * - a session is pinged after `keepaliveTimeMs` without a ping, and destroyed when the ping is not
 *   answered within `keepaliveTimeoutMs`;
 * - a session older than `maxConnectionAgeMs` gets a GOAWAY and, `maxConnectionAgeGraceMs` later,
 *   is destroyed with whatever calls it still has;
 * - `maxConcurrentStreams` belongs in the server's settings (`http2SettingsWithLimits`).
 *
 * A GOAWAY'd session whose peer never finishes is destroyed after the keepalive timeout, so a
 * client that stops reading cannot keep it.
 */
import type { Http2Server, Http2Session, ServerHttp2Session, ServerHttp2Stream, Settings } from 'node:http2';
import type { GrpcListenerLimits } from '../common/index.js';

export function http2SettingsWithLimits(settings: Settings, limits: GrpcListenerLimits): Settings {
  return { ...settings, maxConcurrentStreams: limits.maxConcurrentStreams };
}

export function applyHttp2SessionLimits(server: Http2Server, limits: GrpcListenerLimits): void {
  if (limits.maxConnections > 0) server.maxConnections = limits.maxConnections;
  server.on('session', (session: ServerHttp2Session) => guardSession(session, limits));
}

function guardSession(session: Http2Session, limits: GrpcListenerLimits): void {
  // One slot per purpose, so a long-lived session holds a bounded number of timers.
  const timers: Record<'idle' | 'ping' | 'pingDeadline' | 'age' | 'grace', NodeJS.Timeout | undefined> = {
    idle: undefined,
    ping: undefined,
    pingDeadline: undefined,
    age: undefined,
    grace: undefined,
  };
  const set = (slot: keyof typeof timers, ms: number, run: () => void): void => {
    clearTimeout(timers[slot]);
    const timer = setTimeout(run, ms);
    timer.unref();
    timers[slot] = timer;
  };
  const clear = (slot: keyof typeof timers): void => {
    clearTimeout(timers[slot]);
    timers[slot] = undefined;
  };
  const closeGracefully = (graceMs: number): void => {
    if (session.closed || session.destroyed) return;
    session.close();
    set('grace', graceMs, () => {
      if (!session.destroyed) session.destroy();
    });
  };

  let activeStreams = 0;
  const startIdle = (): void => {
    if (limits.idleTimeoutMs > 0) set('idle', limits.idleTimeoutMs, () => closeGracefully(limits.keepaliveTimeoutMs));
  };
  session.on('stream', (stream: ServerHttp2Stream) => {
    activeStreams++;
    clear('idle');
    stream.once('close', () => {
      activeStreams--;
      if (activeStreams === 0 && !session.closed) startIdle();
    });
  });
  startIdle();

  if (limits.keepaliveTimeMs > 0) {
    const ping = (): void => {
      if (session.destroyed) return;
      set('pingDeadline', limits.keepaliveTimeoutMs, () => session.destroy());
      let sent = false;
      try {
        sent = session.ping((error) => {
          clear('pingDeadline');
          if (error) session.destroy();
          else set('ping', limits.keepaliveTimeMs, ping);
        });
      } catch {
        sent = false;
      }
      if (!sent) {
        clear('pingDeadline');
        session.destroy();
      }
    };
    set('ping', limits.keepaliveTimeMs, ping);
  }

  if (limits.maxConnectionAgeMs > 0) {
    const jitter = (Math.random() * 0.2 - 0.1) * limits.maxConnectionAgeMs;
    set('age', limits.maxConnectionAgeMs + jitter, () => closeGracefully(limits.maxConnectionAgeGraceMs));
  }

  session.once('close', () => {
    for (const slot of Object.keys(timers) as (keyof typeof timers)[]) clear(slot);
  });
}
