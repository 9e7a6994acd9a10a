import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { expect } from 'chai';
import { statusBody } from '../src/core/status.js';
import { API_OPTION_NAMES } from '../src/koa/api/options.js';
import { KNOWN_KEYS } from '../src/koa/options.js';
import { ROUTES_OPTION_NAMES } from '../src/koa/toggle-rules.js';
import { SERVICE_OPTION_NAMES } from '../src/service/service-options.js';
import { endChild, killTree, runSync, spawnChild } from './helpers/children.js';
import { freePort } from './helpers/redis.js';

const ROOT = join(__dirname, '..', '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

interface Block {
  readonly lang: string;
  readonly body: string;
  /** What the `<!-- example: … -->` line before the block names, if any. */
  readonly example?: string;
  readonly line: number;
}

/** Every fenced code block of a Markdown text, with the example marker on the line before it. */
function blocksOf(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i]);
    if (!open) continue;
    const end = lines.indexOf('```', i + 1);
    const marker = /^<!-- example: (.+?) -->$/.exec(lines[i - 1] ?? '');
    blocks.push({ lang: open[1], body: lines.slice(i + 1, end).join('\n'), example: marker?.[1], line: i + 1 });
    i = end;
  }
  return blocks;
}

/** The part of a file a README block shows: between `#region readme` and `#endregion`, else the whole file. */
function shown(path: string): string {
  const [file, name = 'readme'] = path.split('#');
  const text = readFileSync(join(ROOT, file), 'utf8');
  const region = new RegExp(`#region ${name}\\b[^\\n]*\\n([\\s\\S]*?)\\n[^\\n]*#endregion`).exec(text);
  return region ? region[1] : text.replace(/\n$/, '');
}

const BLOCKS = blocksOf(README);

/**
 * The shell commands of a CI file, in order: GitHub Actions' `run:` values (a `|` block or one line) and GitLab CI's
 * `script:` / `after_script:` items. Enough YAML for the README's two examples, which are what it reads.
 */
function ciSteps(yaml: string): string[] {
  const lines = yaml.split('\n');
  const steps: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const run = /^(\s*)(?:- )?run: (.*)$/.exec(lines[i]);
    if (run && run[2] !== '|') steps.push(run[2]);
    else if (run) {
      const indent = run[1].length;
      while (i + 1 < lines.length && lines[i + 1].search(/\S/) > indent) steps.push(lines[++i].trim());
    }
    if (/^\s*(after_)?script:\s*$/.test(lines[i])) {
      while (i + 1 < lines.length && /^\s*- /.test(lines[i + 1])) steps.push(lines[++i].replace(/^\s*- /, ''));
    }
  }
  return steps;
}
const files = (ext: string) => BLOCKS.filter((b) => b.example?.endsWith(ext)).map((b) => b.example as string);

/**
 * How long one README command (a shell block, the mocha run of development.sh, the demo) may run: seconds on an idle
 * machine, many times that on two cores busy with a benchmark. Past it, the command hangs: its process group is
 * killed. The tests that run them allow more than this.
 */
const EXAMPLE_LIMIT_MS = 180_000;

/**
 * Runs a command in `cwd` (in its own process group, so what it starts goes with it) and resolves with its exit code
 * and output; kills the group after `limitMs`, saying so in the output.
 */
function exec(
  cmd: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  input = '',
  limitMs = EXAMPLE_LIMIT_MS,
) {
  return new Promise<{ code: number | null; out: string }>((done) => {
    const child = spawnChild(cmd, args, { cwd, env: { ...process.env, ...env }, detached: true });
    let out = '';
    child.stdout?.on('data', (d) => {
      out += d;
    });
    child.stderr?.on('data', (d) => {
      out += d;
    });
    const timer = setTimeout(() => {
      out += `\n[test] ${cmd} ${args.join(' ')} still ran after ${limitMs} ms: killed\n`;
      killTree(child);
    }, limitMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      done({ code, out });
    });
    child.stdin?.end(input);
  });
}

/** A temp dir with `npm` and `npx` on PATH that run the README's commands against this repository. */
function sandbox() {
  const dir = mkdtempSync(join(tmpdir(), 'kmm-readme-'));
  const bin = mkdtempSync(join(tmpdir(), 'kmm-readme-bin-'));
  const shim = join(ROOT, 'build', 'test', 'helpers', 'readme-shim.js');
  for (const tool of ['npm', 'npx']) {
    writeFileSync(join(bin, tool), `#!/bin/sh\nexec "${process.execPath}" "${shim}" ${tool} "$@"\n`);
    chmodSync(join(bin, tool), 0o755);
  }
  const env = { PATH: `${bin}:${process.env.PATH}`, README_REPO: ROOT, USER: 'readme', LANG: 'C' };
  const dispose = () => {
    for (const d of [dir, bin]) rmSync(d, { recursive: true, force: true });
  };
  return { dir, env, dispose };
}

describe('README: every code block is a tested example', function () {
  this.timeout(EXAMPLE_LIMIT_MS + 60_000);

  it('names, before every code block, the file it shows, and shows that file verbatim', () => {
    expect(BLOCKS.length).to.be.greaterThan(20);
    for (const block of BLOCKS) {
      expect(block.example, `README.md:${block.line} has no <!-- example: … --> line`).to.be.a('string');
      if (block.example === 'src layout') continue;
      expect(block.body, `README.md:${block.line} differs from ${block.example}`).to.equal(
        shown(block.example as string),
      );
    }
  });

  it('uses every file of examples/readme/', () => {
    const used = new Set(BLOCKS.map((b) => basename((b.example ?? '').split('#')[0])));
    const dir = join(ROOT, 'examples', 'readme');
    for (const file of readdirSync(dir)) {
      if (file !== 'tsconfig.json') expect(used, `${file} is in no README block`).to.include(file);
    }
  });

  for (const example of files('.mts')) {
    it(`runs ${example}: compiled as an app would (the package by name, strict), exits 0`, async () => {
      const box = sandbox();
      try {
        const js = join(ROOT, 'build', example.replace(/\.mts$/, '.mjs'));
        const r = await exec(process.execPath, [js], box.dir, {
          ...box.env,
          PORT: '0',
          METRICS_PORT: String(await freePort()),
        });
        expect(r.code, r.out).to.equal(0);
      } finally {
        box.dispose();
      }
    });
  }

  for (const example of files('.sh')) {
    it(`runs ${example} in a shell, every command succeeding`, async () => {
      const box = sandbox();
      try {
        copyFileSync(
          join(ROOT, 'examples', 'readme', 'maintenance.config.cjs'),
          join(box.dir, 'maintenance.config.cjs'),
        );
        const r = await exec('bash', ['-e', join(ROOT, example)], box.dir, box.env, 'y\n');
        expect(r.code, r.out).to.equal(0);
      } finally {
        box.dispose();
      }
    });
  }

  it('runs the GitHub Actions and GitLab CI examples: their steps, against the app of api.mts, with a real token', async () => {
    const box = sandbox();
    const app = spawnChild(process.execPath, [join(ROOT, 'build', 'examples', 'readme', 'api.mjs'), 'serve'], {
      cwd: box.dir,
      env: { ...process.env, ...box.env },
    });
    try {
      const port = await new Promise<string>((done, fail) => {
        app.stdout?.once('data', (d) => done(String(d).trim()));
        app.once('exit', (code) => fail(new Error(`api.mjs serve exited (${code}) before it printed its port`)));
      });
      const cli = join(ROOT, 'dist', 'cli', 'bin.js');
      const made = await exec(
        process.execPath,
        [cli, 'token', 'create', '--label', 'ci', '--allow', 'on,off,read', '--json'],
        box.dir,
        box.env,
      );
      const env = { ...box.env, APP_URL: `http://127.0.0.1:${port}`, MAINTENANCE_TOKEN: JSON.parse(made.out).token };
      writeFileSync(join(box.dir, 'migrate.js'), "console.log('migrating…')\n");
      for (const file of ['deploy.yml', 'gitlab-ci.yml']) {
        const steps = ciSteps(readFileSync(join(ROOT, 'examples', 'readme', file), 'utf8'));
        expect(steps.length, file).to.be.at.least(4);
        writeFileSync(join(box.dir, 'steps.sh'), `${steps.join('\n')}\n`);
        const r = await exec('bash', ['-e', 'steps.sh'], box.dir, env);
        expect(r.code, `${file}: ${r.out}`).to.equal(0);
        expect(r.out, file).to.include('"enabled":true').and.include('"instances":[').and.include('migrating…');
        const history = await exec(process.execPath, [cli, 'history', '--limit', '2', '--json'], box.dir, box.env);
        expect(JSON.parse(history.out).map((e: { by: string; to: string }) => `${e.to} ${e.by}`)).to.deep.equal([
          'off token:ci',
          'on token:ci',
        ]);
      }
    } finally {
      await endChild(app);
      box.dispose();
    }
  });

  it('shows the .gitignore lines that keep what the demo and the CLI leave out of a repository', async () => {
    const box = sandbox();
    try {
      copyFileSync(join(ROOT, 'examples', 'readme', 'gitignore'), join(box.dir, '.gitignore'));
      const cli = join(ROOT, 'dist', 'cli', 'bin.js');
      for (const args of [['on'], ['on', '--scope', 'billing'], ['off'], ['history']]) {
        expect((await exec(process.execPath, [cli, ...args], box.dir, box.env)).code).to.equal(0);
      }
      await exec('bash', ['-e', join(ROOT, 'examples', 'readme', 'try-it.sh')], box.dir, box.env);
      // The state file and its side directory (history, revision, scope files), which ignores itself.
      expect(readdirSync(box.dir).filter((f) => f.startsWith('maintenance_mode_state.json'))).to.have.members([
        'maintenance_mode_state.json',
        'maintenance_mode_state.json.d',
      ]);
      runSync('git', ['init', '-q'], { cwd: box.dir, encoding: 'utf8' });
      const status = runSync('git', ['status', '--porcelain', '--untracked-files=all'], {
        cwd: box.dir,
        encoding: 'utf8',
      });
      expect(status.stdout.split('\n').filter(Boolean)).to.deep.equal(['?? .gitignore']);
      for (const line of shown('examples/readme/gitignore').split('\n')) {
        expect(readFileSync(join(ROOT, '.gitignore'), 'utf8').split('\n'), line).to.include(line);
      }
    } finally {
      box.dispose();
    }
  });

  it('uses times from now, never a fixed date that will pass', () => {
    const dir = join(ROOT, 'examples', 'readme');
    const texts = [README, ...readdirSync(dir).map((f) => readFileSync(join(dir, f), 'utf8'))];
    for (const text of texts) {
      for (const [date] of text.matchAll(/\b\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?Z?/g)) {
        expect(Date.parse(date), date).to.be.above(Date.now() + 365 * 86_400_000);
      }
    }
  });

  it('lists the src folders as they are', () => {
    const architecture = readFileSync(join(ROOT, 'docs', 'architecture.md'), 'utf8');
    const block = /<!-- example: src layout -->\n```text\n([\s\S]*?)\n```/.exec(architecture);
    expect(block, 'docs/architecture.md has the src layout block').to.not.equal(null);
    const listed = [...(block as RegExpExecArray)[1].matchAll(/^ {2}([a-z]+)\/ /gm)].map((m) => m[1]).sort();
    const real = readdirSync(join(ROOT, 'src'))
      .filter((f) => statSync(join(ROOT, 'src', f)).isDirectory())
      .sort();
    expect(listed).to.deep.equal(real);
  });
});

/** The first column of the Markdown table under the heading `heading` (up to the next heading). */
function tableNames(heading: string, column = 0): string[] {
  const start = README.indexOf(`\n${heading}\n`);
  expect(start, heading).to.be.above(-1);
  const section = README.slice(start + heading.length + 2).split(/\n#{2,3} /)[0];
  return [...section.matchAll(/^\| `([A-Za-z]+)` \|/gm)].map((m) => m[1]).filter((_, i) => i >= column);
}

describe('README: the tables say what the code does', () => {
  it('lists exactly the options of maintenance()', () => {
    expect(tableNames('## Middleware options').sort()).to.deep.equal([...KNOWN_KEYS].sort());
  });

  it('lists exactly the options of MaintenanceService', () => {
    expect(tableNames('## Service options').sort()).to.deep.equal([...SERVICE_OPTION_NAMES].sort());
  });

  it('lists exactly the options of maintenanceRoutes(), and the fields of /status', () => {
    expect(tableNames('## Toggle and status routes').sort()).to.deep.equal([...ROUTES_OPTION_NAMES].sort());
    const row = /\| `GET \/maintenance-mode\/status` \| superusers: `\{ ([^}]+) \}`/.exec(README) as RegExpExecArray;
    const fields = Object.keys({ ...statusBody({ enabled: false }, new Date()), scopes: {}, fleet: {} });
    expect(row[1].split(', ').sort()).to.deep.equal(fields.sort());
  });

  it('lists exactly the options of maintenanceApi()', () => {
    expect(tableNames('## From a pipeline: the control API').sort()).to.deep.equal([...API_OPTION_NAMES].sort());
  });

  it('names exactly the peer dependencies', () => {
    const sentence = /\n(`koa`[^.]*?) are peer dependencies/.exec(README) as RegExpExecArray;
    const named = [...sentence[1].matchAll(/`([^`]+)`/g)].map((m) => m[1]).sort();
    expect(named).to.deep.equal(Object.keys(PKG.peerDependencies).sort());
  });

  it('links every section from its contents, and every link to a heading or file that exists', () => {
    const anchor = (heading: string) =>
      heading
        .toLowerCase()
        .replace(/[^\p{L}\p{N} -]/gu, '')
        .replace(/ /g, '-');
    const headings = [...README.matchAll(/^#{2,3} (.+)$/gm)].map((m) => anchor(m[1]));
    const contents = README.slice(README.indexOf('## Contents'), README.indexOf('## Which setup'));
    for (const h of [...README.matchAll(/^## (.+)$/gm)].map((m) => m[1])) {
      if (h !== 'Contents') expect(contents, `## ${h} is not in the contents`).to.include(`(#${anchor(h)})`);
    }
    for (const [, target] of README.matchAll(/\]\(([^)]+)\)/g)) {
      if (target.startsWith('http')) continue;
      if (target.startsWith('#')) expect(headings, target).to.include(target.slice(1));
      else expect(existsSync(join(ROOT, target.split('#')[0])), target).to.equal(true);
    }
  });
});

describe('README: the reference and the package', function () {
  this.timeout(120_000);

  it('builds the API reference from the JSDoc without a warning (no export undocumented)', () => {
    const r = runSync(
      process.execPath,
      [join(ROOT, 'node_modules', 'typedoc', 'bin', 'typedoc'), '--emit', 'none', '--treatWarningsAsErrors'],
      { cwd: ROOT, encoding: 'utf8', timeout: 110_000 },
    );
    expect(r.status, `${r.stdout}${r.stderr}`).to.equal(0);
  });
});
