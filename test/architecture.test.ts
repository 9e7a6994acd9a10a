import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { expect } from 'chai';
import ts from 'typescript';

const srcDir = join(__dirname, '..', '..', 'src');

/**
 * The layers, lowest first: a file may import its own layer and the ones below, never one above. `testing` (the store
 * contract suite) is on top: no code of the library depends on it.
 */
const LAYERS = ['core', 'store', 'service', 'koa', 'integrations', 'cli', 'testing'] as const;
/** Files outside every layer folder: the public doors, the package's entries `.` and `./testing`. */
const ROOT_FILES = ['index.ts', 'testing.ts'];

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.ts') ? [relative(srcDir, join(dir, e.name))] : [],
  );
}
const files = walk(srcDir);

interface Import {
  readonly spec: string;
  readonly typeOnly: boolean;
}

/** Imports and re-exports of a source file; optional peers loaded with require() count as runtime imports. */
function importsOf(file: string): Import[] {
  const text = readFileSync(join(srcDir, file), 'utf8');
  const found: Import[] = [];
  for (const m of text.matchAll(/^(?:import|export)\s+(type\s+)?(?:[^'";]*?from\s+)?['"]([^'"]+)['"]/gm)) {
    found.push({ spec: m[2], typeOnly: m[1] !== undefined });
  }
  for (const m of text.matchAll(/\brequire\(['"]([^'"]+)['"]\)/g)) found.push({ spec: m[1], typeOnly: false });
  return found;
}
const outside = (spec: string) => !spec.startsWith('.') && !spec.startsWith('node:');
/** The package an import names (`rrule-temporal/totext` is `rrule-temporal`, `@scope/pkg/x` is `@scope/pkg`). */
const packageOf = (spec: string) =>
  spec
    .split('/')
    .slice(0, spec.startsWith('@') ? 2 : 1)
    .join('/');
const runtimeOutside = (file: string) => [
  ...new Set(
    importsOf(file)
      .filter((i) => !i.typeOnly && outside(i.spec))
      .map((i) => packageOf(i.spec)),
  ),
];
/** The source files `file` imports (type-only imports included unless `runtimeOnly`: the reader depends on them). */
const localImports = (file: string, runtimeOnly = false): string[] =>
  importsOf(file)
    .filter((i) => i.spec.startsWith('.') && !(runtimeOnly && i.typeOnly))
    .map((i) => relative(srcDir, resolve(dirname(join(srcDir, file)), i.spec.replace(/\.js$/, '.ts'))));
const layerOf = (file: string): number => {
  if (ROOT_FILES.includes(file)) return LAYERS.length;
  return LAYERS.indexOf(file.split('/')[0] as (typeof LAYERS)[number]);
};

/** Files that hold decisions and validation only: no Koa, keyv, nunjucks, typedi, I/O or process at run time. */
const PURE = files.filter((f) => f.startsWith('core/')).concat(['koa/options.ts', 'koa/toggle-rules.ts']);

/** The longest a function may be, body included, and how many positional parameters it may take. */
const MAX_FUNCTION_LINES = 60;
const MAX_POSITIONAL = 4;

/** Functions and methods of `file` with their length in lines (body included) and their positional parameters. */
function functionsOf(file: string): Array<{ name: string; line: number; lines: number; params: number }> {
  const text = readFileSync(join(srcDir, file), 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: Array<{ name: string; line: number; lines: number; params: number }> = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const first = source.getLineAndCharacterOfPosition(node.getStart()).line;
      const last = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      const named = node as { name?: ts.Node; parent?: { name?: ts.Node } };
      const name = (named.name ?? named.parent?.name)?.getText() ?? '(anonymous)';
      found.push({ name, line: first + 1, lines: last - first + 1, params: node.parameters.length });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('architecture: layers and dependencies', () => {
  it('keeps every function short enough to read at once (at most 60 lines) and at most four positional parameters', () => {
    const long: string[] = [];
    const wide: string[] = [];
    for (const file of files) {
      for (const f of functionsOf(file)) {
        if (f.lines > MAX_FUNCTION_LINES) long.push(`${file}:${f.line} ${f.name} (${f.lines} lines)`);
        if (f.params > MAX_POSITIONAL) wide.push(`${file}:${f.line} ${f.name} (${f.params} parameters)`);
      }
    }
    expect(long, 'functions over 60 lines: split them').to.deep.equal([]);
    expect(wide, 'functions over four positional parameters: pass an object').to.deep.equal([]);
  });

  it('puts every source file in one layer folder (core, store, service, koa, integrations, cli, testing) or an entry', () => {
    for (const file of files) expect(layerOf(file), file).to.not.equal(-1);
  });

  it('lets imports flow one way only: from a layer to itself or the layers below', () => {
    for (const file of files) {
      for (const target of localImports(file)) {
        expect(files, `${file} imports ${target}`).to.include(target);
        expect(layerOf(target), `${file} imports ${target}`).to.be.at.most(layerOf(file));
      }
    }
  });

  it('has no import circle, type-only imports included', () => {
    const state = new Map<string, 'open' | 'done'>();
    const visit = (file: string, path: string[]): void => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') expect.fail(`import circle: ${[...path, file].join(' -> ')}`);
      state.set(file, 'open');
      for (const target of localImports(file)) visit(target, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of files) visit(file, []);
  });

  it('keeps the decision logic pure: no koa, keyv, nunjucks, typedi or process in the pure files', () => {
    expect(PURE.length).to.be.greaterThan(10);
    for (const file of PURE) {
      expect(runtimeOutside(file), file).to.deep.equal([]);
      expect(readFileSync(join(srcDir, file), 'utf8'), file).to.not.match(/\bprocess\./);
      for (const target of localImports(file, true)) expect(PURE, `${file} imports ${target}`).to.include(target);
    }
  });

  it('imports each outside package from exactly one file', () => {
    const owners = new Map<string, string[]>();
    for (const file of files) {
      for (const spec of runtimeOutside(file)) owners.set(spec, [...(owners.get(spec) ?? []), file]);
    }
    for (const [pkg, by] of owners) expect(by, pkg).to.have.length(1);
    expect(owners.get('keyv')).to.deep.equal(['store/keyv/keyv.ts']);
    expect(owners.get('@keyv/redis')).to.deep.equal(['store/redis/redis-store.ts']);
    expect(owners.get('nunjucks')).to.deep.equal(['koa/render.ts']);
    expect(owners.get('typedi')).to.deep.equal(['service/service.ts']);
    expect(owners.get('@koa/router')).to.deep.equal(['koa/toggle-routes.ts']);
    expect(owners.get('routing-controllers')).to.deep.equal(['integrations/routing-controllers.ts']);
  });

  it('gives every file at most one outside package', () => {
    for (const file of files) {
      const pkgs = runtimeOutside(file).filter((p) => p !== 'reflect-metadata');
      expect(pkgs.length, file).to.be.at.most(1);
    }
  });

  it('has no default exports, keeps the entries (index.ts, testing.ts) to exports only, and no source file imports one', () => {
    for (const file of files) expect(readFileSync(join(srcDir, file), 'utf8'), file).to.not.match(/export default/);
    for (const entry of ROOT_FILES) {
      const text = readFileSync(join(srcDir, entry), 'utf8');
      const code = text.split('\n').filter((l) => l.trim() && !/^(\/\*\*|\*|\/\/)/.test(l.trim()));
      for (const line of code) expect(line, entry).to.match(/^(export | {2}[A-Za-z]|\} from )/);
      for (const file of files) expect(localImports(file), file).to.not.include(entry);
    }
    expect(localImports('index.ts').filter((f) => f.startsWith('testing/'))).to.deep.equal([]);
  });

  it('keeps the store contract suite free of outside packages: no test runner or assertion library is loaded', () => {
    const suite = files.filter((f) => f.startsWith('testing/'));
    expect(suite.length).to.be.greaterThan(3);
    for (const file of suite) expect(runtimeOutside(file), file).to.deep.equal([]);
  });

  it('has two entry points: index.ts (the package) and testing.ts (koa-maintenance-mode/testing)', () => {
    const pkg = JSON.parse(readFileSync(join(srcDir, '..', 'package.json'), 'utf8'));
    expect(pkg.exports['.'].default).to.equal('./dist/index.js');
    expect(pkg.exports['./testing']).to.deep.equal({ types: './dist/testing.d.ts', default: './dist/testing.js' });
    expect(Object.keys(pkg.exports).sort()).to.deep.equal(['.', './package.json', './testing']);
  });
});
