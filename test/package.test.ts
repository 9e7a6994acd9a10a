import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { expect } from 'chai';
import { runSync } from './helpers/children.js';

const ROOT = join(__dirname, '..', '..');

describe('the package as npm would publish it', function () {
  this.timeout(60_000);
  // dist/ is built by `npm test` (pretest); --ignore-scripts keeps pack from building it again.
  const packed = () => {
    const r = runSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 50_000,
    });
    expect(r.status, r.stderr).to.equal(0);
    return new Set((JSON.parse(r.stdout)[0].files as Array<{ path: string }>).map((f) => f.path));
  };

  it('ships the code, the views, the sources its maps point at, the licence and the changelog, and no tests', () => {
    const files = packed();
    for (const f of [
      'dist/index.js',
      'dist/index.d.ts',
      'dist/cli/bin.js',
      'dist/testing.js',
      'dist/testing.d.ts',
      'views/503.html',
      'views/maintenance-live.js', // live pages' script, served by the routes
      'LICENSE',
      'CHANGELOG.md',
    ]) {
      expect(files, f).to.include(f);
    }
    expect([...files].filter((f) => /^(test|build|bench|examples)\//.test(f))).to.deep.equal([]);
    const maps = [...files].filter((f) => f.endsWith('.js.map'));
    expect(maps.length).to.be.greaterThan(20);
    for (const map of maps) {
      const { sources } = JSON.parse(readFileSync(join(ROOT, map), 'utf8')) as { sources: string[] };
      for (const source of sources) {
        const target = normalize(join(dirname(map), source));
        expect(files, `${map} points at ${target}, which is not shipped`).to.include(target);
      }
    }
  });

  it('says where it lives and under which licence', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(pkg).to.include({ license: 'MIT', homepage: 'https://www.npmjs.com/package/koa-maintenance-mode' });
    expect(readFileSync(join(ROOT, 'LICENSE'), 'utf8')).to.match(/^MIT License/);
  });
});

describe('the packages an app shares with it', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

  it("takes the packages whose metadata, validation or container it shares with the app's as peers, never a copy of its own", () => {
    // A second class-validator splits the DTO metadata of an app's routing-controllers between two copies.
    for (const name of ['class-validator', 'class-transformer', 'reflect-metadata', 'typedi', 'routing-controllers']) {
      expect(pkg.dependencies, name).to.not.have.property(name);
      expect(pkg.peerDependencies, name).to.have.property(name);
    }
    // The oldest class-validator 0.14 it works with (tested) is 0.14.0: an app on 0.14.2 keeps its own.
    expect(pkg.peerDependencies['class-validator']).to.match(/^\^0\.14\.0 \|\| /);
  });

  it('says which package to install when a peer the control API loads is missing', () => {
    const index = join(__dirname, '..', 'src', 'index.js');
    const script = `
      const Module = require('node:module');
      const resolve = Module._resolveFilename;
      Module._resolveFilename = function (request, ...rest) {
        if (request !== 'class-validator') return resolve.call(this, request, ...rest);
        throw Object.assign(new Error("Cannot find module 'class-validator'"), { code: 'MODULE_NOT_FOUND' });
      };
      try { require(${JSON.stringify(index)}).maintenanceApi(); console.log('built'); }
      catch (e) { console.log(e.code + ': ' + e.message); }`;
    const r = runSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL' });
    expect(r.stdout.trim(), r.stderr).to.equal(
      'ERR_MAINTENANCE_MISUSE: The control API (maintenanceApi()) needs the package class-validator: run `npm install class-validator`.',
    );
  });
});

describe('the store contract entry (koa-maintenance-mode/testing)', function () {
  this.timeout(120_000);
  const testing = join(ROOT, 'dist', 'testing.js');

  it('resolves through the exports map and loads without a test runner, saying it needs one when called', () => {
    const script = `
      const t = require('koa-maintenance-mode/testing');
      console.log(Object.keys(t).join());
      try { t.describeMaintenanceStore('x', { create() {} }); } catch (e) { console.log(e.name + ': ' + e.message); }`;
    const r = runSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
    expect(r.stdout.trim().split('\n'), r.stderr).to.deep.equal([
      'describeMaintenanceStore',
      'TypeError: describeMaintenanceStore() needs a test runner: run it under mocha, Jest or Vitest (with globals: true), or pass { describe, it, beforeAll, afterAll, afterEach }.',
    ]);
  });

  it('runs the contract on an in-memory Keyv under Jest and Vitest, unconfigured: no ESM-only require, what it lacks checked', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kmm-contract-runners-'));
    try {
      symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
      writeFileSync(join(dir, 'package.json'), '{ "private": true }\n');
      writeFileSync(
        join(dir, 'contract.test.js'),
        `const { Keyv } = require('keyv');
        const { describeMaintenanceStore } = require(${JSON.stringify(testing)});
        const keyv = new Keyv();
        describeMaintenanceStore('memory', { create: () => keyv, capabilities: { push: false, presence: false, atomic: false } });\n`,
      );
      const runners: Array<[string, string[]]> = [
        [
          'Jest',
          [join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js'), '--ci', '--no-watchman', '-i', '--rootDir', dir],
        ],
        [
          'Vitest',
          [join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--globals', '--reporter=verbose', '--root', dir],
        ],
      ];
      for (const [name, args] of runners) {
        const r = runSync(process.execPath, args, {
          cwd: dir,
          env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
          encoding: 'utf8',
          timeout: 100_000,
        });
        const out = `${r.stdout}${r.stderr}`;
        expect(r.status, `${name}: ${out.slice(-3000)}`).to.equal(0);
        expect(out, name)
          .to.match(/8 passed/)
          .and.not.match(/skipped/);
        expect(out, name).to.include('lacks what the factory turns off: no change feed, no fleet');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
