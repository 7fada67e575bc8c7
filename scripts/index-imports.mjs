#!/usr/bin/env node
// Codemod for the boundary rule "cross-folder imports go through the folder's index.ts"
// (.dependency-cruiser.cjs, rule through-index; ARCHITECTURE.md).
//
// For every production file under src/ (tests and test support are left alone, as the rule leaves
// them), each relative import or re-export of a file in ANOTHER folder (`../x/file.js`) becomes an
// import of that folder's `index.js`, and the folder's index.ts gains the `export { ... } from
// './file.js'` (or `export type { ... }` for names only ever imported as types) it needs; an index
// is created when missing. A folder is a direct child of src/, or a sub-folder of src/protocols.
//
// Re-runnable and idempotent: a second run changes nothing. What it cannot rewrite it reports and
// leaves as it is: default, namespace and side-effect imports, `export *`, dynamic import(), and a
// name the index already exports from somewhere else. The changed files are formatted with Prettier.
// Re-exporting through an index cannot create an import cycle as long as the folders have none (the
// layer rule): a cycle through an index would have to leave its folder and come back. The script
// still runs the cycle rules of dependency-cruiser at the end and fails if any are broken.
//
// Usage: node scripts/index-imports.mjs [--dry-run] [--no-check]
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

const ROOT = resolve(new URL('..', import.meta.url).pathname);
const SRC = join(ROOT, 'src');
const dryRun = process.argv.includes('--dry-run');
const check = !process.argv.includes('--no-check');
const TEST_FILES = /(\.test\.ts$|\/testing\/|-test-harness\.ts$|-test-client\.ts$)/;

/** `src/protocols/http/x.ts` → `protocols/http`; `src/core/x.ts` → `core`; `src/index.ts` → `` (the package entry). */
function folderOf(file) {
  const parts = relative(SRC, file).split(sep);
  if (parts.length === 1) return '';
  if (parts[0] === 'protocols' && parts.length > 2) return `protocols/${parts[1]}`;
  return parts[0];
}

function walk(dir, out = []) {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (entry.endsWith('.ts') && !entry.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

const posix = (path) => path.split(sep).join('/');
const specifierFor = (fromFile, toFile) => {
  const spec = posix(relative(dirname(fromFile), toFile)).replace(/\.ts$/, '.js');
  return spec.startsWith('.') ? spec : `./${spec}`;
};

const problems = [];
const changed = new Set();

// ---- the folder indexes, parsed once and edited in memory ----

/** index path → { text, statements: export-from statements, exported: name → source file or 'local' }. */
const indexes = new Map();

function loadIndex(folder) {
  const path = join(SRC, folder, 'index.ts');
  if (indexes.has(path)) return indexes.get(path);
  const text = existsSync(path) ? readFileSync(path, 'utf8') : `/** What other folders use of ${folder}/ (kept by scripts/index-imports.mjs). */\n`;
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
  const statements = [];
  const exported = new Map();
  for (const node of source.statements) {
    if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const target = resolve(dirname(path), node.moduleSpecifier.text.replace(/\.js$/, '.ts'));
      if (!node.exportClause) {
        exported.set(`*${target}`, target);
        continue;
      }
      if (!ts.isNamedExports(node.exportClause)) continue;
      const elements = node.exportClause.elements.map((e) => ({ name: e.name.text, property: e.propertyName?.text, type: node.isTypeOnly || e.isTypeOnly }));
      for (const e of elements) exported.set(e.name, { target, original: e.property ?? e.name });
      statements.push({ node, target, typeOnly: node.isTypeOnly, elements, dirty: false });
    } else if (ts.isExportDeclaration(node) && node.exportClause && ts.isNamedExports(node.exportClause)) {
      for (const e of node.exportClause.elements) exported.set(e.name.text, 'local');
    } else if (ts.canHaveModifiers(node) && ts.getModifiers(node)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) {
      const names = ts.isVariableStatement(node) ? node.declarationList.declarations.map((d) => d.name.getText()) : node.name ? [node.name.text] : [];
      for (const name of names) exported.set(name, 'local');
    }
  }
  const index = { path, text, statements, exported, created: !existsSync(path), appended: [] };
  indexes.set(path, index);
  return index;
}

/** Where `name` exported by `file` is declared: follows `export { name } from './x.js'` re-exports. */
function declarationOf(file, name, depth = 0) {
  if (depth > 10 || !existsSync(file)) return { file, name };
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  for (const node of source.statements) {
    if (!ts.isExportDeclaration(node) || !node.moduleSpecifier || !node.exportClause || !ts.isNamedExports(node.exportClause)) continue;
    const element = node.exportClause.elements.find((e) => e.name.text === name);
    if (element) return declarationOf(resolve(dirname(file), node.moduleSpecifier.text.replace(/\.js$/, '.ts')), (element.propertyName ?? element.name).text, depth + 1);
  }
  return { file, name };
}

const sameDeclaration = (a, b) => {
  const x = declarationOf(a.target, a.original);
  const y = declarationOf(b.target, b.original);
  return x.file === y.file && x.name === y.name;
};

/** Makes `index` export `original` of `target` (a file of its folder); false when the name is taken by something else. */
function ensureExport(index, target, original, typeOnly) {
  const have = index.exported.get(original);
  if (have && have !== 'local' && (have.target !== target || have.original !== original) && sameDeclaration(have, { target, original })) {
    // The index already exports the same declaration through another file of the folder.
    return typeOnly || [...index.statements, ...index.appended].some((s) => !s.typeOnly && s.elements.some((e) => e.name === original && !e.type));
  }
  if (have && (have === 'local' || have.target !== target || have.original !== original)) return false;
  if (!have && index.exported.get(`*${target}`)) return true; // `export * from './file.js'` covers it
  const find = (type) => [...index.statements, ...index.appended].find((s) => s.target === target && s.typeOnly === type);
  if (have) {
    if (typeOnly) return true;
    // Exported as a type only, needed as a value now: move it to the value statement.
    const holder = [...index.statements, ...index.appended].find((s) => s.target === target && s.elements.some((e) => e.name === original));
    const element = holder.elements.find((e) => e.name === original);
    if (!element.type) return true;
    if (holder.typeOnly) {
      holder.elements = holder.elements.filter((e) => e !== element);
      holder.dirty = true;
    } else {
      element.type = false;
      holder.dirty = true;
      return true;
    }
  }
  let statement = find(typeOnly);
  if (!statement) {
    statement = { target, typeOnly, elements: [], dirty: true };
    index.appended.push(statement);
  }
  statement.elements.push({ name: original, property: undefined, type: typeOnly });
  statement.dirty = true;
  index.exported.set(original, { target, original });
  return true;
}

function renderExport(index, statement) {
  if (statement.elements.length === 0) return '';
  const names = statement.elements.map((e) => `${!statement.typeOnly && e.type ? 'type ' : ''}${e.property ? `${e.property} as ` : ''}${e.name}`);
  return `export ${statement.typeOnly ? 'type ' : ''}{ ${names.join(', ')} } from '${specifierFor(index.path, statement.target)}';`;
}

function writeIndex(index) {
  const edits = index.statements.filter((s) => s.dirty).map((s) => ({ start: s.node.getStart(), end: s.node.getEnd(), text: renderExport(index, s) }));
  if (edits.length === 0 && index.appended.length === 0) return;
  let text = index.text;
  for (const edit of edits.sort((a, b) => b.start - a.start)) text = text.slice(0, edit.start) + edit.text + text.slice(edit.end);
  text = text.replace(/\n{3,}/g, '\n\n');
  const added = index.appended
    .sort((a, b) => a.target.localeCompare(b.target) || Number(a.typeOnly) - Number(b.typeOnly))
    .map((s) => renderExport(index, s))
    .filter(Boolean);
  if (added.length) text = `${text.replace(/\n*$/, '\n')}${added.join('\n')}\n`;
  if (!dryRun) writeFileSync(index.path, text);
  changed.add(index.path);
}

// ---- the importing files ----

function rewriteFile(file) {
  const text = readFileSync(file, 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const from = folderOf(file);
  const edits = [];
  const where = (node) => `${posix(relative(ROOT, file))}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;

  const visitDynamic = (node) => {
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const arg = node.arguments[0];
      if (arg && ts.isStringLiteral(arg) && arg.text.startsWith('.')) {
        const target = resolve(dirname(file), arg.text.replace(/\.js$/, '.ts'));
        if (target.startsWith(SRC) && folderOf(target) !== from && !target.endsWith(`${sep}index.ts`)) problems.push(`${where(node)}: dynamic import() of ${arg.text} left as it is`);
      }
    }
    ts.forEachChild(node, visitDynamic);
  };
  visitDynamic(source);

  for (const node of source.statements) {
    const isImport = ts.isImportDeclaration(node);
    const isReexport = ts.isExportDeclaration(node) && node.moduleSpecifier;
    if (!isImport && !isReexport) continue;
    const spec = node.moduleSpecifier.text;
    if (!spec.startsWith('.')) continue;
    const target = resolve(dirname(file), spec.replace(/\.js$/, '.ts'));
    if (!target.startsWith(SRC + sep)) continue;
    const to = folderOf(target);
    if (to === from || to === '' || target === join(SRC, to, 'index.ts')) continue;
    const index = loadIndex(to);

    let elements; // { name (in target), typeOnly }
    if (isImport) {
      const clause = node.importClause;
      if (!clause) {
        problems.push(`${where(node)}: side-effect import of ${spec} left as it is`);
        continue;
      }
      if (clause.name || (clause.namedBindings && !ts.isNamedImports(clause.namedBindings))) {
        problems.push(`${where(node)}: default or namespace import of ${spec} left as it is`);
        continue;
      }
      elements = (clause.namedBindings?.elements ?? []).map((e) => ({ name: (e.propertyName ?? e.name).text, typeOnly: clause.isTypeOnly || e.isTypeOnly }));
    } else {
      if (!node.exportClause || !ts.isNamedExports(node.exportClause)) {
        problems.push(`${where(node)}: export * from ${spec} left as it is`);
        continue;
      }
      elements = node.exportClause.elements.map((e) => ({ name: (e.propertyName ?? e.name).text, typeOnly: node.isTypeOnly || e.isTypeOnly }));
    }
    const refused = elements.filter((e) => !ensureExport(index, target, e.name, e.typeOnly));
    if (refused.length) {
      problems.push(`${where(node)}: ${posix(relative(ROOT, index.path))} already exports ${refused.map((e) => e.name).join(', ')} from elsewhere; import of ${spec} left as it is`);
      continue;
    }
    const start = node.moduleSpecifier.getStart() + 1;
    edits.push({ start, end: node.moduleSpecifier.getEnd() - 1, text: specifierFor(file, join(SRC, to, 'index.ts')) });
  }
  if (edits.length === 0) return;
  mergeImports(source, edits);
  let next = text;
  for (const edit of edits.sort((a, b) => b.start - a.start)) next = next.slice(0, edit.start) + edit.text + next.slice(edit.end);
  if (!dryRun) writeFileSync(file, next);
  changed.add(file);
}

/**
 * Several files of one folder imported by one file become several imports of one index: they are
 * merged into one `import { ... }` (and one `import type { ... }`) per index, replacing the first.
 */
function mergeImports(source, edits) {
  const specOf = (node) => edits.find((e) => e.start === node.moduleSpecifier.getStart() + 1)?.text ?? node.moduleSpecifier.text;
  const groups = new Map();
  for (const node of source.statements) {
    if (!ts.isImportDeclaration(node) || !node.importClause || node.importClause.name || !node.importClause.namedBindings || !ts.isNamedImports(node.importClause.namedBindings)) continue;
    const spec = specOf(node);
    if (!/(^|\/)index\.js$/.test(spec) || !spec.startsWith('.')) continue;
    const key = `${node.importClause.isTypeOnly ? 'type' : 'value'} ${spec}`;
    groups.set(key, [...(groups.get(key) ?? []), node]);
  }
  for (const [key, nodes] of groups) {
    if (nodes.length < 2) continue;
    const [kind, spec] = key.split(' ');
    const elements = [...new Set(nodes.flatMap((n) => n.importClause.namedBindings.elements.map((e) => e.getText())))];
    for (const node of nodes) {
      const at = edits.findIndex((e) => e.start === node.moduleSpecifier.getStart() + 1);
      if (at >= 0) edits.splice(at, 1);
    }
    const text = source.getFullText();
    nodes.forEach((node, i) => {
      let end = node.getEnd();
      if (i > 0 && text[end] === '\n') end += 1;
      edits.push({ start: node.getStart(), end, text: i === 0 ? `import ${kind === 'type' ? 'type ' : ''}{ ${elements.join(', ')} } from '${spec}';` : '' });
    });
  }
}

// Indexes are importers too (an index may re-export another folder's file). An index edited as a
// target in one pass is rewritten as an importer in the next; passes repeat until nothing changes.
const allChanged = new Set();
for (let pass = 1; ; pass++) {
  problems.length = 0;
  changed.clear();
  indexes.clear();
  const files = walk(SRC).filter((f) => !TEST_FILES.test(posix(f)));
  // Indexes first, before any of them is loaded as a target in this pass.
  const isIndex = (f) => f.endsWith(`${sep}index.ts`);
  for (const file of [...files.filter(isIndex).sort(), ...files.filter((f) => !isIndex(f)).sort()]) {
    if (!indexes.has(file)) rewriteFile(file);
  }
  for (const index of indexes.values()) writeIndex(index);
  for (const file of changed) allChanged.add(file);
  if (changed.size === 0 || dryRun) break;
  if (pass === 10) {
    console.error('no fixpoint after 10 passes');
    process.exit(1);
  }
}
changed.clear();
for (const file of allChanged) changed.add(file);

for (const problem of problems) console.log(`left: ${problem}`);
console.log(`${dryRun ? 'would change' : 'changed'} ${changed.size} files`);

if (!dryRun && changed.size > 0) {
  const prettier = spawnSync('npx', ['prettier', '--write', '--log-level', 'warn', ...[...changed].map((f) => relative(ROOT, f))], { cwd: ROOT, stdio: 'inherit' });
  if (prettier.status !== 0) process.exit(prettier.status ?? 1);
}
if (check && !dryRun) {
  // The cycle rules only: an index must not close an import cycle.
  const cruise = spawnSync('npx', ['depcruise', 'src', '--config', '.dependency-cruiser.cjs', '--output-type', 'err', '--include-only', '^src/'], { cwd: ROOT, encoding: 'utf8' });
  const cycles = (cruise.stdout ?? '').split('\n').filter((line) => /no-(file|folder)-cycle/.test(line));
  if (cycles.length) {
    console.error(`the rewritten imports close import cycles:\n${cycles.join('\n')}`);
    process.exit(1);
  }
}
