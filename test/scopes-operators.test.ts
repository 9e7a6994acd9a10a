import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect } from 'chai';
import Koa from 'koa';
import bodyParser from 'koa-bodyparser';
import supertest from 'supertest';
import { MaintenanceService, maintenance, maintenanceRoutes } from '../src/index.js';
import { captureLogger, memoryService, userFromHeader } from './helpers/app.js';
import { runSync } from './helpers/children.js';
import { cliRunner } from './helpers/cli.js';
import { PATIENCE_MS, until } from './helpers/wait.js';

const ALICE = JSON.stringify({ username: 'alice', isSuperuser: true });

describe('scopes from the command line', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kmm-scope-cli-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const run = (argv: string[]) => cliRunner(dir)(argv);

  it('switches a scope with --scope, and status lists every scope in maintenance (text and --json)', async () => {
    let r = await run(['on', '--scope', 'billing', '--message', 'New payment provider']);
    expect(r.code, r.err).to.equal(0);
    expect(r.out).to.match(/^Maintenance mode for scope billing is now on \(message: "New payment provider"/);
    await run(['on', '--scope', 'tenant:42', '--end', new Date(Date.now() + 3_600_000).toISOString()]);
    r = await run(['status']);
    expect(r.out.split('\n')).to.deep.include.members([
      'Scopes in maintenance (2):',
      '  billing: on (message: "New payment provider"; changed ' +
        `${r.out.match(/billing: on \(message: "New payment provider"; changed (\S+)/)?.[1]} by cli:ops)`,
    ]);
    expect(r.out)
      .to.match(/^Maintenance mode is off\./)
      .and.match(/ {2}tenant:42: on \(until /);
    const json = JSON.parse((await run(['status', '--json'])).out);
    expect(json).to.include({ enabled: false, active: false });
    expect(Object.keys(json.scopes)).to.deep.equal(['billing', 'tenant:42']);
    expect(json.scopes.billing).to.include({ enabled: true, active: true, message: 'New payment provider' });
    const one = JSON.parse((await run(['status', '--scope', 'billing', '--json'])).out);
    expect(one).to.include({ scope: 'billing', active: true, updatedBy: 'cli:ops' });
    r = await run(['off', '--scope', 'billing']);
    expect(r.out).to.equal('Maintenance mode for scope billing is now off.\n');
    expect(Object.keys(JSON.parse((await run(['status', '--json'])).out).scopes)).to.deep.equal(['tenant:42']);
  });

  it('shows the scope in the history, and refuses an invalid scope name with exit 1', async () => {
    await run(['on', '--scope', 'billing']);
    await run(['on']);
    const lines = (await run(['history'])).out.trim().split('\n');
    expect(lines[0]).to.match(/Z {2}off -> on {2}by cli:ops via cli$/);
    expect(lines[1]).to.match(/Z {2}off -> on \[scope billing\] {2}by cli:ops via cli$/);
    const bad = await run(['on', '--scope', '../billing']);
    expect(bad.code).to.equal(1);
    expect(bad.err).to.match(/^Error: scope must be a scope name/);
    expect((await run(['history', '--scope', 'billing'])).code).to.equal(2);
  });

  it('switches a scope of a running app on the file store: the app sees it within milliseconds', async function () {
    this.timeout(2 * PATIENCE_MS + 2 * 15_000 + 10_000); // two waits for the watch, two CLI processes
    const file = join(dir, 'state.json');
    // A one-minute cache: the app can only see the CLI's change through the directory watch.
    const service = new MaintenanceService({ stateFilePath: file, cacheTtlMs: 60_000, logger: captureLogger() });
    const app = new Koa();
    app.use(maintenance({ service, scope: (ctx) => (ctx.path.startsWith('/checkout') ? 'checkout' : undefined) }));
    app.use((ctx) => {
      ctx.body = 'ok';
    });
    const request = () => supertest(app.callback());
    try {
      await request().get('/checkout').expect(200);
      await new Promise((r) => setTimeout(r, 100)); // the watch is set up
      const bin = resolve(__dirname, '../src/cli/bin.js');
      const cli = (args: string[]) =>
        runSync(process.execPath, [bin, ...args], {
          cwd: dir,
          env: { PATH: process.env.PATH ?? '', MAINTENANCE_MODE_STATE_FILE_PATH: file, USER: 'ops' },
          encoding: 'utf8',
          timeout: 15_000,
        });
      const on = cli(['on', '--scope', 'checkout', '--message', 'Checkout is being upgraded']);
      expect(on.status, on.stderr).to.equal(0);
      // Seen through the watch (milliseconds), long before the one-minute cache would expire.
      const seen = async (status: number) => (await request().get('/checkout')).status === status;
      const ms = await until(() => seen(503), PATIENCE_MS);
      console.log(`      CLI scope switch seen by the running app after ${ms.toFixed(1)} ms`);
      await request().get('/catalog').expect(200);
      const off = cli(['off', '--scope', 'checkout']);
      expect(off.status, off.stderr).to.equal(0);
      await until(() => seen(200), PATIENCE_MS);
    } finally {
      await service.close();
    }
  });
});

describe('scopes on the toggle routes and the status page', () => {
  function routesApp(service = memoryService()) {
    const app = new Koa();
    app.silent = true;
    app.use(bodyParser());
    app.use(userFromHeader);
    app.use(maintenance({ service, scope: (ctx) => ctx.get('x-tenant') || undefined }));
    app.use(maintenanceRoutes({ service }).routes());
    app.use((ctx) => {
      ctx.body = 'page';
    });
    return { service, request: () => supertest(app.callback()) };
  }

  it('switches one scope with ?scope= (GET) or a scope field (POST), and answers its status', async () => {
    const t = routesApp();
    await t.request().get('/maintenance-mode/on?scope=acme').set('x-user', ALICE).expect(302);
    expect(await t.service.isEnabled('acme')).to.equal(true);
    expect(await t.service.isEnabled()).to.equal(false);
    await t.request().get('/').set('x-tenant', 'acme').expect(503);
    await t.request().get('/').set('x-tenant', 'globex').expect(200);
    const status = await t.request().get('/maintenance-mode/status?scope=acme').set('x-user', ALICE).expect(200);
    expect(status.body).to.include({ scope: 'acme', enabled: true, active: true, updatedBy: 'alice' });
    const all = await t.request().get('/maintenance-mode/status').set('x-user', ALICE).expect(200);
    expect(all.body).to.include({ enabled: false });
    expect(all.body.scopes.acme).to.include({ active: true });
    await t
      .request()
      .post('/maintenance-mode/off')
      .set('x-user', ALICE)
      .type('form')
      .send({ scope: 'acme', next: '/maintenance-mode/' })
      .expect(302);
    expect(await t.service.isEnabled('acme')).to.equal(false);
    expect((await t.service.history()).map((e) => [e.scope, e.to, e.source])).to.deep.equal([
      ['acme', 'off', 'routes'],
      ['acme', 'on', 'routes'],
    ]);
  });

  it('answers 400 naming the rule for an invalid scope, and changes nothing', async () => {
    const t = routesApp();
    const r = await t
      .request()
      .get('/maintenance-mode/on?scope=../x')
      .set('x-user', ALICE)
      .set('Accept', 'application/json')
      .expect(400);
    expect(r.body.error).to.equal('ERR_MAINTENANCE_INVALID_SCOPE');
    expect(await t.service.scopes()).to.deep.equal([]);
  });

  it('lists every scope on the status page with a switch each, and a form to take one down', async () => {
    const t = routesApp();
    await t.service.enable({ scope: 'billing', message: 'Invoices <paused>', by: 'ops' });
    await t.service.enable({ scope: 'tenant:42', by: 'ops' });
    const page = await t.request().get('/maintenance-mode/').set('x-user', ALICE).expect(200);
    expect(page.text).to.include('Invoices &lt;paused&gt;');
    for (const scope of ['billing', 'tenant:42']) {
      expect(page.text).to.include(`<input type="hidden" name="scope" value="${scope}">`);
    }
    expect(page.text).to.match(/<form method="post" action="\/maintenance-mode\/off\?next=\/maintenance-mode\/">/);
    expect(page.text).to.include('<input id="scope" name="scope"');
    expect(page.text).to.match(/off → on \[billing\]/);
  });
});
