/**
 * The library's layers, checked on its sources (see CONVENTIONS.md, "Layers of the library"):
 * imports flow one way, nothing under lib/ imports the index, there are no import cycles, the
 * sources load with ES-module semantics, and importing the built package leaves the CLI unloaded.
 * Imports are read with the TypeScript parser: import/export-from statements, `import x = require()`,
 * `require('…')` and `import('…')` calls with a literal path, and `import('…')` types.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

const root = path.resolve(__dirname, '..', '..');
/** The package's own name: a file importing 'seqmnist' imports lib/index.ts. */
const packageName = 'seqmnist';

/** One import of a source file, resolved to a repo-relative path ('lib/data/mnist.ts'). */
interface Edge {
  from: string;
  to: string;
  /** erased by tsc (`import type`, `export type … from`, `typeof import('…')`): no runtime load */
  typeOnly: boolean;
}

/** Every .ts file under `dir` (repo-relative, '/'-separated, sorted), declaration files excluded. */
function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const entry of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const child = `${rel}/${entry.name}`;
      if (entry.isDirectory()) walk(child);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(child);
    }
  };
  if (fs.existsSync(path.join(root, dir))) walk(dir);
  return out.sort();
}

/** The module specifiers a source file names, with whether each is erased at compile time. */
export function importsOf(fileName: string, text: string): { specifier: string; typeOnly: boolean }[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const found: { specifier: string; typeOnly: boolean }[] = [];
  const literal = (node: ts.Node | undefined): string | undefined =>
    node && ts.isStringLiteralLike(node) ? node.text : undefined;
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause;
      // `import { type A } from` with only type specifiers is elided like `import type`
      const onlyTypeNames =
        !!clause &&
        !clause.name &&
        !!clause.namedBindings &&
        ts.isNamedImports(clause.namedBindings) &&
        clause.namedBindings.elements.length > 0 &&
        clause.namedBindings.elements.every((e) => e.isTypeOnly);
      const specifier = literal(node.moduleSpecifier);
      if (specifier) found.push({ specifier, typeOnly: !!clause && (clause.isTypeOnly || onlyTypeNames) });
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier) {
      const onlyTypeNames =
        !!node.exportClause &&
        ts.isNamedExports(node.exportClause) &&
        node.exportClause.elements.length > 0 &&
        node.exportClause.elements.every((e) => e.isTypeOnly);
      const specifier = literal(node.moduleSpecifier);
      if (specifier) found.push({ specifier, typeOnly: node.isTypeOnly || onlyTypeNames });
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      const specifier = literal(node.moduleReference.expression);
      if (specifier) found.push({ specifier, typeOnly: node.isTypeOnly });
    } else if (ts.isCallExpression(node) && node.arguments.length >= 1) {
      const isRequire = ts.isIdentifier(node.expression) && node.expression.text === 'require';
      const isImport = node.expression.kind === ts.SyntaxKind.ImportKeyword;
      const specifier = literal(node.arguments[0]);
      if ((isRequire || isImport) && specifier) found.push({ specifier, typeOnly: false });
    } else if (ts.isImportTypeNode(node)) {
      const specifier = ts.isLiteralTypeNode(node.argument) ? literal(node.argument.literal) : undefined;
      if (specifier) found.push({ specifier, typeOnly: true });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/**
 * The repo file a specifier names, as tsc resolves a relative path ('./x' → x.ts or x/index.ts;
 * './x.js' → x.ts); the package's own name goes to lib/index.ts. Undefined for other packages.
 */
function resolve(from: string, specifier: string): string | undefined {
  if (specifier === packageName || specifier.startsWith(`${packageName}/`)) {
    // 'seqmnist' and 'seqmnist/dist/lib/x' both end up in the lib: charge them to the index or to x
    const rest = specifier.slice(packageName.length).replace(/^\/(dist\/)?/, '');
    if (rest === '' || rest === 'lib' || rest === 'lib/index') return 'lib/index.ts';
    specifier = `./${rest}`;
    from = 'package.json';
  } else if (!specifier.startsWith('.')) {
    return undefined;
  }
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier));
  const stem = base.replace(/\.(js|ts)$/, '');
  for (const candidate of [`${stem}.ts`, `${stem}/index.ts`]) {
    if (fs.existsSync(path.join(root, candidate))) return candidate;
  }
  return `${base} (unresolved)`;
}

let edgesRead: Edge[] | undefined;
/** Every import of every .ts file under lib/ and bin/, resolved to repo files (read once). */
function importGraph(): Edge[] {
  if (edgesRead) return edgesRead;
  const edges: Edge[] = (edgesRead = []);
  for (const from of [...sourceFiles('lib'), ...sourceFiles('bin')]) {
    for (const { specifier, typeOnly } of importsOf(from, fs.readFileSync(path.join(root, from), 'utf8'))) {
      const to = resolve(from, specifier);
      if (to !== undefined) edges.push({ from, to, typeOnly });
    }
  }
  return edges;
}

/**
 * The import cycles of a graph: one cycle per strongly connected component (Tarjan), the shortest
 * one through the component's first node in sort order, written as a path that returns to its start.
 */
export function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const nodes = [...new Set([...graph.keys(), ...[...graph.values()].flat()])].sort();
  const next = (n: string): string[] => [...new Set(graph.get(n) ?? [])].sort();
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const strongConnect = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of next(v)) {
      if (!index.has(w)) {
        strongConnect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || next(v).includes(v)) components.push(component.sort());
    }
  };
  for (const n of nodes) if (!index.has(n)) strongConnect(n);
  // breadth-first from the component's first node back to itself, inside the component
  return components
    .map((component) => {
      const inside = new Set(component);
      const start = component[0];
      const parent = new Map<string, string>();
      const queue = [start];
      while (queue.length > 0) {
        const v = queue.shift()!;
        for (const w of next(v)) {
          if (!inside.has(w)) continue;
          if (w === start) {
            // walk the parents back from v: start → … → v → start
            const back = [v];
            while (parent.has(back[0])) back.unshift(parent.get(back[0])!);
            return [start, ...back.filter((u) => u !== start), start];
          }
          if (!parent.has(w)) {
            parent.set(w, v);
            queue.push(w);
          }
        }
      }
      throw new Error(`no cycle through ${start}`); // unreachable for a strongly connected component
    })
    .sort((a, b) => a[0].localeCompare(b[0]));
}

/**
 * Which part of the library a file belongs to: a folder under lib/ ('kernels', 'train', …), or for a
 * file directly in lib/ its own name, the base modules sharing 'base' and webgpu.ts in 'backend'.
 */
function layerOf(file: string): string {
  const parts = file.split('/');
  if (parts[0] !== 'lib') return parts[0];
  if (parts.length > 2) return parts[1];
  const name = parts[1].replace(/\.ts$/, '');
  if (name === 'webgpu') return 'backend'; // Dawn's setup, a part of backend selection
  return [
    'backend-traits',
    'checks',
    'files',
    'history',
    'own-gradients',
    'root',
    'settings',
    'tfjs-internals',
  ].includes(name)
    ? 'base'
    : name;
}

/**
 * The import direction (../shared/CONVENTIONS.md, "Imports flow one way"; README, Layout): each part of lib/ and the parts it may import,
 * itself included. A file in a part missing here fails until the table names it.
 */
const mayImport: Record<string, readonly string[]> = {
  base: ['base'],
  kernels: ['base', 'kernels'],
  backend: ['base', 'kernels', 'backend'],
  data: ['base', 'data'],
  plot: ['base', 'data', 'plot'],
  models: ['base', 'kernels', 'data', 'models'],
  train: ['base', 'backend', 'kernels', 'data', 'plot', 'train'],
  walkthroughs: ['base', 'backend', 'kernels', 'data', 'plot', 'models', 'train', 'walkthroughs'],
  cli: ['base', 'backend', 'kernels', 'data', 'plot', 'models', 'train', 'walkthroughs', 'cli'],
  index: ['base', 'backend', 'kernels', 'data', 'plot', 'models', 'train', 'walkthroughs'],
};

const show = (e: Edge): string => `${e.from} imports ${e.to}${e.typeOnly ? ' (type only)' : ''}`;

test('the cycle finder reports each cycle once, as a path, and nothing for a DAG', () => {
  const dag = new Map([
    ['a', ['b', 'c']],
    ['b', ['c']],
    ['c', []],
  ]);
  assert.deepEqual(findCycles(dag), []);
  const cyclic = new Map([
    ['index', ['kernels/index', 'train/loop']],
    ['kernels/index', ['kernels/lstm']],
    ['kernels/lstm', ['kernels/index']], // two-file cycle
    ['train/loop', ['train/parallel', 'data']],
    ['train/parallel', ['train/worker']],
    ['train/worker', ['train/loop', 'train/parallel']], // three files, with a shorter cycle inside
    ['self', ['self']],
  ]);
  assert.deepEqual(findCycles(cyclic), [
    ['kernels/index', 'kernels/lstm', 'kernels/index'],
    ['self', 'self'],
    ['train/loop', 'train/parallel', 'train/worker', 'train/loop'],
  ]);
});

test('the import reader sees every kind of import, and which ones tsc erases', () => {
  const text = [
    "import * as tf from '@tensorflow/tfjs';",
    "import './side-effect';",
    "import type { A } from './a';",
    "import { type B } from './b';",
    "import { type C, D } from './cd';",
    "export * from './e';",
    "export type { F } from './f';",
    "import g = require('./g');",
    "function later() { require('../index'); return import('./h'); }",
    "let t: typeof import('./i');",
    'require(someVariable);',
  ].join('\n');
  assert.deepEqual(importsOf('x.ts', text), [
    { specifier: '@tensorflow/tfjs', typeOnly: false },
    { specifier: './side-effect', typeOnly: false },
    { specifier: './a', typeOnly: true },
    { specifier: './b', typeOnly: true },
    { specifier: './cd', typeOnly: false },
    { specifier: './e', typeOnly: false },
    { specifier: './f', typeOnly: true },
    { specifier: './g', typeOnly: false },
    { specifier: '../index', typeOnly: false },
    { specifier: './h', typeOnly: false },
    { specifier: './i', typeOnly: true },
  ]);
});

test('every relative import under lib/ and bin/ names a file', () => {
  const unresolved = importGraph().filter((e) => e.to.endsWith('(unresolved)'));
  assert.deepEqual(unresolved.map(show), []);
});

test('no import cycles under lib/ and bin/', () => {
  const graph = new Map<string, string[]>();
  for (const e of importGraph()) graph.set(e.from, [...(graph.get(e.from) ?? []), e.to]);
  // type-only imports count too: the design has the cycle even where tsc erases the import
  const typeOnly = (from: string, to: string): boolean =>
    importGraph().every((e) => e.from !== from || e.to !== to || e.typeOnly);
  const cycles = findCycles(graph).map((c) =>
    c.map((file, i) => (i > 0 && typeOnly(c[i - 1], file) ? `${file} (type only)` : file)).join(' → '),
  );
  assert.deepEqual(cycles, [], `import cycles (a file imports one that imports it back):\n  ${cycles.join('\n  ')}`);
});

test('no file under lib/ imports lib/index.ts', () => {
  const offenders = importGraph().filter((e) => e.from.startsWith('lib/') && e.to === 'lib/index.ts');
  assert.deepEqual(offenders.map(show), []);
});

test('imports flow one way: each part of lib/ imports only the parts below it', () => {
  const wrong: string[] = [];
  for (const e of importGraph()) {
    if (!e.from.startsWith('lib/') || !e.to.startsWith('lib/')) continue;
    const from = layerOf(e.from);
    const allowed = mayImport[from];
    if (!allowed) wrong.push(`${e.from}: '${from}' is not in the layer table of test/architecture.test.ts`);
    else if (!allowed.includes(layerOf(e.to))) wrong.push(`${show(e)}: '${from}' may import ${allowed.join(', ')}`);
  }
  assert.deepEqual(wrong, []);
});

test(
  'the sources run under tsx (ES-module semantics, paths from lib/): a shipped model evaluates as built',
  { timeout: 240_000 },
  () => {
    // README advertises `npx tsx`: an import cycle, or a path climbed from the file's own folder
    // (right from dist/lib/x, wrong from lib/x), breaks here first
    const tsx = path.join(root, 'node_modules', '.bin', 'tsx');
    const script =
      "import('./lib/index.ts').then(async (m) => { const sm = typeof m.evaluateTrained === 'function' ? m : m.default;" +
      " await sm.useBackend('cpu', { quiet: true });" +
      ' const r = await sm.evaluateTrained(sm.lstmRow, { config: { limit: 100 } });' +
      " console.log('accuracy ' + r.accuracy); })";
    const r = spawnSync(tsx, ['-e', script], { cwd: root, encoding: 'utf8', timeout: 200_000 });
    assert.equal(r.error, undefined, `${tsx}: ${r.error}`);
    assert.equal(r.status, 0, `tsx exited with ${r.status}${r.signal ? ` (${r.signal})` : ''}:\n${r.stderr}`);
    const cli = spawnSync(
      process.execPath,
      [path.resolve(__dirname, '..', 'bin', 'seqmnist.js'), 'eval', 'lstm-row', '--limit', '100'],
      { encoding: 'utf8', timeout: 200_000, env: { ...process.env, SEQMNIST_BACKEND: 'cpu' } },
    );
    assert.equal(cli.status, 0, cli.stderr);
    const fromCli = Number(/test accuracy: ([\d.]+)%/.exec(cli.stdout)![1]) / 100;
    const fromTsx = Number(/accuracy ([\d.]+)/.exec(r.stdout)![1]);
    assert.equal(fromTsx.toFixed(4), fromCli.toFixed(4));
  },
);

/**
 * The string literals of a source file (template pieces included), comments and module specifiers
 * (a file's name, as in `import … from './tcn'`) left out.
 */
function literalsOf(fileName: string, text: string): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const specifiers = new Set(importsOf(fileName, text).map((i) => i.specifier));
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (
      ts.isStringLiteral(node) ||
      ts.isNoSubstitutionTemplateLiteral(node) ||
      ts.isTemplateHead(node) ||
      ts.isTemplateMiddle(node) ||
      ts.isTemplateTail(node)
    ) {
      if (!(ts.isStringLiteral(node) && specifiers.has(node.text))) found.push(node.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/**
 * Whether `file` is one of a walkthrough's model files: lib/models/<family>….ts, the family being
 * a word of its name (lstm for lstm-row, lmu for keras-lmu; a saved model.json names its layers
 * after the model, e.g. 'tcn').
 */
function isModelFileOf(file: string, walkthrough: string): boolean {
  const m = /^lib\/models\/([a-z]+)[^/]*\.ts$/.exec(file);
  return !!m && walkthrough.split('-').includes(m[1]);
}

test('a walkthrough is named only in its own file and the registry (the registry drives every list)', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the built registry, to read the names and find each one's module
  const { WALKTHROUGHS, TRAINED_MODELS } = require('../lib/walkthroughs/registry') as {
    WALKTHROUGHS: { name: string }[];
    TRAINED_MODELS: { name: string; walkthrough: { name: string } }[];
  };
  // a walkthrough's own file: the module under lib/walkthroughs/ that exports its object (not an index re-exporting it)
  const ownFile = new Map<string, string>();
  for (const file of sourceFiles('lib/walkthroughs').filter((f) => !f.endsWith('/index.ts'))) {
    const built = path.resolve(__dirname, '..', file.replace(/\.ts$/, '.js'));
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- each built walkthrough module, to see what it exports
    const exported = Object.values(require(built) as Record<string, unknown>);
    for (const w of WALKTHROUGHS) if (exported.includes(w) && !file.endsWith('/registry.ts')) ownFile.set(w.name, file);
  }
  for (const w of WALKTHROUGHS) assert.ok(ownFile.has(w.name), `no module under lib/walkthroughs/ exports ${w.name}`);
  const names = [
    ...WALKTHROUGHS.map((w) => ({ name: w.name, owner: w.name })),
    ...TRAINED_MODELS.map((m) => ({ name: m.name, owner: m.walkthrough.name })),
  ];
  const wrong: string[] = [];
  for (const file of sourceFiles('lib')) {
    if (file === 'lib/walkthroughs/registry.ts') continue;
    const literals = literalsOf(file, fs.readFileSync(path.join(root, file), 'utf8'));
    for (const { name, owner } of names) {
      if (ownFile.get(owner) === file || isModelFileOf(file, owner)) continue;
      const token = new RegExp(`(^|[^\\w-])${name.replace(/-/g, '\\-')}($|[^\\w-])`);
      const hit = literals.find((l) => token.test(l));
      if (hit !== undefined) wrong.push(`${file} spells '${name}' (in ${JSON.stringify(hit)})`);
    }
  }
  assert.deepEqual([...new Set(wrong)], []);
});

test('requiring the built package loads nothing from lib/cli/ or bin/ (a notebook registers no command)', () => {
  // the lib compiled next to this test (dist/ or a dist-*/ of one's own), in a fresh process so this
  // runner's module cache plays no part
  const built = path.resolve(__dirname, '..');
  const script =
    'require(process.argv[1]);' +
    'const loaded = Object.keys(require.cache).filter((k) => k.startsWith(process.argv[2]));' +
    'process.stdout.write("\\n" + JSON.stringify(loaded));';
  const r = spawnSync(process.execPath, ['-e', script, path.join(built, 'lib', 'index.js'), built], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 0, `require failed:\n${r.stderr}`);
  const loaded = (JSON.parse(r.stdout.trim().split('\n').pop()!) as string[]).map((k) =>
    path.relative(built, k).split(path.sep).join('/'),
  );
  assert.ok(loaded.includes('lib/index.js'), `loaded: ${loaded.join(', ')}`);
  assert.deepEqual(
    loaded.filter((k) => k.startsWith('lib/cli/') || k.startsWith('bin/')),
    [],
  );
});
