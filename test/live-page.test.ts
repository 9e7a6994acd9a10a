import { join } from 'node:path';
import { expect } from 'chai';
import Koa from 'koa';
import supertest from 'supertest';
import {
  forceMaintenance,
  MaintenanceError,
  type MaintenanceOptions,
  type MaintenanceService,
  maintenance,
  maintenanceBanner,
  maintenanceRoutes,
} from '../src/index.js';
import { memoryService, userFromHeader } from './helpers/app.js';
import { runSync } from './helpers/children.js';

const PREFIX = '/maintenance-mode';
const ROOT = join(__dirname, '..', '..');

/** Every `<script …>` tag of a page. */
const scriptTags = (html: string) => [...html.matchAll(/<script\b[^>]*>/g)].map(([tag]) => tag);

const ENTITIES: Record<string, string> = { '&quot;': '"', '&#39;': "'", '&lt;': '<', '&gt;': '>', '&amp;': '&' };

/** An attribute of a tag, its entities decoded. */
const attribute = (tag: string, name: string) =>
  new RegExp(`\\s${name}="([^"]*)"`).exec(tag)?.[1]?.replace(/&(quot|#39|lt|gt|amp);/g, (e) => ENTITIES[e]);

/** An app with the routes (live on) behind maintenance(options); `/legacy` is forced on, every page shows the banner. */
function pageApp(options: MaintenanceOptions = {}, service: MaintenanceService = memoryService()) {
  const app = new Koa();
  app.silent = true;
  app.use(userFromHeader);
  app.use(maintenance({ service, ...options }));
  app.use(maintenanceRoutes({ service, publicStatus: true }).routes());
  const legacy = forceMaintenance('on');
  app.use(async (ctx, next) => (ctx.path === '/legacy' ? legacy(ctx, next) : next()));
  app.use((ctx) => {
    ctx.type = 'html';
    ctx.body = `<body>${maintenanceBanner(ctx.state)}<main>The shop</main></body>`;
  });
  return { service, request: () => supertest(app.callback()) };
}

describe('live pages: the 503 page and the banner follow /events through a script served as a file (#34)', () => {
  it('gives the 503 page the script of <prefix>/live.js with what it follows, and nothing inline', async () => {
    const t = pageApp({ liveReload: { jitterMs: 5000 } });
    await t.service.enable({ message: 'Moving', end: new Date(Date.now() + 3_600_000) });
    const html = (await t.request().get('/').expect(503)).text;
    const [tag, ...more] = scriptTags(html);
    expect(more).to.deep.equal([]);
    expect(attribute(tag, 'src')).to.match(/^\/maintenance-mode\/live\.js\?v=[\w-]{16}$/);
    expect(tag).to.include(' defer');
    expect(attribute(tag, 'data-role')).to.equal('page');
    expect(attribute(tag, 'data-events')).to.equal(`${PREFIX}/events`);
    expect(attribute(tag, 'data-jitter-ms')).to.equal('5000');
    // The countdown's elements stay, for the script to fill; the page reads the same without it.
    expect(html).to.include('id="countdown"').and.include('<time id="end"');
  });

  it('leaves the page as it was with liveReload: false (its countdown inline, no live script)', async () => {
    const t = pageApp({ liveReload: false });
    await t.service.enable({ end: new Date(Date.now() + 3_600_000) });
    const html = (await t.request().get('/').expect(503)).text;
    expect(html).to.not.include('live.js');
    expect(scriptTags(html)).to.deep.equal(['<script>']);
  });

  it('never makes the page of a forced-on route return by itself (no script there)', async () => {
    const t = pageApp();
    const html = (await t.request().get('/legacy').expect(503)).text;
    expect(html).to.not.include('live.js');
    await t.service.enable();
    expect((await t.request().get('/').expect(503)).text).to.include('live.js');
  });

  it("makes the page of a scope's maintenance follow that scope", async () => {
    const t = pageApp({ scope: 'billing' });
    await t.service.enable({ scope: 'billing' });
    const [tag] = scriptTags((await t.request().get('/').expect(503)).text);
    expect(attribute(tag, 'data-events')).to.equal(`${PREFIX}/events?scope=billing`);
  });

  it('keeps the JSON answer as it was', async () => {
    const t = pageApp({ responseType: 'json' });
    await t.service.enable({ message: 'Moving' });
    expect((await t.request().get('/').expect(503)).body).to.deep.equal({
      maintenance: true,
      message: 'Moving',
      retryAfter: 3600,
    });
  });

  it('serves live.js during maintenance as a cacheable file: JavaScript, an ETag, 304 when unchanged', async () => {
    const t = pageApp();
    await t.service.enable();
    const src = attribute(scriptTags((await t.request().get('/')).text)[0], 'src') as string;
    const res = await t.request().get(src).expect(200);
    expect(res.headers['content-type']).to.equal('application/javascript; charset=utf-8');
    expect(res.headers['cache-control']).to.equal('public, max-age=86400');
    expect(res.headers['x-content-type-options']).to.equal('nosniff');
    expect(res.headers.etag).to.equal(`"${src.split('?v=')[1]}"`);
    expect(res.text).to.include("data('role')").and.include('EventSource');
    await t.request().get(src).set('If-None-Match', res.headers.etag).expect(304);
  });

  it('gives the status page its local times through live.js too: no inline script', async () => {
    const t = pageApp();
    const html = (
      await t
        .request()
        .get(`${PREFIX}/`)
        .set('x-user', JSON.stringify({ isSuperuser: true }))
    ).text;
    const tags = scriptTags(html);
    expect(tags).to.have.length(1);
    expect(attribute(tags[0], 'data-role')).to.equal('times');
    expect(attribute(tags[0], 'src')).to.match(/^\/maintenance-mode\/live\.js\?v=/);
  });

  it('renders the banner hidden with its script while nothing is announced, so it can appear without a reload', async () => {
    const t = pageApp({ announceBeforeSeconds: 7200 });
    const quiet = (await t.request().get('/').expect(200)).text;
    expect(quiet).to.match(/<div class="maintenance-banner" role="status" aria-live="polite" hidden>/);
    const [tag] = scriptTags(quiet);
    expect(attribute(tag, 'data-role')).to.equal('banner');
    expect(attribute(tag, 'data-events')).to.equal(`${PREFIX}/events`);
    expect(attribute(tag, 'data-announce-ms')).to.equal('7200000');
    expect(JSON.parse(attribute(tag, 'data-labels') as string)).to.deep.include({
      en: ['Scheduled maintenance:', '.'],
      de: ['Geplante Wartung:', '.'],
    });

    const start = new Date(Date.now() + 3_600_000);
    await t.service.enable({ start, message: 'Database upgrade' });
    const announced = (await t.request().get('/').expect(200)).text;
    expect(announced).to.include(`data-start="${start.toISOString()}"`).and.include('Database upgrade');
    expect(announced).to.not.match(/maintenance-banner"[^>]*hidden/);
    expect(scriptTags(announced)).to.have.length(1);
  });

  it('renders no banner at all with liveReload: false while nothing is announced (as before)', async () => {
    const t = pageApp({ announceBeforeSeconds: 7200, liveReload: false });
    expect((await t.request().get('/').expect(200)).text).to.equal('<body><main>The shop</main></body>');
    expect(maintenanceBanner(undefined)).to.equal('');
  });

  it('finds the routes by itself: none built, no script; routes at another prefix, that prefix', () => {
    // A process of its own: which routes a process has built is the process's.
    const script = `
      require('reflect-metadata');
      const Koa = require('koa');
      const { Keyv } = require('keyv');
      const http = require('node:http');
      const { MaintenanceService, maintenance, maintenanceRoutes } = require(${JSON.stringify(join(__dirname, '..', 'src', 'index.js'))});
      (async () => {
        const service = new MaintenanceService({ store: new Keyv() });
        await service.enable();
        const app = new Koa();
        app.use(maintenance({ service }));
        const server = http.createServer(app.callback()).listen(0, '127.0.0.1');
        await new Promise((r) => server.once('listening', r));
        const page = async () => (await fetch('http://127.0.0.1:' + server.address().port + '/')).text();
        const before = await page();
        maintenanceRoutes({ service, prefix: '/ops', live: true });
        const after = await page();
        console.log(JSON.stringify({ before: before.includes('live.js'), after: /data-events="\\/ops\\/events"/.test(after) }));
        server.close();
        await service.close();
      })();`;
    const r = runSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 25_000 });
    expect(r.stderr).to.equal('');
    expect(JSON.parse(r.stdout)).to.deep.equal({ before: false, after: true });
  });

  it('checks liveReload when maintenance() is called, naming the option', () => {
    const bad: Array<[unknown, RegExp]> = [
      [true, /^liveReload must be false or an object such as \{ jitterMs: 10000 \}/],
      [{ jitterMs: -1 }, /^liveReload\.jitterMs must be a whole number of milliseconds from 0 to 600000/],
      [{ jitterMs: 600_001 }, /^liveReload\.jitterMs must be/],
      [{ jitterMs: '10s' }, /^liveReload\.jitterMs must be/],
      [{ prefix: 'maintenance-mode' }, /^liveReload\.prefix must be a path starting with "\/"/],
      [{ prefix: '/' }, /^liveReload\.prefix must be the prefix of the routes/],
      [{ jitter: 5 }, /liveReload.*jitter.*Did you mean `jitterMs`/],
    ];
    for (const [liveReload, message] of bad) {
      let err: unknown;
      try {
        maintenance({ liveReload: liveReload as MaintenanceOptions['liveReload'] });
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(liveReload)).to.be.instanceOf(MaintenanceError);
      expect((err as Error).message, JSON.stringify(liveReload)).to.match(message);
    }
  });
});
