import 'reflect-metadata';
import { once } from 'node:events';
import type { Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { expect } from 'chai';
import Koa from 'koa';
import { useContainer, useKoaServer } from 'routing-controllers';
import { Container } from 'typedi';
import {
  createMaintenanceController,
  MaintenanceError,
  type MaintenanceRoutesOptions,
  type MaintenanceService,
  maintenance,
  maintenanceRoutes,
} from '../src/index.js';
import { memoryService } from './helpers/app.js';
import { type EventStream, openEvents } from './helpers/sse.js';
import { PATIENCE_MS, until } from './helpers/wait.js';

const PREFIX = '/maintenance-mode';

/** An app with maintenance() in front of the routes (publicStatus, so events are served), on a real server. */
interface LiveApp {
  readonly service: MaintenanceService;
  readonly server: Server;
  readonly base: string;
  /** Opens `<prefix>/events<query>` and keeps it to be closed after the test. */
  events(query?: string, headers?: Record<string, string>): Promise<EventStream>;
  /** What `public.json` answers now (same query and headers). */
  publicJson(query?: string, headers?: Record<string, string>): Promise<unknown>;
}

const apps: Array<{ server: Server; service: MaintenanceService; streams: EventStream[] }> = [];

async function liveApp(routes: MaintenanceRoutesOptions = {}): Promise<LiveApp> {
  const service = memoryService();
  const app = new Koa();
  app.silent = true;
  app.use((ctx, next) => {
    ctx.set('X-Frame-Options', 'DENY'); // an earlier middleware's header (helmet, CORS)
    return next();
  });
  app.use(maintenance({ service }));
  app.use(maintenanceRoutes({ service, publicStatus: true, ...routes }).routes());
  app.use((ctx) => {
    if (ctx.path === '/') ctx.body = 'the app';
  });
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const streams: EventStream[] = [];
  apps.push({ server, service, streams });
  return {
    service,
    server,
    base,
    async events(query = '', headers = {}) {
      const stream = await openEvents(`${base}${PREFIX}/events${query}`, headers);
      streams.push(stream);
      return stream;
    },
    async publicJson(query = '', headers = {}) {
      return (await fetch(`${base}${PREFIX}/public.json${query}`, { headers })).json();
    },
  };
}

describe('live events: GET <prefix>/events streams what public.json says (#34)', () => {
  afterEach(async () => {
    for (const { server, service, streams } of apps.splice(0)) {
      for (const s of streams) s.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await service.close();
    }
    Container.reset();
  });

  it('sends public.json once on connect and again on every change, in revision order, during maintenance too', async () => {
    const t = await liveApp();
    await t.service.enable({ message: 'Moving house' });
    const stream = await t.events();
    expect(stream.status).to.equal(200);
    expect(stream.headers['content-type']).to.equal('text/event-stream; charset=utf-8');
    expect(stream.headers['cache-control']).to.equal('no-cache');
    expect(stream.headers['x-accel-buffering']).to.equal('no');
    expect(stream.headers['x-frame-options']).to.equal('DENY');
    const first = await stream.nth(1);
    expect(first.event).to.equal('state');
    expect(JSON.parse(first.data)).to.deep.equal(await t.publicJson());
    expect(stream.retryMs).to.be.within(2000, 9999);

    await t.service.enable({ message: 'Nearly done' });
    const second = await stream.nth(2);
    expect(JSON.parse(second.data)).to.deep.equal(await t.publicJson());
    await t.service.disable();
    const third = await stream.nth(3);
    expect(JSON.parse(third.data)).to.deep.equal({ active: false });
    const ids = stream.events.map((e) => Number(e.id));
    expect(ids[0]).to.be.above(0);
    expect(ids[1]).to.be.above(ids[0]);
    expect(ids[2]).to.be.above(ids[1]);
  });

  it('sends nothing for a change that leaves public.json as it is', async () => {
    const t = await liveApp();
    await t.service.enable({ message: 'Same words', by: 'ann' });
    const stream = await t.events();
    await stream.nth(1);
    await t.service.enable({ message: 'Same words', by: 'bob' }); // a new revision, the same public answer
    await t.service.enable({ message: 'Other words', by: 'bob' });
    const next = await stream.nth(2);
    expect(JSON.parse(next.data)).to.include({ message: 'Other words' });
    expect(stream.events).to.have.length(2);
  });

  it('does not send a reconnecting client (Last-Event-ID) the state it has; an older id gets the state at once', async () => {
    const t = await liveApp();
    await t.service.enable({ message: 'Upgrading' });
    const before = await t.events();
    const seen = await before.nth(1);
    before.close();

    const resumed = await t.events('', { 'Last-Event-ID': seen.id as string });
    await t.service.enable({ message: 'Still upgrading' });
    const next = await resumed.nth(1);
    // The first event it gets is the change, not the state it had.
    expect(JSON.parse(next.data)).to.include({ message: 'Still upgrading' });
    expect(Number(next.id)).to.be.above(Number(seen.id));

    const behind = await t.events('', { 'Last-Event-ID': seen.id as string });
    expect(JSON.parse((await behind.nth(1)).data)).to.include({ message: 'Still upgrading' });
  });

  it('sends the state again on reconnect when it can change by the clock (a window end), whatever the id', async () => {
    const t = await liveApp();
    await t.service.enable({ end: new Date(Date.now() + 3_600_000) });
    const first = await (await t.events()).nth(1);
    const again = await t.events('', { 'Last-Event-ID': first.id as string });
    expect((await again.nth(1)).data).to.equal(first.data);
  });

  it("follows a scope's view with ?scope= (and refuses an invalid scope like public.json)", async () => {
    const t = await liveApp();
    const site = await t.events();
    const billing = await t.events('?scope=billing');
    await site.nth(1);
    expect(JSON.parse((await billing.nth(1)).data)).to.deep.equal({ active: false });
    await t.service.enable({ scope: 'billing', message: 'Billing is moving' });
    const scoped = await billing.nth(2);
    expect(JSON.parse(scoped.data)).to.deep.equal(await t.publicJson('?scope=billing'));
    expect(JSON.parse(scoped.data)).to.include({ active: true, scope: 'billing' });
    await t.service.enable({ message: 'Everything is moving' });
    // The site's stream heard nothing of the scope's switch: its next event is the site's own change.
    expect(JSON.parse((await site.nth(2)).data)).to.include({ active: true, message: 'Everything is moving' });
    expect(site.events).to.have.length(2);

    const bad = await t.events('?scope=no%20such%20scope');
    expect(bad.status).to.equal(400);
  });

  it('gives each client the message in its language, as public.json does (Accept-Language)', async () => {
    const t = await liveApp();
    await t.service.enable({ message: { en: 'Back soon', de: 'Gleich zurück' } });
    const german = await t.events('', { 'Accept-Language': 'de-DE,de;q=0.9' });
    const english = await t.events('', { 'Accept-Language': 'en' });
    const de = JSON.parse((await german.nth(1)).data);
    expect(de).to.deep.equal(await t.publicJson('', { 'Accept-Language': 'de-DE,de;q=0.9' }));
    expect(de).to.include({ message: 'Gleich zurück', lang: 'de' });
    expect(JSON.parse((await english.nth(1)).data)).to.include({ message: 'Back soon', lang: 'en' });
  });

  it('answers 503 with Retry-After past maxClients, and past maxPerClient for one address', async () => {
    const t = await liveApp({ live: { maxClients: 2, maxPerClient: 2 } });
    const a = await t.events();
    await t.events();
    const third = await t.events();
    expect(third.status).to.equal(503);
    expect(third.headers['retry-after']).to.equal('30');
    expect(third.text()).to.match(/Too many live connections/);
    a.close();
    await until(async () => (await t.events()).status === 200, PATIENCE_MS);

    const perClient = await liveApp({ live: { maxClients: 100, maxPerClient: 1 } });
    expect((await perClient.events()).status).to.equal(200);
    const second = await perClient.events();
    expect(second.status).to.equal(503);
    expect(second.headers['retry-after']).to.equal('30');
  });

  it('drops a client that stops reading instead of buffering for it, so its slot is free again', async function () {
    this.timeout(PATIENCE_MS * 3);
    const t = await liveApp({ live: { maxClients: 10, maxPerClient: 1 } });
    // Ten occurrences of a window, each with a long message: every event is ~11 kB.
    await t.service.addWindow({
      rrule: 'FREQ=DAILY',
      tz: 'UTC',
      start: '03:00',
      durationMinutes: 5,
      message: 'w'.repeat(1000),
    });
    const { port } = t.server.address() as AddressInfo;
    const stalled = connect(port, '127.0.0.1');
    stalled.write(`GET ${PREFIX}/events HTTP/1.1\r\nHost: test\r\n\r\n`);
    await once(stalled, 'data');
    stalled.pause(); // reads nothing more
    try {
      expect((await t.events()).status).to.equal(503); // its one slot is taken
      let n = 0;
      await until(async () => {
        for (let i = 0; i < 10; i++) await t.service.enable({ message: `${n++} ${'m'.repeat(990)}` });
        const probe = await t.events();
        probe.close();
        return probe.status === 200;
      }, PATIENCE_MS * 2);
    } finally {
      stalled.destroy();
    }
  });

  it('ends every stream when the service closes, and turns new ones away with 503', async () => {
    const t = await liveApp();
    const a = await t.events();
    const b = await t.events('?scope=billing');
    await a.nth(1);
    await b.nth(1);
    await t.service.close();
    await until(() => a.ended && b.ended, PATIENCE_MS);
    const late = await t.events();
    expect(late.status).to.equal(503);
    expect(late.headers['retry-after']).to.equal('30');
  });

  it('ends every stream when the server closes, so server.close() completes', async () => {
    const t = await liveApp();
    const a = await t.events();
    await a.nth(1);
    await new Promise((resolve) => t.server.close(resolve)); // waits for every connection: the stream's too
    await until(() => a.ended, PATIENCE_MS);
  });

  it('answers HEAD with the headers only', async () => {
    const t = await liveApp();
    const res = await fetch(`${t.base}${PREFIX}/events`, { method: 'HEAD' });
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.equal('text/event-stream; charset=utf-8');
  });

  it('is served by createMaintenanceController() too, from the same table', async () => {
    const service = memoryService();
    const app = new Koa();
    app.silent = true;
    useContainer(Container);
    app.use(maintenance({ service }));
    useKoaServer(app, { controllers: [createMaintenanceController({ service, publicStatus: true })] });
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const streams: EventStream[] = [];
    apps.push({ server, service, streams });
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await service.enable({ message: 'Via the controller' });
    const stream = await openEvents(`${base}${PREFIX}/events`);
    streams.push(stream);
    expect(stream.status).to.equal(200);
    expect(JSON.parse((await stream.nth(1)).data)).to.include({ active: true, message: 'Via the controller' });
    await service.disable();
    expect(JSON.parse((await stream.nth(2)).data)).to.deep.equal({ active: false });
  });

  it('is not served without live (publicStatus off by default), nor with live: false', async () => {
    const off = await liveApp({ publicStatus: false });
    expect((await off.events()).status).to.equal(404);
    const refused = await liveApp({ publicStatus: true, live: false });
    expect((await refused.events()).status).to.equal(404);
    const only = await liveApp({ publicStatus: false, live: true });
    expect((await only.events()).status).to.equal(200);
  });

  it('checks the live option when the routes are built, naming it', () => {
    const bad: Array<[unknown, RegExp]> = [
      ['yes', /^live must be true, false or the caps/],
      [{ maxClients: 0 }, /^live\.maxClients must be a whole number of connections from 1 to 1000000/],
      [{ maxClients: 1.5 }, /^live\.maxClients must be a whole number/],
      [
        { maxClients: 10, maxPerClient: 11 },
        /^live\.maxPerClient must be a whole number of connections from 1 to maxClients \(10\)/,
      ],
      [{ maxClient: 10 }, /live.*maxClient.*Did you mean `maxClients`/],
    ];
    for (const [live, message] of bad) {
      let err: unknown;
      try {
        maintenanceRoutes({ service: memoryService(), live: live as MaintenanceRoutesOptions['live'] });
      } catch (e) {
        err = e;
      }
      expect(err, String(live)).to.be.instanceOf(MaintenanceError);
      expect((err as MaintenanceError).code).to.equal('ERR_MAINTENANCE_INVALID_OPTION');
      expect((err as Error).message, JSON.stringify(live)).to.match(message);
    }
  });
});
