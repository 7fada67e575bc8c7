/**
 * A small static model of a Dockerfile, enough to check ours without a Docker engine: instructions
 * (continuations and comments handled), build stages with their WORKDIR, COPY sources and destinations,
 * exec-form arguments, and `.dockerignore` matching with Docker's rules (last match wins, `!` re-includes,
 * a pattern that matches a folder excludes everything below it).
 *
 * `resolveImagePath` answers "where would this path inside the image come from?" by following COPY
 * instructions (from the build context or an earlier stage), `ln -s` in RUN, and files a stage makes
 * itself (the TypeScript build's output folder, npm's node_modules). It understands the forms our
 * Dockerfile uses and reports anything else as unresolved, so a change it cannot follow fails loudly.
 */
import { existsSync, statSync } from 'node:fs';
import { cp } from 'node:fs/promises';
import { join, posix, relative } from 'node:path';

export interface Instruction {
  /** Upper-case keyword, e.g. `COPY`. */
  readonly keyword: string;
  /** Everything after the keyword, continuations joined with a space. */
  readonly args: string;
  /** 1-based line of the keyword. */
  readonly line: number;
}

export interface Stage {
  readonly index: number;
  readonly image: string;
  readonly name: string | undefined;
  readonly instructions: readonly Instruction[];
}

export interface Dockerfile {
  /** ARG lines before the first FROM. */
  readonly globalArgs: readonly Instruction[];
  readonly stages: readonly Stage[];
}

export function parseDockerfile(text: string): Dockerfile {
  const instructions: Instruction[] = [];
  let pending: { keyword: string; parts: string[]; line: number } | undefined;
  text.split(/\r?\n/).forEach((raw, i) => {
    const trimmed = raw.trim();
    // Comment lines are dropped even inside a continuation, as Docker does.
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const continued = trimmed.endsWith('\\');
    const body = continued ? trimmed.slice(0, -1).trim() : trimmed;
    if (pending) pending.parts.push(body);
    else {
      const match = /^(\S+)\s*(.*)$/.exec(body);
      if (!match) throw new Error(`Dockerfile line ${i + 1}: cannot parse '${raw}'`);
      pending = { keyword: match[1]!.toUpperCase(), parts: [match[2]!], line: i + 1 };
    }
    if (!continued) {
      instructions.push({ keyword: pending.keyword, args: pending.parts.filter((p) => p !== '').join(' '), line: pending.line });
      pending = undefined;
    }
  });
  if (pending) throw new Error(`Dockerfile line ${pending.line}: the file ends inside a line continuation`);

  const globalArgs: Instruction[] = [];
  const stages: { index: number; image: string; name: string | undefined; instructions: Instruction[] }[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const { rest } = splitFlags(instruction.args);
      const match = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
      if (!match) throw new Error(`Dockerfile line ${instruction.line}: cannot parse FROM '${instruction.args}'`);
      stages.push({ index: stages.length, image: match[1]!, name: match[2]?.toLowerCase(), instructions: [] });
    } else if (stages.length === 0) {
      if (instruction.keyword !== 'ARG') throw new Error(`Dockerfile line ${instruction.line}: ${instruction.keyword} before the first FROM`);
      globalArgs.push(instruction);
    } else {
      stages[stages.length - 1]!.instructions.push(instruction);
    }
  }
  return { globalArgs, stages };
}

/** Leading `--name=value` / `--name` flags of an instruction, and the rest. */
export function splitFlags(args: string): { flags: Map<string, string>; rest: string } {
  const flags = new Map<string, string>();
  let rest = args.trim();
  for (let match = /^--([\w-]+)(?:=(\S*))?\s*/.exec(rest); match; match = /^--([\w-]+)(?:=(\S*))?\s*/.exec(rest)) {
    flags.set(match[1]!, match[2] ?? '');
    rest = rest.slice(match[0].length);
  }
  return { flags, rest };
}

/** The JSON array of an exec-form instruction, or undefined for shell form. */
export function execForm(args: string): string[] | undefined {
  if (!args.trim().startsWith('[')) return undefined;
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === 'string')) throw new Error(`exec form must be a JSON array of strings: ${args}`);
  return parsed;
}

export interface Copy {
  readonly instruction: Instruction;
  /** Position of the instruction in its stage. */
  readonly position: number;
  /** Stage name or index of `--from`, or undefined for the build context. */
  readonly from: string | undefined;
  readonly sources: readonly string[];
  /** Absolute destination inside the image (WORKDIR applied); ends with `/` when written so. */
  readonly destination: string;
}

/** WORKDIR in force before instruction `position` of `stage` (inherited from a parent stage). */
export function workdirAt(file: Dockerfile, stage: Stage, position: number): string {
  const parent = file.stages.find((s) => s.index < stage.index && s.name === stage.image.toLowerCase());
  let dir = parent ? workdirAt(file, parent, parent.instructions.length) : '/';
  stage.instructions.slice(0, position).forEach((instruction) => {
    if (instruction.keyword === 'WORKDIR') dir = posix.resolve(dir, instruction.args.trim());
  });
  return dir;
}

export function copiesOf(file: Dockerfile, stage: Stage): Copy[] {
  const copies: Copy[] = [];
  stage.instructions.forEach((instruction, position) => {
    if (instruction.keyword !== 'COPY' && instruction.keyword !== 'ADD') return;
    const { flags, rest } = splitFlags(instruction.args);
    const words = execForm(rest) ?? rest.split(/\s+/);
    if (words.length < 2) throw new Error(`Dockerfile line ${instruction.line}: COPY needs a source and a destination`);
    const target = words[words.length - 1]!;
    const absolute = posix.resolve(workdirAt(file, stage, position), target);
    copies.push({
      instruction,
      position,
      from: flags.get('from')?.toLowerCase(),
      sources: words.slice(0, -1),
      destination: target.endsWith('/') && absolute !== '/' ? `${absolute}/` : absolute,
    });
  });
  return copies;
}

/** The stage a `--from` value names (by name or index), if it is an earlier stage. */
export function stageNamed(file: Dockerfile, from: string, before: number): Stage | undefined {
  const stage = /^\d+$/.test(from) ? file.stages[Number(from)] : file.stages.find((s) => s.name === from);
  return stage && stage.index < before ? stage : undefined;
}

/** `.dockerignore` rules with Docker's matching. */
export class DockerIgnore {
  private readonly rules: { exclude: boolean; pattern: RegExp; source: string }[];

  constructor(text: string) {
    this.rules = text
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'))
      .map((line) => {
        const exclude = !line.startsWith('!');
        const cleaned = posix.normalize((exclude ? line : line.slice(1)).trim()).replace(/^\/+/, '').replace(/\/+$/, '');
        return { exclude, pattern: patternToRegExp(cleaned), source: line };
      });
  }

  /** The rule that excludes `path` (relative to the context), or undefined when it is sent. */
  excludedBy(path: string): string | undefined {
    const clean = posix.normalize(path).replace(/^\.\//, '').replace(/\/+$/, '');
    const candidates = clean.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'));
    let verdict: string | undefined;
    for (const rule of this.rules) {
      // A rule also applies to everything below a folder it matches.
      if (candidates.some((candidate) => rule.pattern.test(candidate))) verdict = rule.exclude ? rule.source : undefined;
    }
    return verdict;
  }
}

function patternToRegExp(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*') {
      const slashAfter = pattern[i + 2] === '/';
      out += slashAfter ? '(?:.*/)?' : '.*';
      i += slashAfter ? 2 : 1;
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

/** Where an image path comes from. */
export type Origin =
  | { readonly kind: 'context'; readonly path: string } // a file or folder of the build context (relative)
  | { readonly kind: 'built'; readonly path: string; readonly run: Instruction } // made by the build RUN; `path` relative to the repo
  | { readonly kind: 'installed'; readonly run: Instruction }; // node_modules made by npm ci/install

export interface ResolveContext {
  readonly file: Dockerfile;
  /** Build context folder on disk (the repository root). */
  readonly contextDir: string;
  readonly ignore: DockerIgnore;
  /** The TypeScript output folder (tsconfig outDir), relative. */
  readonly outDir: string;
}

/**
 * Where `path` (absolute, inside the image of `stage`, as it stands before instruction `before`) comes
 * from; undefined when nothing puts it there. Context paths are checked to exist and not to be ignored;
 * built paths to exist in the local build (the test builds first).
 */
export function resolveImagePath(ctx: ResolveContext, stage: Stage, path: string, before = stage.instructions.length): Origin | undefined {
  for (let position = before - 1; position >= 0; position--) {
    const instruction = stage.instructions[position]!;
    const dir = workdirAt(ctx.file, stage, position);
    if (instruction.keyword === 'COPY' || instruction.keyword === 'ADD') {
      const copy = copiesOf(ctx.file, stage).find((c) => c.position === position)!;
      const origin = resolveThroughCopy(ctx, stage, copy, path);
      if (origin) return origin;
    } else if (instruction.keyword === 'RUN') {
      const link = /\bln\s+-s[f]*\s+(\S+)\s+(\S+)/.exec(instruction.args);
      if (link) {
        const linkPath = posix.resolve(dir, link[2]!);
        const inside = below(path, linkPath);
        if (inside !== undefined) return resolveImagePath(ctx, stage, posix.join(posix.resolve(dir, link[1]!), inside), position);
      }
      const built = below(path, posix.join(dir, ctx.outDir));
      if (built !== undefined && /\b(npm run build|tsc)\b/.test(instruction.args)) {
        const local = posix.join(ctx.outDir, built);
        return existsSync(join(ctx.contextDir, local)) ? { kind: 'built', path: local, run: instruction } : undefined;
      }
      if (below(path, posix.join(dir, 'node_modules')) !== undefined && /\bnpm (ci|install)\b/.test(instruction.args)) return { kind: 'installed', run: instruction };
    }
  }
  const parent = ctx.file.stages.find((s) => s.index < stage.index && s.name === stage.image.toLowerCase());
  return parent ? resolveImagePath(ctx, parent, path) : undefined;
}

function resolveThroughCopy(ctx: ResolveContext, stage: Stage, copy: Copy, path: string): Origin | undefined {
  const source = copy.from === undefined ? undefined : stageNamed(ctx.file, copy.from, stage.index);
  if (copy.from !== undefined && !source) return undefined;
  const single = copy.sources.length === 1 && !copy.destination.endsWith('/');
  for (const src of copy.sources) {
    const isDir = source ? undefined : existsSync(join(ctx.contextDir, src)) && statSync(join(ctx.contextDir, src)).isDirectory();
    // A lone source copied to a name becomes that name; otherwise files land inside the destination folder.
    const target = single || isDir ? copy.destination.replace(/\/$/, '') : posix.join(copy.destination, posix.basename(src));
    const rest = below(path, target);
    if (rest === undefined) continue;
    if (source) {
      const absolute = posix.join(posix.resolve(workdirAt(ctx.file, source, source.instructions.length), src), rest);
      const origin = resolveImagePath(ctx, source, absolute);
      if (origin) return origin;
      continue;
    }
    const relative = posix.join(src, rest);
    if (existsSync(join(ctx.contextDir, relative)) && ctx.ignore.excludedBy(relative) === undefined) return { kind: 'context', path: relative };
  }
  return undefined;
}

/** `path` relative to `folder` when it is the folder or inside it ('' for the folder itself). */
function below(path: string, folder: string): string | undefined {
  const p = posix.normalize(path).replace(/\/$/, '');
  const f = posix.normalize(folder).replace(/\/$/, '');
  if (p === f) return '';
  return p.startsWith(`${f}/`) ? p.slice(f.length + 1) : undefined;
}

/**
 * Lays out in `dir` (standing for the stage's WORKDIR) what the stage's COPY instructions before
 * `upTo` put under its WORKDIR from the build context, leaving out `.dockerignore`d files as Docker
 * does. Returns the RUN instructions met on the way, for the caller to reproduce.
 */
export async function materializeStage(ctx: ResolveContext, stage: Stage, upTo: number, dir: string): Promise<Instruction[]> {
  const runs: Instruction[] = [];
  for (const copy of copiesOf(ctx.file, stage)) {
    if (copy.position >= upTo) break;
    if (copy.from !== undefined) throw new Error(`Dockerfile line ${copy.instruction.line}: cannot lay out a COPY --from`);
    const workdir = workdirAt(ctx.file, stage, copy.position);
    for (const src of copy.sources) {
      const isDir = statSync(join(ctx.contextDir, src)).isDirectory();
      const target = copy.sources.length === 1 && !copy.destination.endsWith('/') ? copy.destination : posix.join(copy.destination, posix.basename(src));
      const inside = below(target, workdir);
      if (inside === undefined) throw new Error(`Dockerfile line ${copy.instruction.line}: ${target} is outside WORKDIR ${workdir}`);
      await cp(join(ctx.contextDir, src), join(dir, inside), {
        recursive: isDir,
        filter: (from) => ctx.ignore.excludedBy(relative(ctx.contextDir, from) || '.') === undefined,
      });
    }
  }
  runs.push(...stage.instructions.slice(0, upTo).filter((i) => i.keyword === 'RUN'));
  return runs;
}
