import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { expect } from 'chai';
import { type CliIo, hashSecret, MESSAGE_MAX_LENGTH, main } from '../src/index.js';
import { runSync } from './helpers/children.js';
import { startRedis, type TestRedis } from './helpers/redis.js';
import { requireBinary } from './helpers/system.js';

function fakeIo(cwd: string, env: Record<string, string> = {}, input?: string) {
  const out: string[] = [];
  const err: string[] = [];
  let stdin: PassThrough | undefined;
  if (input !== undefined) {
    stdin = new PassThrough();
    stdin.end(input);
  }
  const io: CliIo = {
    stdout: { write: (t: string) => out.push(t) },
    stderr: { write: (t: string) => err.push(t) },
    stdin,
    env,
    cwd,
  };
  return { io, out: () => out.join(''), err: () => err.join('') };
}

describe('maintenance-mode CLI: main(argv, io)', () => {
  let dir: string;
  const stateFile = () => join(dir, 'maintenance_mode_state.json');
  const state = () => JSON.parse(readFileSync(stateFile(), 'utf8'));
  const run = async (argv: string[], env: Record<string, string> = {}, input?: string) => {
    const f = fakeIo(dir, { USER: 'deployer', ...env }, input);
    const code = await main(argv, f.io);
    return { code, out: f.out(), err: f.err() };
  };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kmm-cli-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("switches on and off in ./maintenance_mode_state.json, the service's default file", async () => {
    let r = await run(['on']);
    expect(r).to.include({ code: 0, err: '' });
    expect(r.out).to.match(/^Maintenance mode is now on \(changed .* by cli:deployer\)\.\n$/);
    expect(state()).to.include({ enabled: true, updatedBy: 'cli:deployer' });
    r = await run(['off']);
    expect(r.code).to.equal(0);
    expect(state().enabled).to.equal(false);
  });

  it('records the OS account when USER and USERNAME are unset (containers, CI)', async () => {
    const f = fakeIo(dir, {});
    expect(await main(['on'], f.io)).to.equal(0);
    expect(state().updatedBy).to.equal(`cli:${userInfo().username}`);
    expect(state().updatedBy).to.not.equal('cli:unknown');
  });

  it('refuses a message over the limit with the limit in the error, and changes nothing', async () => {
    const r = await run(['on', '--message', 'm'.repeat(MESSAGE_MAX_LENGTH + 1)]);
    expect(r.code).to.equal(1);
    expect(r.err).to.match(/^Error: message is 1001 characters long; the limit is 1000\./);
    expect(() => state()).to.throw(/ENOENT/);
  });

  it('accepts on/yes/true/1 and off/no/false/0', async () => {
    for (const [word, enabled] of [
      ['yes', true],
      ['0', false],
      ['TRUE', true],
      ['no', false],
      ['1', true],
      ['false', false],
    ] as const) {
      expect((await run([word])).code, word).to.equal(0);
      expect(state().enabled, word).to.equal(enabled);
    }
  });

  it('reports "already on/off" without writing and exits 0', async () => {
    await run(['on']);
    const before = readFileSync(stateFile(), 'utf8');
    const r = await run(['on']);
    expect(r).to.include({ code: 0, out: 'Maintenance mode is already on. Nothing changed.\n' });
    expect(readFileSync(stateFile(), 'utf8')).to.equal(before);
    await run(['off']);
    expect((await run(['off'])).out).to.equal('Maintenance mode is already off. Nothing changed.\n');
  });

  it('schedules with --start/--end and sets --message', async () => {
    const start = new Date(Date.now() + 3600_000).toISOString();
    const end = new Date(Date.now() + 7200_000).toISOString();
    const r = await run(['on', '--start', start, '--end', end, '--message', 'Moving data centres']);
    expect(r.code).to.equal(0);
    expect(r.out).to.include(`scheduled from ${start} to ${end}`).and.include('message: "Moving data centres"');
    expect(state()).to.include({ enabled: true, start, end, message: 'Moving data centres' });
    const status = await run(['status']);
    expect(status.out).to.match(/^Maintenance mode is off \(scheduled from /);
  });

  it('prints status as JSON with --json, naming the store', async () => {
    await run(['on', '--message', 'hi']);
    const r = await run(['status', '--json']);
    const body = JSON.parse(r.out);
    expect(body).to.include({ enabled: true, active: true, message: 'hi', store: `the state file ${stateFile()}` });
    const changed = JSON.parse((await run(['off', '--json'])).out);
    expect(changed).to.include({ enabled: false, changed: true });
  });

  it('asks with --interactive: yes changes, anything else changes nothing and exits 1', async () => {
    let r = await run(['on', '--interactive'], {}, 'n\n');
    expect(r.code).to.equal(1);
    expect(r.out).to.match(/Switch maintenance mode on in the state file .*\? \[y\/N\] $/);
    expect(r.err).to.equal('Error: declined at the prompt; nothing changed.\n');
    expect(() => state()).to.throw(/ENOENT/);
    r = await run(['on', '-i'], {}, '');
    expect(r.code).to.equal(1);
    r = await run(['on', '-i'], {}, 'yes\n');
    expect(r.code).to.equal(0);
    expect(state().enabled).to.equal(true);
  });

  it('uses MAINTENANCE_MODE_STATE_FILE_PATH, relative to the working directory', async () => {
    const r = await run(['on'], { MAINTENANCE_MODE_STATE_FILE_PATH: 'custom.json' });
    expect(r.code).to.equal(0);
    expect(JSON.parse(readFileSync(join(dir, 'custom.json'), 'utf8')).enabled).to.equal(true);
  });

  it('reads --config from .json and .cjs files', async () => {
    writeFileSync(join(dir, 'm.json'), JSON.stringify({ stateFilePath: join(dir, 'from-json.json') }));
    expect((await run(['on', '--config', 'm.json'])).code).to.equal(0);
    expect(JSON.parse(readFileSync(join(dir, 'from-json.json'), 'utf8')).enabled).to.equal(true);
    writeFileSync(
      join(dir, 'm.cjs'),
      `module.exports = { stateFilePath: ${JSON.stringify(join(dir, 'from-cjs.json'))} };`,
    );
    expect((await run(['on', '-c', 'm.cjs'])).code).to.equal(0);
    expect(JSON.parse(readFileSync(join(dir, 'from-cjs.json'), 'utf8')).enabled).to.equal(true);
  });

  it('exits 1 with "Error: …" naming the real path when the store cannot be used', async () => {
    writeFileSync(join(dir, 'a-file'), ''); // a "directory" that is a file: it exists, and nothing can be written in it
    const blocked = join(dir, 'a-file', 'state.json');
    let r = await run(['on'], { MAINTENANCE_MODE_STATE_FILE_PATH: blocked });
    expect(r.code).to.equal(1);
    expect(r.err).to.equal(`Error: Cannot read the maintenance state file ${blocked} (ENOTDIR).\n`);
    writeFileSync(stateFile(), '{"enabled": maybe}');
    r = await run(['status']);
    expect(r.code).to.equal(1);
    expect(r.err)
      .to.include(stateFile())
      .and.match(/not JSON/);
    r = await run(['on', '--config', 'missing.json']);
    expect(r).to.include({ code: 1 });
    expect(r.err).to.include(join(dir, 'missing.json'));
    writeFileSync(join(dir, 'bad.json'), '{"stateFile": "x"}');
    r = await run(['status', '-c', 'bad.json']);
    expect(r.err).to.match(/Did you mean `stateFilePath`\?/);
  });

  it('exits 1 for an invalid schedule', async () => {
    const r = await run(['on', '--end', '2001-01-01T00:00:00Z']);
    expect(r.code).to.equal(1);
    expect(r.err).to.match(/^Error: end .* is not in the future/);
  });

  it('on --secret stores only a hash and prints the bypass URL once', async () => {
    const r = await run(['on', '--secret']);
    expect(r.code).to.equal(0);
    const secret = (/https:\/\/<your-site>\/([0-9a-f]{32})/.exec(r.out) as RegExpExecArray)[1];
    const stored = readFileSync(stateFile(), 'utf8');
    expect(stored).to.not.include(secret);
    expect(state().bypassHash).to.equal(hashSecret(secret));
    const json = JSON.parse((await run(['on', '--secret', '--json'])).out); // already on: still a new secret
    expect(json.bypassPath).to.match(/^\/[0-9a-f]{32}$/);
    expect(state().bypassHash).to.equal(hashSecret(json.bypassPath.slice(1)));
    // A plain `on` while on revokes the window's secret (as the README says), instead of "already on".
    const plain = await run(['on']);
    expect(plain.code).to.equal(0);
    expect(plain.out)
      .to.match(/^Maintenance mode is now on/)
      .and.match(/bypass secret is revoked/);
    expect(state().bypassHash).to.equal(undefined);
    expect((await run(['on'])).out).to.equal('Maintenance mode is already on. Nothing changed.\n');
  });

  it('overwrites a corrupt state file with on or off, saying so, and records it as unreadable', async () => {
    writeFileSync(stateFile(), '{"enabled": maybe}');
    const status = await run(['status']);
    expect(status.code).to.equal(1);
    expect(status.err)
      .to.include(`The state file ${stateFile()}:`)
      .and.match(/`maintenance-mode off`/);
    const off = await run(['off']);
    expect(off.code, off.err).to.equal(0);
    expect(off.out)
      .to.match(/is now off/)
      .and.include('The stored state was unreadable (corrupt) and is overwritten.');
    expect(state()).to.include({ enabled: false });
    const history = JSON.parse((await run(['history', '--json'])).out);
    expect(history[0]).to.include({ from: 'unreadable', to: 'off', source: 'cli' });
  });

  it('on --read-only stores a read-only window', async () => {
    expect((await run(['on', '--read-only'])).code).to.equal(0);
    expect(state()).to.include({ enabled: true, readOnly: true });
    expect((await run(['status', '--json'])).out).to.include('"readOnly":true');
  });

  it('history lists the changes, newest first, with who and how', async () => {
    expect((await run(['history'])).out).to.equal('No changes recorded yet.\n');
    await run(['on', '--message', 'Upgrading']);
    await run(['off']);
    const r = await run(['history']);
    const lines = r.out.trim().split('\n');
    expect(lines).to.have.length(2);
    expect(lines[0]).to.match(/Z {2}on -> off {2}by cli:deployer via cli$/);
    expect(lines[1]).to.match(/Z {2}off -> on {2}by cli:deployer via cli "Upgrading"$/);
    const json = JSON.parse((await run(['history', '--json', '--limit', '1'])).out);
    expect(json).to.have.length(1);
    expect(json[0]).to.include({ from: 'on', to: 'off', source: 'cli' });
  });

  it("why evaluates the config's middleware options against the stored state, offline", async () => {
    writeFileSync(
      join(dir, 'app.config.cjs'),
      `module.exports = { stateFilePath: ${JSON.stringify(stateFile())}, maintenance: { ignoreUrls: ['/api/health'], ignoreStaff: true, ignoreIpAddresses: ['10.0.0.0/8'] } };`,
    );
    const why = async (...args: string[]) => (await run(['why', ...args, '-c', 'app.config.cjs'])).out.split('\n')[0];
    expect(await why('/shop')).to.equal('GET /shop passes (rule: state-off).');
    await run(['on', '-c', 'app.config.cjs']);
    expect(await why('/shop')).to.equal('GET /shop is blocked (rule: maintenance).');
    expect(await why('/api/health/db')).to.equal('GET /api/health/db passes (rule: ignoreUrls).');
    expect(await why('/shop', '--staff')).to.equal('GET /shop as staff passes (rule: ignoreStaff).');
    expect(await why('/shop', '--ip', '10.1.2.3', '--method', 'post')).to.equal(
      'POST /shop from 10.1.2.3 passes (rule: ignoreIpAddresses).',
    );
    const json = JSON.parse((await run(['why', '/x', '--json', '-c', 'app.config.cjs'])).out);
    expect(json).to.deep.equal({ path: '/x', method: 'GET', blocked: true, rule: 'maintenance' });
  });

  it('says a state file in a directory that does not exist is a wrong path, instead of reading "off"', async () => {
    const missing = join(dir, 'no-such-dir', 'state.json');
    for (const argv of [['status'], ['history'], ['on']]) {
      const r = await run(argv, { MAINTENANCE_MODE_STATE_FILE_PATH: missing });
      expect(r.code, argv.join(' ')).to.equal(1);
      expect(r.out).to.equal('');
      expect(r.err).to.match(/^Error: The state file's directory .*no-such-dir does not exist/);
    }
  });

  it('exits 2 with one line and where the help is for bad usage, the usage without a command, 0 with --help', async () => {
    expect((await run([])).err).to.include('Usage: maintenance-mode <command> [options]');
    for (const argv of [
      ['maybe'],
      ['on', 'off'],
      ['on', '--bogus'],
      ['status', '--message', 'x'],
      ['off', '--end', 'x'],
      ['upcoming', '--count', '-3'],
    ]) {
      const r = await run(argv);
      expect(r.code, argv.join(' ')).to.equal(2);
      const lines = r.err.trimEnd().split('\n');
      expect(lines, argv.join(' ')).to.have.length(2);
      expect(lines[1]).to.equal('See: maintenance-mode help');
      expect(lines[0]).to.not.match(/^Option '|Did you forget/);
    }
    expect((await run(['upcoming', '--count', '-3'])).err).to.match(/^--count needs a value; .* --count=VALUE/);
    expect((await run(['upcoming', '--count=-3'])).err).to.match(/^--count takes a whole number/);
    const help = await run(['--help']);
    expect(help).to.include({ code: 0, err: '' });
    expect(help.out).to.include('--interactive');
  });
});

describe('maintenance-mode CLI: Redis and a real process', function () {
  this.timeout(90_000); // up to four CLI processes a test, each allowed 15 s
  let redis: TestRedis;
  let dir: string;
  before(async function () {
    requireBinary(this, 'redis-server', 'redis-server');
    redis = await startRedis();
    dir = mkdtempSync(join(tmpdir(), 'kmm-cli-proc-'));
  });
  after(async () => {
    await redis?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const bin = resolve(__dirname, '../src/cli/bin.js');
  const exec = (args: string[], env: Record<string, string> = {}) =>
    runSync(process.execPath, [bin, ...args], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', ...env },
      encoding: 'utf8',
      timeout: 15_000,
    });

  it('runs as a process: exit codes, stdout and stderr, and it exits by itself after using Redis', () => {
    const env = { MAINTENANCE_MODE_REDIS_URL: redis.url, USER: 'ci' };
    let p = exec(['on', '--message', 'from the CLI'], env);
    expect(p.status, p.stderr).to.equal(0);
    expect(p.stdout).to.match(/^Maintenance mode is now on/);
    p = exec(['status', '--json'], env);
    expect(JSON.parse(p.stdout)).to.include({
      enabled: true,
      message: 'from the CLI',
      updatedBy: 'cli:ci',
      store: `Redis at ${redis.url}`,
    });
    p = exec(['off'], env);
    expect(p.status).to.equal(0);
    p = exec(['sideways']);
    expect(p.status).to.equal(2);
    expect(p.stderr).to.equal('Unknown command "sideways".\nSee: maintenance-mode help\n');
  });

  it('exits 1 naming the URL (password hidden) when Redis is unreachable', () => {
    const p = exec(['status'], { MAINTENANCE_MODE_REDIS_URL: 'redis://:topsecret@127.0.0.1:1' });
    expect(p.status).to.equal(1);
    expect(p.stderr).to.match(/^Error: Reading Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:1 failed/);
    expect(p.stderr).to.not.include('topsecret');
  });
});
