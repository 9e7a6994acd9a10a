import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';

const srcDir = join(__dirname, '..', '..', 'src');
const files = readdirSync(srcDir).filter((f) => f.endsWith('.ts'));

/** Runtime imports of a source file (type-only imports are erased by tsc and do not count). */
function runtimeImports(file: string): string[] {
  const text = readFileSync(join(srcDir, file), 'utf8');
  const found: string[] = [];
  for (const m of text.matchAll(/^import\s+(type\s+)?(?:[^'"]*?from\s+)?['"]([^'"]+)['"]/gm)) {
    if (!m[1]) found.push(m[2]);
  }
  // Optional peers are loaded lazily with require(); they count as imports of the file that loads them.
  for (const m of text.matchAll(/\brequire\(['"]([^'"]+)['"]\)/g)) found.push(m[1]);
  return found;
}
const outside = (spec: string) => !spec.startsWith('.') && !spec.startsWith('node:');

describe('architecture: layers and dependencies', () => {
  it('keeps the decision logic pure: no koa, keyv, nunjucks, typedi or process in the pure files', () => {
    for (const file of ['errors.ts', 'state.ts', 'suggest.ts', 'ip.ts', 'options.ts', 'rules.ts', 'decide.ts']) {
      const text = readFileSync(join(srcDir, file), 'utf8');
      expect(runtimeImports(file).filter(outside), file).to.deep.equal([]);
      expect(text, file).to.not.match(/\bprocess\./);
      for (const adapter of [
        './middleware.js',
        './service.js',
        './render.js',
        './keyv.js',
        './store.js',
        './force.js',
      ]) {
        expect(runtimeImports(file), file).to.not.include(adapter);
      }
    }
  });

  it('imports each outside package from exactly one file', () => {
    const owners = new Map<string, string[]>();
    for (const file of files) {
      for (const spec of runtimeImports(file).filter(outside)) owners.set(spec, [...(owners.get(spec) ?? []), file]);
    }
    for (const [pkg, by] of owners) expect(by, pkg).to.have.length(1);
    expect(owners.get('keyv')).to.deep.equal(['keyv.ts']);
    expect(owners.get('nunjucks')).to.deep.equal(['render.ts']);
    expect(owners.get('typedi')).to.deep.equal(['service.ts']);
    expect(owners.get('@koa/router')).to.deep.equal(['toggle-routes.ts']);
    expect(owners.get('routing-controllers')).to.deep.equal(['routing-controllers.ts']);
  });

  it('gives every file at most one outside package', () => {
    for (const file of files) {
      const pkgs = runtimeImports(file)
        .filter(outside)
        .filter((p) => p !== 'reflect-metadata');
      expect(pkgs.length, file).to.be.at.most(1);
    }
  });

  it('has no default exports and keeps index.ts to exports only', () => {
    for (const file of files) expect(readFileSync(join(srcDir, file), 'utf8'), file).to.not.match(/export default/);
    const index = readFileSync(join(srcDir, 'index.ts'), 'utf8');
    const code = index.split('\n').filter((l) => l.trim() && !l.trim().startsWith('/**') && !l.trim().startsWith('//'));
    for (const line of code) expect(line).to.match(/^(export | {2}[A-Za-z]|\} from )/);
  });
});
