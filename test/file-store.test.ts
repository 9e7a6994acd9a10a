import {
  chmodSync,
  promises as fsp,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect } from 'chai';
import { parseStateDocument } from '../src/core/state.js';
import { HISTORY_LIMIT, MaintenanceError, MaintenanceService } from '../src/index.js';
import { captureLogger, inSeconds } from './helpers/app.js';
import { spawnChild } from './helpers/children.js';
import { PATIENCE_MS, until } from './helpers/wait.js';

/**
 * Another process with its own MaintenanceService `s` on `file` (storeTimeoutMs 10 s: the file's speed is not under test;
 * extra service options as a JS literal), running
 * `body` (statements that may await); resolves with its exit status.
 */
function writerProcess(file: string, options: string, body: string): Promise<number> {
  const entry = resolve(__dirname, '../src/index.js');
  const code = `
    require('reflect-metadata');
    const { MaintenanceService } = require(${JSON.stringify(entry)});
    const s = new MaintenanceService({ stateFilePath: ${JSON.stringify(file)}, storeTimeoutMs: 10000, ...${options} });
    (async () => { ${body} })().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });`;
  return new Promise<number>((done, fail) => {
    const child = spawnChild(process.execPath, ['-e', code], {
      cwd: resolve(__dirname, '../..'),
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    child.on('error', fail);
    child.on('exit', (status) => done(status ?? -1));
  });
}

describe('embedded file store', () => {
  let dir: string;
  let file: string;
  let side: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kmm-file-'));
    file = join(dir, 'state.json');
    side = `${file}.d`;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const service = (extra: object = {}) => {
    const logger = captureLogger();
    // cacheTtlMs 0: these tests are about the file itself; caching and the watch are tested below. storeTimeoutMs 10 s:
    // not the file's speed either (a read beside two writer processes on a busy machine may take more than 500 ms).
    return {
      s: new MaintenanceService({ stateFilePath: file, logger, cacheTtlMs: 0, storeTimeoutMs: 10_000, ...extra }),
      logger,
    };
  };

  it('reads a missing file as off and does not create it', async () => {
    const { s, logger } = service();
    expect(await s.isEnabled()).to.equal(false);
    expect(readdirSync(dir)).to.deep.equal([]);
    expect(logger.warnings).to.deep.equal([]);
  });

  it('writes plain JSON that people and the CLI can read', async () => {
    const { s } = service();
    await s.enable({ message: 'Back soon', end: inSeconds(60), by: 'ops' });
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    expect(doc).to.include({ enabled: true, message: 'Back soon', updatedBy: 'ops' });
    expect(Object.keys(doc)).to.have.members(['enabled', 'end', 'message', 'updatedAt', 'updatedBy', 'revision']);
    expect(doc.revision).to.equal(1); // the store's first write
  });

  it('honours a restrictive umask (it may hold a bypass verifier), and leaves no temp file', async () => {
    const { s } = service();
    const old = process.umask(0o077);
    try {
      await s.enable();
      await s.enable({ scope: 'billing' });
      await s.disable();
    } finally {
      process.umask(old);
    }
    // the state beside its side directory, which holds a scope file, the audit history and the revision counter: all
    // 0600 (the directory 0700) under umask 077; no temp file left behind
    expect(readdirSync(dir).sort()).to.deep.equal(['state.json', 'state.json.d']);
    expect(statSync(file).mode & 0o777).to.equal(0o600);
    expect(statSync(side).mode & 0o777).to.equal(0o700);
    const files = readdirSync(side).sort();
    expect(files.filter((f) => !f.startsWith('scope.'))).to.deep.equal(['.gitignore', 'history.jsonl', 'revision']);
    expect(files.filter((f) => f.startsWith('scope.'))).to.have.length(1);
    for (const f of files) expect(statSync(join(side, f)).mode & 0o777, f).to.equal(0o600);
  });

  it('keeps the mode an operator gave the state file when it writes it again, and gives a new one 0644 under umask 022', async () => {
    const { s } = service();
    const old = process.umask(0o022);
    try {
      await s.enable();
      expect(statSync(file).mode & 0o777).to.equal(0o644);
      chmodSync(file, 0o640);
      await s.disable();
      await s.enable({ message: 'again' });
    } finally {
      process.umask(old);
    }
    expect(statSync(file).mode & 0o777).to.equal(0o640);
  });

  it('reads django-maintenance-mode state files (0 / 1 with whitespace, schedule object)', async () => {
    const { s } = service();
    writeFileSync(file, '1\n');
    expect(await s.isEnabled()).to.equal(true);
    writeFileSync(file, ' 0 ');
    expect(await s.isEnabled()).to.equal(false);
    writeFileSync(file, JSON.stringify({ start: inSeconds(-60), end: inSeconds(60) }));
    expect(await s.isEnabled()).to.equal(true);
  });

  it('never writes on read: content and mtime stay as they were', async () => {
    writeFileSync(file, '1\n');
    const before = statSync(file).mtimeMs;
    const { s } = service();
    for (let i = 0; i < 20; i++) await s.getState();
    expect(readFileSync(file, 'utf8')).to.equal('1\n');
    expect(statSync(file).mtimeMs).to.equal(before);
  });

  it('sees a change made by another writer at once (re-reads the file)', async () => {
    const { s: a } = service();
    const { s: b } = service();
    expect(await b.isEnabled()).to.equal(false);
    await a.enable();
    expect(await b.isEnabled()).to.equal(true);
    writeFileSync(file, '0');
    expect(await a.isEnabled()).to.equal(false);
  });

  it('gives a hand edit in progress (`echo 1 > file` truncates first) a moment instead of reporting it', async () => {
    writeFileSync(file, '');
    const { s, logger } = service();
    const reading = s.isEnabled();
    setTimeout(() => writeFileSync(file, '1\n'), 1);
    expect(await reading).to.equal(true);
    expect(logger.warnings).to.deep.equal([]);
  });

  it('reports a file that stays empty as corrupt and uses the fallback', async () => {
    writeFileSync(file, '\n');
    const { s, logger } = service({ fallbackValue: true });
    expect(await s.isEnabled()).to.equal(true);
    expect(logger.warnings[0]).to.include(file).and.include('the file is empty');
  });

  it('reports a directory in place of the state file as such (not as a permission problem), and uses fallbackValue', async () => {
    mkdirSync(file);
    const { s, logger } = service({ fallbackValue: true });
    expect(await s.isEnabled()).to.equal(true);
    expect(logger.warnings[0]).to.include(`${file} is a directory, not the maintenance state file: remove it`);
    expect(logger.warnings[0]).to.not.match(/permission/i);
    const err = await s.enable().catch((e) => e);
    expect(err.message).to.include(`${file} is a directory, not the maintenance state file`);
  });

  it('throws a MaintenanceError naming the path and the fix when the file cannot be written', async () => {
    for (const target of [join(dir, 'missing-dir', 'state.json'), join(file, 'below-a-file.json')]) {
      if (target.includes('below-a-file')) writeFileSync(file, '0');
      const s = new MaintenanceService({ stateFilePath: target, logger: captureLogger() });
      const err = await s.enable().catch((e) => e);
      expect(err).to.be.instanceOf(MaintenanceError).with.property('code', 'ERR_MAINTENANCE_STORE_WRITE');
      expect(err.message)
        .to.include(target)
        .and.match(/ENOENT|ENOTDIR/)
        .and.match(/set stateFilePath/);
      expect(s.lastKnownState().enabled).to.equal(false);
    }
  });

  it('never shows a torn or invalid state while two processes toggle 200 times each', async function () {
    this.timeout(60_000);
    const writer = (id: string) =>
      writerProcess(
        file,
        '{}',
        `for (let i = 0; i < 200; i++) {
          if (i % 2 === 0) await s.enable({ message: '${id}-' + i, by: '${id}' });
          else await s.disable({ by: '${id}' });
        }`,
      );
    const { s: reader, logger } = service();
    let running = true;
    const children = Promise.all([writer('a'), writer('b')]).finally(() => {
      running = false;
    });
    let reads = 0;
    const seen = new Set<boolean>();
    const rawProblems: string[] = [];
    while (running) {
      const state = await reader.getState();
      seen.add(state.enabled);
      try {
        const text = await fsp.readFile(file, 'utf8');
        parseStateDocument(text);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') rawProblems.push((err as Error).message);
      }
      reads++;
    }
    expect(await children).to.deep.equal([0, 0]);
    expect(rawProblems).to.deep.equal([]);
    expect(logger.warnings).to.deep.equal([]);
    expect(reads).to.be.above(50);
    expect([...seen]).to.have.members([true, false]);
    const final = parseStateDocument(readFileSync(file, 'utf8'));
    expect(final.enabled).to.equal(false); // each writer's last toggle (i = 199) is disable()
    // No temp file or lock is left behind: beside the state its side directory, in that the history (log and rotated
    // log) and the revision counter.
    expect(readdirSync(dir).sort()).to.deep.equal(['state.json', 'state.json.d']);
    const left = readdirSync(side).filter((f) => !/^(\.gitignore|revision|history\.jsonl(\.1)?)$/.test(f));
    expect(left).to.deep.equal([]);
  });

  it('loses no history entry while two processes change the state at the same instant', async function () {
    this.timeout(60_000);
    const changes = 90;
    const writer = (id: string) =>
      writerProcess(
        file,
        '{ cacheTtlMs: 0 }',
        `for (let i = 0; i < ${changes}; i++) await s.enable({ message: '${id}-' + i, by: '${id}' });`,
      );
    expect(await Promise.all([writer('a'), writer('b')])).to.deep.equal([0, 0]);
    const { s } = service();
    const history = await s.history(HISTORY_LIMIT);
    const expected = ['a', 'b'].flatMap((id) => Array.from({ length: changes }, (_, i) => `${id}-${i}`));
    expect(history.map((e) => e.message).sort()).to.deep.equal(expected.sort());
    // Each writer's own entries stay in its order.
    for (const id of ['a', 'b']) {
      const own = history.filter((e) => e.by === id).map((e) => Number(String(e.message).split('-')[1]));
      expect(own).to.deep.equal([...own].sort((x, y) => y - x));
    }
  });

  it('keeps the history bounded on disk and returns the newest entries, skipping a torn line', async function () {
    this.timeout(30_000); // 450 switches, each fsynced: about 6 s on an idle machine
    const { s } = service();
    for (let i = 0; i < HISTORY_LIMIT * 2 + 50; i++) await s.enable({ message: `m${i}` });
    const lines = (name: string) => readFileSync(join(side, name), 'utf8').trim().split('\n').length;
    expect(lines('history.jsonl')).to.be.below(HISTORY_LIMIT);
    expect(lines('history.jsonl.1')).to.equal(HISTORY_LIMIT);
    writeFileSync(join(side, 'history.jsonl'), '{"at":"2026-', { flag: 'a' }); // a crash mid-write
    const history = await s.history(HISTORY_LIMIT);
    expect(history).to.have.length(HISTORY_LIMIT);
    expect(history[0].message).to.equal(`m${HISTORY_LIMIT * 2 + 49}`);
    expect(history[HISTORY_LIMIT - 1].message).to.equal(`m${HISTORY_LIMIT + 50}`);
    expect(readdirSync(side).filter((f) => f.endsWith('lock'))).to.deep.equal([]);
  });

  it("sees another writer's switch and a hand edit within the cache TTL, without polling (a directory watch)", async function () {
    this.timeout(3 * PATIENCE_MS);
    const { s } = service({ cacheTtlMs: 60_000 });
    try {
      expect(await s.isEnabled()).to.equal(false);
      const { s: writer } = service();
      await writer.enable({ by: 'cli' });
      await until(() => s.lastKnownState().updatedBy === 'cli', PATIENCE_MS); // watched: not the 60 s cache
      writeFileSync(file, '0\n'); // by hand
      await until(() => s.lastKnownState().enabled === false, PATIENCE_MS);
      expect(await s.isEnabled()).to.equal(false);
    } finally {
      await s.close();
    }
  });
});
