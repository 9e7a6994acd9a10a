import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import Koa from 'koa';
import bodyParser from 'koa-bodyparser';
import supertest from 'supertest';
import { ON_NOTES } from '../src/core/switch-on.js';
import { MaintenanceService, maintenance, maintenanceApi, maintenanceRoutes } from '../src/index.js';
import { captureLogger } from './helpers/app.js';
import { cliRunner } from './helpers/cli.js';

/** A state as the file holds it, written before any service reads it. */
type Stored = Record<string, unknown>;
const ago = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();
/** A daily window whose occurrence started 10 minutes ago and lasts an hour: in force now. */
const OCCURRENCE: Stored = {
  enabled: false,
  windows: [{ id: 'nightly', rrule: 'FREQ=DAILY', tz: 'UTC', start: ago(10).slice(0, 16), durationMinutes: 60 }],
};

/** One row of the table: what is stored, the switch, and what every surface must answer. */
interface Case {
  readonly name: string;
  readonly stored: Stored;
  readonly switch: 'on' | 'off';
  readonly changed: boolean;
  readonly notes: ReadonlyArray<keyof typeof ON_NOTES>;
  /** What a visitor of the site gets afterwards (of the scope, for a scoped switch). */
  readonly site: 200 | 503;
  readonly scope?: string;
}

const CASES: readonly Case[] = [
  { name: 'off while off', stored: { enabled: false }, switch: 'off', changed: false, notes: [], site: 200 },
  { name: 'on while on', stored: { enabled: true }, switch: 'on', changed: false, notes: [], site: 503 },
  {
    name: "off during a recurring window's occurrence",
    stored: OCCURRENCE,
    switch: 'off',
    changed: true,
    notes: ['occurrence-ended'],
    site: 200,
  },
  {
    name: 'on after a lease lapsed',
    stored: { enabled: true, message: 'Old migration', leaseMs: 60_000, leaseUntil: ago(5) },
    switch: 'on',
    changed: true,
    notes: ['lease-lapsed'],
    site: 503,
  },
  {
    name: 'off after a lease lapsed',
    stored: { enabled: true, message: 'Old migration', leaseMs: 60_000, leaseUntil: ago(5) },
    switch: 'off',
    changed: true,
    notes: ['lease-lapsed'],
    site: 200,
  },
  {
    name: "off for a scope during that scope's occurrence (from a process that never read the whole site)",
    stored: {
      enabled: false,
      windows: [
        {
          id: 'api-nightly',
          rrule: 'FREQ=DAILY',
          tz: 'UTC',
          start: ago(10).slice(0, 16),
          durationMinutes: 60,
          scope: 'api',
        },
      ],
    },
    scope: 'api',
    switch: 'off',
    changed: true,
    notes: ['occurrence-ended'],
    site: 200,
  },
  {
    name: 'on during a dry run',
    stored: { enabled: true, dryRun: true },
    switch: 'on',
    changed: true,
    notes: ['dry-run-made-real'],
    site: 503,
  },
];

/** What a surface reports of a switch. */
interface Reported {
  readonly changed: boolean;
  readonly notes: readonly string[];
}

/** A site with the toggle routes and the control API on one file store, plus the CLI in the same directory. */
async function site(stored: Stored) {
  const dir = mkdtempSync(join(tmpdir(), 'kmm-switch-'));
  writeFileSync(join(dir, 'maintenance_mode_state.json'), JSON.stringify(stored));
  const service = new MaintenanceService({
    stateFilePath: join(dir, 'maintenance_mode_state.json'),
    logger: captureLogger(),
    storeTimeoutMs: 5000, // the store's speed is not under test here
  });
  const token = (await service.createToken({ label: 'ci', allow: ['on', 'off', 'read'] })).token;
  const app = new Koa();
  app.use(async (ctx, next) => {
    ctx.state.user = { username: 'root', isSuperuser: true };
    await next();
  });
  app.use(bodyParser());
  app.use(maintenanceRoutes({ service }).routes());
  app.use(maintenanceApi({ service }).routes());
  app.use(maintenance({ service, presence: false, scope: (ctx) => ctx.get('x-scope') || undefined }));
  app.use((ctx) => {
    ctx.body = 'the shop';
  });
  const request = () => supertest(app.callback());
  return {
    dir,
    service,
    request,
    token,
    async close() {
      await service.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
type Site = Awaited<ReturnType<typeof site>>;

const SURFACES: Record<string, (s: Site, target: 'on' | 'off', scope?: string) => Promise<Reported>> = {
  async service(s, target, scope) {
    const actor = { by: 'root', ...(scope ? { scope } : {}) };
    const done = target === 'on' ? await s.service.switchOn(actor) : await s.service.switchOff(actor);
    return { changed: done.changed, notes: done.notes.map((n) => ON_NOTES[n]) };
  },
  async cli(s, target, scope) {
    const r = await cliRunner(s.dir)([target, '--json', ...(scope ? ['--scope', scope] : [])]);
    expect(r.code, r.err).to.equal(0);
    const body = JSON.parse(r.out);
    return { changed: body.changed, notes: body.notes ?? [] };
  },
  async 'toggle route'(s, target, scope) {
    const path = `/maintenance-mode/${target}${scope ? `?scope=${scope}` : ''}`;
    const res = await s.request().post(path).set('Accept', 'application/json').expect(200);
    return { changed: res.body.changed, notes: res.body.notes ?? [] };
  },
  async 'control API'(s, target, scope) {
    const res = await s
      .request()
      .post(`/maintenance-mode/api/${target}`)
      .set('Authorization', `Bearer ${s.token}`)
      .send(scope ? { scope } : {})
      .expect(200);
    return { changed: res.body.changed, notes: res.body.notes ?? [] };
  },
};

describe('one switch path: every surface answers the same table of cases', () => {
  for (const c of CASES) {
    for (const [surface, run] of Object.entries(SURFACES)) {
      it(`${c.name}: ${surface}`, async () => {
        const s = await site(c.stored);
        try {
          const reported = await run(s, c.switch, c.scope);
          expect(reported, `${surface}: ${c.name}`).to.deep.equal({
            changed: c.changed,
            notes: c.notes.map((n) => ON_NOTES[n]),
          });
          await s
            .request()
            .get('/shop')
            .set('x-scope', c.scope ?? '')
            .expect(c.site);
        } finally {
          await s.close();
        }
      });
    }
  }
});

describe('operator views during a recurring occurrence and after a lapsed lease', () => {
  it('say "on", name the window and its end, on the CLI, the control API and the status page', async () => {
    const s = await site(OCCURRENCE);
    try {
      await s.request().get('/shop').expect(503);
      const cli = await cliRunner(s.dir)(['status', '--json']);
      expect(JSON.parse(cli.out)).to.include({ enabled: true, active: true, window: 'nightly' });
      const line = await cliRunner(s.dir)(['status']);
      expect(line.out).to.match(/^Maintenance mode is on \(recurring window nightly until \d{4}-/);
      const api = await s.request().get('/maintenance-mode/api/state').set('Authorization', `Bearer ${s.token}`);
      expect(api.body).to.include({ enabled: true, active: true, window: 'nightly' });
      expect(api.body.windows.map((w: { id: string }) => w.id)).to.deep.equal(['nightly']);
      const page = await s.request().get('/maintenance-mode/').expect(200);
      expect(page.text).to.include('id="summary">On<').and.include('Recurring window').and.include('id="switch-off"');
      expect(page.text).to.include('id="window-nightly"');
    } finally {
      await s.close();
    }
  });

  it('say when a lease lapsed, and offer to switch on again', async () => {
    const lapsedAt = ago(5);
    const s = await site({ enabled: true, message: 'Old migration', leaseMs: 60_000, leaseUntil: lapsedAt });
    try {
      await s.request().get('/shop').expect(200);
      const cli = await cliRunner(s.dir)(['status', '--json']);
      expect(JSON.parse(cli.out)).to.include({ active: false, leaseLapsed: true, leaseUntil: lapsedAt });
      const line = await cliRunner(s.dir)(['status']);
      expect(line.out).to.include(`off (lease lapsed at ${lapsedAt}`);
      const page = await s.request().get('/maintenance-mode/').expect(200);
      expect(page.text).to.include('id="lease-lapsed"').and.not.include('id="switch-off"');
      await s.service.switchOn({ by: 'root' });
      const [entry] = await s.service.history(1);
      expect(entry)
        .to.include({ to: 'on', reason: `lease lapsed at ${lapsedAt}` })
        .and.not.have.property('message');
    } finally {
      await s.close();
    }
  });
});

describe('run: the switch path around a command', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kmm-run-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('switches nothing for a command that does not exist, and exits 127 saying so', async () => {
    const cli = cliRunner(dir);
    for (const cmd of ['/nonexistent/cmd', 'no-such-command-kmm']) {
      const r = await cli(['run', '--', cmd, '--flag']);
      expect(r.code, r.err).to.equal(127);
      expect(r.err).to.match(
        new RegExp(
          `^Error: cannot run ${cmd}: it is (not an executable file|not found on PATH)\\. Nothing was switched\\.\\n$`,
        ),
      );
      expect(r.out).to.equal('');
    }
    const history = JSON.parse((await cli(['history', '--json'])).out);
    expect(history).to.deep.equal([]); // not a moment of 503: no switch on, no switch off
  });

  it('says a command killed by a signal was killed by it (not "exited with 143"), and puts the state back', async () => {
    const r = await cliRunner(dir)(['run', '--', 'sh', '-c', 'kill -TERM $$']);
    expect(r.code).to.equal(143);
    expect(r.out).to.include('sh was killed by SIGTERM; maintenance mode is back as it was.\n');
    const status = JSON.parse((await cliRunner(dir)(['status', '--json'])).out);
    expect(status).to.include({ enabled: false, active: false });
  });
});
