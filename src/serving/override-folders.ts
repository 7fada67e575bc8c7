/**
 * The model folders the load API writes its file overrides into (`"file:1/model.onnx": <bytes>`).
 *
 * All of them live under one directory this server creates (one `mkdtemp` per server, made on first
 * use), one numbered sub-folder per load. The owner removes a folder once no version is served
 * from it (after an unload, a failed load, or a reload that replaced it), and `removeAll` deletes
 * the whole directory when the server stops; a process `exit` hook deletes it too if the process
 * ends without a stop. File system errors become INVALID_ARGUMENT naming the parameter and the
 * error code, never a server path.
 */
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { invalidArgument, registerServerFolder } from '../core/index.js';
import { checkFileOverrideKey, shownName } from '../repository/index.js';

export class OverrideFolders {
  private root: Promise<string> | undefined;
  private next = 1;
  private readonly exitHook = (): void => this.removeNow();
  private rootPath: string | undefined;
  private forgetRoot: () => void = () => {};

  constructor(private readonly parent: string = tmpdir()) {}

  /** Writes one override folder; on any failure nothing of it is left behind. */
  async create(files: ReadonlyMap<string, Uint8Array>): Promise<string> {
    for (const relative of files.keys()) checkFileOverrideKey(`file:${relative}`, relative);
    const dir = join(await this.ensureRoot(), String(this.next++));
    try {
      await mkdir(dir);
      for (const [relative, bytes] of files) {
        const target = join(dir, ...relative.split('/'));
        await mkdir(dirname(target), { recursive: true }).catch((error: unknown) => {
          throw fileError(relative, error);
        });
        await writeFile(target, bytes, { flag: 'wx' }).catch((error: unknown) => {
          throw fileError(relative, error);
        });
      }
      return dir;
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /** Whether `path` is one of this server's override folders (or inside one). */
  owns(path: string): boolean {
    return this.rootPath !== undefined && path.startsWith(this.rootPath + '/');
  }

  async remove(dir: string): Promise<void> {
    if (this.owns(dir)) await rm(dir, { recursive: true, force: true });
  }

  /** Deletes every override folder and the server's directory (on stop). */
  async removeAll(): Promise<void> {
    const root = this.root;
    if (!root) return;
    this.root = undefined;
    this.rootPath = undefined;
    process.off('exit', this.exitHook);
    this.forgetRoot();
    this.forgetRoot = () => {};
    await rm(await root.catch(() => ''), { recursive: true, force: true });
  }

  private ensureRoot(): Promise<string> {
    this.root ??= mkdtemp(join(this.parent, 'cranberries-overrides-')).then((path) => {
      this.rootPath = path;
      // Error answers show paths inside it relative to it (`core/server-paths.ts`).
      this.forgetRoot = registerServerFolder(path);
      process.on('exit', this.exitHook);
      return path;
    });
    const root = this.root;
    root.catch(() => {
      if (this.root === root) this.root = undefined;
    });
    return root.catch((error: unknown) => {
      throw invalidArgument(`cannot create a folder for the model files: ${codeOf(error)}`);
    });
  }

  private removeNow(): void {
    if (this.rootPath !== undefined) rmSync(this.rootPath, { recursive: true, force: true });
  }
}

/** `EISDIR`, `ENAMETOOLONG`, …: the error code tells a user what went wrong without a server path. */
function codeOf(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code) ? code : 'file system error';
}

function fileError(relative: string, error: unknown): Error {
  const code = codeOf(error);
  const why =
    code === 'EEXIST' || code === 'EISDIR' || code === 'ENOTDIR'
      ? 'it clashes with another file parameter (a path cannot be both a file and a folder)'
      : code === 'ENAMETOOLONG'
        ? 'the path is too long for the file system'
        : code === 'ENOSPC' || code === 'EDQUOT'
          ? 'the server has no space left for model files'
          : `it cannot be written (${code})`;
  return invalidArgument(`parameter ${shownName(`file:${relative}`)}: ${why}`);
}
