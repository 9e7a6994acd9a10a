/**
 * `npm` and `npx` for the README's shell examples (test/readme.test.ts puts wrappers named so first on PATH): the
 * commands that can run here run for real against this repository (the CLI, the demo, one mocha file); the ones that
 * cannot (installing from the registry, the whole suite, the benchmarks) are checked against package.json instead.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runSync, spawnChild } from './children.js';

const repo = process.env.README_REPO as string;
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as {
  name: string;
  scripts: Record<string, string>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
};
const known = new Set([
  pkg.name,
  ...Object.keys(pkg.dependencies ?? {}),
  ...Object.keys(pkg.peerDependencies ?? {}),
  ...Object.keys(pkg.devDependencies ?? {}),
]);

/** How long the demo may take to start: a second on an idle machine, many on two cores busy with a benchmark. */
const START_LIMIT_MS = 60_000;
/** How long a command run here (the CLI, one mocha file) may take; the test that runs the shell allows more. */
const RUN_LIMIT_MS = 150_000;

function fail(message: string): never {
  process.stderr.write(`readme-shim: ${message}\n`);
  process.exit(1);
}

function run(file: string, args: string[], cwd = process.cwd()): never {
  const r = runSync(process.execPath, [file, ...args], { stdio: 'inherit', cwd, timeout: RUN_LIMIT_MS });
  process.exit(r.status ?? 1);
}

/** `npm start`: the demo on a free port, answering its home page, then stopped. */
function start(): void {
  const child = spawnChild(process.execPath, [join(repo, 'build', 'examples', 'demo', 'server.js')], {
    env: { ...process.env, PORT: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const timer = setTimeout(() => {
    child.kill();
    fail(`the demo did not start within ${START_LIMIT_MS} ms; it printed: ${out}`);
  }, START_LIMIT_MS);
  child.stdout?.on('data', async (chunk) => {
    out += chunk;
    const url = /Demo shop on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out)?.[1];
    if (!url) return;
    clearTimeout(timer);
    child.stdout?.removeAllListeners('data');
    const status = (await fetch(url)).status;
    child.kill();
    if (status !== 200) fail(`the demo answered ${status} on ${url}`);
  });
}

function npm(args: string[]): void {
  const [command, ...rest] = args;
  if (command === 'install' || command === 'i' || command === 'ci') {
    for (const name of rest.filter((a) => !a.startsWith('-'))) {
      if (!known.has(name)) fail(`npm install ${name}: not a dependency, peer or dev dependency of ${pkg.name}`);
    }
    return;
  }
  if (command === 'start') {
    start();
    return;
  }
  if (command === 'test') {
    if (!pkg.scripts.test) fail('package.json has no test script');
    return; // the suite is what runs this
  }
  if (command === 'run') {
    const [script, ...more] = rest;
    if (!pkg.scripts[script]) fail(`npm run ${script}: package.json has no such script`);
    if (script === 'maintenance-mode')
      run(
        join(repo, 'scripts', 'maintenance-mode.cjs'),
        more.filter((a, i) => i > 0 || a !== '--'),
      );
    return; // lint, build, docs and the benchmarks are run by CI and by hand, not twice here
  }
  fail(`npm ${args.join(' ')}: not a command the README's examples may use`);
}

function npx(args: string[]): void {
  const [command, ...rest] = args;
  if (command === 'maintenance-mode') run(join(repo, 'dist', 'cli', 'bin.js'), rest);
  if (command === 'mocha') run(join(repo, 'node_modules', 'mocha', 'bin', 'mocha.js'), rest, repo);
  fail(`npx ${args.join(' ')}: not a command the README's examples may use`);
}

const [tool, ...args] = process.argv.slice(2);
if (tool === 'npm') npm(args);
else if (tool === 'npx') npx(args);
else fail(`unknown tool ${tool}`);
