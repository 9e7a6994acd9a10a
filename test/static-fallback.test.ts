import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { CATALOGS } from '../src/index.js';
import { inSeconds } from './helpers/app.js';
import { endChild, spawnChild } from './helpers/children.js';
import { cliRunner } from './helpers/cli.js';
import { freePort } from './helpers/redis.js';
import { hasBinary, requireBinary } from './helpers/system.js';
import { PATIENCE_MS } from './helpers/wait.js';

describe('static fallback: maintenance-mode render', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kmm-render-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the page and its JSON twin from the stored state, in the language asked for', async () => {
    const run = cliRunner(dir);
    const end = inSeconds(1800);
    await run([
      'on',
      '--message',
      'Deploying version 42',
      '--message-in',
      'de=Version 42 wird installiert',
      '--end',
      end,
    ]);
    const r = await run(['render', '--out', 'www/maintenance.html', '--json-out', 'www/maintenance.json']);
    expect(r.code, r.err).to.equal(1); // the directory does not exist: a clear error, nothing half-written
    mkdirSync(join(dir, 'www'));
    const ok = await run(['render', '--out', 'www/maintenance.html', '--json-out', 'www/maintenance.json']);
    expect(ok.code, ok.err).to.equal(0);
    expect(ok.out)
      .to.match(/Wrote .*maintenance\.html \(\d+ bytes\)/)
      .and.match(/Retry-After: 1[78]\d\d/);
    const html = readFileSync(join(dir, 'www/maintenance.html'), 'utf8');
    expect(html).to.include('<html lang="en">').and.include('Deploying version 42');
    expect(html).to.include(`datetime="${new Date(end).toISOString()}"`);
    const json = JSON.parse(readFileSync(join(dir, 'www/maintenance.json'), 'utf8'));
    expect(json).to.include({ maintenance: true, message: 'Deploying version 42', end: new Date(end).toISOString() });
    const de = await run(['render', '--locale', 'de']);
    expect(de.out)
      .to.include('<html lang="de">')
      .and.include('Version 42 wird installiert')
      .and.include(CATALOGS.de.heading);
    expect((await run(['render', '--locale', 'xx'])).err).to.match(/--locale must be one of/);
    expect((await run(['status', '--out', 'x'])).code).to.equal(2);
  });
});

/** How each proxy is configured and started for the test, from the snippet in examples/proxy/. */
const PROXIES = [
  {
    name: 'nginx',
    binary: hasBinary('nginx') ? 'nginx' : '/usr/sbin/nginx',
    config(dir: string, port: number, upstream: number): string {
      const snippet = readFileSync(join(__dirname, '..', '..', 'examples', 'proxy', 'nginx.conf'), 'utf8')
        .replaceAll('127.0.0.1:3000', `127.0.0.1:${upstream}`)
        .replaceAll('/var/www/maintenance', dir);
      const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `${t}_temp_path ${dir}/tmp;`);
      return (
        `worker_processes 1;\npid ${dir}/nginx.pid;\nerror_log ${dir}/error.log;\nevents { worker_connections 64; }\n` +
        `http {\n  access_log off;\n  ${temp.join(' ')}\n  types { text/html html; application/json json; }\n` +
        `  server {\n    listen 127.0.0.1:${port};\n${snippet}\n  }\n}\n`
      );
    },
    args: (dir: string, file: string) => ['-p', dir, '-c', file, '-g', 'daemon off;'],
  },
  {
    name: 'caddy',
    binary: 'caddy',
    config(dir: string, port: number, upstream: number): string {
      const site = readFileSync(join(__dirname, '..', '..', 'examples', 'proxy', 'Caddyfile'), 'utf8')
        .replaceAll('127.0.0.1:3000', `127.0.0.1:${upstream}`)
        .replaceAll('/var/www/maintenance', dir)
        .replace('example.com {', `http://127.0.0.1:${port} {`);
      return `{\n\tadmin off\n\tauto_https off\n}\n${site}`;
    },
    args: (_dir: string, file: string) => ['run', '--config', file, '--adapter', 'caddyfile'],
  },
] as const;

for (const proxy of PROXIES) {
  describe(`static fallback: ${proxy.name} in front of a stopped app`, function () {
    this.timeout(2 * PATIENCE_MS);
    let dir: string;
    let child: ChildProcess | undefined;
    let port: number;

    before(async function () {
      requireBinary(this, proxy.binary, proxy.name);
      dir = mkdtempSync(join(tmpdir(), `kmm-${proxy.name}-`));
      chmodSync(dir, 0o755); // nginx workers run as another user
      mkdirSync(join(dir, 'tmp'), { mode: 0o777 });
      chmodSync(join(dir, 'tmp'), 0o777);
      const run = cliRunner(dir);
      await run(['on', '--message', 'We are deploying; back in a minute.']);
      const r = await run(['render', '--out', 'maintenance.html', '--json-out', 'maintenance.json']);
      expect(r.code, r.err).to.equal(0);
      port = await freePort();
      const upstream = await freePort(); // nothing listens there: the app is down (a deploy, a restart)
      const file = join(dir, `${proxy.name}.conf`);
      writeFileSync(file, proxy.config(dir, port, upstream));
      const env = { ...process.env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir };
      child = spawnChild(proxy.binary, proxy.args(dir, file), { stdio: 'ignore', env });
      const t0 = performance.now();
      while (performance.now() - t0 < PATIENCE_MS && child.exitCode === null) {
        const up = await new Promise<boolean>((done) => {
          const s = new Socket();
          s.once('error', () => done(false));
          s.connect(port, '127.0.0.1', () => {
            s.destroy();
            done(true);
          });
        });
        if (up) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`${proxy.name} did not listen on ${port} within ${PATIENCE_MS} ms (exit code ${child.exitCode})`);
    });
    after(async () => {
      if (child) await endChild(child);
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('serves the rendered page with 503, Retry-After and no caching, and the JSON twin to the API', async () => {
      const page = await fetch(`http://127.0.0.1:${port}/shop/cart`);
      expect(page.status).to.equal(503);
      expect(page.headers.get('retry-after')).to.equal('3600');
      expect(page.headers.get('cache-control')).to.match(/no-store/);
      expect(page.headers.get('content-type')).to.match(/^text\/html/);
      const html = await page.text();
      expect(html).to.include('We are deploying; back in a minute.').and.include('<title>Down for maintenance</title>');
      const api = await fetch(`http://127.0.0.1:${port}/api/orders`);
      expect(api.status).to.equal(503);
      expect(api.headers.get('content-type')).to.match(/^application\/json/);
      expect(await api.json()).to.deep.equal({
        maintenance: true,
        message: 'We are deploying; back in a minute.',
        retryAfter: 3600,
      });
    });
  });
}
