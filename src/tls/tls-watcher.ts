/**
 * Keeps TLS material current without a restart: watches the folders of the certificate, key and
 * CA files (a change event, debounced: writers replace the certificate and the key one after the
 * other, or swap a symlinked folder as Kubernetes secrets do) and polls them as a safety net for
 * filesystems whose change events do not arrive. New material is read, checked (the key must match
 * the certificate) and published; material that does not check keeps the previous one in force and
 * logs a warning, once per distinct failure.
 */
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Logger } from 'pino';
import { EventChannel } from '../core/index.js';
import { leafFingerprint, readTlsMaterial, readTlsMaterialSync, sameMaterial, type TlsFiles, type TlsMaterial } from './tls-files.js';

export interface TlsWatchOptions {
  readonly logger?: Logger | undefined;
  /** Re-read the files this often even without a change event; 0: only on events. Default 30 s. */
  readonly pollMs?: number | undefined;
  /** Quiet time after a change event before reading. Default 250 ms. */
  readonly debounceMs?: number | undefined;
}

export class TlsWatcher {
  /** Each time new material has been read, checked and taken into use. */
  readonly changed = new EventChannel<TlsMaterial>();
  private material: TlsMaterial;
  private readonly watchers: FSWatcher[] = [];
  private readonly poll: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private readonly debounceMs: number;
  private reading: Promise<boolean> | undefined;
  private again = false;
  private lastFailure: string | undefined;
  private closed = false;

  /** Reads the files now (throws a TlsConfigError when they are not usable), then watches them. */
  constructor(
    readonly files: TlsFiles,
    private readonly options: TlsWatchOptions = {},
  ) {
    this.material = readTlsMaterialSync(files);
    this.debounceMs = options.debounceMs ?? 250;
    const paths = [files.certFile, files.keyFile, files.caFile].filter((f): f is string => f !== undefined);
    for (const folder of new Set(paths.map((p) => dirname(p)))) {
      try {
        const watcher = watch(folder, { persistent: false }, () => this.scheduleReload());
        watcher.on('error', () => undefined); // the poll still covers the files
        this.watchers.push(watcher);
      } catch {
        // No change events here (e.g. a folder that cannot be watched): the poll covers it.
      }
    }
    const pollMs = options.pollMs ?? 30_000;
    if (pollMs > 0) {
      this.poll = setInterval(() => void this.reload(), pollMs);
      this.poll.unref();
    }
    options.logger?.info({ files: paths.map((p) => basename(p)), fingerprint: leafFingerprint(this.material) }, 'TLS certificate loaded');
  }

  get current(): TlsMaterial {
    return this.material;
  }

  /**
   * Reads the files now. Resolves true when they changed and the new material was published, false
   * when they are unchanged or not usable (the previous material stays in force). Never rejects.
   */
  reload(): Promise<boolean> {
    if (this.reading) {
      this.again = true;
      return this.reading;
    }
    this.reading = this.readOnce().finally(() => {
      this.reading = undefined;
      if (this.again && !this.closed) {
        this.again = false;
        void this.reload();
      }
    });
    return this.reading;
  }

  close(): void {
    this.closed = true;
    clearInterval(this.poll);
    clearTimeout(this.debounce);
    for (const watcher of this.watchers) watcher.close();
  }

  private scheduleReload(): void {
    if (this.closed) return;
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.reload(), this.debounceMs);
    this.debounce.unref();
  }

  private async readOnce(): Promise<boolean> {
    const log = this.options.logger;
    let next: TlsMaterial;
    try {
      next = await readTlsMaterial(this.files);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (message !== this.lastFailure && !this.closed) log?.warn({ err: message }, 'TLS files not reloaded: keeping the current certificate');
      this.lastFailure = message;
      return false;
    }
    this.lastFailure = undefined;
    if (this.closed || sameMaterial(next, this.material)) return false;
    this.material = next;
    log?.info({ fingerprint: leafFingerprint(next) }, 'TLS certificate reloaded');
    this.changed.publish(next);
    return true;
  }
}
