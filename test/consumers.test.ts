/**
 * The packed library in the projects people already have: `npm pack`, then a CommonJS Koa 2 project and an ES module
 * Koa 3 project install the tarball with plain `npm install` (strict peer dependencies, no --legacy-peer-deps) and run
 * a small app test (test/fixtures/consumers/<kind>/scenario.js, through supertest) under Jest 29, Jest 30, Vitest, mocha
 * and `node --test`, unconfigured: no transform, no runner settings. The runners are this repository's
 * devDependencies; the projects install only what an app would.
 */
import type { SpawnSyncReturns } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { expect } from 'chai';
import { runSync } from './helpers/children.js';

const ROOT = join(__dirname, '..', '..');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'consumers');
const RUNNERS = join(ROOT, 'node_modules');

/** The environment of a command run in a consumer project: npm's variables from our own `npm test` left out. */
function consumerEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(name) || /^npm_config_(cache|registry|userconfig)$/i.test(name)) env[name] = value;
  }
  return { ...env, ...extra };
}

/** Runs `args` with node (or npm) in `cwd`, bounded: a stuck runner is killed and fails its test. */
function run(
  cwd: string,
  command: string,
  args: string[],
  extra: Record<string, string> = {},
): SpawnSyncReturns<string> {
  return runSync(command, args, {
    cwd,
    env: consumerEnv(extra),
    encoding: 'utf8',
    timeout: 240_000,
    killSignal: 'SIGKILL',
    maxBuffer: 16 * 1024 * 1024,
  });
}

const said = (r: SpawnSyncReturns<string>) =>
  `exit ${r.status} ${r.signal ?? ''}\n${r.stdout}\n${r.stderr}`.slice(-4000);

/** Every file of `dir` but its node_modules, as paths relative to it. */
function filesOf(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => !f.split(/[\\/]/).includes('node_modules'))
    .sort();
}

/** A consumer project: the fixture (its files and the package.json an app would have), with the tarball added. */
function installProject(kind: 'commonjs' | 'esm', tarball: string, into: string): string {
  const dir = join(into, kind);
  cpSync(join(FIXTURES, kind), dir, { recursive: true });
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  pkg.dependencies['koa-maintenance-mode'] = `file:${tarball}`;
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  const r = run(dir, 'npm', [
    'install',
    '--strict-peer-deps',
    '--prefer-offline',
    '--no-audit',
    '--no-fund',
    '--ignore-scripts',
  ]);
  expect(r.status, said(r)).to.equal(0);
  expect(r.stderr).not.to.match(/ERESOLVE|legacy-peer-deps/);
  // The runners come from this repository; a test file that imports its runner finds it through the project.
  symlinkSync(join(RUNNERS, 'vitest'), join(dir, 'node_modules', 'vitest'), 'dir');
  return dir;
}

/** The runners, each as a command that runs the project's tests for it. */
const RUNNER_COMMANDS: Record<string, (esm: boolean) => { args: string[]; env?: Record<string, string> }> = {
  'Jest 29': (esm) => ({
    args: [join(RUNNERS, 'jest29', 'bin', 'jest.js'), '--ci', '--no-watchman', '-i', '--roots', '<rootDir>/jest'],
    ...(esm ? { env: { NODE_OPTIONS: '--experimental-vm-modules' } } : {}),
  }),
  'Jest 30': (esm) => ({
    args: [join(RUNNERS, 'jest', 'bin', 'jest.js'), '--ci', '--no-watchman', '-i', '--roots', '<rootDir>/jest'],
    ...(esm ? { env: { NODE_OPTIONS: '--experimental-vm-modules' } } : {}),
  }),
  Vitest: () => ({ args: [join(RUNNERS, 'vitest', 'vitest.mjs'), 'run', '--dir', 'vitest'] }),
  mocha: () => ({ args: [join(RUNNERS, 'mocha', 'bin', 'mocha.js'), 'mocha/maintenance.spec.js'] }),
  'node --test': () => ({ args: ['--test', 'node-test/maintenance.test.js'] }),
};

describe('the packed library in existing apps (Jest, Vitest, mocha, node --test; CommonJS and ESM)', function () {
  this.timeout(300_000);
  let work: string;
  let tarball: string;

  before(() => {
    work = mkdtempSync(join(tmpdir(), 'kmm-consumers-'));
    // dist/ is built by `npm test` (pretest); --ignore-scripts keeps pack from building it again.
    const r = run(ROOT, 'npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work]);
    expect(r.status, said(r)).to.equal(0);
    tarball = join(work, (JSON.parse(r.stdout)[0] as { filename: string }).filename);
  });

  after(() => rmSync(work, { recursive: true, force: true }));

  for (const kind of ['commonjs', 'esm'] as const) {
    const koa = kind === 'commonjs' ? 'Koa 2, @koa/router 12, TypeDI 0.8' : 'Koa 3';
    describe(`${kind === 'esm' ? 'an ES module' : 'a CommonJS'} app on ${koa}`, () => {
      let dir: string;
      let files: string[];

      before(() => {
        dir = installProject(kind, tarball, work);
        files = filesOf(dir);
      });

      it(`installs from the tarball with strict peer dependencies`, () => {
        const r = run(dir, 'npm', ['ls', '--json', 'koa', 'koa-maintenance-mode']);
        expect(r.status, said(r)).to.equal(0);
        const tree = JSON.parse(r.stdout) as { dependencies: Record<string, { version: string }> };
        expect(tree.dependencies['koa-maintenance-mode']?.version).to.be.a('string');
        expect(tree.dependencies.koa?.version).to.match(kind === 'commonjs' ? /^2\./ : /^3\./);
      });

      for (const [runner, command] of Object.entries(RUNNER_COMMANDS)) {
        it(`loads unconfigured and runs the app's test under ${runner}, leaving no file in the app`, () => {
          const { args, env } = command(kind === 'esm');
          const r = run(dir, 'node', args, env);
          expect(r.status, said(r)).to.equal(0);
          expect(`${r.stdout}${r.stderr}`).to.match(/the app goes 503 during maintenance|1 passing|pass 1|1 passed/);
          expect(`${r.stdout}${r.stderr}`).not.to.match(/\b0 passing|no tests? found|pass 0\b/i);
          expect(filesOf(dir), `files left in ${relative(work, dir)}`).to.deep.equal(files);
        });
      }
    });
  }
});
