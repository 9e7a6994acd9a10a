import { spawn, spawnSync } from 'node:child_process';
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
import { requireBinary } from './helpers/system.js';
import { until } from './helpers/wait.js';

describe('demo app (npm start)', () => {
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
    /** The file change reaches the app through its directory watch within milliseconds. */
    const statusSoon = async (path: string, want: number) => {
      let status = 0;
      for (let i = 0; i < 100 && status !== want; i++) {
        status = (await request().get(path)).status;
        if (status !== want) await new Promise((r) => setTimeout(r, 20));
      }
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
      const r = spawnSync(process.execPath, [join(root, 'build', 'examples', 'demo', 'server.js')], {
        cwd: dir,
        env: { ...process.env, PORT: String(port) },
        encoding: 'utf8',
        timeout: 20_000,
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
    const dir = mkdtempSync(join(tmpdir(), 'kmm-demo-api-'));
    const child = spawn(process.execPath, [join(root, 'build', 'examples', 'demo', 'server.js')], {
      cwd: dir,
      env: { ...process.env, PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
      });
      await until(() => out.includes('Ctrl+C stops.'), 30_000);
      const lines = out.split('\n');
      const at = lines.findIndex((l) => l.trim().startsWith('curl -s -X POST'));
      expect(at, out).to.be.above(-1);
      const switchOn = `${lines[at]?.replace(/\\$/, '')} ${lines[at + 1]}`;
      const on = spawnSync('sh', ['-c', switchOn], { encoding: 'utf8', timeout: 20_000 });
      expect(JSON.parse(on.stdout), on.stderr).to.include({ enabled: true, active: true, message: 'Deploying' });
      const state = spawnSync('sh', ['-c', (lines[at + 2] as string).trim()], { encoding: 'utf8', timeout: 20_000 });
      expect(JSON.parse(state.stdout)).to.include({ enabled: true, updatedBy: 'token:demo' });
    } finally {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('builds the CLI on the first `npm run maintenance-mode` in a fresh checkout, then runs it', () => {
    const repo = mkdtempSync(join(tmpdir(), 'kmm-fresh-'));
    try {
      for (const entry of ['src', 'views', 'scripts', 'tsconfig.json', 'package.json']) {
        cpSync(join(root, entry), join(repo, entry), { recursive: true });
      }
      symlinkSync(join(root, 'node_modules'), join(repo, 'node_modules'));
      const r = spawnSync(process.execPath, [join(repo, 'scripts', 'maintenance-mode.cjs'), 'status'], {
        cwd: repo,
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(r.stderr).to.equal('Building the CLI first (npm run build)…\n');
      expect(r.status).to.equal(0);
      expect(r.stdout).to.match(/^Maintenance mode is off\. State: the state file /);
    } finally {
      rmSync(repo, { recursive: true, force: true });
    }
  });
});
