import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import supertest from 'supertest';
import { createDemoApp } from '../examples/demo/app.js';
import { MaintenanceService } from '../src/index.js';
import { captureLogger } from './helpers/app.js';
import { endChild, runSync, spawnChild } from './helpers/children.js';
import { requireBinary } from './helpers/system.js';
import { PATIENCE_MS, until } from './helpers/wait.js';

describe('demo app (npm start)', function () {
  this.timeout(3 * PATIENCE_MS);
  let dir: string;
  const services: MaintenanceService[] = [];
  /** A service on the test's directory, closed (it leaves the fleet, stops reporting) before the directory goes. */
  const serviceAt = (file: string) => {
    const s = new MaintenanceService({ stateFilePath: join(dir, file), logger: captureLogger() });
    services.push(s);
    return s;
  };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kmm-demo-'));
  });
  afterEach(async () => {
    await Promise.all(services.splice(0).map((s) => s.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('follows the state file the README tells people to edit', async () => {
    const file = join(dir, 'maintenance_mode_state.json');
    const app = createDemoApp({ service: serviceAt('maintenance_mode_state.json') });
    const request = () => supertest(app.callback());
    /** The file change reaches the app through its directory watch (within milliseconds on an idle machine). */
    const statusSoon = async (path: string, want: number) => {
      let status = 0;
      const read = async () => {
        status = (await request().get(path)).status;
        return status === want;
      };
      await until(read, PATIENCE_MS).catch(() => undefined);
      return status;
    };
    await request().get('/').expect(200);
    writeFileSync(file, '{"enabled":true,"message":"Upgrading the database"}\n');
    expect(await statusSoon('/', 503)).to.equal(503);
    const page = await request().get('/').expect(503);
    expect(page.text).to.include('Upgrading the database');
    expect(page.headers['retry-after']).to.equal('600');
    const api = await request().get('/api/products').expect(503);
    expect(api.body).to.deep.equal({ maintenance: true, message: 'Upgrading the database', retryAfter: 600 });
    await request().get('/healthz').expect(200);
    writeFileSync(file, '0\n');
    expect(await statusSoon('/', 200)).to.equal(200);
  });

  it('takes the checkout down on its own (scope checkout) while the shop stays up', async () => {
    const service = serviceAt('state.json');
    const request = () => supertest(createDemoApp({ service }).callback());
    await request().get('/checkout').expect(200);
    await service.enable({ scope: 'checkout', message: 'Payments are being upgraded' });
    const r = await request().get('/checkout').expect(503);
    expect(r.text).to.include('Payments are being upgraded');
    await request().get('/').expect(200);
    await request().get('/api/products').expect(200);
    await service.disable({ scope: 'checkout' });
    await request().get('/checkout').expect(200);
  });
});

describe('demo and CLI scripts: first runs end in one clear line, never a stack trace', function () {
  this.timeout(60_000);
  const root = join(__dirname, '..', '..');

  it('says which port is taken, and how to pick another, when 3000 (PORT) is in use', async () => {
    const blocker = createServer().listen(0, '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    const port = (blocker.address() as AddressInfo).port;
    const dir = mkdtempSync(join(tmpdir(), 'kmm-demo-port-'));
    try {
      const r = runSync(process.execPath, [join(root, 'build', 'examples', 'demo', 'server.js')], {
        cwd: dir,
        env: { ...process.env, PORT: String(port) },
        encoding: 'utf8',
        timeout: 50_000,
      });
      expect(r.status).to.equal(1);
      expect(r.stderr.trim()).to.equal(
        `Error: port ${port} is in use by another program; stop it, or start the demo on another port: PORT=3001 npm start`,
      );
    } finally {
      blocker.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('prints a ready control API token and curl lines that switch the running demo', async function () {
    requireBinary(this, 'curl', 'curl');
    this.timeout(90_000); // the demo's start (up to 40 s) and two curl commands (up to 20 s each)
    const dir = mkdtempSync(join(tmpdir(), 'kmm-demo-api-'));
    const child = spawnChild(process.execPath, [join(root, 'build', 'examples', 'demo', 'server.js')], {
      cwd: dir,
      env: { ...process.env, PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let out = '';
      child.stdout?.on('data', (d) => {
        out += d;
      });
      await until(() => out.includes('Ctrl+C stops.'), 40_000);
      const lines = out.split('\n');
      const at = lines.findIndex((l) => l.trim().startsWith('curl -s -X POST'));
      expect(at, out).to.be.above(-1);
      const switchOn = `${lines[at]?.replace(/\\$/, '')} ${lines[at + 1]}`;
      const on = runSync('sh', ['-c', switchOn], { encoding: 'utf8', timeout: 20_000 });
      expect(JSON.parse(on.stdout), on.stderr).to.include({ enabled: true, active: true, message: 'Deploying' });
      const state = runSync('sh', ['-c', (lines[at + 2] as string).trim()], { encoding: 'utf8', timeout: 20_000 });
      expect(JSON.parse(state.stdout)).to.include({ enabled: true, updatedBy: 'token:demo' });
    } finally {
      await endChild(child, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('builds the CLI on the first `npm run maintenance-mode` in a fresh checkout, then runs it', function () {
    this.timeout(180_000); // tsc builds src: about 10 s on an idle machine
    const repo = mkdtempSync(join(tmpdir(), 'kmm-fresh-'));
    try {
      for (const entry of ['src', 'views', 'scripts', 'tsconfig.json', 'package.json']) {
        cpSync(join(root, entry), join(repo, entry), { recursive: true });
      }
      symlinkSync(join(root, 'node_modules'), join(repo, 'node_modules'));
      const r = runSync(process.execPath, [join(repo, 'scripts', 'maintenance-mode.cjs'), 'status'], {
        cwd: repo,
        encoding: 'utf8',
        timeout: 170_000,
      });
      expect(r.stderr).to.equal('Building the CLI first (npm run build)…\n');
      expect(r.status).to.equal(0);
      expect(r.stdout).to.match(/^Maintenance mode is off\. State: the state file /);
    } finally {
      rmSync(repo, { recursive: true, force: true });
    }
  });
});
